"""fleetca export: the PEM of a CA's live generations, byte for byte what Fleet stores, never a key;
--bundle during a staged rotation holds both generations; --generation and unknown ids fail clearly."""
import os
import subprocess
import tempfile

from fcalib import Failures, env_for, expect, live_rows, new_db, reference_decrypt, run

T = Failures()
T0 = "2026-11-27T00:00:00Z"
CERTS = {"apple_scep": "ca_cert", "host_identity": "host_identity_ca_cert",
         "conditional_access": "conditional_access_ca_cert", "conditional_access_idp": "conditional_access_idp_cert"}


def yaml_file(ca, generation, stage):
    fd, path = tempfile.mkstemp(suffix=".yml")
    with os.fdopen(fd, "w") as f:
        f.write("version: 1\npolicy:\n  min_overlap: 7d\ncas:\n  %s:\n    generation: %d\n    stage: %s\n"
                % (ca, generation, stage))
    return path


def openssl_certs(pem):
    """The subjects openssl reads from a PEM bundle, one per certificate."""
    with tempfile.NamedTemporaryFile(suffix=".pem") as f:
        f.write(pem)
        f.flush()
        p = subprocess.run(["openssl", "crl2pkcs7", "-nocrl", "-certfile", f.name], capture_output=True)
    expect(p.returncode == 0, "openssl reads the bundle: %s" % p.stderr.decode())
    p = subprocess.run(["openssl", "pkcs7", "-print_certs", "-noout"], input=p.stdout, capture_output=True)
    expect(p.returncode == 0, "openssl pkcs7: %s" % p.stderr.decode())
    return [line for line in p.stdout.decode().splitlines() if line.startswith("subject=")]


def no_key(*texts):
    for t in texts:
        expect("PRIVATE KEY" not in t, "no private key in the output: %r" % t[:200])


DB = new_db("exp")


@T.case
def export_signing_equals_stored_pem():
    rows = live_rows(DB)
    for ca, cert in CERTS.items():
        want = reference_decrypt(rows[cert][1])
        rc, out, err = run(["export", "--ca", ca], env_for(DB), check_rc=0)
        expect(out.encode() == want, "%s: export equals the decrypted %s byte for byte:\n%r\n%r" % (ca, cert, out, want))
        expect(out.count("-----BEGIN CERTIFICATE-----") == 1 and out.startswith("-----BEGIN"), out)
        expect("gen 1 (signing, %s)" % cert in err and "not after" in err, "one-line summary on stderr: " + err)
        no_key(out, err)


@T.case
def export_out_file_and_generation_1():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "idp.pem")
        rc, out, err = run(["export", "--ca", "conditional_access_idp", "--generation", "1", "--out", path],
                           env_for(DB), check_rc=0)
        expect(out == "", "nothing on stdout with --out: %r" % out)
        data = open(path, "rb").read()
        expect(data == reference_decrypt(live_rows(DB)["conditional_access_idp_cert"][1]), "file holds the PEM")
        expect(os.listdir(d) == ["idp.pem"], "no temporary file left: %s" % os.listdir(d))


@T.case
def bundle_during_staged_rotation():
    db = new_db("expb")
    y = yaml_file("conditional_access", 2, "staged")
    run(["apply", "-f", y], env_for(db, now=T0), check_rc=0)
    os.unlink(y)
    rows = live_rows(db)
    gen1 = reference_decrypt(rows["conditional_access_ca_cert"][1])
    gen2 = reference_decrypt(rows["conditional_access_ca_cert_next"][1])
    rc, out, err = run(["export", "--ca", "conditional_access", "--bundle"], env_for(db), check_rc=0)
    expect(out.encode() == gen1 + gen2, "bundle = signing then next, as stored:\n%s" % out)
    subjects = openssl_certs(out.encode())
    expect(len(subjects) == 2, "openssl parses two certificates: %s" % subjects)
    expect("C=US" in subjects[1] or "C = US" in subjects[1], "gen 2 has Country US: %s" % subjects)
    expect(not any(l.strip() and not (l.startswith("-----") or all(c.isalnum() or c in "+/=" for c in l))
                   for l in out.splitlines()), "comment-free PEM: %s" % out)
    expect("gen 1 (signing" in err and "gen 2 (next" in err and len(err.strip().splitlines()) == 2,
           "one summary line per certificate on stderr: " + err)
    no_key(out, err)
    rc, out2, err = run(["export", "--ca", "conditional_access", "--generation", "2"], env_for(db), check_rc=0)
    expect(out2.encode() == gen2, "--generation 2 is the staged one")
    rc, out3, err = run(["export", "--ca", "conditional_access"], env_for(db), check_rc=0)
    expect(out3.encode() == gen1, "default: the signing generation (1 while 2 is staged)")
    no_key(out2, out3)


@T.case
def generation_not_live_lists_live_ones():
    rc, out, err = run(["export", "--ca", "host_identity", "--generation", "2"], env_for(DB))
    expect(rc == 1 and out == "", "exit 1, nothing printed: %d %r" % (rc, out))
    expect("generation 2 is not live" in err and "live generations: 1 (signing)" in err, err)
    for bad in ("0", "x", "-1"):
        rc, out, err = run(["export", "--ca", "host_identity", "--generation", bad], env_for(DB))
        expect(rc == 1 and "--generation" in err and out == "", "--generation %s refused: %s" % (bad, err))
    rc, out, err = run(["export", "--ca", "host_identity", "--generation", "1", "--bundle"], env_for(DB))
    expect(rc == 1 and "exclude" in err, err)


@T.case
def unknown_ca_lists_valid_ids():
    rc, out, err = run(["export", "--ca", "apple"], env_for(DB))
    expect(rc == 1 and out == "", "exit 1: %d" % rc)
    expect("unknown CA 'apple'" in err and all(ca in err for ca in CERTS), err)
    rc, out, err = run(["export"], env_for(DB))
    expect(rc == 1 and "--ca" in err, err)


@T.case
def wrong_server_key_fails_without_output():
    rc, out, err = run(["export", "--ca", "host_identity"], env_for(DB, key="x" * 40))
    expect(rc == 1 and out == "" and "decrypt" in err, "wrong key: %d %r %s" % (rc, out, err))
    no_key(out, err)


@T.case
def help_explains_the_human_step():
    rc, out, err = run(["export", "--help"], env_for(DB), check_rc=0)
    expect("--bundle" in out and "load balancer" in out and "--generation" in out, out)


T.done()
