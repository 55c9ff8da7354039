"""fleetca --version: the version, the commit, whether test hooks are compiled in, and the versions of
OpenSSL, libmariadb, libgit2 and libcurl it runs with, each the one the system's own tools report."""
import os
import re

from adoptlib import FLEETCA, SOURCE, TESTING, Failures, expect, run

T = Failures()
rc, OUT, ERR = run([FLEETCA, "--version"])
FIELDS = dict(re.findall(r"^([A-Za-z0-9 ]+):\s+(.*)$", OUT, re.M))


def pkg(name):
    rc, out, _ = run(["pkg-config", "--modversion", name])
    expect(rc == 0, "pkg-config knows %s" % name)
    return out.strip()


@T.case
def version_line_and_exit():
    expect(rc == 0, "exit 0: %d %s" % (rc, ERR))
    cmake = open(os.path.join(SOURCE, "CMakeLists.txt")).read()
    want = re.search(r"project\(fleetca VERSION ([0-9.]+)", cmake).group(1)
    expect(OUT.splitlines()[0] == "fleetca %s" % want, "first line is 'fleetca %s': %r" % (want, OUT))


@T.case
def test_hooks_say_what_was_compiled():
    hooks = FIELDS.get("test hooks", "")
    if TESTING:
        expect(hooks.startswith("compiled in"), "a FLEETCA_TESTING build says so: %r" % hooks)
    else:
        expect(hooks == "none", "a release build has none: %r" % hooks)


@T.case
def commit_is_the_checkout():
    commit = FIELDS.get("commit", "")
    rc, head, _ = run(["git", "-C", SOURCE, "rev-parse", "HEAD"])
    if rc != 0:
        expect(commit == "unknown", "outside git the commit is unknown: %r" % commit)
        return
    # Read at configure time: the build may be behind HEAD, but it names a commit of this repository.
    sha = commit.replace("-dirty", "")
    expect(re.fullmatch(r"[0-9a-f]{12}", sha), "a 12-digit commit id: %r" % commit)
    rc, _, _ = run(["git", "-C", SOURCE, "cat-file", "-e", sha + "^{commit}"])
    expect(rc == 0, "%s is a commit of the checkout" % sha)


@T.case
def libraries_are_those_linked():
    rc, ossl, _ = run(["openssl", "version"])
    expect(FIELDS.get("OpenSSL") and FIELDS["OpenSSL"] in ossl, "OpenSSL %r in %r" % (FIELDS.get("OpenSSL"), ossl))
    expect(FIELDS.get("libmariadb") == pkg("libmariadb"), "libmariadb %r" % FIELDS.get("libmariadb"))
    expect(FIELDS.get("libgit2") == pkg("libgit2"), "libgit2 %r" % FIELDS.get("libgit2"))
    expect(FIELDS.get("libcurl") == pkg("libcurl"), "libcurl %r" % FIELDS.get("libcurl"))


T.done()
