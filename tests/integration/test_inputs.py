"""Inputs (issue 9, item 8): the desired-state file (-f) and the saved plan (--plan) are regular files,
checked before any blocking read, so a FIFO is refused at once instead of hanging; '-f -' reads the
desired state from standard input, bounded like a file."""
import os
import subprocess
import tempfile

from fcalib import FLEETCA, Failures, env_for, expect, new_db

T = Failures()
DB = new_db("inputs")
YAML = "version: 1\ncas:\n  apple_scep: {generation: 1}\n  conditional_access_idp: {generation: 2, stage: staged}\n"


def fleetca(args, env, stdin=b"", timeout=20):
    """Runs fleetca; a hang is a failure (TimeoutExpired), not a stuck test."""
    try:
        p = subprocess.run([FLEETCA] + args, env=env, input=stdin, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError("fleetca %s: still running after %ds (waiting on a FIFO?)" % (" ".join(args), timeout))
    return p.returncode, p.stdout.decode(), p.stderr.decode()


@T.case
def a_fifo_as_desired_state_is_refused_at_once():
    with tempfile.TemporaryDirectory() as d:
        fifo = os.path.join(d, "ca-rotation.yml")
        os.mkfifo(fifo)
        for args in (["validate", "-f", fifo], ["plan", "--offline", "-f", fifo], ["plan", "-f", fifo],
                     ["apply", "-f", fifo], ["reconcile", "--once", "-f", fifo]):
            rc, out, err = fleetca(args, env_for(DB))
            expect(rc == 1 and fifo in err and "not a regular file" in err, "%s: exit %d %s" % (args[0], rc, err))


@T.case
def a_fifo_as_saved_plan_is_refused_at_once():
    with tempfile.TemporaryDirectory() as d:
        y = os.path.join(d, "y.yml")
        open(y, "w").write(YAML)
        fifo = os.path.join(d, "plan.json")
        os.mkfifo(fifo)
        rc, out, err = fleetca(["apply", "-f", y, "--plan", fifo], env_for(DB))
        expect(rc == 1 and fifo in err and "not a regular file" in err, "apply --plan FIFO: exit %d %s" % (rc, err))


@T.case
def a_saved_plan_still_applies():
    with tempfile.TemporaryDirectory() as d:
        y = os.path.join(d, "y.yml")
        open(y, "w").write(YAML)
        p = os.path.join(d, "plan.json")
        db = new_db("inputs")
        rc, out, err = fleetca(["plan", "-f", y, "--out", p], env_for(db))
        expect(rc == 2, "plan --out: exit %d %s" % (rc, err))
        rc, out, err = fleetca(["apply", "-f", y, "--plan", p], env_for(db))
        expect(rc == 0, "apply --plan: exit %d %s" % (rc, err))
        rc, out, err = fleetca(["apply", "-f", y, "--plan", os.path.join(d, "missing.json")], env_for(db))
        expect(rc == 1 and "missing.json" in err, "apply --plan missing: exit %d %s" % (rc, err))


@T.case
def dash_reads_standard_input():
    rc, out, err = fleetca(["validate", "-f", "-"], env_for(DB), stdin=YAML.encode())
    expect(rc == 0, "validate -f -: exit %d %s" % (rc, err))
    rc, out, err = fleetca(["validate", "-f", "-"], env_for(DB), stdin=b"version: 1\ncas:\n  nope: {}\n")
    expect(rc == 1 and "nope" in out + err, "validate -f - with a bad file: exit %d %s%s" % (rc, out, err))
    rc, out, err = fleetca(["plan", "--offline", "-f", "-"], env_for(DB), stdin=YAML.encode())
    expect(rc in (0, 2) and "conditional_access_idp" in out, "plan --offline -f -: exit %d %s" % (rc, err))
    rc, out, err = fleetca(["plan", "-f", "-"], env_for(DB), stdin=YAML.encode())
    expect(rc == 2 and "conditional_access_idp" in out, "plan -f -: exit %d %s" % (rc, err))


@T.case
def standard_input_is_bounded_like_a_file():
    big = YAML.encode() + b"#" * (1024 * 1024 + 10) + b"\n"
    rc, out, err = fleetca(["validate", "-f", "-"], env_for(DB), stdin=big)
    expect(rc == 1 and "standard input" in out + err and "too large" in out + err,
           "validate -f - over 1 MiB: exit %d %s%s" % (rc, out[-300:], err[-300:]))


@T.case
def reconcile_refuses_dash():
    rc, out, err = fleetca(["reconcile", "--once", "-f", "-"], env_for(DB), stdin=YAML.encode())
    expect(rc == 1 and "re-reads" in err, "reconcile -f -: exit %d %s" % (rc, err))


T.done()
