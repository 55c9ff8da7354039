"""A timer that keeps working (issue 9 items 1-5), on both Fleet schemas, with the api sink and the
fake Fleet API (tests/fake_fleet): a reconcile loop delivers the activities of every round, not only
the first; `reconcile --once` exits as apply does and counts delivery failures in its metrics;
delivery happens after the lock is released, within a total budget; only a Fleet-shaped answer
counts as delivered; the Idempotency-Key names the outbox entry, so a step re-executed after a
database restore is a new key; a failed delivery does not rewrite fleetca_state."""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time

from fcalib import (FLEETCA, Failures, each_schema, env_for, expect, live_rows, mariadb, reference_decrypt, run)
from apiserver import CA_FILE, TOKEN, Fake

T = Failures()
TMP = tempfile.mkdtemp(prefix="fca-timer-")
CA = "conditional_access_idp"
T0 = "2026-11-27T00:00:00Z"


def yaml(name, generation=2, stage="staged", sink="api", extra=""):
    path = os.path.join(TMP, name)
    with open(path + ".tmp", "w") as f:
        f.write("version: 1\npolicy: {min_overlap: 7d}\nactivities: {sink: %s}\ncas:\n" % sink)
        f.write("  %s: {generation: %d, stage: %s}\n%s" % (CA, generation, stage, extra))
    os.rename(path + ".tmp", path)
    return path


def api_env(db, url, token=TOKEN, **extra):
    env = {"FLEET_URL": url, "FLEET_API_TOKEN": token, "FLEETCA_API_CA_FILE": CA_FILE,
           "FLEETCA_API_BACKOFF": "10ms", "FLEETCA_API_TIMEOUT": "5s"}
    env.update(extra)
    return env_for(db, now=T0, **env)


def describe(res):
    return "exit %d\nstdout:\n%s\nstderr:\n%s" % res


def doc(db):
    return json.loads(reference_decrypt(live_rows(db)["fleetca_state"][1]))


def outbox_keys(db):
    return [o["idempotency_key"] for o in doc(db)["outbox"]]


def state_rows(db):
    """Every fleetca_state row, live and soft-deleted."""
    return int(mariadb(db, "SELECT COUNT(*) FROM mdm_config_assets WHERE name = 'fleetca_state'")[0][0])


def sent_keys(fake):
    """The step part (<step_id>#<n>) of every POSTed Idempotency-Key, in order."""
    return [k for k, _ in fake.seen()]


per_schema = each_schema(T)


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Loop:
    def __init__(self, db, y, env, *args):
        self.log = os.path.join(TMP, "loop-%s.log" % db)
        self.metrics = os.path.join(TMP, "loop-%s.prom" % db)
        self.f = open(self.log, "w")
        self.p = subprocess.Popen([FLEETCA, "reconcile", "-f", y, "--interval", "1s", "--metrics-file",
                                   self.metrics] + list(args), env=env, stdout=subprocess.DEVNULL, stderr=self.f)

    def text(self):
        return open(self.log).read()

    def wait_for(self, pattern, timeout=15):
        end = time.time() + timeout
        while time.time() < end:
            if re.search(pattern, self.text()):
                return
            expect(self.p.poll() is None, "reconcile died: %s" % self.text())
            time.sleep(0.1)
        raise AssertionError("no %r within %ds:\n%s" % (pattern, timeout, self.text()))

    def stop(self):
        self.p.terminate()
        try:
            return self.p.wait(timeout=30)
        finally:
            if self.p.poll() is None:
                self.p.kill()
                self.p.wait()
            self.f.close()


@per_schema
def loop_delivers_every_round(new):
    """Acceptance 1: steps applied in the loop's second and third rounds are delivered too."""
    db = new("tl")
    fake = Fake()
    y = yaml("loop-%s.yml" % db, generation=1)
    try:
        loop = Loop(db, y, api_env(db, fake.url))
        try:
            loop.wait_for(r"round \d+: delivered 1 activity")
            yaml("loop-%s.yml" % db, generation=2)  # round 2+: stage generation 2
            loop.wait_for(r"applied %s:2:stage" % CA)
            loop.wait_for(r"round \d+: delivered 1 activity[\s\S]*round \d+: delivered 1 activity")
            # a later round: adopt another CA
            yaml("loop-%s.yml" % db, generation=2, extra="  host_identity: {generation: 1, stage: active}\n")
            loop.wait_for(r"applied host_identity:1:adopt")
            time.sleep(2.5)
        finally:
            rc = loop.stop()
        err = loop.text()
        expect(rc == 0, "stopped: %d\n%s" % (rc, err))
        sent = sent_keys(fake)
        for step in ("%s:1:adopt#0" % CA, "%s:2:stage#0" % CA, "host_identity:1:adopt#0"):
            expect(step in sent, "%s delivered: fake saw %s\n%s" % (step, fake.seen(), err))
        expect(outbox_keys(db) == [], "outbox left: %s\n%s" % (outbox_keys(db), err))
        expect("left in the outbox" not in err, err)
    finally:
        fake.stop()


@per_schema
def once_exits_as_apply_and_counts_delivery_failures(new):
    """Item 2: a refused token exits 1 from apply and from reconcile --once, and the failure metric counts it."""
    fake = Fake()
    try:
        y = yaml("once.yml")
        db, twin = new("to"), new("ta")
        arc = run(["apply", "-f", y], api_env(twin, fake.url, token="wrong"))
        m = os.path.join(TMP, "once-%s.prom" % db)
        rrc = run(["reconcile", "-f", y, "--once", "--metrics-file", m], api_env(db, fake.url, token="wrong"))
        expect(arc[0] == 1 and rrc[0] == arc[0], "apply %s\nreconcile --once %s" % (describe(arc), describe(rrc)))
        expect("HTTP 401" in rrc[2], describe(rrc))
        text = open(m).read()
        expect("fleetca_consecutive_failures 1" in text, text)
        # a timeout: apply warns and exits as without delivery; reconcile --once too, but it is a failure
        port = closed_port()
        db2, twin2 = new("to"), new("ta")
        arc = run(["apply", "-f", y], api_env(twin2, "https://127.0.0.1:%d" % port))
        rrc = run(["reconcile", "-f", y, "--once", "--metrics-file", m], api_env(db2, "https://127.0.0.1:%d" % port))
        expect(arc[0] in (0, 3) and rrc[0] == arc[0], "apply %s\nreconcile --once %s" % (describe(arc), describe(rrc)))
        text = open(m).read()
        expect("fleetca_consecutive_failures 1" in text, text)
    finally:
        fake.stop()


@per_schema
def delivery_is_outside_the_lock_and_bounded(new):
    """Item 3: while the API hangs, another run can take the lock; the whole delivery ends within its budget."""
    fake = Fake("--mode", "hang")
    try:
        y = yaml("hang.yml")
        db = new("tb")
        out = {}
        env = api_env(db, fake.url, FLEETCA_API_TIMEOUT="30s", FLEETCA_DELIVERY_BUDGET="3s")
        th = threading.Thread(target=lambda: out.setdefault("res", run(["apply", "-f", y], env, timeout=60)))
        t0 = time.time()
        th.start()
        end = time.time() + 10
        while time.time() < end and not fake.requests():
            time.sleep(0.05)
        expect(fake.requests(), "the API was not reached")
        # the first run waits for the API: the lock is free, so a second run does not wait for it
        res2 = run(["apply", "-f", yaml("hang-none.yml", sink="none"), "--lock-timeout", "0s"], env_for(db, now=T0))
        expect(res2[0] in (0, 3), "second run while the first delivers: %s" % describe(res2))
        th.join()
        took = time.time() - t0
        res = out["res"]
        expect(took < 8, "delivery took %.1fs with a 3s budget: %s" % (took, describe(res)))
        expect(res[0] in (0, 3) and "budget" in res[2], describe(res))
        expect(len(outbox_keys(db)) == 2, "entries kept: %s" % outbox_keys(db))
    finally:
        fake.stop()


@per_schema
def only_fleet_answers_count(new):
    """Item 4: an HTML login page (200) or a proxy's bare 201 is not a delivery; a 409 for another reason neither."""
    y = yaml("shape.yml")
    for mode in ("html", "bare201", "conflict_other"):
        fake = Fake("--mode", mode)
        try:
            db = new("ts")
            res = run(["apply", "-f", y], api_env(db, fake.url))
            expect("delivered 2 activities" not in res[1], "%s: %s" % (mode, describe(res)))
            expect(len(outbox_keys(db)) == 2, "%s: outbox %s\n%s" % (mode, outbox_keys(db), describe(res)))
            expect(fake.seen(), "%s: nothing sent" % mode)
        finally:
            fake.stop()


@per_schema
def restored_database_sends_a_new_key(new):
    """Item 4: a step re-executed after a restore is delivered, not dropped as a 409."""
    fake = Fake()
    try:
        y = yaml("restore.yml")
        db = new("tr")
        res = run(["apply", "-f", yaml("restore-g1.yml", generation=1)], api_env(db, fake.url))
        expect("delivered 1 activity" in res[1], describe(res))
        mariadb(db, "CREATE TABLE backup_assets AS SELECT * FROM mdm_config_assets")  # the backup
        res = run(["apply", "-f", y], api_env(db, fake.url))
        expect("delivered 1 activity" in res[1], describe(res))
        # the restore: every row as it was in the backup (the stage and its delivery are undone)
        mariadb(db, "DELETE FROM mdm_config_assets; INSERT INTO mdm_config_assets SELECT * FROM backup_assets")
        res = run(["apply", "-f", y], api_env(db, fake.url))
        expect("delivered 1 activity" in res[1], "re-executed after the restore: %s" % describe(res))
        stage = [(k, s) for k, s in fake.seen(raw=True) if k.endswith(":2:stage#0")]
        expect(len(stage) == 2 and stage[0][0] != stage[1][0] and [s for _, s in stage] == [201, 201],
               "two different keys for the two executions: %s" % fake.seen())
    finally:
        fake.stop()


@per_schema
def thousand_failed_deliveries_add_one_row_at_most(new):
    """Acceptance 2 (item 5): 1,000 failed deliveries add at most one fleetca_state row."""
    y = yaml("fail.yml")
    db = new("tf")
    url = "https://127.0.0.1:%d" % closed_port()
    res = run(["apply", "-f", y], api_env(db, url))
    expect(res[0] in (0, 3) and "2 pending" in res[2], describe(res))
    rows = state_rows(db)
    env = api_env(db, url, FLEETCA_API_BACKOFF="0ms")
    failed = 0
    procs = []
    for i in range(1000):
        procs.append(subprocess.Popen([FLEETCA, "outbox", "--flush"], env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        if len(procs) >= 4:
            failed += procs.pop(0).wait() != 0
    for p in procs:
        failed += p.wait() != 0
    expect(failed == 1000, "%d of 1000 flushes failed" % failed)
    expect(state_rows(db) - rows <= 1, "%d new fleetca_state rows after 1000 failed deliveries" % (state_rows(db) - rows))
    expect(len(outbox_keys(db)) == 2, outbox_keys(db))
    size = len(live_rows(db)["fleetca_state"][1])
    expect(size < 64 * 1024, "document size %d" % size)


shutil.rmtree(TMP, ignore_errors=True)
T.done()
