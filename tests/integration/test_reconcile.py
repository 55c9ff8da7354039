"""fleetca reconcile: --once behaves as apply (exit codes, rows) and writes Prometheus textfile metrics
whose values are the certificates'; the loop re-reads on SIGHUP, skips a broken file without dying or
using the old one, backs off on failures, and stops cleanly on SIGTERM."""
import calendar
import json
import os
import re
import signal
import subprocess
import tempfile
import time

from fcalib import (FLEETCA, REFERENCE_NOW, Failures, env_for, expect, live_rows, mariadb, new_db, reference_decrypt, run,
                    table_fingerprint)

T = Failures()
NOW_EPOCH = calendar.timegm(time.strptime(REFERENCE_NOW, "%Y-%m-%dT%H:%M:%SZ"))
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \S")
WORK = tempfile.mkdtemp(prefix="fca-reconcile-")
CERTS = {"apple_scep": "ca_cert", "host_identity": "host_identity_ca_cert",
         "conditional_access": "conditional_access_ca_cert", "conditional_access_idp": "conditional_access_idp_cert"}
NAMES = ("fleetca_ca_not_after_seconds", "fleetca_ca_generation", "fleetca_live_issued_certificates",
         "fleetca_gate_open", "fleetca_last_success_timestamp_seconds", "fleetca_outbox_pending")
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="[^"\\\n]*",?)*)\})? '
                    r'(-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)$')


def write_yaml(path, body):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(body)
    os.rename(tmp, path)


def desired(stage="staged", generation=2):
    return ("version: 1\npolicy:\n  min_overlap: 7d\ncas:\n  host_identity:\n    generation: %d\n    stage: %s\n"
            % (generation, stage))


def parse_prom(text):
    """{(name, frozenset(labels)): value}; raises on anything that is not Prometheus text format."""
    types, helps, samples, seen_done = {}, {}, {}, set()
    current = None
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            expect(name not in helps, "one HELP per metric: " + name)
            helps[name] = line.split(" ", 3)[3]
        elif line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ")
            expect(name not in types and typ in ("gauge", "counter"), "TYPE line: " + line)
            types[name] = typ
        else:
            m = SAMPLE.match(line)
            expect(m is not None, "a Prometheus sample line: %r" % line)
            name = m.group(1)
            expect(name in types and name in helps, "HELP and TYPE before %s" % name)
            if name != current:
                expect(name not in seen_done, "samples of %s are together" % name)
                if current:
                    seen_done.add(current)
                current = name
            labels = frozenset(tuple(kv.split("=", 1)) for kv in re.findall(r'[a-zA-Z_]+="[^"]*"', m.group(2) or ""))
            labels = frozenset((k, v.strip('"')) for k, v in labels)
            expect((name, labels) not in samples, "no duplicate series: %s %s" % (name, sorted(labels)))
            samples[(name, labels)] = float(m.group(3))
    expect(text.endswith("\n"), "ends with a newline")
    return samples


def series(samples, name, **labels):
    want = set(labels.items())
    return [v for (n, ls), v in samples.items() if n == name and want <= set(ls)]


def not_after(pem):
    p = subprocess.run(["openssl", "x509", "-noout", "-enddate"], input=pem, capture_output=True, check=True)
    return calendar.timegm(time.strptime(p.stdout.decode().strip().split("=", 1)[1], "%b %d %H:%M:%S %Y %Z"))


def check_log(err):
    for line in err.splitlines():
        expect(LOG_LINE.match(line), "log line starts with an RFC 3339 time: %r" % line)


class Loop:
    """A background reconcile whose stderr goes to a file we can poll."""

    def __init__(self, db, yaml, *args, **env):
        self.log = os.path.join(WORK, "log-%s.txt" % db)
        self.metrics = os.path.join(WORK, "metrics-%s.prom" % db)
        self.logf = open(self.log, "w")
        self.p = subprocess.Popen([FLEETCA, "reconcile", "-f", yaml, "--metrics-file", self.metrics] + list(args),
                                  env=env_for(db, **env), stdout=subprocess.DEVNULL, stderr=self.logf)

    def text(self):
        return open(self.log).read()

    def wait_for(self, pattern, timeout=10, count=1):
        end = time.time() + timeout
        while time.time() < end:
            if len(re.findall(pattern, self.text())) >= count:
                return
            expect(self.p.poll() is None, "reconcile died (exit %s) waiting for %r:\n%s" % (self.p.poll(), pattern,
                                                                                           self.text()))
            time.sleep(0.1)
        raise AssertionError("no %r (x%d) within %ds:\n%s" % (pattern, count, timeout, self.text()))

    def stop(self, timeout=5):
        t0 = time.time()
        self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(timeout=timeout)
        finally:
            if self.p.poll() is None:
                self.p.kill()
                self.p.wait()
            self.logf.close()
        return rc, time.time() - t0


@T.case
def once_exit_codes_match_apply():
    for stage, want_rc in (("staged", 0), ("active", 3)):
        y = os.path.join(WORK, "once-%s.yml" % stage)
        write_yaml(y, desired(stage))
        db, twin = new_db("rco"), new_db("rca")
        rc, out, err = run(["reconcile", "-f", y, "--once"], env_for(db))
        arc, aout, aerr = run(["apply", "-f", y], env_for(twin))
        expect(rc == want_rc and arc == want_rc, "%s: reconcile exit %d, apply exit %d (want %d):\n%s"
               % (stage, rc, arc, want_rc, err))
        check_log(err)
        expect("round 1: applied host_identity:1:adopt" in err and "round 1: applied host_identity:2:stage" in err, err)
        live = {n for n in live_rows(db) if n.startswith("host_identity")}
        expect(live == {n for n in live_rows(twin) if n.startswith("host_identity")}, "same rows as apply: %s" % live)
        if stage == "active":
            expect("round 1: 2 steps applied, 1 waiting (next gate opens 2026-12-04 00:00 UTC)" in err, err)
        else:
            expect("round 1: 2 steps applied, converged" in err, err)
        # a second round has nothing to do and writes nothing
        before = table_fingerprint(db)
        rc, out, err = run(["reconcile", "-f", y, "--once"], env_for(db))
        expect(rc == want_rc and "round 1: 0 steps applied" in err, "second round: %d %s" % (rc, err))
        expect(table_fingerprint(db) == before, "a converged round writes nothing")


@T.case
def once_metrics_are_prometheus_text_with_the_certificates_values():
    db = new_db("rcm")
    y = os.path.join(WORK, "metrics.yml")
    write_yaml(y, desired("active"))
    m = os.path.join(WORK, "once.prom")
    rc, out, err = run(["reconcile", "-f", y, "--once", "--metrics-file", m], env_for(db))
    expect(rc == 3, "gated: exit %d %s" % (rc, err))
    expect(sorted(os.listdir(WORK)).count("once.prom") == 1 and not [f for f in os.listdir(WORK) if ".tmp." in f],
           "no temporary metrics file left: %s" % os.listdir(WORK))
    s = parse_prom(open(m).read())
    for name in NAMES:
        expect(series(s, name), "metric %s present" % name)
    rows = live_rows(db)
    for ca, cert in CERTS.items():
        na = not_after(reference_decrypt(rows[cert][1]))
        expect(series(s, "fleetca_ca_not_after_seconds", ca=ca, role="signing", generation="1") == [na],
               "%s signing NotAfter %d: %s" % (ca, na, series(s, "fleetca_ca_not_after_seconds", ca=ca)))
        expect(series(s, "fleetca_ca_generation", ca=ca, role="signing") == [1], "%s signs gen 1" % ca)
    na2 = not_after(reference_decrypt(rows["host_identity_ca_cert_next"][1]))
    expect(series(s, "fleetca_ca_not_after_seconds", ca="host_identity", role="next", generation="2") == [na2],
           "gen 2 NotAfter")
    expect(series(s, "fleetca_ca_generation", ca="host_identity", role="next") == [2], "gen 2 is next")
    expect(series(s, "fleetca_live_issued_certificates", ca="host_identity", generation="1") == [7],
           "7 live host identity certs of gen 1: %s" % series(s, "fleetca_live_issued_certificates"))
    expect(series(s, "fleetca_live_issued_certificates", ca="host_identity", generation="2") == [0], "none of gen 2")
    expect(series(s, "fleetca_gate_open", ca="host_identity", step="activate", gate="wait", generation="2") == [0],
           "activate gate closed: %s" % series(s, "fleetca_gate_open"))
    expect(series(s, "fleetca_gate_opens_timestamp_seconds", ca="host_identity") == [NOW_EPOCH + 7 * 86400],
           "opens after min_overlap")
    expect(series(s, "fleetca_last_success_timestamp_seconds") == [NOW_EPOCH], "last success is the round's clock")
    doc = json.loads(reference_decrypt(rows["fleetca_state"][1]))
    recorded = mariadb(db, "SELECT COUNT(*) FROM activity_past WHERE user_name = 'fleetca'")[0][0]
    expect(series(s, "fleetca_outbox_pending") == [len(doc.get("outbox", []))] and doc.get("outbox", []) == [] and
           recorded == "2", "sink db: the 2 activities are in activity_past (%s), none pending (%s)"
           % (recorded, series(s, "fleetca_outbox_pending")))


@T.case
def once_bad_file_is_an_error_and_changes_nothing():
    db = new_db("rcb")
    y = os.path.join(WORK, "bad.yml")
    write_yaml(y, "version: 1\ncas:\n  host_identity:\n    generation: two\n")
    before = table_fingerprint(db)
    m = os.path.join(WORK, "bad.prom")
    rc, out, err = run(["reconcile", "-f", y, "--once", "--metrics-file", m], env_for(db))
    expect(rc == 1, "exit 1: %d %s" % (rc, err))
    check_log(err)
    expect("bad.yml:4:" in err and "round skipped; the previous good file is NOT used" in err, err)
    expect(table_fingerprint(db) == before, "nothing written")
    s = parse_prom(open(m).read())
    expect(series(s, "fleetca_consecutive_failures") == [1], "failure counted")
    expect(not series(s, "fleetca_last_success_timestamp_seconds"), "no success yet")


@T.case
def loop_sighup_broken_file_and_sigterm():
    db = new_db("rcl")
    y = os.path.join(WORK, "loop.yml")
    write_yaml(y, desired("complete", generation=1))
    loop = Loop(db, y, "--interval", "1s", "--jitter", "10%")
    try:
        loop.wait_for(r"round 1: 1 step applied, converged")
        write_yaml(y, desired("staged"))
        loop.p.send_signal(signal.SIGHUP)
        loop.wait_for(r"round \d+: applied host_identity:2:stage")
        expect("host_identity_ca_cert_next" in live_rows(db), "gen 2 staged in Fleet")
        write_yaml(y, "version: 1\ncas:\n  host_identity: [\n")  # broken YAML
        loop.p.send_signal(signal.SIGHUP)
        loop.wait_for(r"loop\.yml is invalid .*round skipped; the previous good file is NOT used")
        # the loop lives on, and picks up the fixed file by itself (no signal)
        write_yaml(y, desired("staged"))
        n = len(re.findall(r"round \d+: 0 steps applied, converged", loop.text()))
        loop.wait_for(r"round \d+: 0 steps applied, converged", count=n + 1, timeout=15)
    finally:
        rc, took = loop.stop()
    err = loop.text()
    expect(rc == 0 and took < 5, "SIGTERM: exit %d after %.1fs\n%s" % (rc, took, err))
    check_log(err)
    expect("signal 15" in err and "stopping after round" in err, err)
    expect("SIGHUP: re-reading" in err, err)
    s = parse_prom(open(loop.metrics).read())
    expect(series(s, "fleetca_last_success_timestamp_seconds") == [NOW_EPOCH], "last success in metrics")
    expect(series(s, "fleetca_consecutive_failures") == [0], "recovered")
    expect(series(s, "fleetca_ca_generation", ca="host_identity", role="next") == [2], "metrics show gen 2 staged")


@T.case
def sighup_cuts_a_long_wait_short():
    db = new_db("rch")
    y = os.path.join(WORK, "hup.yml")
    write_yaml(y, desired("complete", generation=1))
    loop = Loop(db, y, "--interval", "10m")
    try:
        loop.wait_for(r"round 1: 1 step applied, converged")
        write_yaml(y, desired("staged"))
        t0 = time.time()
        loop.p.send_signal(signal.SIGHUP)
        loop.wait_for(r"round 2: applied host_identity:2:stage", timeout=5)
        expect(time.time() - t0 < 5, "applied at once, not after the 10m interval")
    finally:
        rc, took = loop.stop()
    expect(rc == 0 and took < 3, "SIGTERM during a 10m wait: exit %d after %.1fs" % (rc, took))


@T.case
def failures_back_off_and_are_logged():
    db = new_db("rcf")
    y = os.path.join(WORK, "fail.yml")
    write_yaml(y, desired("staged"))
    # adopted with the right key, then run with a wrong one: every round fails to decrypt
    run(["apply", "-f", y], env_for(db), check_rc=0)
    rc, out, err = run(["reconcile", "-f", y, "--once"], env_for(db, key="w" * 40))
    expect(rc == 1 and "round 1: failed" in err and "decrypt" in err, "--once, wrong key: exit %d %s" % (rc, err))
    loop = Loop(db, y, "--interval", "1s", key="w" * 40)
    try:
        loop.wait_for(r"2 failures in a row: backing off, next round in 2s")
        loop.wait_for(r"3 failures in a row: backing off, next round in 4s", timeout=6)
    finally:
        rc, took = loop.stop()
    err = loop.text()
    expect(rc == 0, "stopped cleanly: %d" % rc)
    expect("round 1: failed" in err and "decrypt" in err, "the failure is named: " + err)
    s = parse_prom(open(loop.metrics).read())
    expect(series(s, "fleetca_consecutive_failures")[0] >= 3, "failures counted in metrics")
    expect(not series(s, "fleetca_ca_generation"), "no CA metrics from a failed round")


@T.case
def usage_errors():
    db = "unused"
    for args, msg in ((["--interval", "0s"], "--interval"), (["--jitter", "80%"], "--jitter"),
                      (["--interval", "soon"], "--interval"), ([], "-f FILE")):
        rc, out, err = run(["reconcile"] + (["-f", "x.yml"] if args else []) + args, env_for(db))
        expect(rc == 1 and msg in err, "%s: exit %d %s" % (args, rc, err))
    rc, out, err = run(["reconcile", "--help"], env_for(db), check_rc=0)
    expect("SIGHUP" in out and "--metrics-file" in out, out)


@T.case
def once_from_git_records_the_commit():
    """reconcile --git-repo reads the file at a ref every round; activities carry the commit."""
    genv = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com"}
    repo = os.path.join(WORK, "gitops")
    subprocess.run(["git", "init", "-q", "-b", "main", repo], check=True, env=dict(os.environ, **genv))
    write_yaml(os.path.join(repo, "ca-rotation.yml"), desired())
    subprocess.run(["git", "-C", repo, "add", "."], check=True, env=dict(os.environ, **genv))
    subprocess.run(["git", "-C", repo, "commit", "-qm", "stage host_identity gen 2"], check=True,
                   env=dict(os.environ, **genv))
    commit = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True, check=True,
                            text=True).stdout.strip()
    db = new_db("recgit")
    rc, out, err = run(["reconcile", "--once", "--git-repo", repo, "--git-ref", "main", "-f", "ca-rotation.yml"],
                       env_for(db))
    expect(rc == 0 and "applied host_identity:2:stage" in err, "exit %d: %s" % (rc, err))
    srcs = {d["step_id"]: d["source"] for d in
            (json.loads(r[0]) for r in mariadb(db, "SELECT details FROM activity_past WHERE user_name = 'fleetca'"))}
    expect(srcs.get("host_identity:2:stage") == {"commit": commit, "ref": "main", "path": "ca-rotation.yml"},
           "source recorded: %s" % srcs)
    rc, out, err = run(["reconcile", "--once", "--git-repo", repo, "--git-ref", "nope", "-f", "ca-rotation.yml"],
                       env_for(db))
    expect(rc == 1 and "nope" in err and "round skipped" in err, "bad ref: exit %d: %s" % (rc, err))


T.done()
