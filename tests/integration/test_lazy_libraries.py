"""libgit2 and libcurl are loaded on first use (issue 11 item 2): a converged apply that reads a file
and writes activities to the database (the default sink) loads neither; a git source loads libgit2
alone, --version loads both. A library that cannot be loaded gives an error that names it and its
Debian package. The dynamic loader reports what it loads (LD_DEBUG=libs: one "calling init" line
per library); a broken copy of a library found first through LD_LIBRARY_PATH stands for one that is
missing or damaged, with no test hook in the binary."""
import os
import shutil
import subprocess
import tempfile

from fcalib import CONVERGED_YAML, Failures, env_for, expect, new_db, run, write_file

T = Failures()
TMP = tempfile.mkdtemp(prefix="fca-lazy-")
CONVERGED = write_file(TMP, "converged.yml", CONVERGED_YAML)
API = write_file(TMP, "api.yml", "version: 1\npolicy: {min_overlap: 7d}\nactivities: {sink: api}\ncas:\n"
                 "  conditional_access_idp: {generation: 2, stage: staged}\n")
BROKEN = os.path.join(TMP, "broken-libs")
os.mkdir(BROKEN)
for soname in ("libgit2.so.1.5", "libcurl.so.4"):
    open(os.path.join(BROKEN, soname), "w").close()  # empty: "file too short"


def loaded(args, env):
    """(exit code, stdout, the libraries the loader initialised, stderr without the loader's lines)."""
    env = dict(env, LD_DEBUG="libs")
    rc, out, err = run(args, env)
    inits = [line.split("calling init:")[1].strip() for line in err.splitlines() if "calling init:" in line]
    rest = "\n".join(line for line in err.splitlines() if not line.strip().split(":")[0].isdigit())
    return rc, out, [os.path.basename(p) for p in inits], rest


def has(libs, stem):
    return any(lib.startswith(stem) for lib in libs)


@T.case
def version_loads_both():
    # the control: LD_DEBUG does report libgit2 and libcurl when they are loaded
    rc, out, libs, err = loaded(["--version"], env_for("unused", now=None))
    expect(rc == 0, "--version: %d %s" % (rc, err))
    expect(has(libs, "libgit2.so") and has(libs, "libcurl.so"), "--version loads both: %s" % libs)


@T.case
def converged_apply_loads_neither():
    db = new_db("lz")
    env = env_for(db)
    run(["apply", "-f", CONVERGED], env, check_rc=0)  # adopts what Fleet created
    rc, out, libs, err = loaded(["apply", "-f", CONVERGED], env)
    expect(rc == 0 and "Nothing to do" in out, "converged: %d %s %s" % (rc, out, err))
    expect(has(libs, "libmariadb.so"), "the loader's report lists libmariadb: %s" % libs)
    expect(not has(libs, "libgit2.so"), "a file source must not load libgit2: %s" % libs)
    expect(not has(libs, "libcurl.so"), "the db sink must not load libcurl: %s" % libs)
    # status and plan read the same way
    for args in (["status"], ["plan", "-f", CONVERGED]):
        rc, out, libs, err = loaded(args, env)
        expect(rc == 0 and not has(libs, "libgit2.so") and not has(libs, "libcurl.so"),
               "%s: %d %s %s" % (args[0], rc, libs, err))


def make_repo():
    repo = os.path.join(TMP, "repo")
    if os.path.isdir(repo):
        return repo
    genv = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid",
                GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid", GIT_CONFIG_NOSYSTEM="1",
                HOME=TMP)
    subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True, env=genv)
    shutil.copy(CONVERGED, os.path.join(repo, "ca-rotation.yml"))
    subprocess.run(["git", "-C", repo, "add", "ca-rotation.yml"], check=True, env=genv)
    subprocess.run(["git", "-C", repo, "commit", "-q", "-m", "ca"], check=True, env=genv)
    return repo


@T.case
def git_source_loads_libgit2_alone():
    db = new_db("lz")
    repo = make_repo()
    rc, out, libs, err = loaded(["plan", "--git-repo", repo, "--git-ref", "main", "-f", "ca-rotation.yml"],
                                env_for(db))
    expect(rc == 2 and "adopt" in out, "plan from git (exit 2: steps to take): %d %s %s" % (rc, out, err))
    expect(has(libs, "libgit2.so") and not has(libs, "libcurl.so"), "git source: %s" % libs)


@T.case
def missing_libgit2_is_named():
    db = new_db("lz")
    repo = make_repo()
    env = env_for(db, LD_LIBRARY_PATH=BROKEN)
    rc, out, err = run(["plan", "--git-repo", repo, "--git-ref", "main", "-f", "ca-rotation.yml"], env)
    expect(rc == 1, "exit 1 (not a crash): %d %s" % (rc, err))
    expect("cannot load libgit2 (libgit2.so.1.5): " in err and "file too short" in err and
           "install the libgit2-1.5 package" in err, "the message names the library and its package: %r" % err)
    # a file source does not need it: the same environment plans from the file
    rc, out, err = run(["plan", "-f", CONVERGED], env)
    expect(rc == 2 and "adopt" in out, "a file source runs without libgit2: %d %s" % (rc, err))
    rc, out, err = run(["--version"], env)
    expect(rc == 0 and "libgit2:    not loadable (libgit2.so.1.5)" in out and
           "libcurl:    not loadable (libcurl.so.4)" in out, "--version says so: %d %r" % (rc, out))


@T.case
def missing_libcurl_is_named():
    db = new_db("lz")
    env = env_for(db, LD_LIBRARY_PATH=BROKEN, FLEET_URL="https://127.0.0.1:9", FLEET_API_TOKEN="t0ken")
    rc, out, err = run(["apply", "-f", API], env)
    expect(rc != 0 and "applied conditional_access_idp:2:stage" in out, "the step applies: %d %s %s" % (rc, out, err))
    expect("cannot load libcurl (libcurl.so.4): " in err and "install the libcurl4 package" in err and
           "pending in the outbox" in err, "the message names the library, the activity waits: %r" % err)


T.done()
