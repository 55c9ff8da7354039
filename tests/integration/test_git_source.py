"""The desired state from git history: plan and apply with --git-repo/--git-ref,
plan --git-base on a pull-request branch, the commit recorded in activities and in the state
document, clear errors for bad refs and paths, and a repository owned by another uid."""
import json
import os
import shutil
import subprocess
import tempfile

import jsonschema

from fcalib import FLEETCA, SOURCE, Failures, env_for, expect, fleetca_activities, live_rows, new_db, reference_decrypt, run

T = Failures()
EXAMPLE = os.path.join(SOURCE, "examples", "ca-rotation.yml")
PLAN_SCHEMA = json.load(open(os.path.join(SOURCE, "schemas", "plan.schema.json")))
T0 = "2026-11-27T00:00:00Z"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "fleetca test", "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "fleetca test", "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_AUTHOR_DATE": "2026-11-20T00:00:00Z", "GIT_COMMITTER_DATE": "2026-11-20T00:00:00Z",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}
BASE_YML = ("version: 1\npolicy:\n  min_overlap: 7d\n  fleet_server_trusts_previous: true\n"
            "cas:\n  apple_scep: {generation: 1}\n  host_identity: {generation: 1}\n")
PR_YML = ("version: 1\npolicy:\n  min_overlap: 7d\n  fleet_server_trusts_previous: true\n"
          "cas:\n  apple_scep: {generation: 2, stage: staged}\n  host_identity: {generation: 1}\n")
TMP = tempfile.mkdtemp(prefix="fca-git-")


def git(repo, *args):
    p = subprocess.run(["git", "-C", repo] + list(args), env=dict(os.environ, **GIT_ENV), capture_output=True,
                       text=True)
    if p.returncode != 0:
        raise AssertionError("git %s: %s" % (" ".join(args), p.stderr))
    return p.stdout.strip()


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def make_repo(name):
    """main: BASE_YML, then a later commit on main; pr (checked out) branched from the first commit
    with PR_YML; example: the repository's example file; origin/main as a remote-tracking ref."""
    repo = os.path.join(TMP, name)
    subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True, env=dict(os.environ, **GIT_ENV))
    write(os.path.join(repo, "ca-rotation.yml"), BASE_YML)
    write(os.path.join(repo, "fleet", "README"), "a directory\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    base = git(repo, "rev-parse", "HEAD")
    write(os.path.join(repo, "example.yml"), open(EXAMPLE).read())
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "example")
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    git(repo, "checkout", "-q", "-b", "pr", base)
    write(os.path.join(repo, "ca-rotation.yml"), PR_YML)
    git(repo, "commit", "-qam", "rotate apple_scep")
    return repo, base


def fleetca(args, env, cwd=None):
    p = subprocess.run([FLEETCA] + list(args), env=env, cwd=cwd, capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def no_db_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLEET_", "FLEETCA_"))}
    env["NO_COLOR"] = "1"
    return env


def step_ids(out):
    return [s["step_id"] for s in json.loads(out)["steps"]]


@T.case
def plan_from_git_matches_working_tree():
    repo, _ = make_repo("same")
    db = new_db("gitsrc")
    env = env_for(db, now=T0)
    rc, wt, err = run(["plan", "-f", EXAMPLE, "--format", "json"], env)
    expect(rc == 2, "working tree: exit %d %s" % (rc, err))
    for ref in ("main", "origin/main", git(repo, "rev-parse", "main")):
        rc, out, err = run(["plan", "--git-repo", repo, "--git-ref", ref, "-f", "example.yml", "--format", "json"], env)
        expect(rc == 2, "%s: exit %d %s" % (ref, rc, err))
        jsonschema.Draft202012Validator(PLAN_SCHEMA).validate(json.loads(out))
        expect(step_ids(out) == step_ids(wt), "%s: %s != %s" % (ref, step_ids(out), step_ids(wt)))
        expect("change" not in json.loads(out), "no change without --git-base")
    rc, out, err = run(["plan", "--git-repo", repo, "--git-ref", "main", "-f", "example.yml"], env)
    expect(rc == 2 and "host_identity:2:stage" in out and "7 steps: 5 ready, 2 waiting" in out, out + err)
    # the default ref is HEAD (pr): its file asks for apple_scep gen 2 staged and host_identity
    rc, out, err = run(["plan", "--git-repo", repo, "-f", "ca-rotation.yml", "--format", "json"], env)
    expect(rc == 2 and step_ids(out) == ["apple_scep:1:adopt", "apple_scep:2:stage", "host_identity:1:adopt"],
           "HEAD: exit %d %s %s" % (rc, out[:200], err))


@T.case
def git_base_shows_what_the_pull_request_changes():
    repo, base = make_repo("pr")
    db = new_db("gitsrc")
    env = env_for(db, now=T0)
    rc, out, err = fleetca(["plan", "--git-base", "main", "-f", "ca-rotation.yml"], env, cwd=repo)
    expect(rc == 2, "exit %d: %s %s" % (rc, out, err))
    lines = out.splitlines()
    expect(base[:12] in lines[0] and "main" in lines[0], lines[0])
    expect(any(l.split() == ["apple_scep:", "gen", "1", "complete", "→", "gen", "2", "staged", "(this", "change)"]
               for l in lines), out)
    expect(any(l.split()[:2] == ["host_identity:", "unchanged"] for l in lines), out)
    expect(out.index("(this change)") < out.index("apple_scep:2:stage"), "the change comes above the plan: " + out)

    rc, md, err = fleetca(["plan", "--git-base", "origin/main", "-f", "ca-rotation.yml", "--format", "markdown"],
                          env, cwd=repo)
    expect(rc == 2, "markdown: exit %d %s" % (rc, err))
    expect(md.startswith("### What this pull request changes in `ca-rotation.yml`"), md[:200])
    expect("| `apple_scep` | gen 1 complete | **gen 2 staged** |" in md, md)
    expect("| `host_identity` | gen 1 complete | gen 1 complete | unchanged |" in md, md)
    expect(md.index("| `apple_scep`") < md.index("### fleetca plan"), "the table comes before the plan")

    rc, js, err = fleetca(["plan", "--git-base", "main", "-f", "ca-rotation.yml", "--format", "json"], env, cwd=repo)
    doc = json.loads(js)
    jsonschema.Draft202012Validator(PLAN_SCHEMA).validate(doc)
    expect(doc["change"] == [
        {"ca": "apple_scep", "base": {"generation": 1, "stage": "complete"},
         "head": {"generation": 2, "stage": "staged"}, "fields": ["generation", "stage"]},
        {"ca": "host_identity", "base": {"generation": 1, "stage": "complete"},
         "head": {"generation": 1, "stage": "complete"}, "fields": []}], json.dumps(doc["change"]))

    # the same from history, without a checkout: --git-repo with --git-ref pr
    rc, out2, err = run(["plan", "--git-repo", repo, "--git-ref", "pr", "--git-base", "main", "-f",
                         "ca-rotation.yml"], env)
    expect(rc == 2 and out2 == out, "from history: exit %d\n%s\n---\n%s" % (rc, out2, out))

    # offline: no database, only the change
    rc, off, err = fleetca(["plan", "--offline", "--git-base", "main", "-f", "ca-rotation.yml"], no_db_env(), cwd=repo)
    expect(rc == 0 and "gen 1 complete → gen 2 staged (this change)" in off and ":stage" not in off,
           "offline: exit %d %s %s" % (rc, off, err))
    # uncommitted edits in the working tree are part of the change
    write(os.path.join(repo, "ca-rotation.yml"), PR_YML.replace("host_identity: {generation: 1}",
                                                                "host_identity: {generation: 1, suspend: true}"))
    rc, off, err = fleetca(["plan", "--offline", "--git-base", "main", "-f", "ca-rotation.yml"], no_db_env(), cwd=repo)
    expect(rc == 0 and "host_identity:" in off and "suspend changed (this change)" in off, off + err)
    git(repo, "checkout", "-q", "--", "ca-rotation.yml")


@T.case
def git_base_new_file_and_errors():
    repo, _ = make_repo("newfile")
    git(repo, "checkout", "-q", "-b", "newfile")
    write(os.path.join(repo, "ci", "rotation.yml"), PR_YML)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "new file")
    rc, out, err = fleetca(["plan", "--offline", "--git-base", "main", "-f", "ci/rotation.yml"], no_db_env(), cwd=repo)
    expect(rc == 0 and "adds ci/rotation.yml" in out and "apple_scep:" in out and "not named → gen 2 staged" in out,
           "new file: exit %d %s %s" % (rc, out, err))
    rc, out, err = fleetca(["plan", "--offline", "--git-base", "origin/nope", "-f", "ca-rotation.yml"], no_db_env(),
                           cwd=repo)
    expect(rc == 1 and "no such ref 'origin/nope'" in err and "fetch it first" in err, "bad base: %d %s" % (rc, err))
    outside = os.path.join(TMP, "outside.yml")
    write(outside, PR_YML)
    rc, out, err = fleetca(["plan", "--offline", "--git-base", "main", "-f", outside], no_db_env(), cwd=TMP)
    expect(rc == 1 and "not in a git repository" in err, "outside a repo: %d %s" % (rc, err))


@T.case
def apply_records_the_commit():
    repo, _ = make_repo("apply")
    db = new_db("gitsrc")
    commit = git(repo, "rev-parse", "pr")
    rc, out, err = run(["apply", "--git-repo", repo, "--git-ref", "pr", "-f", "ca-rotation.yml"], env_for(db, now=T0))
    expect(rc == 0, "exit %d: %s %s" % (rc, out, err))
    expect("Done: 3 steps applied; Fleet's CAs match pr:ca-rotation.yml." in out, out)
    doc = json.loads(reference_decrypt(live_rows(db)["fleetca_state"][1]))
    acts = fleetca_activities(db)
    keys = [d["step_id"] for _, d in acts]
    expect(keys == ["apple_scep:1:adopt", "apple_scep:2:stage", "host_identity:1:adopt"], str(keys))
    for _, d in acts:
        expect(d["source"] == {"commit": commit, "ref": "pr", "path": "ca-rotation.yml"},
               "%s: %s" % (d["step_id"], d["source"]))
    gens = {(g["ca"], g["generation"]): g for g in doc["generations"]}
    expect(set(gens) == {("apple_scep", 1), ("apple_scep", 2), ("host_identity", 1)}, str(sorted(gens)))
    for k, g in gens.items():
        expect(g["commit"] == commit, "%s: commit %r, wanted %s" % (k, g.get("commit"), commit))

    # from the working tree: no commit, no ref (as before)
    db2 = new_db("gitsrc")
    path = os.path.join(repo, "ca-rotation.yml")
    rc, out, err = run(["apply", "-f", path], env_for(db2, now=T0))
    expect(rc == 0, "working tree: exit %d %s" % (rc, err))
    doc = json.loads(reference_decrypt(live_rows(db2)["fleetca_state"][1]))
    src = fleetca_activities(db2)[0][1]["source"]
    expect(src == {"commit": None, "ref": None, "path": path}, str(src))
    expect(all(not g.get("commit") for g in doc["generations"]), str(doc["generations"]))


@T.case
def bad_refs_and_paths_exit_1_with_clear_words():
    repo, _ = make_repo("bad")
    db = new_db("gitsrc")
    env = env_for(db, now=T0)
    cases = [
        (["--git-ref", "origin/feature", "-f", "ca-rotation.yml"], ["no such ref 'origin/feature'", "fetch it first"]),
        (["--git-ref", "main", "-f", "missing.yml"], ["missing.yml not found at " + git(repo, "rev-parse", "main"),
                                                      "('main')"]),
        (["--git-ref", "main", "-f", "fleet"], ["main:fleet", "is a directory"]),
        (["--git-ref", "main", "-f", "/abs/ca-rotation.yml"], ["absolute path"]),
    ]
    for cmd in ("plan", "apply"):
        for args, words in cases:
            rc, out, err = run([cmd, "--git-repo", repo] + args, env)
            expect(rc == 1, "%s %s: exit %d" % (cmd, args, rc))
            for w in words:
                expect(w in err, "%s %s: %r not in %s" % (cmd, args, w, err))
    rc, out, err = run(["plan", "--git-repo", TMP, "-f", "ca-rotation.yml"], env)
    expect(rc == 1 and "is not a git repository" in err, err)
    rc, out, err = run(["plan", "--git-ref", "main", "-f", "ca-rotation.yml"], env)
    expect(rc == 1 and "--git-ref needs --git-repo" in err, err)
    # diagnostics name <ref>:<path>
    git(repo, "checkout", "-q", "-b", "broken")
    write(os.path.join(repo, "ca-rotation.yml"), "version: 1\ncas:\n  apple_scep: {generation: 0}\n")
    git(repo, "commit", "-qam", "broken")
    git(repo, "checkout", "-q", "pr")
    rc, out, err = run(["plan", "--git-repo", repo, "--git-ref", "broken", "-f", "ca-rotation.yml"], env)
    expect(rc == 1 and "broken:ca-rotation.yml:3:" in err and "generation" in err, err)


@T.case
def repository_owned_by_another_uid():
    if os.geteuid() != 0:
        print("skip: only root can give a repository to another uid (libgit2 1.5.1 owner validation)")
        return
    repo, _ = make_repo("owner")
    other = os.path.join(TMP, "owned-by-4242")
    shutil.copytree(repo, other, symlinks=True)
    for d, dirs, files in os.walk(other):
        for n in dirs + files:
            os.lchown(os.path.join(d, n), 4242, 4242)
    os.lchown(other, 4242, 4242)
    db = new_db("gitsrc")
    rc, out, err = run(["plan", "--git-repo", other, "--git-ref", "main", "-f", "ca-rotation.yml"],
                       env_for(db, now=T0))
    expect(rc == 2 and "not owned" not in err, "exit %d %s" % (rc, err))
    rc, out, err = fleetca(["plan", "--offline", "--git-base", "main", "-f", "ca-rotation.yml"], no_db_env(),
                           cwd=other)
    expect(rc == 0 and "(this change)" in out, "exit %d %s %s" % (rc, out, err))


try:
    T.done()
finally:
    shutil.rmtree(TMP, ignore_errors=True)
