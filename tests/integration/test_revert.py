"""Issue 8 item 2 (acceptance 2): a revert cannot silently discard a generation that signed.

host_identity is rotated to generation 2 and activated; then the YAML goes back to generation 1. The
plan is rollback then abandon. With a live certificate issued by generation 2, the abandon has the drain
gate of retire: apply rolls back, keeps generation 2 (its _next rows stay live), stops at the gate with
exit 3, and says in words what abandoning it would throw away. Without such certificates the revert rolls
back and abandons as before. On both Fleet schemas."""
import json
import os
import subprocess
import tempfile

from fcalib import Failures, env_for, expect, live_rows, mariadb, new_db, reference_decrypt, run

T = Failures()
SCHEMAS = (("schema.sql", "fleet-dev.sql"), ("schema-pre2026.sql", "fleet-dev-old-schema.sql"))
T0 = "2026-11-27T00:00:00Z"
T8 = "2026-12-05T00:00:00Z"
T9 = "2026-12-06T00:00:00Z"
T10 = "2026-12-07T00:00:00Z"


def yaml(text):
    fd, path = tempfile.mkstemp(suffix=".yml")
    os.write(fd, text.encode())
    os.close(fd)
    return path


GEN2 = yaml("version: 1\npolicy: {min_overlap: 7d}\ncas:\n  host_identity: {generation: 2, stage: active}\n")
GEN1 = yaml("version: 1\npolicy: {min_overlap: 7d}\ncas:\n  host_identity: {generation: 1}\n")


def activated_gen2(schema, fixture):
    db = new_db("revert", schema=schema, fixtures=(fixture,))
    run(["apply", "-f", GEN2], env_for(db, now=T0), check_rc=3)  # staged, activation waits for min_overlap
    rc, out, err = run(["apply", "-f", GEN2], env_for(db, now=T8))
    expect(rc == 0 and "applied host_identity:2:activate" in out, "activate: exit %d %s %s" % (rc, out, err))
    return db


def issue_device_cert_by_signing_generation(db, serial):
    """A host certificate signed by the key in host_identity_ca_key (generation 2 once activated)."""
    rows = live_rows(db)
    with tempfile.TemporaryDirectory() as d:
        p = lambda n: os.path.join(d, n)
        open(p("ca.pem"), "wb").write(reference_decrypt(rows["host_identity_ca_cert"][1]))
        open(p("ca.key"), "wb").write(reference_decrypt(rows["host_identity_ca_key"][1]))
        subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", p("dev.key"), "-out", p("dev.csr"), "-subj", "/CN=revert-host"], check=True,
                       capture_output=True)
        subprocess.run(["openssl", "x509", "-req", "-in", p("dev.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
                        "-set_serial", str(serial), "-days", "3650", "-out", p("dev.pem")],
                       check=True, capture_output=True)
        pem = open(p("dev.pem")).read()
    mariadb(db, "INSERT INTO host_identity_scep_serials (serial) VALUES (%d)" % serial)
    mariadb(db, "INSERT INTO host_identity_scep_certificates (serial, host_id, name, not_valid_before, "
                "not_valid_after, certificate_pem, public_key_raw, revoked) VALUES (%d, 77, 'revert-host', "
                "'2026-12-05', '2036-12-01', '%s', X'00', 0)" % (serial, pem))


def state_doc(db):
    return json.loads(reference_decrypt(live_rows(db)["fleetca_state"][1]))


@T.case
def revert_keeps_a_generation_that_signed_live_certificates():
    for schema, fixture in SCHEMAS:
        db = activated_gen2(schema, fixture)
        gen2_cert = live_rows(db)["host_identity_ca_cert"][1]
        issue_device_cert_by_signing_generation(db, 4242)

        rc, out, err = run(["plan", "-f", GEN1, "--format", "json"], env_for(db, now=T9))
        steps = json.loads(out)["steps"]
        expect(rc == 2 and [s["step_id"] for s in steps] == ["host_identity:2:rollback", "host_identity:2:abandon"],
               "%s: plan: exit %d %s" % (schema, rc, [s["step_id"] for s in steps]))
        ab = steps[1]
        expect(ab["gate"]["state"] == "wait" and not ab["ready"] and ab["drain"] is not None
               and ab["drain"]["live"] == 1 and "1 live certificates issued by gen 2" in ab["gate"]["reason"]
               and ab["discards"] == "abandoning gen 2 discards a CA that signed 1 live certificate: those "
                                     "devices would have to re-enroll", "%s: abandon step: %s" % (schema, ab))
        rc, md, err = run(["plan", "-f", GEN1, "--format", "markdown"], env_for(db, now=T9))
        expect("> **host_identity:2:abandon**: abandoning gen 2 discards a CA that signed" in md,
               "%s: markdown says what the revert discards: %s" % (schema, md))

        rc, out, err = run(["apply", "-f", GEN1], env_for(db, now=T9))
        expect(rc == 3 and "applied host_identity:2:rollback" in out and "applied host_identity:2:abandon" not in out
               and "discards  abandoning gen 2 discards a CA that signed 1 live certificate" in out
               and "revert-host" in out, "%s: apply: exit %d\n%s%s" % (schema, rc, out, err))
        rows = live_rows(db)
        expect(rows.get("host_identity_ca_cert_next", (0, b""))[1] == gen2_cert
               and "host_identity_ca_key_next" in rows, "%s: gen 2 kept as _next: %s" % (schema, sorted(rows)))
        g2 = [g for g in state_doc(db)["generations"] if g["ca"] == "host_identity" and g["generation"] == 2][0]
        expect(g2["activated_at"] is None and g2["signed_at"] == T8 and g2["retired_at"] is None,
               "%s: the document keeps that gen 2 signed: %s" % (schema, g2))

        # a later run (observed staged, gen 2 in _next) still knows gen 2 signed: still held
        rc, out, err = run(["apply", "-f", GEN1], env_for(db, now=T10))
        expect(rc == 3 and "applied host_identity" not in out and "host_identity:2:abandon" in out
               and "abandoning gen 2 discards" in out, "%s: second apply: exit %d\n%s%s" % (schema, rc, out, err))
        expect("host_identity_ca_cert_next" in live_rows(db), "%s: still kept" % schema)

        # once the certificate is revoked nothing depends on gen 2: it is abandoned
        mariadb(db, "UPDATE host_identity_scep_certificates SET revoked = 1 WHERE serial = 4242")
        rc, out, err = run(["apply", "-f", GEN1], env_for(db, now=T10))
        expect(rc == 0 and "applied host_identity:2:abandon" in out, "%s: abandon: exit %d %s" % (schema, rc, out))
        expect("host_identity_ca_cert_next" not in live_rows(db), "%s: gen 2 abandoned" % schema)


@T.case
def revert_without_certificates_of_the_new_generation_rolls_back_and_abandons():
    for schema, fixture in SCHEMAS:
        db = activated_gen2(schema, fixture)
        rc, out, err = run(["apply", "-f", GEN1], env_for(db, now=T9))
        expect(rc == 0 and "applied host_identity:2:rollback" in out and "applied host_identity:2:abandon" in out
               and "discards" not in out, "%s: apply: exit %d\n%s%s" % (schema, rc, out, err))
        rows = live_rows(db)
        expect("host_identity_ca_cert_next" not in rows and "host_identity_ca_cert_previous" not in rows,
               "%s: gen 1 complete: %s" % (schema, sorted(rows)))


T.done()
