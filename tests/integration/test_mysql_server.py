"""MySQL 8 / RDS behaviours of the server itself (issue 9 item 10), each on both Fleet schemas:

- a server whose time zone has daylight saving (America/New_York): renew_at and the activity's
  created_at are the certificate's NotAfter and the run's clock in UTC, even in the hour that repeats
  when the clocks go back (the session is pinned to UTC);
- a database name of 64 characters (MySQL's longest): the lock name stays within GET_LOCK's 64, and two
  runs still exclude each other (the second exits 4 naming the lock and its holder);
- a Fleet database with hundreds of extra tables, each with a host_id column: the schema is still found;
- a read-only server (error 1290, a replica or the old primary after a failover) and a connection killed
  mid-step: exit 1, the words that say what happened and what to do, nothing changed.

These change the server's global settings (time_zone, read_only), so this file starts a MariaDB of its
own (ci/mariadb) instead of the one the other tests share. Needs a test build (FLEETCA_TEST_NOW, fault
points)."""
import atexit
import calendar
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import warnings

SOURCE = os.environ.get("FCA_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
TMP = tempfile.mkdtemp(prefix="fca-mysql-server-")
_ENVFILE = os.path.join(TMP, "mariadb.env")
_MDB = os.path.join(SOURCE, "ci", "mariadb")


def _stop_server():
    subprocess.run([_MDB, "stop", _ENVFILE], capture_output=True, check=False)
    shutil.rmtree(TMP, ignore_errors=True)


atexit.register(_stop_server)
_p = subprocess.run([_MDB, "start", _ENVFILE], capture_output=True, text=True, check=False)
if _p.returncode != 0:
    sys.exit("ci/mariadb start failed: %s%s" % (_p.stdout, _p.stderr))
os.environ["FCA_MDB_ENV"] = _ENVFILE

from fcalib import (FLEETCA, MDB, TESTING, Failures, each_schema, env_for, expect, fleetca_activities,  # noqa: E402
                    live_rows, mariadb, reference_decrypt, run, table_fingerprint, wait_paused)

# Fleet's own CAs carry an empty Country (the defect fleetca exists to fix): cryptography warns on it.
warnings.filterwarnings("ignore", message=".*Attribute's length.*")
if not TESTING:
    print("skipped: fleetca was built without FLEETCA_TESTING (no fault points, no test clock)")
    sys.exit(0)

from cryptography import x509  # noqa: E402

T = Failures()
CA = "conditional_access_idp"
STAGE = CA + ":2:stage"


def epoch(rfc3339):
    return calendar.timegm(time.strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ"))


def yaml_file(name, body):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(body)
    return path


Y_STAGE = yaml_file("stage.yml", "version: 1\npolicy: {min_overlap: 7d}\nactivities: {sink: none}\ncas:\n"
                                 "  %s: {generation: 2}\n" % CA)


def describe(res):
    rc, out, err = res
    return "exit %d\nstdout:\n%s\nstderr:\n%s" % (rc, out, err)


def activity_table(db):
    return "activity_past" if mariadb(db, "SHOW TABLES LIKE 'activity_past'") else "activities"


# --- 1. the session's time zone is UTC whatever the server's -------------------------------------------

# mariadb-tzinfo-to-sql of one zone: the named zones are empty in a fresh data directory
_tz = subprocess.run(["mariadb-tzinfo-to-sql", "/usr/share/zoneinfo/America/New_York", "America/New_York"],
                     capture_output=True, check=True)
with open(os.path.join(TMP, "tz.sql"), "wb") as f:
    f.write(_tz.stdout)
mariadb("mysql", infile=os.path.join(TMP, "tz.sql"))

# 01:30 EST on 2026-11-01, the second time that day (01:30 EDT was an hour earlier): a session in the
# server's zone turns FROM_UNIXTIME of this instant into a local time it then reads back as 05:30 UTC.
NOW_REPEATED = "2026-11-01T06:30:00Z"
# a validity that ends in the repeated hour of 2027 too (2027-11-07T06:30:00Z is 01:30 EST, the second time)
Y_TZ = yaml_file("tz.yml", "version: 1\npolicy: {min_overlap: 7d}\ncas:\n"
                           "  host_identity: {generation: 2, stage: staged, validity: 371d}\n")


@each_schema(T)
def times_are_utc_in_a_daylight_saving_zone(new):
    db = new("tz")
    mariadb(None, "SET GLOBAL time_zone = 'America/New_York'")
    try:
        # the server really is in the zone, and 06:30 UTC really is a local time that repeats
        z = mariadb(None, "SELECT @@global.time_zone, UNIX_TIMESTAMP(FROM_UNIXTIME(%d))" % epoch(NOW_REPEATED))
        expect(z[0][0] == "America/New_York", "server time zone: %s" % z)
        expect(int(z[0][1]) == epoch(NOW_REPEATED) - 3600, "not the repeated hour: %s" % z)
        res = run(["apply", "-f", Y_TZ], env_for(db, now=NOW_REPEATED))
    finally:
        mariadb(None, "SET GLOBAL time_zone = '+00:00'")
    expect(res[0] == 0, "apply: %s" % describe(res))
    live = live_rows(db)
    expect("host_identity_ca_cert_next" in live, "not staged: %s" % sorted(live))
    crt = x509.load_pem_x509_certificate(reference_decrypt(live["host_identity_ca_cert_next"][1]))
    not_after = calendar.timegm(crt.not_valid_after_utc.utctimetuple())
    expect(not_after == epoch("2027-11-07T06:30:00Z"), "NotAfter %s" % crt.not_valid_after_utc)
    has_renew_at = bool(mariadb(db, "SHOW COLUMNS FROM mdm_config_assets LIKE 'renew_at'"))
    if has_renew_at:
        # renew_at is on certificate rows (as Fleet writes it), compared as the instant it holds
        ra = mariadb(db, "SELECT UNIX_TIMESTAMP(renew_at) FROM mdm_config_assets "
                         "WHERE name = 'host_identity_ca_cert_next' AND deletion_uuid = ''")
        expect(ra and ra[0][0] != "NULL" and int(ra[0][0]) == not_after,
               "renew_at %s, NotAfter %d (an hour apart: the server's zone was used)" % (ra, not_after))
    table = activity_table(db)
    acts = mariadb(db, "SELECT activity_type, UNIX_TIMESTAMP(created_at) FROM %s WHERE user_name = 'fleetca' "
                       "ORDER BY id" % table)
    expect([a[0] for a in acts] == ["adopted_ca_certificate", "staged_ca_certificate"], "activities: %s" % acts)
    for a in acts:
        expect(int(float(a[1])) == epoch(NOW_REPEATED),
               "%s created_at %s, the run's clock %d (an hour apart: the server's zone was used)"
               % (a[0], a[1], epoch(NOW_REPEATED)))


# --- 2. a 64-character database name ------------------------------------------------------------------

def lock_name(database):
    """The name store.c gives GET_LOCK: fleetca:<database> while that fits in 64 characters, else the
    first 23 characters, '~' and the first 32 hex digits of the name's SHA-256."""
    name = "fleetca:" + database
    if len(name) <= 64:
        return name
    return "fleetca:%s~%s" % (database[:23], hashlib.sha256(database.encode()).hexdigest()[:32])


def start_paused(db, point, yaml=Y_STAGE):
    go = os.path.join(tempfile.mkdtemp(dir=TMP), "go")
    env = env_for(db, FLEETCA_FAULT=point, FLEETCA_FAULT_MODE="pause", FLEETCA_FAULT_PAUSE_FILE=go)
    proc = subprocess.Popen([FLEETCA, "apply", "-f", yaml], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    return proc, go


def release(proc, go):
    open(go, "w").close()
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


@each_schema(T)
def lock_on_a_64_character_database_name(new):
    db = new("l" * 53)
    expect(len(db) == 64, "database name %r is %d characters" % (db, len(db)))
    name = lock_name(db)
    expect(len(name) == 64, "lock name %r" % name)
    proc, go = start_paused(db, "before_commit:" + STAGE)
    try:
        cid = wait_paused(go, proc)
        held = mariadb(None, "SELECT IS_USED_LOCK('%s')" % name)
        expect(held == [[cid]], "the lock %s is held by %s, not by the paused run's connection %s" % (name, held, cid))
        before = table_fingerprint(db)
        second = run(["apply", "-f", Y_STAGE, "--lock-timeout", "1s"], env_for(db))
        expect(second[0] == 4, "second run: %s" % describe(second))
        expect("another fleetca run holds the lock '%s' (MySQL connection id %s)" % (name, cid) in second[2],
               "second run's stderr: %s" % second[2])
        expect(table_fingerprint(db) == before, "the second run changed mdm_config_assets")
    finally:
        first = release(proc, go)
    expect(first[0] == 3 and "GET_LOCK" not in first[2], "first run: %s" % describe(first))
    expect(CA + "_cert_next" in live_rows(db), "not staged: %s" % sorted(live_rows(db)))
    expect(mariadb(None, "SELECT IS_FREE_LOCK('%s')" % name) == [["1"]], "the lock was not released")
    # and a run with the lock free goes on from there
    third = run(["apply", "-f", Y_STAGE], env_for(db))
    expect(third[0] == 3, "third run: %s" % describe(third))


# --- 3. hundreds of tables ----------------------------------------------------------------------------

EXTRA_TABLES = 2000  # far beyond the 512 tables (and 16 host_id tables) the schema lists once held


@each_schema(T)
def schema_found_among_many_tables(new):
    db = new("many")
    # each with a host_id column, as many of Fleet's tables have; information_schema lists tables in no set
    # order, and among 2000 extra ones Fleet's own are past the 512th (checked: a cap at 512 fails here)
    sql = "".join("CREATE TABLE a_extra_%04d (id INT PRIMARY KEY, host_id INT UNSIGNED NOT NULL);\n" % i
                  for i in range(EXTRA_TABLES))
    path = os.path.join(TMP, "extra-%s.sql" % db)
    with open(path, "w") as f:
        f.write(sql)
    mariadb(db, infile=path)
    count = int(mariadb(db, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()")[0][0])
    expect(count > EXTRA_TABLES + 10, "tables: %d" % count)
    y = yaml_file("many.yml", "version: 1\npolicy: {min_overlap: 7d}\ncas:\n"
                              "  host_identity: {generation: 2, stage: staged}\n")
    plan = run(["plan", "-f", y], env_for(db))
    expect(plan[0] == 2 and "host_identity:2:stage" in plan[1], "plan: %s" % describe(plan))
    status = run(["status"], env_for(db))
    expect(status[0] == 0 and "not counted" not in status[1], "status: %s" % describe(status))
    res = run(["apply", "-f", y], env_for(db))
    expect(res[0] == 0, "apply: %s" % describe(res))
    expect("host_identity_ca_cert_next" in live_rows(db), "not staged: %s" % sorted(live_rows(db)))
    expect([a[0] for a in fleetca_activities(db)] == ["adopted_ca_certificate", "staged_ca_certificate"],
           "activities: %s" % fleetca_activities(db))


# --- 4. a read-only server, a killed connection -------------------------------------------------------

def restricted_user(db):
    """A user with every right on the database and none of the server's (no SUPER, no READ_ONLY ADMIN)."""
    user = "ro_" + uuid.uuid4().hex[:8]
    mariadb(None, "CREATE USER '%s'@'127.0.0.1' IDENTIFIED BY 'insecure-ro'; "
                  "GRANT ALL ON `%s`.* TO '%s'@'127.0.0.1'" % (user, db, user))
    return user


@each_schema(T)
def read_only_server_is_named(new):
    db = new("ro")
    user = restricted_user(db)
    env = env_for(db, FLEET_MYSQL_USERNAME=user, FLEET_MYSQL_PASSWORD="insecure-ro")
    before = table_fingerprint(db)
    acts = fleetca_activities(db)
    mariadb(None, "SET GLOBAL read_only = 1")
    try:
        res = run(["apply", "-f", Y_STAGE], env)
    finally:
        mariadb(None, "SET GLOBAL read_only = 0")
    rc, out, err = res
    expect(rc == 1, "apply on a read-only server: %s" % describe(res))
    for words in ("refused the write (MySQL error 1290", "it is read-only",
                  "(a read replica, or the old primary after a failover); nothing was committed",
                  "Point FLEET_MYSQL_ADDRESS at the writer (primary) endpoint", "127.0.0.1:" + MDB["FCA_MDB_PORT"]):
        expect(words in err, "stderr lacks %r: %s" % (words, err))
    expect("insecure-ro" not in out + err, "the password was printed")
    expect(table_fingerprint(db) == before, "mdm_config_assets changed on a read-only server")
    expect(fleetca_activities(db) == acts, "an activity was written: %s" % fleetca_activities(db))
    # the same user on a writable server: the grants were enough
    ok = run(["apply", "-f", Y_STAGE], env)
    expect(ok[0] == 3 and CA + "_cert_next" in live_rows(db), "apply once writable: %s" % describe(ok))


@each_schema(T)
def killed_connection_is_named(new):
    db = new("kill")
    before = table_fingerprint(db)
    proc, go = start_paused(db, "mid_step:" + CA + ":1:adopt")
    try:
        cid = wait_paused(go, proc)
        mariadb(None, "KILL %s" % cid)
    finally:
        rc, out, err = release(proc, go)
    expect(rc == 1, "killed run: %s" % describe((rc, out, err)))
    for words in ("the database connection was lost (MySQL error", "the server closed it",
                  "no partial step was committed: run the command again"):
        expect(words in err, "stderr lacks %r: %s" % (words, err))
    expect(table_fingerprint(db) == before, "a partial step was committed")
    again = run(["apply", "-f", Y_STAGE], env_for(db))
    expect(again[0] == 3 and CA + "_cert_next" in live_rows(db), "the run again: %s" % describe(again))


T.done()
