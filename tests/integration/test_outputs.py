"""Output files and standard output in a hostile directory (issue 9, item 7): plan --out, export --out
and reconcile --metrics-file write a temp file with an explicit mode beside the target and rename it
only onto a regular file or a new path; a symlink, a directory or a FIFO is refused and left as it
was; a write to standard output that fails (/dev/full) is an error, exit 1."""
import os
import stat
import subprocess
import tempfile

from fcalib import FLEETCA, Failures, env_for, expect, new_db, run

T = Failures()
DB = new_db("outs")
YAML = "version: 1\ncas:\n  apple_scep: {generation: 1}\n  conditional_access_idp: {generation: 2, stage: staged}\n"
QUIET = "version: 1\ncas:\n  apple_scep: {generation: 1}\n"


def desired(d, text=YAML):
    y = os.path.join(d, "y.yml")
    with open(y, "w") as f:
        f.write(text)
    return y


def writers(d, target):
    """Each writer of an output file, aimed at target."""
    y = desired(d)
    return {
        "plan --out": ["plan", "-f", y, "--out", target],
        "export --out": ["export", "--ca", "apple_scep", "--bundle", "--out", target],
        "reconcile --metrics-file": ["reconcile", "-f", desired(d, QUIET), "--once", "--metrics-file", target],
    }


def listing(d):
    return sorted(os.listdir(d))


def run_umask(args, env, umask):
    old = os.umask(umask)
    try:
        p = subprocess.run([FLEETCA] + args, env=env, capture_output=True, timeout=120)
    finally:
        os.umask(old)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


@T.case
def new_files_get_the_mode_chosen_and_no_temp_is_left():
    want = {"plan --out": 0o600, "export --out": 0o644, "reconcile --metrics-file": 0o644}
    for umask in (0o077, 0o000):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "out")
            os.mkdir(out)
            for name, args in writers(d, os.path.join(out, "target")).items():
                target = os.path.join(out, "target")
                rc, _, err = run_umask(args, env_for(DB), umask)
                expect(rc in (0, 2), "%s: exit %d %s" % (name, rc, err))
                mode = stat.S_IMODE(os.lstat(target).st_mode)
                expect(mode == want[name], "%s, umask %03o: mode %03o, wanted %03o" % (name, umask, mode, want[name]))
                expect(listing(out) == ["target"], "%s: only the target in its folder: %s" % (name, listing(out)))
                # Onto the regular file just written: replaced, same mode.
                rc, _, err = run_umask(args, env_for(DB), umask)
                expect(rc in (0, 2) and stat.S_IMODE(os.lstat(target).st_mode) == want[name],
                       "%s: replacing a regular file: exit %d %s" % (name, rc, err))
                os.unlink(target)


@T.case
def a_symlink_target_is_refused_and_kept():
    for name in writers(tempfile.gettempdir(), "x"):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "out")
            os.mkdir(out)
            victim = os.path.join(d, "victim")
            with open(victim, "w") as f:
                f.write("keep me\n")
            link = os.path.join(out, "link")
            os.symlink(victim, link)
            rc, _, err = run(writers(d, link)[name], env_for(DB))
            expect(rc == 1 and "symbolic link" in err and "refusing" in err, "%s onto a symlink: exit %d %s"
                   % (name, rc, err))
            expect(os.path.islink(link) and os.readlink(link) == victim, "%s: the symlink is unchanged" % name)
            expect(open(victim).read() == "keep me\n", "%s: its target is unchanged" % name)
            expect(listing(out) == ["link"], "%s: no temp file left: %s" % (name, listing(out)))


@T.case
def a_directory_or_fifo_target_is_refused_and_kept():
    for name in writers(tempfile.gettempdir(), "x"):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "out")
            os.mkdir(out)
            sub = os.path.join(out, "dir")
            os.mkdir(sub)
            fifo = os.path.join(out, "fifo")
            os.mkfifo(fifo)
            rc, _, err = run(writers(d, sub)[name], env_for(DB))
            expect(rc == 1 and "directory" in err and "refusing" in err, "%s onto a directory: exit %d %s"
                   % (name, rc, err))
            rc, _, err = run(writers(d, fifo)[name], env_for(DB), timeout=30)
            expect(rc == 1 and "FIFO" in err and "refusing" in err, "%s onto a FIFO: exit %d %s" % (name, rc, err))
            expect(stat.S_ISFIFO(os.lstat(fifo).st_mode) and os.path.isdir(sub), "%s: both unchanged" % name)
            expect(listing(out) == ["dir", "fifo"] and os.listdir(sub) == [],
                   "%s: no temp file left: %s" % (name, listing(out)))


@T.case
def a_device_target_is_refused():
    """A character device of the test's own (never the system's /dev/null, which a regression would
    replace for every process on the machine), made with mknod when the test runs as root."""
    if os.geteuid() != 0:
        print("skip: mknod needs root (CI runs as root)")
        return
    dev = os.path.join(tempfile.mkdtemp(), "null")
    os.mknod(dev, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    rc, _, err = run(["plan", "-f", desired(tempfile.mkdtemp()), "--out", dev], env_for(DB))
    expect(rc == 1 and "device" in err and "refusing" in err, "plan --out <a device>: exit %d %s" % (rc, err))
    expect(stat.S_ISCHR(os.lstat(dev).st_mode), "the device is still a device")


@T.case
def standard_output_that_fails_is_an_error():
    with tempfile.TemporaryDirectory() as d:
        y = desired(d)
        for args in (["status"], ["status", "--format", "json"], ["validate", "-f", y], ["plan", "-f", y],
                     ["plan", "-f", y, "--format", "json"], ["plan", "--offline", "-f", y], ["status", "--help"],
                     ["export", "--ca", "apple_scep", "--bundle"]):
            with open("/dev/full", "w") as full:
                p = subprocess.run([FLEETCA] + args, env=env_for(DB), stdout=full, stderr=subprocess.PIPE,
                                   timeout=120)
            err = p.stderr.decode()
            expect(p.returncode == 1 and "standard output" in err, "%s > /dev/full: exit %d %s"
                   % (" ".join(args), p.returncode, err))


T.done()
