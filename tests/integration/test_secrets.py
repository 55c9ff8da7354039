"""Secrets stay secret: not in the process environment after reading, not in any output."""
import os
import subprocess
import tempfile
import time

from fcalib import FIXTURE_KEY, FLEETCA, TESTING, Failures, env_for, expect, new_db, run

T = Failures()


@T.case
def server_key_is_wiped_from_environ():
    if not TESTING:
        return
    db = new_db("secret")
    with tempfile.TemporaryDirectory() as d:
        y = os.path.join(d, "y.yml")
        open(y, "w").write("version: 1\ncas:\n  conditional_access_idp: {generation: 2, stage: staged}\n")
        env = env_for(db)
        env.update({"FLEETCA_FAULT": "before_commit:conditional_access_idp:2:stage", "FLEETCA_FAULT_MODE": "pause",
                    "FLEETCA_FAULT_PAUSE_FILE": os.path.join(d, "go")})
        p = subprocess.Popen([FLEETCA, "apply", "-f", y], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(500):
            if os.path.exists(os.path.join(d, "go.ready")):
                break
            time.sleep(0.02)
        try:
            environ = open("/proc/%d/environ" % p.pid, "rb").read()
            cmdline = open("/proc/%d/cmdline" % p.pid, "rb").read()
        finally:
            open(os.path.join(d, "go"), "w").close()
        out, err = p.communicate(timeout=60)
        expect(os.path.exists(os.path.join(d, "go.ready")), "the run reached the pause point")
        expect(FIXTURE_KEY.encode() not in environ and FIXTURE_KEY[:32].encode() not in environ,
               "the server key is wiped from /proc/<pid>/environ")
        expect(b"FLEET_MYSQL_DATABASE" in environ, "the rest of the environment is intact")
        expect(FIXTURE_KEY.encode() not in cmdline, "never on argv")
        expect(p.returncode == 0, "the paused run finished: %d %s" % (p.returncode, err))


@T.case
def no_key_material_in_any_output():
    db = new_db("secret")
    with tempfile.TemporaryDirectory() as d:
        y = os.path.join(d, "y.yml")
        open(y, "w").write("version: 1\npolicy: {fleet_server_trusts_previous: true}\n"
                           "cas:\n  apple_scep: {generation: 1, renew_before: 9y}\n"
                           "  host_identity: {generation: 2, stage: staged}\n")
        outs = []
        for args in (["status", "--check-keys"], ["status", "--format", "json", "--check-keys"], ["plan", "-f", y],
                     ["plan", "-f", y, "--format", "json"], ["apply", "-f", y], ["apply", "-f", y, "--format", "json"]):
            rc, out, err = run(args, env_for(db))
            outs.append(out + err)
        blob = "\n".join(outs)
        expect("PRIVATE KEY" not in blob and FIXTURE_KEY not in blob and FIXTURE_KEY[:32] not in blob,
               "no key material printed")


@T.case
def secret_files_that_cannot_be_read_are_errors_naming_them():
    """A missing FLEET_MYSQL_PASSWORD_PATH is an error naming the path (it used to be an empty password),
    a FIFO there is refused at once (it used to block), and a value and a path both set is an error."""
    db = new_db("secretfile")
    with tempfile.TemporaryDirectory() as d:
        missing = os.path.join(d, "no-such-password")
        env = env_for(db, FLEET_MYSQL_PASSWORD_PATH=missing)
        del env["FLEET_MYSQL_PASSWORD"]
        rc, out, err = run(["status"], env)
        expect(rc == 1 and missing in err and "No such file or directory" in err,
               "missing password file: exit %d %s" % (rc, err))
        fifo = os.path.join(d, "fifo")
        os.mkfifo(fifo)
        rc, out, err = run(["status"], env_for(db, key=None, FLEETCA_SERVER_PRIVATE_KEY_PATH=fifo), timeout=10)
        expect(rc == 1 and fifo in err and "not a regular file" in err, "fifo key file: exit %d %s" % (rc, err))
        keyfile = os.path.join(d, "key")
        open(keyfile, "w").write(FIXTURE_KEY)
        rc, out, err = run(["status"], env_for(db, FLEETCA_SERVER_PRIVATE_KEY_PATH=keyfile))
        expect(rc == 1 and "both FLEET_SERVER_PRIVATE_KEY and FLEETCA_SERVER_PRIVATE_KEY_PATH are set" in err,
               "both set: exit %d %s" % (rc, err))
        expect(FIXTURE_KEY not in out + err, "the key is never printed")


T.done()
