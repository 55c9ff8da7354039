"""The Fleet-behaviour harness (tests/fleet_behaviour, built into the build folder) from the tests:
`check` replays released Fleet's readers against a test database; `gen_db` makes a second test
database of our own with Fleet's schema and rows generated the way Fleet makes them; the small
helpers diff two check results item by item."""
import json
import os
import subprocess
import tempfile
import uuid

from fcalib import FIXTURE_KEY, REFERENCE_NOW, SHARED, SOURCE, env_for, mariadb

HARNESS = os.environ.get("FLEET_BEHAVIOUR") or os.path.join(SOURCE, "build", "fleet-behaviour")
# The server private key of every database gen_db makes (at least 32 bytes; Fleet uses the first 32).
GEN_KEY = "generated-db-private-key-0123456789abcdefghij"
SCHEMA_ARG = {"schema.sql": "new", "schema-pre2026.sql": "old"}
_generated = {}


def run_check(db, now=REFERENCE_NOW, key=FIXTURE_KEY, as_json=True, **extra):
    """Runs `fleet-behaviour check`; returns (exit code, stdout, stderr)."""
    if not os.path.exists(HARNESS):
        raise AssertionError("the harness %s is not built (it is part of the default build target)" % HARNESS)
    env = env_for(db, key=key, now=None, **extra)
    args = [HARNESS, "check"] + (["--json"] if as_json else []) + (["--now", now] if now else [])
    p = subprocess.run(args, env=env, capture_output=True, timeout=300)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def check(db, now=REFERENCE_NOW, key=FIXTURE_KEY):
    """Every reader's result as a dict; raises unless the harness could read everything."""
    rc, out, err = run_check(db, now=now, key=key)
    if rc != 0:
        raise AssertionError("fleet-behaviour check on %s: exit %d: %s" % (db, rc, err.strip()))
    return json.loads(out)


def gen_db(schema="schema.sql", now=REFERENCE_NOW, key=GEN_KEY, prefix="gen"):
    """A new database with Fleet's schema and the rows `fleet-behaviour gen` makes; its name."""
    name = "%s_%s" % (prefix, uuid.uuid4().hex[:10])
    env = dict(os.environ, FLEET_SERVER_PRIVATE_KEY=key)  # in the environment, not in argv
    p = subprocess.run([HARNESS, "gen", "--schema", SCHEMA_ARG[schema], "--now", now], env=env,
                       capture_output=True, timeout=300)
    if p.returncode != 0:
        raise AssertionError("fleet-behaviour gen: exit %d: %s" % (p.returncode, p.stderr.decode()))
    sql = p.stdout.decode()
    marker = "-- expect: "
    line = next(ln for ln in sql.splitlines() if ln.startswith(marker))
    _generated[name] = json.loads(line[len(marker):])
    mariadb(None, "CREATE DATABASE `%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci" % name)
    mariadb(name, infile=os.path.join(SHARED, "fleet", schema))
    fd, path = tempfile.mkstemp(suffix=".sql")
    with os.fdopen(fd, "w") as f:
        f.write(sql)
    try:
        mariadb(name, infile=path)
    finally:
        os.unlink(path)
    return name


def generated(db):
    """What gen_db put into db (the `-- expect:` line of its SQL)."""
    return _generated[db]


def _ok_items(rep, section, items, key):
    return {it[key] for it in rep[section][items] if it["ok"]}


def disconnected(before, after):
    """Enrollments that checked in before and would not after (sorted ids)."""
    was = _ok_items(before, "apple_checkin", "enrollments", "id")
    now = _ok_items(after, "apple_checkin", "enrollments", "id")
    return sorted(was - now)


def devices_failed(before, after):
    """Live device certificates that verified before and do not after (serials)."""
    was = _ok_items(before, "apple_verifier", "certs", "serial")
    now = _ok_items(after, "apple_verifier", "certs", "serial")
    return sorted(was - now)


def escrows_lost(before, after):
    """Hosts whose FileVault escrow decrypted before and does not after."""
    was = _ok_items(before, "filevault", "hosts", "host_id")
    now = _ok_items(after, "filevault", "hosts", "host_id")
    return sorted(was - now)


def depots_failing(rep):
    """The SCEP depots that cannot sign a new enrolment that verifies ({name: error})."""
    return {n: d.get("error", "") for n, d in rep["scep_depots"].items() if d["status"] != "ok"}


def transitions(rep):
    """{(activity type, step_id): (times listed by GET /activities, times streamable)}."""
    return {(t["type"], t["step_id"]): (t["listed"], t["streamable"]) for t in rep["activities"]["transitions"]}


def summary(rep):
    """One line of counts, for assertion messages."""
    v, c, f = rep["apple_verifier"], rep["apple_checkin"], rep["filevault"]
    return ("verifier %d/%d failed/%d expired-ok; checkin %d enrolled %d disconnected; filevault %d ok %d failed; "
            "depots %s; idp %s; caroot %s" % (v["verified"], v["failed"], v["expired_ok"], c["enrolled"],
                                               c["disconnected"], f["decrypted"], f["failed"],
                                               {n: d["status"] for n, d in rep["scep_depots"].items()},
                                               rep["idp"]["status"], (rep["caroot"].get("cert") or {}).get("sha256")))
