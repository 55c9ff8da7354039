"""Rows changed outside fleetca: drift is reported by status, plan and apply, and nothing is done to
that CA until the YAML says adopt: true. Rows that break the contract are corrupt: explained, untouched."""
import json
import os
import tempfile

from fcalib import Failures, env_for, expect, live_rows, mariadb, new_db, run, table_fingerprint

T = Failures()
T0 = "2026-11-27T00:00:00Z"


def yaml(text):
    fd, path = tempfile.mkstemp(suffix=".yml")
    os.write(fd, text.encode())
    os.close(fd)
    return path


def swap_in_other_pair(db):
    """Someone replaces the host identity CA by hand (here: with the conditional-access pair)."""
    mariadb(db, "UPDATE mdm_config_assets a JOIN mdm_config_assets b ON b.name = 'conditional_access_ca_cert' "
                "AND b.deletion_uuid = '' SET a.value = b.value, a.md5_checksum = b.md5_checksum "
                "WHERE a.name = 'host_identity_ca_cert' AND a.deletion_uuid = ''")
    mariadb(db, "UPDATE mdm_config_assets a JOIN mdm_config_assets b ON b.name = 'conditional_access_ca_key' "
                "AND b.deletion_uuid = '' SET a.value = b.value, a.md5_checksum = b.md5_checksum "
                "WHERE a.name = 'host_identity_ca_key' AND a.deletion_uuid = ''")


@T.case
def drift_blocks_until_adopt():
    db = new_db("drift")
    y = yaml("version: 1\ncas:\n  host_identity: {generation: 2, stage: staged}\n")
    y1 = yaml("version: 1\ncas:\n  host_identity: {generation: 1}\n")
    run(["apply", "-f", y1], env_for(db, now=T0), check_rc=0)
    swap_in_other_pair(db)
    rc, out, err = run(["status", "--format", "json"], env_for(db, now=T0), check_rc=0)
    hi = [c for c in json.loads(out)["cas"] if c["id"] == "host_identity"][0]
    expect(hi["drift"] is True and hi["managed"] is True, str(hi))
    rc, out, err = run(["plan", "-f", y], env_for(db, now=T0))
    expect("drift" in out.lower() and "host_identity:2:stage" not in out, "plan: exit %d %s" % (rc, out))
    before = table_fingerprint(db)
    rc, out, err = run(["apply", "-f", y], env_for(db, now=T0))
    expect(rc == 3 and "applied host_identity" not in out and "drifted" in err and "drift" in out.lower(),
           "apply: exit %d %s %s" % (rc, out, err))
    expect(table_fingerprint(db) == before, "nothing done to a drifted CA")
    ya = yaml("version: 1\ncas:\n  host_identity: {generation: 2, stage: staged, adopt: true}\n")
    rc, out, err = run(["apply", "-f", ya], env_for(db, now=T0))
    expect(rc == 0 and "applied host_identity:2:adopt" in out, "adopt: exit %d %s %s" % (rc, out, err))
    rc, out, err = run(["status", "--format", "json"], env_for(db, now=T0), check_rc=0)
    hi = [c for c in json.loads(out)["cas"] if c["id"] == "host_identity"][0]
    expect(not hi["drift"] and hi["generations"][0]["generation"] == 2 and hi["stage"] == "complete", str(hi))
    acts = __import__("fcalib").fleetca_activities(db)
    expect([(t, d["step_id"]) for t, d in acts] == [("adopted_ca_certificate", "host_identity:1:adopt"),
                                                    ("adopted_ca_certificate", "host_identity:2:adopt")], str(acts))


SCHEMAS = (("schema.sql", "fleet-dev.sql"), ("schema-pre2026.sql", "fleet-dev-old-schema.sql"))


def plan_all_formats(db, y):
    """plan in text, json and markdown: [(rc, out, err)] in that order."""
    return [run(["plan", "-f", y] + fmt, env_for(db, now=T0)) for fmt in ([], ["--format", "json"],
                                                                          ["--format", "markdown"])]


def expect_stuck_on_drift(db, y, ca, what):
    """Issue 8 item 4: plan exits 3 and says drift in every format (the markdown headline too), never
    "no changes" or "match"; apply changes nothing, exits 3 and never says the CAs match."""
    (rc, text, err), (rcj, js, _), (rcm, md, _) = plan_all_formats(db, y)
    expect(rc == 3 and "drift" in text.lower() and "no changes" not in text.lower() and "match" not in text,
           "%s: plan text: exit %d\n%s%s" % (what, rc, text, err))
    expect("drifted" in err and ca in err, "%s: plan names the drifted CA on stderr: %s" % (what, err))
    j = json.loads(js)
    c = [x for x in j["cas"] if x["id"] == ca][0]
    expect(rcj == 3 and c["drift"] is True and c["stuck"] is True and "drift" in c["warnings"]
           and j["summary"]["stuck"] == 1 and j["summary"]["steps"] == 0, "%s: plan json: exit %d %s" % (what, rcj, c))
    head = md.splitlines()[0]
    expect(rcm == 3 and "drift" in head and "no changes" not in md and "match" not in md
           and "**drift**" in md, "%s: markdown: exit %d\n%s" % (what, rcm, md))
    before = table_fingerprint(db)
    rc, out, err = run(["apply", "-f", y], env_for(db, now=T0))
    expect(rc == 3 and "match" not in out and "drift" in out.lower() and "drifted" in err,
           "%s: apply: exit %d\n%s%s" % (what, rc, out, err))
    expect(table_fingerprint(db) == before, "%s: apply changed nothing" % what)


@T.case
def drift_is_never_no_changes():
    """Issue 8 item 4: a drifted managed CA whose YAML asks for no step (the generation it had)."""
    for schema, fixture in SCHEMAS:
        db = new_db("driftnc", schema=schema, fixtures=(fixture,))
        y1 = yaml("version: 1\ncas:\n  host_identity: {generation: 1}\n")
        run(["apply", "-f", y1], env_for(db, now=T0), check_rc=0)
        swap_in_other_pair(db)
        expect_stuck_on_drift(db, y1, "host_identity", schema + " managed drift")


@T.case
def foreign_next_rows_on_an_unmanaged_ca_are_drift():
    """Issue 8 item 4: no state document, and _next rows nobody made: stuck, drift, never "match"."""
    for schema, fixture in SCHEMAS:
        db = new_db("foreign", schema=schema, fixtures=(fixture,))
        for n in ("host_identity_ca_cert", "host_identity_ca_key"):
            mariadb(db, "INSERT INTO mdm_config_assets (name, value, md5_checksum) SELECT '%s_next', value, "
                        "md5_checksum FROM mdm_config_assets WHERE name = '%s' AND deletion_uuid = ''" % (n, n))
        y1 = yaml("version: 1\ncas:\n  host_identity: {generation: 1}\n")
        expect_stuck_on_drift(db, y1, "host_identity", schema + " foreign _next")
        expect("fleetca_state" not in live_rows(db), "nothing adopted")


@T.case
def corrupt_rows_are_explained_and_untouched():
    db = new_db("corrupt")
    y = yaml("version: 1\npolicy: {fleet_server_trusts_previous: true}\ncas:\n  apple_scep: {generation: 2}\n")
    # both _next and _previous live: no stage has that shape
    for suffix in ("_next", "_previous"):
        for n in ("ca_cert", "ca_key"):
            mariadb(db, "INSERT INTO mdm_config_assets (name, value, md5_checksum) SELECT '%s%s', value, md5_checksum "
                        "FROM mdm_config_assets WHERE name = '%s' AND deletion_uuid = ''" % (n, suffix, n))
    before = table_fingerprint(db)
    rc, out, err = run(["status"], env_for(db, now=T0))
    expect(rc == 1 and "apple_scep is corrupt" in err and "ca_cert_next" in err and "ca_cert_previous" in err,
           "status: exit %d %s" % (rc, err))
    rc, out, err = run(["apply", "-f", y], env_for(db, now=T0))
    expect("apple_scep:2" not in out and "corrupt" in (out + err).lower(), "apply: exit %d %s %s" % (rc, out, err))
    expect(table_fingerprint(db) == before or "applied apple_scep" not in out, "nothing done to a corrupt CA")
    rows = live_rows(db)
    expect("fleetca_state" not in rows or "apple_scep" not in out, "apple_scep not adopted")


T.done()
