"""The Debian package: a release build without test hooks (its own build folder), `cpack -G DEB`,
then, as root, dpkg -i, fleetca --version, man -w fleetca, the files where the man page says, and
dpkg -r. Not root: exit 77 (ctest: skipped), saying why. CI runs as root."""
import glob
import os
import re
import shutil
import subprocess

from adoptlib import BINARY_DIR, SOURCE, Failures, expect, run, tool

if os.geteuid() != 0:
    print("skipped: installing the package needs root (dpkg -i); CI runs as root")
    raise SystemExit(77)

T = Failures()
BUILD = os.path.join(BINARY_DIR, "deb-release")
STATE = {}


def dpkg_installed():
    rc, out, _ = run(["dpkg-query", "-W", "-f=${Status}", "fleetca"])
    return rc == 0 and "ok installed" in out


@T.case
def build_the_package():
    # Refuse to touch a fleetca package someone installed on this machine.
    expect(not dpkg_installed(), "a fleetca package is already installed here: the test will not replace it")
    shutil.rmtree(BUILD, ignore_errors=True)
    rc, out, err = run(["cmake", "-S", SOURCE, "-B", BUILD, "-DCMAKE_BUILD_TYPE=Release", "-DFLEETCA_TESTING=OFF",
                        "-DFLEETCA_BUILD_TESTS=OFF"], timeout=600)
    expect(rc == 0, "configure: %s" % err)
    rc, out, err = run(["cmake", "--build", BUILD, "-j%d" % (os.cpu_count() or 2)], timeout=900)
    expect(rc == 0, "build: %s" % (err or out[-2000:]))
    rc, out, err = run(["cpack", "-G", "DEB"], cwd=BUILD, timeout=600)
    expect(rc == 0, "cpack: %s %s" % (out[-2000:], err))
    debs = glob.glob(os.path.join(BUILD, "fleetca_*_amd64.deb"))
    expect(len(debs) == 1, "one fleetca_<version>_amd64.deb: %s" % os.listdir(BUILD))
    STATE["deb"] = debs[0]


@T.case
def package_metadata():
    deb = STATE["deb"]
    rc, out, err = run(["dpkg-deb", "-f", deb, "Package", "Version", "Architecture", "Depends"])
    expect(rc == 0, err)
    fields = dict(line.split(": ", 1) for line in out.splitlines())
    expect(fields.get("Package") == "fleetca" and fields.get("Architecture") == "amd64", fields)
    expect(os.path.basename(deb) == "fleetca_%s_amd64.deb" % fields["Version"], deb)
    deps = fields.get("Depends", "")
    # dpkg-shlibdeps found each library the binary links.
    for lib in ("libssl3", "libmariadb3", "libgit2-", "libcurl4", "libyaml-0-2", "libjansson4", "libc6"):
        expect(lib in deps, "Depends names %s: %s" % (lib, deps))
    rc, out, _ = run(["dpkg-deb", "-c", deb])
    for path in ("./usr/bin/fleetca", "./usr/share/man/man1/fleetca.1.gz",
                 "./usr/share/fleetca/schemas/plan.schema.json", "./usr/share/fleetca/schemas/status.schema.json",
                 "./usr/share/fleetca/schemas/ca-rotation.schema.json", "./usr/share/fleetca/schemas/apply.schema.json",
                 "./usr/share/doc/fleetca/examples/systemd/fleetca-reconcile.service",
                 "./usr/share/doc/fleetca/examples/systemd/fleetca-apply.timer",
                 "./usr/share/doc/fleetca/examples/ca-rotation.yml",
                 "./usr/share/bash-completion/completions/fleetca"):
        expect(re.search(r" %s$" % re.escape(path), out, re.M), "the package holds %s" % path)


@T.case
def install_run_remove():
    deb = STATE["deb"]
    rc, out, err = run(["dpkg", "-i", deb], timeout=300)
    try:
        expect(rc == 0, "dpkg -i: %s %s" % (out, err))
        rc, out, err = run(["/usr/bin/fleetca", "--version"])
        expect(rc == 0 and out.startswith("fleetca ") and "test hooks: none" in out,
               "the packaged binary is a release build: %s %s" % (out, err))
        for lib in ("OpenSSL:", "libmariadb:", "libgit2:", "libcurl:"):
            expect(lib in out, "--version names %s" % lib)
        with open("/usr/bin/fleetca", "rb") as f:
            blob = f.read()
        expect(b"FLEETCA_TEST_NOW" not in blob and b"FLEETCA_FAULT" not in blob, "no test hooks in the binary")
        rc, out, err = run(["man", "-w", "fleetca"])
        expect(rc == 0 and out.strip() == "/usr/share/man/man1/fleetca.1.gz", "man -w fleetca: %r %s" % (out, err))
        rc, out, err = run(["man", "-P", "cat", "fleetca"], env=dict(os.environ, MANWIDTH="80"))
        expect(rc == 0 and "EXIT STATUS" in out and "reconcile" in out, "man renders the page: %s" % err)
        rc, out, err = run(["/usr/bin/fleetca", "validate", "-f", "/usr/share/doc/fleetca/examples/ca-rotation.yml"])
        expect(rc == 0, "the installed example validates: %s" % err)
    finally:
        rc2, out2, err2 = run(["dpkg", "-r", "fleetca"], timeout=300)
    expect(rc2 == 0 and not dpkg_installed(), "dpkg -r: %s %s" % (out2, err2))
    expect(not os.path.exists("/usr/bin/fleetca"), "dpkg -r removed the binary")


@T.case
def testing_build_refuses_to_package():
    # The test build (ci/build: FLEETCA_TESTING=ON) has a package target that fails with the reason.
    rc, out, err = run(["cmake", "--build", BINARY_DIR, "--target", "package"], timeout=300)
    expect(rc != 0 and "test hooks" in out + err, "a testing build is not packaged: %d %s" % (rc, out[-500:]))


T.done()
