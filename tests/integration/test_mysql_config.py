"""MySQL settings as Fleet has them (issue 9 item 10, in part), checked before any server is asked,
so they do not depend on the server's brand: FLEET_MYSQL_REGION (Fleet's RDS IAM login) is refused
with "not supported: use a password", not a misleading access-denied; a missing
FLEETCA_MYSQL_SERVER_PUBLIC_KEY file is named. On both schemas."""
import os
import tempfile

from fcalib import Failures, each_schema, env_for, expect, run, table_fingerprint

T = Failures()


def per_schema(fn):
    """Each case runs once per schema, on a fresh database of its own."""
    def with_db(make):
        fn(make("mc"))
    with_db.__name__ = fn.__name__
    each_schema(T)(with_db)
    return fn


@per_schema
def rds_iam_login_is_not_supported(db):
    before = table_fingerprint(db)
    for cmd in (["status"], ["reconcile", "-f", os.devnull, "--once"]):
        rc, out, err = run(cmd, env_for(db, FLEET_MYSQL_REGION="us-east-1"))
        if cmd[0] == "status":
            expect(rc == 1 and "FLEET_MYSQL_REGION" in err and "not supported" in err and "use a password" in err,
                   "status with FLEET_MYSQL_REGION: exit %d %s" % (rc, err))
            expect("Access denied" not in err, err)
    expect(table_fingerprint(db) == before, "nothing written")


@per_schema
def missing_server_public_key_is_named(db):
    with tempfile.TemporaryDirectory() as d:
        missing = os.path.join(d, "server-rsa.pem")
        rc, out, err = run(["status"], env_for(db, FLEETCA_MYSQL_SERVER_PUBLIC_KEY=missing))
        expect(rc == 1 and missing in err and "No such file or directory" in err, "exit %d %s" % (rc, err))


T.done()
