"""fleetca plan against Fleet's own data: steps, gates, every output format, saved plans, offline."""
import json
import os
import re
import tempfile

import jsonschema

from fcalib import Failures, SOURCE, env_for, expect, new_db, run, table_fingerprint

T = Failures()
EXAMPLE = os.path.join(SOURCE, "examples", "ca-rotation.yml")
PLAN_SCHEMA = json.load(open(os.path.join(SOURCE, "schemas", "plan.schema.json")))
T0 = "2026-11-27T00:00:00Z"


@T.case
def example_plans_adopt_then_stage():
    db = new_db("plan")
    before = table_fingerprint(db)
    rc, out, err = run(["plan", "-f", EXAMPLE], env_for(db, now=T0))
    expect(rc == 2, "changes pending: exit %d %s" % (rc, err))
    for ca in ("apple_scep", "host_identity", "conditional_access", "conditional_access_idp"):
        expect("%s:1:adopt" % ca in out, "adopt for unmanaged %s: %s" % (ca, out))
    # the example is what is safe on a released Fleet: apple_scep stays on its key, host_identity rotates
    expect("host_identity:2:stage" in out and "+ host_identity_ca_cert_next" in out, out)
    expect("apple_scep:2" not in out and "ca_cert_next" not in out.replace("host_identity_ca_cert_next", ""), out)
    expect(re.search(r"7 steps: 5 ready, 2 waiting", out), out)
    expect("waiting: staged 0s of min_overlap 7d, opens 2026-12-04 00:00 UTC" in out, out)
    expect("\033[" not in out, "no colour when not on a terminal")
    expect(table_fingerprint(db) == before, "plan writes nothing")

    rc, out, err = run(["plan", "-f", EXAMPLE, "--format", "json"], env_for(db, now=T0))
    doc = json.loads(out)
    jsonschema.Draft202012Validator(PLAN_SCHEMA).validate(doc)
    expect([s["step_id"] for s in doc["steps"]] == ["apple_scep:1:adopt", "host_identity:1:adopt",
           "host_identity:2:stage", "host_identity:2:activate", "host_identity:2:retire", "conditional_access:1:adopt",
           "conditional_access_idp:1:adopt"], str([s["step_id"] for s in doc["steps"]]))
    expect(doc["steps"][3]["gate"]["opens_at"] == "2026-12-04T00:00:00Z", str(doc["steps"][3]["gate"]))
    expect(len(doc["basis"]) == 8 and all(len(b["md5"]) == 32 for b in doc["basis"]), str(doc["basis"]))

    rc, out, err = run(["plan", "-f", EXAMPLE, "--format", "markdown"], env_for(db, now=T0))
    lines = out.splitlines()
    expect(lines[0].startswith("### fleetca plan: 7 steps"), lines[0])
    hdr = [i for i, l in enumerate(lines) if l.startswith("| CA |")]
    expect(len(hdr) == 1 and lines[hdr[0] + 1].startswith("|---"), "one table with a header: %s" % out)
    rows = [l for l in lines[hdr[0] + 2:] if l.startswith("|")]
    expect(len(rows) == 4 and all(l.count("|") - l.count("\\|") == 6 for l in rows), "4 rows of 5 cells: %s" % rows)
    expect("<details>" in out and "> [!WARNING]" not in out, "details, and no warning on a safe plan: %s" % out)


@T.case
def after_apply_plan_shows_only_what_remains():
    db = new_db("plan")
    run(["apply", "-f", EXAMPLE], env_for(db, now=T0), check_rc=3)
    rc, out, err = run(["plan", "-f", EXAMPLE], env_for(db, now=T0))
    expect(rc == 2 and "2 steps: 0 ready, 2 waiting" in out and "adopt" not in out and ":stage" not in out, out)
    rc, out, err = run(["plan", "-f", EXAMPLE], env_for(db, now="2026-12-04T00:00:00Z"))
    expect(rc == 2 and "2 steps: 1 ready, 1 waiting" in out, out)


@T.case
def converged_plan_exits_0():
    db = new_db("plan")
    fd, y = tempfile.mkstemp(suffix=".yml")
    os.write(fd, b"version: 1\ncas:\n  host_identity: {generation: 1}\n")
    os.close(fd)
    run(["apply", "-f", y], env_for(db, now=T0), check_rc=0)
    rc, out, err = run(["plan", "-f", y], env_for(db, now=T0))
    expect(rc == 0, "nothing to do: exit %d: %s" % (rc, out))


@T.case
def retired_generation_is_an_error():
    db = new_db("plan")
    fd, y = tempfile.mkstemp(suffix=".yml")
    os.write(fd, b"version: 1\npolicy: {drain: force, reason: test}\ncas:\n  conditional_access_idp: {generation: 2}\n")
    os.close(fd)
    for now in (T0, "2026-12-05T00:00:00Z", "2026-12-13T00:00:00Z"):
        run(["apply", "-f", y], env_for(db, now=now))
    with open(y, "w") as f:
        f.write("version: 1\ncas:\n  conditional_access_idp: {generation: 1}\n")
    rc, out, err = run(["plan", "-f", y], env_for(db, now="2026-12-13T00:00:00Z"))
    expect(rc == 1 and "retired" in err, "exit %d: %s %s" % (rc, out, err))


@T.case
def offline_needs_no_database():
    env = env_for("nonexistent")
    env["FLEET_MYSQL_ADDRESS"] = "127.0.0.1:1"
    rc, out, err = run(["plan", "-f", EXAMPLE, "--offline"], env)
    expect(rc == 0 and re.search(r"apple_scep +gen 1 complete", out) and re.search(r"host_identity +gen 2 complete", out),
           "exit %d: %s %s" % (rc, out, err))
    rc, out, err = run(["plan", "-f", EXAMPLE, "--offline", "--format", "markdown"], env)
    expect(rc == 0 and "| `host_identity` | gen 2 complete |" in out and "| `apple_scep` | gen 1 complete |" in out, out)


@T.case
def invalid_file_names_line_and_column():
    db = new_db("plan")
    fd, y = tempfile.mkstemp(suffix=".yml")
    os.write(fd, b"version: 1\ncas:\n  apple_scep:\n    generation: 2\n    stage: activ\n")
    os.close(fd)
    rc, out, err = run(["plan", "-f", y], env_for(db, now=T0))
    expect(rc == 1 and "%s:5:12: cas.apple_scep.stage" % y in err, "exit %d: %s" % (rc, err))



FLEET_ROOT = "Fleet re-installs its root CA profile (com.fleetdm.caroot) on every Apple host when ca_cert changes"
OKTA_LB = ("the Okta Apple profile and the load balancer's trust store need the new certificate: "
           "`fleetca export --ca conditional_access`")
IDP = "the identity provider needs the new signing certificate: `fleetca export --ca conditional_access_idp`"


def yml(text):
    fd, y = tempfile.mkstemp(suffix=".yml")
    os.write(fd, text.encode())
    os.close(fd)
    return y


@T.case
def plan_says_what_each_activation_sets_off():
    """fleetca uploads no profile; the plan says what Fleet does and what the admin must."""
    db = new_db("plan")
    y = yml("version: 1\ncas:\n  apple_scep: {generation: 2, stage: active}\n"
            "  host_identity: {generation: 2, stage: active}\n"
            "  conditional_access: {generation: 2, stage: active}\n"
            "  conditional_access_idp: {generation: 2, stage: active}\n")
    env = env_for(db, now=T0)
    rc, out, err = run(["plan", "-f", y], env)
    expect(rc == 2, "exit %d: %s" % (rc, err))
    # in the activation's block (its line, then its indented rows), last, and nowhere else
    for ca, words in (("apple_scep", FLEET_ROOT), ("conditional_access", OKTA_LB),
                      ("conditional_access_idp", IDP)):
        lines = out.splitlines()
        at = [i for i, l in enumerate(lines) if l.startswith("  ~ %s:2:activate " % ca)]
        expect(len(at) == 1, "one activation of %s: %s" % (ca, out))
        block = [lines[at[0]]]
        for l in lines[at[0] + 1:]:
            if not l.startswith("      "):
                break
            block.append(l)
        expect(block[-1] == "      trust     " + words, "\n".join(block))
        expect(out.count(words) == 1, "%r once: %s" % (words, out))
    expect("host_identity:2:activate" in out and out.count("      trust     ") == 3, out)

    rc, out, err = run(["plan", "-f", y, "--format", "json"], env)
    doc = json.loads(out)
    jsonschema.Draft202012Validator(PLAN_SCHEMA).validate(doc)
    got = {s["step_id"]: s["consequence"] for s in doc["steps"]}
    expect(got["apple_scep:2:activate"] == {"kind": "fleet_reinstalls_root", "text": FLEET_ROOT}, str(got))
    expect(got["conditional_access:2:activate"] == {"kind": "admin_updates_trust", "text": OKTA_LB}, str(got))
    expect(got["conditional_access_idp:2:activate"] == {"kind": "admin_updates_trust", "text": IDP}, str(got))
    others = [k for k, v in got.items() if v is not None]
    expect(sorted(others) == ["apple_scep:2:activate", "conditional_access:2:activate",
                              "conditional_access_idp:2:activate"], str(got))

    rc, out, err = run(["plan", "-f", y, "--format", "markdown"], env)
    for ca, words in (("apple_scep", FLEET_ROOT), ("conditional_access", OKTA_LB),
                      ("conditional_access_idp", IDP)):
        expect("> [!NOTE]\n> **%s** `%s:2:activate`: %s\n" % (ca, ca, words) in out, out)
        expect("\n    trust     %s\n" % words in out, out)
    expect(out.count("[!NOTE]") == 3, out)


@T.case
def removed_keys_rejected_by_every_command():
    """distribute and min_verified are gone: each command that reads the file names them and changes nothing."""
    db = new_db("plan")
    before = table_fingerprint(db)
    y = yml("version: 1\ncas:\n  apple_scep:\n    generation: 2\n    distribute: profile\n"
            "    min_verified: 0.98\n")
    env = env_for(db, now=T0)
    want = ["%s:5:5: cas.apple_scep.distribute: no longer supported: Fleet re-installs its own root CA profile "
            "(com.fleetdm.caroot, the first certificate of ca_cert) on every Apple host whenever ca_cert changes; "
            "remove this key" % y,
            "%s:6:5: cas.apple_scep.min_verified: no longer supported: fleetca uploads no trust profile whose "
            "delivery it could wait for; Fleet re-installs its own root CA profile (com.fleetdm.caroot, the first "
            "certificate of ca_cert) on every Apple host whenever ca_cert changes; remove this key" % y]
    for args in (["validate", "-f", y], ["plan", "-f", y], ["plan", "-f", y, "--offline"], ["apply", "-f", y],
                 ["reconcile", "--once", "-f", y], ["outbox", "--flush", "-f", y]):
        rc, out, err = run(args, env)
        expect(rc == 1, "%s: exit %d: %s %s" % (args[0], rc, out, err))
        lines = err.splitlines()
        for w in want:  # reconcile puts the time and the round in front
            expect(any(l == w or l.endswith(": " + w) for l in lines),
                   "%s: no line %r in:\n%s" % (" ".join(args), w, err))
    expect(table_fingerprint(db) == before, "nothing changed (mdm_config_assets, fleetca_state included)")


@T.case
def colour_only_on_a_terminal_that_can_show_it():
    """On a terminal plan text is coloured; TERM=dumb and NO_COLOR turn it off (issue 9 item 14)."""
    import pty
    import subprocess
    from fcalib import FLEETCA
    db = new_db("colour")
    y = os.path.join(tempfile.mkdtemp(), "c.yml")
    open(y, "w").write("version: 1\ncas:\n  host_identity: {generation: 2}\n")

    def on_tty(**extra):
        master, slave = pty.openpty()
        env = env_for(db, **extra)
        env.pop("NO_COLOR", None) if "NO_COLOR" not in extra else None
        p = subprocess.Popen([FLEETCA, "plan", "-f", y], env=env, stdout=slave, stderr=slave)
        os.close(slave)
        out = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        p.wait(timeout=60)
        os.close(master)
        return p.returncode, out

    rc, out = on_tty(TERM="xterm")
    expect(rc == 2 and b"\x1b[" in out, "a terminal gets colour: exit %d %r" % (rc, out[:200]))
    rc, out = on_tty(TERM="dumb")
    expect(rc == 2 and b"\x1b" not in out, "TERM=dumb: no escape sequence: %r" % out[:200])
    rc, out = on_tty(TERM="xterm", NO_COLOR="1")
    expect(rc == 2 and b"\x1b" not in out, "NO_COLOR: no escape sequence: %r" % out[:200])


T.done()
