"""A whole rotation of each of the four CAs, gen 1 -> gen 2 complete, on both Fleet schemas: after
every step the live rows are exactly the stage table's, they decrypt with the fixture's reference method,
and status reports the matching stage. Plus the drain gate, renewal, and faketime on the binary."""
import json
import os
import subprocess
import tempfile

from fcalib import (EXPECTED_PATH, Failures, SOURCE, env_for, expect, live_rows, mariadb, new_db, reference_decrypt,
                    run, table_fingerprint)

T = Failures()
EXPECTED = json.load(open(EXPECTED_PATH))
CAS = {"apple_scep": ("ca_cert", "ca_key"),
       "host_identity": ("host_identity_ca_cert", "host_identity_ca_key"),
       "conditional_access": ("conditional_access_ca_cert", "conditional_access_ca_key"),
       "conditional_access_idp": ("conditional_access_idp_cert", "conditional_access_idp_key")}
SCHEMAS = [("schema.sql", "fleet-dev.sql", True), ("schema-pre2026.sql", "fleet-dev-old-schema.sql", False)]
T0 = "2026-11-27T00:00:00Z"
T8 = "2026-12-05T00:00:00Z"
T16 = "2026-12-13T00:00:00Z"
AFTER_EXPIRY = "2028-01-05T00:00:00Z"   # every fixture device cert has expired, plus clock_skew


def yaml_file(ca, generation, stage, extra_policy="", extra_ca=""):
    fd, path = tempfile.mkstemp(suffix=".yml")
    with os.fdopen(fd, "w") as f:
        f.write("version: 1\npolicy:\n  min_overlap: 7d\n  clock_skew: 72h\n"
                "  fleet_server_trusts_previous: true\n%s"
                "cas:\n  %s:\n    generation: %d\n    stage: %s\n%s" % (extra_policy, ca, generation, stage, extra_ca))
    return path


def openssl(args, data=None):
    return subprocess.run(["openssl"] + args, input=data, capture_output=True)


def pubkey_of_cert(pem):
    return openssl(["x509", "-noout", "-pubkey"], pem).stdout


def pubkey_of_key(pem):
    return openssl(["pkey", "-pubout"], pem).stdout


def status(db, now):
    rc, out, err = run(["status", "--format", "json"], env_for(db, now=now), check_rc=0)
    return {c["id"]: c for c in json.loads(out)["cas"]}


def check_rows(db, ca, stage, has_renew_at):
    """The live rows of ca are exactly those of the stage; every row is Fleet-correct."""
    cert, key = CAS[ca]
    want = {"complete": {cert, key}, "staged": {cert, key, cert + "_next", key + "_next"},
            "active": {cert, key, cert + "_previous", key + "_previous"}}[stage]
    rows = live_rows(db)
    have = {n for n in rows if n.startswith(cert.rsplit("_", 1)[0]) and n in
            {cert, key, cert + "_next", key + "_next", cert + "_previous", key + "_previous"}}
    expect(have == want, "%s %s: live rows %s, wanted %s" % (ca, stage, sorted(have), sorted(want)))
    for suffix in ("", "_next", "_previous"):
        if cert + suffix not in rows:
            continue
        cpem = reference_decrypt(rows[cert + suffix][1])
        kpem = reference_decrypt(rows[key + suffix][1])
        expect(cpem.startswith(b"-----BEGIN CERTIFICATE-----"), "%s%s is a PEM cert" % (cert, suffix))
        expect(kpem.startswith(b"-----BEGIN RSA PRIVATE KEY-----"), "%s%s is a PKCS#1 key" % (key, suffix))
        expect(pubkey_of_cert(cpem) == pubkey_of_key(kpem), "%s%s matches its key" % (cert, suffix))
        if suffix == "_next":  # made by fleetca: openssl accepts it as a root
            with tempfile.NamedTemporaryFile(suffix=".pem") as f:
                f.write(cpem)
                f.flush()
                p = openssl(["verify", "-CAfile", f.name, f.name])
                expect(p.returncode == 0, "openssl verify %s as a root: %s" % (cert + suffix, p.stdout + p.stderr))
    # every row, live or not: md5_checksum is MD5 of the stored bytes; soft deletes are Fleet's
    for r in mariadb(db, "SELECT name, HEX(md5_checksum) = UPPER(MD5(value)), deletion_uuid, deleted_at IS NULL "
                         "FROM mdm_config_assets"):
        expect(r[1] == "1", "md5_checksum of %s is MD5 of its value" % r[0])
        expect((r[2] == "") == (r[3] == "1"), "%s: deleted_at set exactly when deletion_uuid is" % r[0])
        expect(r[2] == "" or len(r[2]) == 36, "%s: deletion_uuid is a UUID: %r" % (r[0], r[2]))
    expect(mariadb(db, "SELECT COUNT(*) FROM mdm_config_assets WHERE deletion_uuid = '' "
                       "GROUP BY name HAVING COUNT(*) > 1") == [], "one live row per name")
    if has_renew_at:
        for n in have:
            ra = mariadb(db, "SELECT IFNULL(DATE_FORMAT(renew_at, '%%Y-%%m-%%dT%%H:%%i:%%sZ'), '') FROM "
                             "mdm_config_assets WHERE name = '%s' AND deletion_uuid = ''" % n)[0][0]
            if n.endswith("_key") or "_key_" in n:
                expect(ra == "", "%s: renew_at NULL on a key row, got %r" % (n, ra))
            else:
                na = openssl(["x509", "-noout", "-enddate", "-dateopt", "iso_8601"],
                             reference_decrypt(rows[n][1])).stdout.decode().strip().split("=", 1)[1]
                expect(ra == na.replace(" ", "T").replace("TZ", "Z"), "%s: renew_at %s = NotAfter %s" % (n, ra, na))


def drive(ca, schema, fixture, has_renew_at):
    db = new_db("rot", schema=schema, fixtures=(fixture,))
    gen1 = status(db, T0)[ca]["generations"][0]["sha256_fingerprint"]
    y = yaml_file(ca, 2, "staged")
    rc, out, err = run(["apply", "-f", y], env_for(db, now=T0))
    expect(rc == 0, "staged: exit %d: %s %s" % (rc, out, err))
    expect("applied %s:1:adopt" % ca in out and "applied %s:2:stage" % ca in out, out)
    check_rows(db, ca, "staged", has_renew_at)
    st = status(db, T0)[ca]
    expect(st["stage"] == "staged" and [g["role"] for g in st["generations"]] == ["signing", "next"], str(st))
    expect([g["generation"] for g in st["generations"]] == [1, 2], str(st))
    gen2 = st["generations"][1]
    expect("empty_country" not in gen2["defects"] and gen2["subject"].endswith(",C=US"), str(gen2))

    y = yaml_file(ca, 2, "active")
    rc, out, err = run(["apply", "-f", y], env_for(db, now=T8))
    expect(rc == 0 and "applied %s:2:activate" % ca in out, "active: exit %d: %s %s" % (rc, out, err))
    check_rows(db, ca, "active", has_renew_at)
    st = status(db, T8)[ca]
    expect(st["stage"] == "active" and [(g["role"], g["generation"]) for g in st["generations"]]
           == [("signing", 2), ("previous", 1)], str(st))
    expect(st["generations"][0]["sha256_fingerprint"] == gen2["sha256_fingerprint"], "gen 2 signs")
    expect(st["generations"][1]["sha256_fingerprint"] == gen1, "gen 1 is previous")

    y = yaml_file(ca, 2, "complete")
    rc, out, err = run(["apply", "-f", y], env_for(db, now=T16))
    if ca == "conditional_access_idp":
        expect(rc == 0 and "applied %s:2:retire" % ca in out, "retire: exit %d: %s %s" % (rc, out, err))
    else:
        # live device certificates of gen 1 hold the retirement back, named, with the date it opens
        expect(rc == 3, "drain holds: exit %d: %s %s" % (rc, out, err))
        expect("live certificate" in out and "issued by gen 1" in out, out)
        check_rows(db, ca, "active", has_renew_at)
        rc, out, err = run(["apply", "-f", y], env_for(db, now=AFTER_EXPIRY))
        expect(rc == 0 and "applied %s:2:retire" % ca in out, "retire after expiry: exit %d: %s %s" % (rc, out, err))
    check_rows(db, ca, "complete", has_renew_at)
    st = status(db, T16)[ca]
    expect(st["stage"] == "complete" and [(g["role"], g["generation"]) for g in st["generations"]]
           == [("signing", 2)], str(st))
    # gen 1's rows are history, not gone
    cert = CAS[ca][0]
    hist = mariadb(db, "SELECT COUNT(*) FROM mdm_config_assets WHERE name IN ('%s', '%s_previous', '%s_next') "
                       "AND deletion_uuid <> ''" % (cert, cert, cert))[0][0]
    expect(int(hist) >= 3, "%s: soft-deleted history kept (%s rows)" % (ca, hist))
    # converged: a second apply changes nothing
    before = table_fingerprint(db)
    rc, out, err = run(["apply", "-f", y], env_for(db, now=AFTER_EXPIRY))
    expect(rc == 0 and "Nothing to do" in out, "converged: exit %d: %s" % (rc, out))
    expect(table_fingerprint(db) == before, "a converged apply wrote nothing")
    os.unlink(y)


for _ca in CAS:
    for _schema, _fixture, _renew in SCHEMAS:
        def _case(ca=_ca, schema=_schema, fixture=_fixture, renew=_renew):
            drive(ca, schema, fixture, renew)
        _case.__name__ = "rotate_%s_on_%s" % (_ca, _schema.replace(".sql", ""))
        T.case(_case)


@T.case
def drain_opens_when_device_certs_are_revoked():
    db = new_db("drain")
    for stage, now in (("staged", T0), ("active", T8)):
        run(["apply", "-f", yaml_file("host_identity", 2, stage)], env_for(db, now=now), check_rc=0)
    y = yaml_file("host_identity", 2, "complete")
    rc, out, err = run(["plan", "-f", y], env_for(db, now=T16))
    expect(rc == 2 and "7 live certificates issued by gen 1" in out, out)
    # the blockers are named: serial and host of each live device certificate
    live = [c for c in EXPECTED["host_identity_scep_certificates"] if c["state"] == "valid"]
    for c in live:
        expect(str(c["serial"]) in out, "blocker serial %s named: %s" % (c["serial"], out))
    last = max(c["not_valid_after"] for c in live)
    expect("2027-11-20" in out, "opens at the last expiry %s + clock_skew 72h: %s" % (last, out))
    mariadb(db, "UPDATE host_identity_scep_certificates SET revoked = 1")
    rc, out, err = run(["apply", "-f", y], env_for(db, now=T16))
    expect(rc == 0 and "applied host_identity:2:retire" in out, "exit %d: %s %s" % (rc, out, err))


@T.case
def drain_counts_clock_skew():
    db = new_db("skew")
    for stage, now in (("staged", T0), ("active", T8)):
        run(["apply", "-f", yaml_file("host_identity", 2, stage)], env_for(db, now=now), check_rc=0)
    y = yaml_file("host_identity", 2, "complete")
    # one hour after the last certificate expired, it still counts (72h of clock skew)
    rc, out, err = run(["apply", "-f", y], env_for(db, now="2027-11-17T03:04:13Z"))
    expect(rc == 3 and "1 live certificate" in out, "within skew: exit %d: %s" % (rc, out))
    rc, out, err = run(["apply", "-f", y], env_for(db, now="2027-11-20T02:04:14Z"))
    expect(rc == 0 and "applied host_identity:2:retire" in out, "past skew: exit %d: %s %s" % (rc, out, err))


@T.case
def forced_drain_records_reason():
    db = new_db("force")
    for stage, now in (("staged", T0), ("active", T8)):
        run(["apply", "-f", yaml_file("conditional_access", 2, stage)], env_for(db, now=now), check_rc=0)
    y = yaml_file("conditional_access", 2, "complete",
                  extra_policy="  drain: force\n  reason: \"INC-42: devices re-enrolled\"\n")
    rc, out, err = run(["apply", "-f", y], env_for(db, now=T16))
    expect(rc == 0 and "applied conditional_access:2:retire" in out, "exit %d: %s %s" % (rc, out, err))
    rows = mariadb(db, "SELECT details FROM activity_past WHERE activity_type = 'retired_ca_certificate'")
    ent = [json.loads(r[0]) for r in rows]
    expect(len(ent) == 1 and ent[0]["step_id"] == "conditional_access:2:retire", str(ent))
    expect(ent[0]["forced"] is True and ent[0]["reason"] == "INC-42: devices re-enrolled", str(ent[0]))


@T.case
def filevault_escrows_block_apple_retirement():
    db = new_db("escrow", fixtures=("fleet-dev.sql", "filevault-dev.sql"))
    for stage, now in (("staged", T0), ("active", T8)):
        run(["apply", "-f", yaml_file("apple_scep", 2, stage)], env_for(db, now=now), check_rc=0)
    rc, out, err = run(["apply", "-f", yaml_file("apple_scep", 2, "complete")], env_for(db, now=AFTER_EXPIRY))
    expect(rc == 3 and "FileVault" in out and "10" in out, "escrows hold: exit %d: %s" % (rc, out))


@T.case
def apple_activation_needs_the_human_statement():
    db = new_db("apple")
    run(["apply", "-f", yaml_file("apple_scep", 2, "staged")], env_for(db, now=T0), check_rc=0)
    fd, y = tempfile.mkstemp(suffix=".yml")
    with os.fdopen(fd, "w") as f:
        f.write("version: 1\ncas:\n  apple_scep: {generation: 2, stage: active}\n")
    before = table_fingerprint(db)
    rc, out, err = run(["apply", "-f", y], env_for(db, now=T16))
    expect(rc == 3 and "fleet_server_trusts_previous" in out, "exit %d: %s" % (rc, out))
    expect(table_fingerprint(db) == before, "nothing activated")


@T.case
def renew_keeps_key_and_device_certs_valid():
    db = new_db("renew")
    fd, y = tempfile.mkstemp(suffix=".yml")
    with os.fdopen(fd, "w") as f:
        f.write("version: 1\ncas:\n  apple_scep: {generation: 1, renew_before: 9y, validity: 10y}\n")
    old = live_rows(db)
    rc, out, err = run(["apply", "-f", y], env_for(db, now=T0))
    expect(rc == 0 and "applied apple_scep:1:renew" in out, "exit %d: %s %s" % (rc, out, err))
    new = live_rows(db)
    expect(new["ca_key"] == old["ca_key"], "ca_key untouched (same row, same bytes)")
    oldpem, newpem = reference_decrypt(old["ca_cert"][1]), reference_decrypt(new["ca_cert"][1])
    expect(pubkey_of_cert(oldpem) == pubkey_of_cert(newpem), "same key")
    subj = lambda p: openssl(["x509", "-noout", "-subject", "-nameopt", "RFC2253"], p).stdout
    ski = lambda p: openssl(["x509", "-noout", "-ext", "subjectKeyIdentifier"], p).stdout
    serial = lambda p: openssl(["x509", "-noout", "-serial"], p).stdout
    expect(subj(oldpem) == subj(newpem) and ski(oldpem) == ski(newpem), "same subject and SKI")
    expect(serial(oldpem) != serial(newpem), "a fresh serial")
    # as Fleet's own rollover-ca-cert: the subject's exact bytes and the NotBefore stay, NotAfter moves on
    from cryptography import x509
    oc, nc = x509.load_pem_x509_certificate(oldpem), x509.load_pem_x509_certificate(newpem)
    expect(oc.subject.public_bytes() == nc.subject.public_bytes(), "same subject bytes")
    expect(oc.not_valid_before == nc.not_valid_before,
           "NotBefore kept: %s, was %s" % (nc.not_valid_before, oc.not_valid_before))
    expect(nc.not_valid_after > oc.not_valid_after, "a later NotAfter: %s" % nc.not_valid_after)
    hist = mariadb(db, "SELECT HEX(value) FROM mdm_config_assets WHERE name = 'ca_cert' AND deletion_uuid <> ''")
    expect(any(bytes.fromhex(h[0]) == old["ca_cert"][1] for h in hist), "the old ca_cert stays as history")
    # a device certificate Fleet issued under the old certificate verifies against the renewed one
    pem = mariadb(db, "SELECT certificate_pem FROM identity_certificates WHERE revoked = 0 "
                      "ORDER BY not_valid_after DESC LIMIT 1")[0][0].replace("\\n", "\n")
    with tempfile.TemporaryDirectory() as d:
        open(os.path.join(d, "ca.pem"), "wb").write(newpem)
        open(os.path.join(d, "dev.pem"), "w").write(pem)
        p = openssl(["verify", "-attime", "1796000000", "-CAfile", os.path.join(d, "ca.pem"), os.path.join(d, "dev.pem")])
        expect(p.returncode == 0 and b"OK" in p.stdout, "openssl verify: %s %s" % (p.stdout, p.stderr))
    # not due any more: the next run is a no-op
    rc, out, err = run(["apply", "-f", y], env_for(db, now=T0))
    expect(rc == 0 and "Nothing to do" in out, "exit %d: %s" % (rc, out))


@T.case
def device_cert_without_aki_matched_by_signature():
    """Certificates without an Authority Key Identifier count for the CA whose key signed them."""
    db = new_db("noaki")
    rows = live_rows(db)
    with tempfile.TemporaryDirectory() as d:
        p = lambda n: os.path.join(d, n)
        open(p("ca.pem"), "wb").write(reference_decrypt(rows["host_identity_ca_cert"][1]))
        open(p("ca.key"), "wb").write(reference_decrypt(rows["host_identity_ca_key"][1]))
        open(p("ext.cnf"), "w").write("authorityKeyIdentifier = none\nsubjectKeyIdentifier = none\n")
        subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", p("dev.key"), "-out", p("dev.csr"), "-subj", "/CN=noaki-host"], check=True,
                       capture_output=True)
        subprocess.run(["openssl", "x509", "-req", "-in", p("dev.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
                        "-set_serial", "999", "-days", "3650", "-extfile", p("ext.cnf"), "-out", p("dev.pem")],
                       check=True, capture_output=True)
        pem = open(p("dev.pem")).read()
        expect("Authority Key Identifier" not in openssl(["x509", "-noout", "-text"], pem.encode()).stdout.decode(),
               "the test certificate has no AKI")
    mariadb(db, "INSERT INTO host_identity_scep_serials (serial) VALUES (999)")
    mariadb(db, "INSERT INTO host_identity_scep_certificates (serial, host_id, name, not_valid_before, not_valid_after,"
                " certificate_pem, public_key_raw, revoked) VALUES (999, 42, 'noaki-host', '2026-01-01', '2036-01-01',"
                " '%s', X'00', 0)" % pem)
    hi = status(db, T0)["host_identity"]["generations"][0]
    expect(hi["live_issued_certificates"] == 8, "7 fixture certs + 1 without AKI: %s" % hi["live_issued_certificates"])
    ca = status(db, T0)["conditional_access"]["generations"][0]
    expect(ca["live_issued_certificates"] == 7, "not counted for another CA: %s" % ca["live_issued_certificates"])


@T.case
def faketime_moves_the_real_clock():
    if subprocess.run(["which", "faketime"], capture_output=True).returncode != 0:
        raise AssertionError("faketime is not installed (ci/install-deps installs it)")
    db = new_db("faketime")
    y = yaml_file("host_identity", 2, "staged")
    run(["apply", "-f", y], env_for(db, now=None), check_rc=0)
    y = yaml_file("host_identity", 2, "active")
    rc, out, err = run(["apply", "-f", y], env_for(db, now=None))
    expect(rc == 3 and "min_overlap 7d" in out, "gated on the real clock: exit %d: %s" % (rc, out))
    from fcalib import FLEETCA
    env = env_for(db, now=None)
    env["ASAN_OPTIONS"] = "verify_asan_link_order=0"  # libfaketime preloads before ASan in sanitizer builds
    p = subprocess.run(["faketime", "-f", "+8d", FLEETCA, "apply", "-f", y], env=env, capture_output=True)
    expect(p.returncode == 0 and b"applied host_identity:2:activate" in p.stdout,
           "faketime +8d opens the gate: exit %d: %s %s" % (p.returncode, p.stdout, p.stderr))


@T.case
def examples_plan_against_the_fixture():
    exdir = os.path.join(SOURCE, "examples")
    for name in sorted(os.listdir(exdir)):
        if not name.endswith(".yml"):
            continue
        db = new_db("ex")
        rc, out, err = run(["plan", "-f", os.path.join(exdir, name)], env_for(db, now=T0))
        expect(rc in (0, 2) and "error" not in err, "%s: exit %d: %s %s" % (name, rc, out, err))
        rc, out, err = run(["plan", "-f", os.path.join(exdir, name), "--format", "markdown"], env_for(db, now=T0))
        expect(rc in (0, 2) and out.startswith("### fleetca plan"), "%s markdown: %s" % (name, out[:200]))


T.done()
