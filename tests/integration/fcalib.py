"""Helpers for fleetca's integration tests: a real MariaDB (started by ci/mariadb through the ctest
fixture), one fresh database per test loaded with Fleet's schema and fixtures, and the real binary."""
import hashlib
import json
import os
import subprocess
import sys
import time
import uuid

from results import Failures, expect  # noqa: F401 - the tests import them from here

SHARED = os.environ.get("FCA_SHARED_DIR") or os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared")
SOURCE = os.environ.get("FCA_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
FLEETCA = os.environ.get("FLEETCA", os.path.join(SOURCE, "build", "fleetca"))
FIXTURES = os.path.join(SHARED, "fleet", "fixtures", "fleet-dev")
EXPECTED_PATH = os.path.join(FIXTURES, "expected.json")
FIXTURE_KEY = "fixture-dev-private-key-0123456789abcdef"
REFERENCE_NOW = "2026-11-27T00:00:00Z"
TESTING = os.environ.get("FCA_TESTING", "1") == "1"


def _mdb_env():
    path = os.environ.get("FCA_MDB_ENV")
    if not path or not os.path.exists(path):
        sys.exit("FCA_MDB_ENV is not set or missing: run through ctest (which starts ci/mariadb)")
    env = {}
    with open(path) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            env[k] = v
    return env


MDB = _mdb_env()


def mariadb(db, sql=None, infile=None, check=True):
    """Runs SQL as root over the socket; returns rows as lists of strings (tab-separated output)."""
    args = ["mariadb", "--no-defaults", "--socket=" + MDB["FCA_MDB_SOCKET"], "-uroot", "-N", "-B"]
    if db:
        args.append(db)
    stdin = open(infile, "rb") if infile else None
    try:
        p = subprocess.run(args + (["-e", sql] if sql else []), stdin=stdin, capture_output=True, check=False)
    finally:
        if stdin:
            stdin.close()
    if check and p.returncode != 0:
        raise RuntimeError("mariadb failed: %s\n%s" % (sql or infile, p.stderr.decode()))
    return [line.split("\t") for line in p.stdout.decode().splitlines()]


def new_db(prefix="t", schema="schema.sql", fixtures=("fleet-dev.sql",)):
    """A fresh database holding Fleet's schema and the given fixture files (from fleet-dev/)."""
    name = "%s_%s" % (prefix, uuid.uuid4().hex[:10])
    mariadb(None, "CREATE DATABASE `%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci" % name)
    mariadb(name, infile=os.path.join(SHARED, "fleet", schema))
    for fx in fixtures:
        mariadb(name, infile=os.path.join(FIXTURES, fx))
    return name


def env_for(db, key=FIXTURE_KEY, now=REFERENCE_NOW, **extra):
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("FLEET_") or k.startswith("FLEETCA_"):
            del env[k]
    env.update({
        "FLEET_MYSQL_ADDRESS": "127.0.0.1:" + MDB["FCA_MDB_PORT"],
        "FLEET_MYSQL_USERNAME": MDB["FCA_MDB_USER"],
        "FLEET_MYSQL_PASSWORD": MDB["FCA_MDB_PASSWORD"],
        "FLEET_MYSQL_DATABASE": db,
        "NO_COLOR": "1",
    })
    if key is not None:
        env["FLEET_SERVER_PRIVATE_KEY"] = key
    if now is not None:
        env["FLEETCA_TEST_NOW"] = now
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


# Every CA at generation 1: what a first apply adopts and a second finds converged.
CONVERGED_YAML = ("version: 1\ncas:\n  apple_scep: {generation: 1}\n  host_identity: {generation: 1}\n"
                  "  conditional_access: {generation: 1}\n  conditional_access_idp: {generation: 1}\n")


def write_file(directory, name, text):
    """Writes text to directory/name; returns the path."""
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def run(args, env, check_rc=None, timeout=120):
    p = subprocess.run([FLEETCA] + list(args), env=env, capture_output=True, timeout=timeout)
    res = (p.returncode, p.stdout.decode(), p.stderr.decode())
    if check_rc is not None and p.returncode != check_rc:
        raise AssertionError("fleetca %s: exit %d, wanted %d\nstdout:\n%s\nstderr:\n%s"
                             % (" ".join(args), p.returncode, check_rc, res[1], res[2]))
    return res


def table_fingerprint(db, table="mdm_config_assets"):
    """Every column of every row, hashed: any change to the table changes it."""
    rows = mariadb(db, "SELECT id, name, HEX(value), IFNULL(deleted_at,''), deletion_uuid, HEX(md5_checksum), "
                       "created_at FROM %s ORDER BY id" % table)
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def aes_key(server_key=FIXTURE_KEY):
    return server_key.encode()[:32]


def reference_decrypt(value, server_key=FIXTURE_KEY):
    """The fixture README's reference method (Python cryptography's AESGCM)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    return AESGCM(aes_key(server_key)).decrypt(value[:12], value[12:], None)


def live_rows(db):
    """{name: (id, value bytes, md5 hex)} of live rows."""
    out = {}
    for r in mariadb(db, "SELECT id, name, HEX(value), HEX(md5_checksum) FROM mdm_config_assets "
                         "WHERE deletion_uuid = '' ORDER BY id"):
        out[r[1]] = (int(r[0]), bytes.fromhex(r[2]), r[3])
    return out


SCHEMAS = (("schema.sql", "fleet-dev.sql"), ("schema-pre2026.sql", "fleet-dev-old-schema.sql"))


def each_schema(T):
    """A decorator for a case that takes a database maker: it runs once per Fleet schema (SCHEMAS), named
    <case>_current_schema and <case>_pre2026_schema, with new_db(prefix) bound to that schema and its fixture."""
    def wrap(fn):
        for schema, fixture in SCHEMAS:
            def case(schema=schema, fixture=fixture):
                fn(lambda prefix: new_db(prefix, schema=schema, fixtures=(fixture,)))
            case.__name__ = "%s_%s" % (fn.__name__, "current_schema" if schema == "schema.sql" else "pre2026_schema")
            T.case(case)
        return fn
    return wrap


def fleetca_activities(db):
    """[(activity_type, details dict)] that fleetca recorded in Fleet's own table, oldest first:
    activity_past on the newest schema, activities before 2026."""
    table = "activity_past" if mariadb(db, "SHOW TABLES LIKE 'activity_past'") else "activities"
    return [(r[0], json.loads(r[1])) for r in
            mariadb(db, "SELECT activity_type, details FROM %s WHERE user_name = 'fleetca' ORDER BY id" % table)]




def wait_paused(go, proc, timeout=30):
    """The connection id a run paused at a fault point (FLEETCA_FAULT_MODE=pause, FLEETCA_FAULT_PAUSE_FILE=go)
    wrote to <go>.ready (written whole: it ends with a newline)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open(go + ".ready") as f:
                s = f.read()
            if s.endswith("\n"):
                return s.strip()
        except FileNotFoundError:
            pass
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError("paused run exited early: exit %d\nstdout:\n%s\nstderr:\n%s"
                                 % (proc.returncode, out, err))
        time.sleep(0.02)
    raise AssertionError("paused run never reached its fault point")
