"""Issue 8, item 1 (fail closed on what cannot be read, acceptance 1) and item 3 (the first plan tells
the truth), on both schemas.

Item 1: information_schema hides a table this user may not read, so on the old main such a table looked
absent, its count came out 0 and the drain gate opened (a user with only SELECT, INSERT, UPDATE on
mdm_config_assets retired host_identity gen 1 while 7 live certificates remained). Now every table a
gate reads is read: plan and apply stop before any change (exit 1) naming the table and the exact
GRANT SELECT; status says `not counted` (JSON null); a scan cut short is an error; a certificate that
cannot be parsed keeps the gate closed. With the README's GRANTs, plan and apply work.
Item 3: for a CA not yet adopted, the multi-step plan counts the drain of the generation it adopts."""
import json
import os
import re
import subprocess
import tempfile
import time
import uuid

from fcalib import (FLEETCA, SOURCE, Failures, env_for, expect, fleetca_activities, mariadb, new_db, run,
                    table_fingerprint)

T = Failures()
TMP = tempfile.mkdtemp(prefix="fca-failclosed-")
T0, T8, T16 = "2026-11-27T00:00:00Z", "2026-12-05T00:00:00Z", "2026-12-13T00:00:00Z"
# (schema, fixture, Apple identity table, activity table)
SCHEMAS = (("schema.sql", "fleet-dev.sql", "identity_certificates", "activity_past"),
           ("schema-pre2026.sql", "fleet-dev-old-schema.sql", "scep_certificates", "activities"))
HI = "host_identity_scep_certificates"


def yaml_file(body, policy="{min_overlap: 7d}"):
    fd, path = tempfile.mkstemp(suffix=".yml", dir=TMP)
    with os.fdopen(fd, "w") as f:
        f.write("version: 1\npolicy: %s\ncas:\n%s" % (policy, body))
    return path


def hi(stage, policy="{min_overlap: 7d}"):
    return yaml_file("  host_identity: {generation: 2, stage: %s}\n" % stage, policy)


def new_user(db, grants):
    """A MySQL user with exactly these grants ("PRIV ON table" for a table of db)."""
    user, pw = "fc%s" % uuid.uuid4().hex[:8], uuid.uuid4().hex
    mariadb(None, "CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY '%s'" % (user, pw))
    for g in grants:
        priv, _, table = g.partition(" ON ")
        mariadb(None, "GRANT %s ON `%s`.`%s` TO '%s'@'127.0.0.1'" % (priv, db, table, user))
    return user, {"FLEET_MYSQL_USERNAME": user, "FLEET_MYSQL_PASSWORD": pw}


def all_but(db, table):
    """Every privilege on every table of db except `table` (which the user then cannot even see)."""
    return new_user(db, ["ALL ON %s" % t for (t,) in mariadb(db, "SHOW TABLES") if t != table])


def grant(db, user, table):
    return "GRANT SELECT ON `%s`.`%s` TO '%s'@'127.0.0.1';" % (db, table, user)


def readme_grants(who, apple_table, activity_table):
    """The README's GRANT statements for 'fleetca_plan' or 'fleetca', for this schema's table names."""
    with open(os.path.join(SOURCE, "README.md")) as f:
        text = f.read()
    out = []
    for line in text.splitlines():
        m = re.match(r"^GRANT (.+) ON `fleet`\.`([a-z_]+)` TO '([a-z_]+)'@'10\.0\.0\.%';$", line)
        if m and m.group(3) == who:
            table = {"identity_certificates": apple_table, "activity_past": activity_table}.get(m.group(2), m.group(2))
            out.append("%s ON %s" % (m.group(1), table))
    expect(len(out) >= 8, "the README gives the %s user's GRANTs: %s" % (who, out))
    return out


def to_active(db):
    """host_identity gen 2 active (root user): gen 1 previous, its 7 live certificates remain."""
    run(["apply", "-f", hi("staged")], env_for(db, now=T0), check_rc=0)
    run(["apply", "-f", hi("active")], env_for(db, now=T8), check_rc=0)


def live(db, table=HI):
    return int(mariadb(db, "SELECT COUNT(*) FROM %s WHERE revoked = 0 AND not_valid_after > '2026-12-13'"
                           % table)[0][0])


@T.case
def acceptance_1_a_user_who_cannot_read_never_retires():
    """Item 1, acceptance 1: only SELECT, INSERT, UPDATE ON mdm_config_assets (+ INSERT on the activity
    table): the retire that 7 live certificates block is refused, exit 1, table and GRANT named, no row
    changed; status shows `not counted`; with the README's GRANTs plan and apply work."""
    for schema, fixture, apple, acts in SCHEMAS:
        db = new_db("fcacc", schema=schema, fixtures=(fixture,))
        to_active(db)
        expect(live(db) == 7, "%s: the fixture's 7 live host certificates" % schema)
        user, creds = new_user(db, ["SELECT, INSERT, UPDATE ON mdm_config_assets", "INSERT ON %s" % acts])
        want = grant(db, user, HI)
        before, nact = table_fingerprint(db), len(fleetca_activities(db))
        rc, out, err = run(["apply", "-f", hi("complete")], env_for(db, now=T16, **creds))
        expect(rc == 1 and want in err and "host_identity:2:retire" in err and "nothing was changed" in err,
               "%s: apply exit %d, wanted 1 naming %r\n%s%s" % (schema, rc, want, out, err))
        expect(table_fingerprint(db) == before and len(fleetca_activities(db)) == nact,
               "%s: no row changed, no activity" % schema)
        rc, out, err = run(["plan", "-f", hi("complete")], env_for(db, now=T16, **creds))
        expect(rc == 1 and want in err and "drain     not counted: " in out,
               "%s: plan exit %d\n%s%s" % (schema, rc, out, err))
        rc, out, err = run(["plan", "-f", hi("complete"), "--format", "json"], env_for(db, now=T16, **creds))
        d = [s for s in json.loads(out)["steps"] if s["kind"] == "retire"][0]
        expect(rc == 1 and d["drain"]["live"] is None and want in d["drain"]["not_counted"]
               and d["gate"]["state"] != "ready", "%s: plan JSON drain %s gate %s" % (schema, d["drain"], d["gate"]))
        # status: never a number it did not count
        rc, out, err = run(["status"], env_for(db, now=T16, **creds))
        expect(rc == 0 and "issued   not counted: " in out and want in out and grant(db, user, apple) in out
               and not re.search(r"issued +\d+ live", out), "%s: status\n%s%s" % (schema, out, err))
        rc, out, err = run(["status", "--format", "json"], env_for(db, now=T16, **creds))
        cas = {c["id"]: c for c in json.loads(out)["cas"]}
        expect(all(g["live_issued_certificates"] is None for g in cas["host_identity"]["generations"])
               and want in cas["host_identity"]["issued_not_counted"]
               and all(g["filevault_escrows"] is None for g in cas["apple_scep"]["generations"])
               and "host_disk_encryption_keys" in cas["apple_scep"]["escrows_not_counted"],
               "%s: status JSON %s" % (schema, cas["host_identity"]))
        for args in (["status", "--no-scan"], ["status", "--no-scan", "--format", "json"]):
            rc, out, err = run(args, env_for(db, now=T16))
            expect(rc == 0 and ("not counted: --no-scan" in out if len(args) == 2 else
                                '"live_issued_certificates": null' in out and '"live_issued_certificates": 0'
                                not in out), "%s: %s\n%s" % (schema, args, out))
        # the README's plan user counts them; its apply user is held by them, then retires with force
        _, plan_creds = new_user(db, readme_grants("fleetca_plan", apple, acts))
        rc, out, err = run(["plan", "-f", hi("complete")], env_for(db, now=T16, **plan_creds))
        expect(rc == 2 and "7 live certificates of the old generation" in out, "%s: README plan user: exit %d\n%s%s"
               % (schema, rc, out, err))
        rc, out, err = run(["status"], env_for(db, now=T16, **plan_creds))
        expect(rc == 0 and "issued   7 live certificates" in out and "not counted" not in out,
               "%s: README plan user status\n%s%s" % (schema, out, err))
        _, apply_creds = new_user(db, readme_grants("fleetca", apple, acts))
        rc, out, err = run(["apply", "-f", hi("complete")], env_for(db, now=T16, **apply_creds))
        expect(rc == 3 and "7 live certificates issued by gen 1" in out + err and table_fingerprint(db) == before,
               "%s: README apply user is held by the drain: exit %d\n%s%s" % (schema, rc, out, err))
        forced = hi("complete", '{min_overlap: 7d, drain: force, reason: "test: hosts re-enrolled"}')
        rc, out, err = run(["apply", "-f", forced], env_for(db, now=T16, **apply_creds))
        expect(rc == 0 and "applied host_identity:2:retire" in out
               and fleetca_activities(db)[-1][0] == "retired_ca_certificate",
               "%s: README apply user retires: exit %d\n%s%s" % (schema, rc, out, err))


APPLE_ROTATION = "  apple_scep: {generation: 2}\n"


@T.case
def escrow_and_association_tables_that_cannot_be_read_stop_the_run():
    """Item 1: the apple_scep drain reads nano_cert_auth_associations, hosts and host_disk_encryption_keys;
    one this user cannot read stops plan and apply (exit 1) with its GRANT, and changes nothing (on the
    old main the escrow gate read 0 escrows and the association fallback went unnoticed)."""
    y = yaml_file(APPLE_ROTATION, "{min_overlap: 7d, fleet_server_trusts_previous: true}")
    for schema, fixture, apple, acts in SCHEMAS:
        db = new_db("fcesc", schema=schema, fixtures=(fixture, "filevault-dev.sql"))
        for table in ("host_disk_encryption_keys", "hosts", "nano_cert_auth_associations"):
            user, creds = all_but(db, table)
            before = table_fingerprint(db)
            for cmd in ("plan", "apply"):
                rc, out, err = run([cmd, "-f", y], env_for(db, now=T0, **creds))
                expect(rc == 1 and grant(db, user, table) in err and "apple_scep:2:retire" in err,
                       "%s, %s unreadable: %s exit %d\n%s%s" % (schema, table, cmd, rc, out, err))
            expect(table_fingerprint(db) == before, "%s: nothing changed" % schema)
            rc, out, err = run(["status"], env_for(db, now=T0, **creds))
            expect(rc == 0 and "not counted: " in out and grant(db, user, table) in out,
                   "%s, %s unreadable: status\n%s" % (schema, table, out))
        # with every table readable the same plan counts the escrows
        rc, out, err = run(["plan", "-f", y, "--format", "json"], env_for(db, now=T0))
        d = [s for s in json.loads(out)["steps"] if s["kind"] == "retire"][0]["drain"]
        # 10: the drain counts escrows addressed to gen 1 by issuer + serial, the 2 to the history CA too
        # (every Fleet-made CA has serial 1 and the same subject)
        expect(rc == 2 and d["not_counted"] is None and d["escrows"] == 10 and d["live"] > 0,
               "%s: readable: exit %d drain %s" % (schema, rc, d))


def pad_rows(db, n, size):
    """n more live rows in host_identity_scep_certificates, each `size` bytes: more than the socket
    buffers hold, so the server is still sending when the connection is killed."""
    first = int(mariadb(db, "SELECT IFNULL(MAX(serial), 0) + 1 FROM host_identity_scep_serials")[0][0])
    mariadb(db, "INSERT INTO host_identity_scep_serials (serial) SELECT %d + seq FROM seq_0_to_%d" % (first, n - 1))
    mariadb(db, "INSERT INTO host_identity_scep_certificates (serial, name, not_valid_before, not_valid_after, "
                "certificate_pem, public_key_raw) SELECT %d + seq, 'pad', '2026-01-01', '2030-01-01', "
                "CONCAT('-----BEGIN CERTIFICATE-----', REPEAT('A', %d)), '' FROM seq_0_to_%d" % (first, size, n - 1))


def pad_escrows(db, n, size):
    mariadb(db, "INSERT INTO hosts (id, osquery_host_id, uuid, hardware_serial, hostname, platform) "
                "SELECT 50000 + seq, UUID(), UUID(), '', CONCAT('pad-', seq), 'darwin' FROM seq_0_to_%d" % (n - 1))
    mariadb(db, "INSERT INTO host_disk_encryption_keys (host_id, base64_encrypted) "
                "SELECT 50000 + seq, REPEAT('A', %d) FROM seq_0_to_%d" % (size, n - 1))


def killed_mid_scan(db, spec, args, now):
    """Runs fleetca paused at the fault point `spec` (after the first row of a streamed scan, the server
    still sending: the padding is more than the socket buffers hold), kills its connection from outside,
    lets it go on; returns (rc, stdout, stderr)."""
    go = os.path.join(TMP, "go-%s" % uuid.uuid4().hex[:8])
    env = env_for(db, now=now, FLEETCA_FAULT=spec, FLEETCA_FAULT_MODE="pause", FLEETCA_FAULT_PAUSE_FILE=go)
    p = subprocess.Popen([FLEETCA] + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    text = ""
    for _ in range(600):
        if os.path.exists(go + ".ready"):
            with open(go + ".ready") as f:
                text = f.read()
            if text.endswith("\n"):  # written whole
                break
        if p.poll() is not None:
            break
        time.sleep(0.05)
    if not text.endswith("\n"):
        raise AssertionError("fault point %s not reached: %s" % (spec, p.communicate()))
    conn = int(text.strip())
    expect(p.poll() is None and [conn] == [int(r[0]) for r in mariadb(
        None, "SELECT ID FROM information_schema.PROCESSLIST WHERE ID = %d" % conn)],
        "the paused run holds its connection %d while it waits" % conn)
    mariadb(None, "KILL CONNECTION %d" % conn)
    open(go, "w").close()
    out, err = p.communicate(timeout=120)
    return p.returncode, out.decode(), err.decode()


@T.case
def a_scan_cut_short_is_an_error_not_a_count():
    """Item 1: a connection killed while an issued-certificate scan (apply's drain) or the escrow scan
    (status) streams is exit 1 with nothing changed; on the old main the escrow scan ended quietly with
    what it had read (mysql_errno was not checked after its loop) and status exited 0."""
    if os.environ.get("FCA_TESTING", "1") != "1":
        print("skip: fault points need a test build")
        return
    for schema, fixture, apple, acts in SCHEMAS:
        db = new_db("fckill", schema=schema, fixtures=(fixture, "filevault-dev.sql"))
        to_active(db)
        pad_rows(db, 1500, 40000)
        before = table_fingerprint(db)
        rc, out, err = killed_mid_scan(db, "scan_row:" + HI, ["apply", "-f", hi("complete")], T16)
        expect(rc == 1 and "connection was lost" in err and "applied" not in out,
               "%s: issued scan killed: exit %d\n%s%s" % (schema, rc, out, err))
        expect(table_fingerprint(db) == before, "%s: nothing changed" % schema)
        pad_escrows(db, 1500, 40000)
        rc, out, err = killed_mid_scan(db, "scan_row:host_disk_encryption_keys", ["status"], T16)
        expect(rc == 1 and "connection was lost" in err and "FileVault" in err,
               "%s: escrow scan killed: exit %d\n%s%s" % (schema, rc, out, err))


@T.case
def an_unparseable_certificate_keeps_the_gate_closed():
    """Item 1: a live issued certificate that does not parse is unknown, never 0: with every other
    certificate of gen 1 revoked, the retire is still held (the old main retired)."""
    for schema, fixture, apple, acts in SCHEMAS:
        db = new_db("fcparse", schema=schema, fixtures=(fixture,))
        to_active(db)
        mariadb(db, "UPDATE %s SET revoked = 1" % HI)
        serial = int(mariadb(db, "SELECT MAX(serial) + 1 FROM host_identity_scep_serials")[0][0])
        mariadb(db, "INSERT INTO host_identity_scep_serials (serial) VALUES (%d)" % serial)
        mariadb(db, "INSERT INTO %s (serial, name, not_valid_before, not_valid_after, certificate_pem, "
                    "public_key_raw) VALUES (%d, 'broken', '2026-01-01', '2027-06-01', "
                    "'-----BEGIN CERTIFICATE-----\\nbm90IGEgY2VydGlmaWNhdGU=\\n-----END CERTIFICATE-----\\n', '')"
                % (HI, serial))
        before = table_fingerprint(db)
        rc, out, err = run(["apply", "-f", hi("complete")], env_for(db, now=T16))
        expect(rc == 3 and "could not be parsed" in out + err and table_fingerprint(db) == before,
               "%s: exit %d\n%s%s" % (schema, rc, out, err))
        rc, out, err = run(["plan", "-f", hi("complete"), "--format", "json"], env_for(db, now=T16))
        s = [s for s in json.loads(out)["steps"] if s["kind"] == "retire"][0]
        expect(s["drain"]["unparseable_certificates"] == 1 and s["drain"]["live"] == 0
               and s["gate"]["state"] == "closed", "%s: %s" % (schema, s))
        rc, out, err = run(["status"], env_for(db, now=T16))
        expect("1 live issued certificate could not be parsed" in out, "%s: status\n%s" % (schema, out))
        rc, out, err = run(["status", "--format", "json"], env_for(db, now=T16))
        c = [c for c in json.loads(out)["cas"] if c["id"] == "host_identity"][0]
        expect(c["unparseable_issued_certificates"] == 1, "%s: %s" % (schema, c))


@T.case
def item_3_the_first_plan_counts_the_drain_of_what_it_adopts():
    """Item 3: on the unmanaged fixture, host_identity {generation: 2} plans adopt, stage, activate,
    retire; the retire is held by gen 1's 7 live certificates until 2027-11 (the old main said "no live
    certificate of the old generation remains" and opened it in 14 days), in text and JSON, and the
    same counts as once gen 1 is adopted."""
    y = yaml_file("  host_identity: {generation: 2}\n")
    for schema, fixture, apple, acts in SCHEMAS:
        db = new_db("fcfirst", schema=schema, fixtures=(fixture,))
        rc, out, err = run(["plan", "-f", y], env_for(db, now=T0))
        expect(rc == 2 and "host_identity:1:adopt" in out and "no live certificate" not in out
               and "7 live certificates of the old generation, the last expires 2027-11-17" in out
               and "opens 2027-11-20" in out, "%s: text plan: exit %d\n%s%s" % (schema, rc, out, err))
        rc, out, err = run(["plan", "-f", y, "--format", "json"], env_for(db, now=T0))
        first = [s for s in json.loads(out)["steps"] if s["kind"] == "retire"][0]
        expect(first["drain"]["live"] == 7 and first["drain"]["last_expiry"].startswith("2027-11-17")
               and len(first["drain"]["blockers"]) == 7 and first["gate"]["state"] == "wait",
               "%s: JSON %s %s" % (schema, first["drain"], first["gate"]))
        # the same apply, run for real, is held by the same drain (never retires gen 1)
        run(["apply", "-f", y], env_for(db, now=T0), check_rc=3)
        run(["apply", "-f", y], env_for(db, now=T8), check_rc=3)
        rc, out, err = run(["apply", "-f", y], env_for(db, now=T16))
        expect(rc == 3 and "7 live certificates issued by gen 1" in out + err, "%s: apply %d %s%s"
               % (schema, rc, out, err))
        rc, out, err = run(["plan", "-f", y, "--format", "json"], env_for(db, now=T16))
        adopted = [s for s in json.loads(out)["steps"] if s["kind"] == "retire"][0]
        expect(adopted["drain"] == first["drain"], "%s: once adopted, the same drain: %s vs %s"
               % (schema, adopted["drain"], first["drain"]))


T.done()
