"""The JSON documents of plan and apply follow their schemas (issue 9 item 13), checked with a real JSON
Schema validator (python3-jsonschema, Draft 2020-12):
- `plan --offline --format json` is a plan document (schemas/plan.schema.json), with and without --git-base;
- `apply --format json` follows schemas/apply.schema.json, with its delivery field, on a converged apply,
  an apply that runs a step, one stopped at a closed gate (exit 3) and one whose delivery fails (the fake
  Fleet answers 401: exit 1, fatal; 500: exit 0, the activities stay queued);
- plan JSON summary.errors agrees with the exit code: errors > 0 exactly when plan exits 1 (an impossible
  target, a corrupt CA), 0 when it exits 2.
On both schemas."""
import json
import os
import shutil
import subprocess
import tempfile

from jsonschema import Draft202012Validator

from fcalib import SOURCE, Failures, each_schema, env_for, expect, mariadb, run
from apiserver import CA_FILE, TOKEN, Fake

T = Failures()
TMP = tempfile.mkdtemp(prefix="fca-schemas-")
T0 = "2026-11-27T00:00:00Z"


def validator(name):
    with open(os.path.join(SOURCE, "schemas", name), encoding="utf-8") as f:
        schema = json.load(f)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


PLAN = validator("plan.schema.json")
APPLY = validator("apply.schema.json")


def desired(name, body):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write("version: 1\npolicy: {min_overlap: 7d}\n" + body)
    return path


STAGED = desired("staged.yml", "activities: {sink: db}\ncas:\n  conditional_access_idp: {generation: 2, stage: staged}\n")
ACTIVE = desired("active.yml", "activities: {sink: db}\ncas:\n  conditional_access_idp: {generation: 2, stage: active}\n")
API = desired("api.yml", "activities: {sink: api}\ncas:\n  conditional_access_idp: {generation: 2, stage: staged}\n")
TOO_FAR = desired("far.yml", "cas:\n  conditional_access_idp: {generation: 12, stage: complete}\n")
BOTH = desired("both.yml", "cas:\n  host_identity: {generation: 2, stage: staged}\n"
                           "  conditional_access: {generation: 2, stage: staged}\n")


def describe(res):
    return "exit %d\nstdout:\n%s\nstderr:\n%s" % res


def valid(v, res, what):
    """The document on stdout, after checking it against the schema (every error named)."""
    try:
        doc = json.loads(res[1])
    except ValueError:
        raise AssertionError("%s: stdout is not JSON: %s" % (what, describe(res)))
    errors = ["/".join(str(p) for p in e.absolute_path) + ": " + e.message for e in v.iter_errors(doc)]
    expect(not errors, "%s: not valid against its schema: %s\n%s" % (what, errors, res[1][:2000]))
    return doc


def no_db_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLEET_", "FLEETCA_"))}
    env.update({"NO_COLOR": "1", "FLEETCA_TEST_NOW": T0})
    return env


@T.case
def plan_offline_json_is_a_plan_document():
    y = os.path.join(SOURCE, "examples", "ca-rotation.yml")
    res = run(["plan", "--offline", "-f", y, "--format", "json"], no_db_env())
    expect(res[0] == 0, describe(res))
    doc = valid(PLAN, res, "plan --offline --format json")
    expect(doc["offline"] is True and doc["steps"] == [] and doc["basis"] == [], res[1][:500])
    expect([c["id"] for c in doc["cas"]] == ["apple_scep", "host_identity", "conditional_access",
                                             "conditional_access_idp"], [c["id"] for c in doc["cas"]])
    hi = [c for c in doc["cas"] if c["id"] == "host_identity"][0]
    expect(hi["now"] is None and hi["target"] == {"generation": 2, "stage": "complete"}, hi)
    expect(doc["summary"]["errors"] == 0 and doc["summary"]["steps"] == 0, doc["summary"])
    expect(doc["desired"]["cas.host_identity.generation"] == "2", doc.get("desired"))
    # the text and markdown forms are unchanged: the table of what the file asks for
    rc, out, err = run(["plan", "--offline", "-f", y], no_db_env())
    expect(rc == 0 and out.startswith("Offline: no database was read") and "host_identity" in out, out)
    rc, out, err = run(["plan", "--offline", "-f", y, "--format", "markdown"], no_db_env())
    expect(rc == 0 and out.startswith("### fleetca plan (offline:") and "| `host_identity` | gen 2" in out, out)


@T.case
def plan_offline_git_base_json_is_a_plan_document():
    repo = tempfile.mkdtemp(dir=TMP)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-C", repo]
    subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True)
    with open(os.path.join(repo, "ca.yml"), "w") as f:
        f.write("version: 1\ncas:\n  apple_scep: {generation: 1, stage: complete}\n")
    subprocess.run(git + ["add", "ca.yml"], check=True)
    subprocess.run(git + ["commit", "-q", "-m", "base"], check=True)
    subprocess.run(git + ["checkout", "-q", "-b", "pr"], check=True)
    with open(os.path.join(repo, "ca.yml"), "w") as f:
        f.write("version: 1\ncas:\n  apple_scep: {generation: 2, stage: staged}\n")
    subprocess.run(git + ["commit", "-q", "-am", "stage"], check=True)
    res = run(["plan", "--offline", "--git-repo", repo, "--git-base", "main", "-f", "ca.yml", "--format", "json"],
              no_db_env())
    expect(res[0] == 0, describe(res))
    doc = valid(PLAN, res, "plan --offline --git-base --format json")
    expect(doc["change"] == [{"ca": "apple_scep", "base": {"generation": 1, "stage": "complete"},
                              "head": {"generation": 2, "stage": "staged"}, "fields": ["generation", "stage"]}],
           doc.get("change"))


per_schema = each_schema(T)


@per_schema
def plan_summary_errors_agree_with_the_exit_code(new):
    db = new("se")
    res = run(["plan", "-f", STAGED, "--format", "json"], env_for(db, now=T0))
    doc = valid(PLAN, res, "plan with a step")
    expect(res[0] == 2 and doc["summary"]["errors"] == 0, "exit %d, errors %d" % (res[0], doc["summary"]["errors"]))
    # an impossible target: the CA's error
    res = run(["plan", "-f", TOO_FAR, "--format", "json"], env_for(db, now=T0))
    doc = valid(PLAN, res, "plan with an impossible target")
    expect(res[0] == 1 and doc["summary"]["errors"] == 1, "exit %d, errors %d" % (res[0], doc["summary"]["errors"]))
    # a corrupt CA (a cert row whose md5_checksum is not its MD5): exit 1, so an error too
    mariadb(db, "UPDATE mdm_config_assets SET md5_checksum = UNHEX(MD5('x')) "
                "WHERE name = 'host_identity_ca_cert' AND deletion_uuid = ''")
    res = run(["plan", "-f", BOTH, "--format", "json"], env_for(db, now=T0))
    doc = valid(PLAN, res, "plan with a corrupt CA")
    expect(res[0] == 1, describe(res))
    expect(doc["summary"]["errors"] == 1 and doc["summary"]["stuck"] == 1,
           "exit 1 but summary %s" % doc["summary"])
    expect("host_identity is corrupt" in res[2], res[2])


@per_schema
def apply_json_follows_its_schema(new):
    db = new("aj")
    # a step runs: conditional_access_idp gen 2 staged
    res = run(["apply", "-f", STAGED, "--format", "json"], env_for(db, now=T0))
    doc = valid(APPLY, res, "apply that stages")
    # (the fixture's CA is unmanaged: adopted first)
    expect(res[0] == 0 and doc["applied"] == ["conditional_access_idp:1:adopt", "conditional_access_idp:2:stage"]
           and doc["converged"], describe(res))
    # sink db: each activity was written with its step, nothing queued to deliver
    expect(doc["delivery"] == {"sink": "db", "attempted": False, "delivered": 0, "pending": 0, "error": None,
                               "fatal": False}, doc["delivery"])
    # converged: nothing to do, nothing to deliver
    res = run(["apply", "-f", STAGED, "--format", "json"], env_for(db, now=T0))
    doc = valid(APPLY, res, "converged apply")
    expect(res[0] == 0 and doc["applied"] == [] and doc["converged"] and doc["remaining"] == [], describe(res))
    expect(doc["delivery"]["attempted"] is False and doc["delivery"]["pending"] == 0, doc["delivery"])
    # a closed gate: activation waits for the overlap (exit 3)
    res = run(["apply", "-f", ACTIVE, "--format", "json"], env_for(db, now=T0))
    doc = valid(APPLY, res, "apply at a closed gate")
    expect(res[0] == 3 and doc["applied"] == [] and not doc["converged"], describe(res))
    expect([s["step_id"] for s in doc["remaining"]][:1] == ["conditional_access_idp:2:activate"] and
           doc["remaining"][0]["gate"] != "open", doc["remaining"])


def api_env(db, url):
    return env_for(db, now=T0, FLEET_URL=url, FLEET_API_TOKEN=TOKEN, FLEETCA_API_CA_FILE=CA_FILE,
                   FLEETCA_API_BACKOFF="10ms", FLEETCA_API_TIMEOUT="5s")


@per_schema
def apply_json_says_what_delivery_did(new):
    for args, rc, fatal, words in ((("--status", "401"), 1, True, "401"), (("--mode", "500"), 0, False, "500")):
        fake = Fake(*args)
        try:
            db = new("ad")
            res = run(["apply", "-f", API, "--format", "json"], api_env(db, fake.url))
            doc = valid(APPLY, res, "apply whose delivery fails (%s)" % " ".join(args))
            dv = doc["delivery"]
            expect(res[0] == rc and "conditional_access_idp:2:stage" in doc["applied"], describe(res))
            expect(dv["sink"] == "api" and dv["attempted"] and dv["delivered"] == 0 and dv["pending"] >= 1 and
                   dv["fatal"] is fatal and dv["error"] and words in dv["error"], "%s: %s" % (args, dv))
        finally:
            fake.stop()
    fake = Fake()
    try:
        db = new("ad")
        res = run(["apply", "-f", API, "--format", "json"], api_env(db, fake.url))
        doc = valid(APPLY, res, "apply whose delivery succeeds")
        expect(res[0] == 0 and doc["delivery"]["delivered"] > 0 and
               doc["delivery"]["pending"] == 0 and doc["delivery"]["error"] is None, describe(res))
    finally:
        fake.stop()


shutil.rmtree(TMP, ignore_errors=True)
T.done()
