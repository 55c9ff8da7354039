"""ci/install-deps is quiet unless it fails (issue 9, item 14): apt-get's and npm's chatter goes to a
log that is printed, with the failing command, only when one of them fails. Run against stand-ins for
dpkg-query, apt-get, npm and action-validator on PATH: nothing is installed."""
import os
import stat
import subprocess
import tempfile

from adoptlib import SOURCE, Failures, expect

T = Failures()


def install_deps(apt_rc):
    with tempfile.TemporaryDirectory() as d:
        stubs = {
            "dpkg-query": "exit 1",  # nothing installed: every package is missing
            "apt-get": "echo 'Reading package lists... Done'; echo 'Setting up libfoo (1.0)'; "
                       "[ %d -eq 0 ] || echo 'E: Unable to locate package libfoo' >&2; exit %d" % (apt_rc, apt_rc),
            "npm": '[ "$1" = root ] && echo "%s/npm-root" && exit 0; echo "added 2 packages in 1s"' % d,
            "action-validator": "exit 0",
            "sudo": '"$@"',
        }
        for name, body in stubs.items():
            path = os.path.join(d, name)
            with open(path, "w") as f:
                f.write("#!/bin/sh\n%s\n" % body)
            os.chmod(path, stat.S_IRWXU)
        env = dict(os.environ, PATH=d + ":/usr/bin:/bin", TMPDIR=d)
        p = subprocess.run([os.path.join(SOURCE, "ci", "install-deps")], env=env, capture_output=True, text=True,
                           timeout=60)
        left = sorted(n for n in os.listdir(d) if n.startswith("fleetca-install-deps"))
        return p.returncode, p.stdout, p.stderr, left


@T.case
def quiet_when_it_works():
    rc, out, err, left = install_deps(0)
    expect(rc == 0, "exit 0, not %d: %s" % (rc, err))
    expect(out == "" and err == "", "no output: %r %r" % (out, err))
    expect(left == [], "the log is removed: %s" % left)


@T.case
def the_log_when_it_fails():
    rc, out, err, left = install_deps(100)
    expect(rc != 0, "a failed apt-get fails the script")
    expect("apt-get" in err and "failed" in err, "names the command: %r" % err)
    expect("Setting up libfoo" in err and "E: Unable to locate package libfoo" in err, "prints the log: %r" % err)
    expect(left == [], "the log is removed: %s" % left)


T.done()
