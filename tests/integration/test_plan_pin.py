"""Issue 8 item 7: saved plans are pinned. `apply --plan` runs a saved plan only with the desired state
it was made from: a change of the YAML's subject, key, validity (or any other setting), or of the source
(path, commit) between `plan --out` and `apply --plan` is refused with exit 1, naming the difference, and
no row changes. On both Fleet schemas."""
import json
import os
import subprocess
import tempfile

from fcalib import Failures, env_for, expect, live_rows, new_db, run, table_fingerprint

T = Failures()
SCHEMAS = (("schema.sql", "fleet-dev.sql"), ("schema-pre2026.sql", "fleet-dev-old-schema.sql"))
T0 = "2026-11-27T00:00:00Z"
BASE = ("version: 1\ncas:\n  host_identity:\n    generation: 2\n    stage: staged\n"
        "    subject: { organization: Example }\n    key: %s\n    validity: %s\n")


def write(path, key="rsa-2048", validity="10y", org="Example"):
    with open(path, "w") as f:
        f.write((BASE % (key, validity)).replace("Example", org))


def plan_out(db, yml, out):
    rc, o, err = run(["plan", "-f", yml, "--out", out], env_for(db, now=T0))
    expect(rc == 2, "plan --out: exit %d %s %s" % (rc, o, err))
    return json.load(open(out))


@T.case
def a_changed_setting_is_refused_and_named():
    for schema, fixture in SCHEMAS:
        for change, words in (({"org": "Other Corp"}, ['cas.host_identity.subject: "CN=Fleet Host Identity CA',
                                                        'O=Example,C=US" in the plan', 'O=Other Corp,C=US" now']),
                              ({"validity": "5y"}, ['cas.host_identity.validity: "10y" in the plan, "5y" now']),
                              ({"key": "rsa-3072"}, ['cas.host_identity.key: "rsa-2048" in the plan, "rsa-3072" now']),
                              ({"key": "keep"}, ['cas.host_identity.key: "rsa-2048" in the plan, "keep" now'])):
            db = new_db("pin", schema=schema, fixtures=(fixture,))
            with tempfile.TemporaryDirectory() as d:
                yml, out = os.path.join(d, "ca.yml"), os.path.join(d, "plan.json")
                write(yml)
                saved = plan_out(db, yml, out)
                expect(saved["desired"]["cas.host_identity.validity"] == "10y"
                       and saved["desired"]["source.path"] == yml, "%s: the plan records it: %s" % (schema, saved))
                write(yml, **change)
                before = table_fingerprint(db)
                rc, o, err = run(["apply", "-f", yml, "--plan", out], env_for(db, now=T0))
                expect(rc == 1 and "applied" not in o and "another desired state" in err
                       and all(w in err for w in words), "%s %s: exit %d\n%s%s" % (schema, change, rc, o, err))
                expect(table_fingerprint(db) == before, "%s %s: nothing changed" % (schema, change))


@T.case
def the_same_desired_state_runs():
    for schema, fixture in SCHEMAS:
        db = new_db("pin", schema=schema, fixtures=(fixture,))
        with tempfile.TemporaryDirectory() as d:
            yml, out = os.path.join(d, "ca.yml"), os.path.join(d, "plan.json")
            write(yml)
            plan_out(db, yml, out)
            rc, o, err = run(["apply", "-f", yml, "--plan", out], env_for(db, now=T0))
            expect(rc == 0 and "applied host_identity:2:stage" in o, "%s: exit %d %s %s" % (schema, rc, o, err))
            expect("host_identity_ca_cert_next" in live_rows(db), "%s: staged" % schema)


@T.case
def another_source_file_or_an_unpinned_plan_is_refused():
    db = new_db("pin")
    with tempfile.TemporaryDirectory() as d:
        yml, other, out = os.path.join(d, "ca.yml"), os.path.join(d, "copy.yml"), os.path.join(d, "plan.json")
        write(yml)
        write(other)
        saved = plan_out(db, yml, out)
        before = table_fingerprint(db)
        rc, o, err = run(["apply", "-f", other, "--plan", out], env_for(db, now=T0))
        expect(rc == 1 and 'source.path: "%s" in the plan, "%s" now' % (yml, other) in err,
               "another file: exit %d %s" % (rc, err))
        # a plan saved before plans were pinned has no "desired": refused, with what to do
        del saved["desired"]
        json.dump(saved, open(out, "w"))
        rc, o, err = run(["apply", "-f", yml, "--plan", out], env_for(db, now=T0))
        expect(rc == 1 and "does not record the desired state it was made from" in err
               and "fleetca plan --out" in err, "unpinned plan: exit %d %s" % (rc, err))
        expect(table_fingerprint(db) == before, "nothing changed")


@T.case
def another_commit_is_refused():
    db = new_db("pin")
    with tempfile.TemporaryDirectory() as d:
        git = lambda *a: subprocess.run(["git", "-C", d, "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
                                        + list(a), check=True, capture_output=True).stdout.decode().strip()
        git("init", "-q")
        write(os.path.join(d, "ca.yml"))
        git("add", "ca.yml")
        git("commit", "-q", "-m", "one")
        first = git("rev-parse", "HEAD")
        out = os.path.join(d, "plan.json")
        rc, o, err = run(["plan", "--git-repo", d, "-f", "ca.yml", "--out", out], env_for(db, now=T0))
        expect(rc == 2 and json.load(open(out))["desired"]["source.commit"] == first, "plan: %d %s" % (rc, err))
        write(os.path.join(d, "ca.yml"), validity="5y")
        git("commit", "-q", "-am", "two")
        second = git("rev-parse", "HEAD")
        before = table_fingerprint(db)
        rc, o, err = run(["apply", "--git-repo", d, "-f", "ca.yml", "--plan", out], env_for(db, now=T0))
        expect(rc == 1 and 'source.commit: "%s" in the plan, "%s" now' % (first, second) in err
               and 'cas.host_identity.validity: "10y" in the plan, "5y" now' in err,
               "another commit: exit %d %s" % (rc, err))
        expect(table_fingerprint(db) == before, "nothing changed")
        rc, o, err = run(["apply", "--git-repo", d, "--git-ref", first, "-f", "ca.yml", "--plan", out],
                         env_for(db, now=T0))
        expect(rc == 0 and "applied host_identity:2:stage" in o, "the planned commit runs: %d %s" % (rc, err))


T.done()
