"""Activities leave the outbox exactly once: apply delivers them to a fake Fleet API
(tests/fake_fleet) over verified TLS, with the token and an Idempotency-Key; 409 counts as delivered,
5xx and silence are retried and then kept, 401 and other 4xx are errors; a crash between delivery and
removal re-sends one entry, which the API answers 409. (The default sink, db, is in test_activities.py.)"""
import json
import os
import shutil
import signal
import tempfile
import time
import urllib.request
import ssl
import uuid

from fcalib import (TESTING, Failures, env_for, expect, live_rows, mariadb, new_db,
                    reference_decrypt, run)
from apiserver import CA_FILE, TOKEN, Fake

T = Failures()
TMP = tempfile.mkdtemp(prefix="fca-outbox-")

CA = "conditional_access_idp"
ADOPT, STAGE = CA + ":1:adopt", CA + ":2:stage"
KEYS = [ADOPT + "#0", STAGE + "#0"]
TYPES = {ADOPT + "#0": "adopted_ca_certificate", STAGE + "#0": "staged_ca_certificate"}
T0 = "2026-11-27T00:00:00Z"


def yaml_file(name, sink):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write("version: 1\npolicy: {min_overlap: 7d}\nactivities: {sink: %s}\ncas:\n" % sink)
        f.write("  %s: {generation: 2, stage: staged}\n" % CA)
    return path


Y_API, Y_NONE = yaml_file("api.yml", "api"), yaml_file("none.yml", "none")


def api_env(db, fake=None, token=TOKEN, ca_file=CA_FILE, **extra):
    """Short backoff and timeout: no test waits long."""
    env = {"FLEET_URL": fake.url if fake else None, "FLEET_API_TOKEN": token, "FLEETCA_API_CA_FILE": ca_file,
           "FLEETCA_API_BACKOFF": "10ms", "FLEETCA_API_TIMEOUT": "5s"}
    env.update(extra)
    return env_for(db, now=T0, **env)


def describe(res):
    return "exit %d\nstdout:\n%s\nstderr:\n%s" % res


def outbox(db):
    doc = json.loads(reference_decrypt(live_rows(db)["fleetca_state"][1]))
    return doc["outbox"]


def outbox_keys(db):
    return [o["idempotency_key"] for o in outbox(db)]


# What apply exits with when delivery is not in the picture (sink none): delivery must not change it.
_ref = new_db("obref")
REF_RC = run(["apply", "-f", Y_NONE], env_for(_ref, now=T0))[0]
expect(REF_RC in (0, 3), "reference apply exit %d" % REF_RC)
expect(outbox_keys(_ref) == KEYS, "reference outbox %s" % outbox_keys(_ref))


def with_fake(*args, **kw):
    def deco(fn):
        def case():
            fake = Fake(*args, **kw)
            try:
                fn(fake)
            finally:
                fake.stop()
        case.__name__ = fn.__name__
        return T.case(case)
    return deco


@with_fake()
def delivered_exactly_once_after_apply(fake):
    db = new_db("ob")
    res = run(["apply", "-f", Y_API], api_env(db, fake))
    expect(res[0] == REF_RC, "apply: %s" % describe(res))
    expect("delivered 2 activities" in res[1], "apply output: %s" % describe(res))
    reqs = fake.requests()
    expect([k for k, _ in fake.seen()] == KEYS, "fake saw %s" % fake.seen())
    for r in reqs:
        k = r["idempotency_key"].split("/", 1)[1]
        expect(r["status"] == 201 and r["method"] == "POST" and r["path"] == "/api/v1/fleet/activities", str(r))
        expect(r["headers"].get("Authorization") == "Bearer " + TOKEN, "Authorization header: %s" % r["headers"])
        expect(r["headers"].get("Content-Type") == "application/json", str(r["headers"]))
        expect(r["body"]["type"] == TYPES[k], "type: %s" % r["body"])
        d = r["body"]["details"]
        expect(d["step_id"] == k.split("#")[0] and d["ca"] == CA and d["generation"] == int(k.split(":")[1]),
               "details: %s" % d)
        expect(len(d["sha256_fingerprint"]) == 64 and d["source"]["path"] == Y_API, "details: %s" % d)
    expect(outbox_keys(db) == [], "outbox after delivery: %s" % outbox_keys(db))
    expect(TOKEN not in res[1] + res[2], "the token was printed")
    # a converged apply neither re-sends nor writes
    res = run(["apply", "-f", Y_API], api_env(db, fake))
    expect(res[0] == 0 and len(fake.requests()) == 2 and "delivered" not in res[1], "second apply: %s" % describe(res))


@with_fake()
def conflict_409_counts_as_delivered(fake):
    db = new_db("ob")
    run(["apply", "-f", Y_NONE], env_for(db, now=T0))  # queued, not sent
    # Fleet already recorded the first activity (e.g. a run that crashed before removing it)
    first = outbox(db)[0]
    req = urllib.request.Request(fake.url + "/api/v1/fleet/activities", method="POST",
                                 data=json.dumps({"type": "adopted_ca_certificate", "details": {}}).encode(),
                                 headers={"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json",
                                          "Idempotency-Key": first["delivery_id"] + "/" + KEYS[0]})
    urllib.request.urlopen(req, context=ssl.create_default_context(cafile=CA_FILE)).read()
    res = run(["outbox", "--flush"], api_env(db, fake))
    expect(res[0] == 0 and "delivered 2 activities" in res[1], "flush: %s" % describe(res))
    expect(fake.seen() == [(KEYS[0], 201), (KEYS[0], 409), (KEYS[1], 201)], "fake saw %s" % fake.seen())
    expect(outbox_keys(db) == [], "outbox: %s" % outbox_keys(db))


@with_fake("--fail-first", "2")
def server_error_twice_then_created(fake):
    db = new_db("ob")
    res = run(["apply", "-f", Y_API], api_env(db, fake))
    expect(res[0] == REF_RC and "delivered 2 activities" in res[1], "apply: %s" % describe(res))
    expect(fake.seen() == [(KEYS[0], 500), (KEYS[0], 500), (KEYS[0], 201), (KEYS[1], 201)], "fake saw %s" % fake.seen())
    expect(outbox_keys(db) == [], "outbox: %s" % outbox_keys(db))


@with_fake("--mode", "500")
def server_error_always_stays_then_flush(fake):
    db = new_db("ob")
    res = run(["apply", "-f", Y_API], api_env(db, fake))
    expect(res[0] == REF_RC, "apply exit changed by a failed delivery: %s" % describe(res))
    expect("HTTP 500" in res[2] and "2 pending" in res[2] and "after 3 tries" in res[2], "stderr: %s" % describe(res))
    expect(fake.seen() == [(KEYS[0], 500)] * 3, "fake saw %s" % fake.seen())
    ob = outbox(db)
    expect([o["idempotency_key"] for o in ob] == KEYS and ob[0]["attempts"] == 1 and ob[1]["attempts"] == 0,
           "outbox: %s" % ob)
    res = run(["outbox"], api_env(db, fake))
    lines = res[1].splitlines()
    expect(res[0] == 0 and any(KEYS[0] in l and "adopted_ca_certificate" in l and l.rstrip().endswith(" 1")
                               for l in lines) and any(KEYS[1] in l for l in lines), "outbox: %s" % describe(res))
    res = run(["outbox", "--format", "json"], api_env(db, fake))
    doc = json.loads(res[1])
    expect(res[0] == 0 and [p["idempotency_key"] for p in doc["pending"]] == KEYS and
           doc["pending"][0]["attempts"] == 1 and doc["pending"][1]["details"]["step_id"] == STAGE,
           "outbox json: %s" % describe(res))
    healthy = Fake()
    try:
        res = run(["outbox", "--flush"], api_env(db, healthy))
        expect(res[0] == 0 and "delivered 2 activities" in res[1] and "outbox is empty" in res[1],
               "flush: %s" % describe(res))
        expect(healthy.seen() == [(KEYS[0], 201), (KEYS[1], 201)], "healthy fake saw %s" % healthy.seen())
    finally:
        healthy.stop()
    expect(outbox_keys(db) == [], "outbox after flush: %s" % outbox_keys(db))


@with_fake()
def token_refused_is_an_error(fake):
    db = new_db("ob")
    bad = "wrong-" + uuid.uuid4().hex
    res = run(["apply", "-f", Y_API], api_env(db, fake, token=bad))
    expect(res[0] == 1, "apply with a refused token: %s" % describe(res))
    expect("HTTP 401" in res[2] and "FLEET_API_TOKEN" in res[2], "stderr: %s" % describe(res))
    expect(bad not in res[1] + res[2] and TOKEN not in res[1] + res[2], "a token was printed")
    expect(fake.seen() == [(KEYS[0], 401)], "fake saw %s (a 401 is not retried)" % fake.seen())
    expect(outbox_keys(db) == KEYS, "outbox: %s" % outbox_keys(db))


@with_fake("--status", "422")
def other_client_error_names_the_response(fake):
    db = new_db("ob")
    res = run(["apply", "-f", Y_API], api_env(db, fake))
    expect(res[0] == 1 and "HTTP 422" in res[2] and "fake Fleet told to answer 422" in res[2],
           "apply: %s" % describe(res))
    expect(outbox_keys(db) == KEYS, "outbox: %s" % outbox_keys(db))


@with_fake("--mode", "garbage")
def garbage_stays_pending(fake):
    db = new_db("ob")
    res = run(["apply", "-f", Y_API], api_env(db, fake))
    expect(res[0] == REF_RC and "not HTTP" in res[2] and "2 pending" in res[2], "apply: %s" % describe(res))
    expect(outbox_keys(db) == KEYS, "outbox: %s" % outbox_keys(db))


@with_fake("--mode", "close")
def closed_connection_stays_pending(fake):
    db = new_db("ob")
    res = run(["apply", "-f", Y_API], api_env(db, fake))
    expect(res[0] == REF_RC and "closed the connection" in res[2] and "2 pending" in res[2], "apply: %s" % describe(res))
    expect(outbox_keys(db) == KEYS, "outbox: %s" % outbox_keys(db))


@with_fake("--mode", "hang")
def never_answers_stays_pending(fake):
    db = new_db("ob")
    t = time.time()
    res = run(["apply", "-f", Y_API], api_env(db, fake, FLEETCA_API_TIMEOUT="300ms"), timeout=60)
    took = time.time() - t
    expect(res[0] == REF_RC and "did not answer within 300ms" in res[2] and "2 pending" in res[2],
           "apply: %s" % describe(res))
    expect(took < 20, "apply took %.1fs against a silent API" % took)
    expect(len(fake.requests()) == 3, "fake saw %s" % fake.seen())
    expect(outbox_keys(db) == KEYS, "outbox: %s" % outbox_keys(db))


@with_fake()
def crash_after_delivery_resends_one(fake):
    if not TESTING:
        print("  (skipped: no fault points in this build)")
        return
    db = new_db("ob")
    spec = "after_delivery:" + KEYS[0]
    res = run(["apply", "-f", Y_API], api_env(db, fake, FLEETCA_FAULT=spec, FLEETCA_FAULT_MODE="sigkill"))
    expect(res[0] == -signal.SIGKILL and "test fault point %s reached" % spec in res[2], "crashed run: %s" % describe(res))
    expect(fake.seen() == [(KEYS[0], 201)], "fake saw %s" % fake.seen())
    expect(outbox_keys(db) == KEYS, "the removal was committed before the crash: %s" % outbox_keys(db))
    res = run(["apply", "-f", Y_API], api_env(db, fake))
    expect(res[0] == 0 and "delivered 2 activities" in res[1], "re-run: %s" % describe(res))
    expect(fake.seen() == [(KEYS[0], 201), (KEYS[0], 409), (KEYS[1], 201)], "fake saw %s" % fake.seen())
    expect(outbox_keys(db) == [], "outbox: %s" % outbox_keys(db))


@T.case
def sink_none_keeps_them():
    db = new_db("ob")
    res = run(["apply", "-f", Y_NONE], env_for(db, now=T0))
    expect(res[0] == REF_RC and "delivered" not in res[1] + res[2], "apply: %s" % describe(res))
    expect(outbox_keys(db) == KEYS, "outbox: %s" % outbox_keys(db))
    res = run(["outbox", "--flush", "-f", Y_NONE], env_for(db, now=T0))
    expect(res[0] == 1 and "sink: none" in res[2], "flush with sink none: %s" % describe(res))


@T.case
def no_fleet_url_keeps_them_and_says_so():
    db = new_db("ob")
    res = run(["apply", "-f", Y_API], api_env(db, None))
    expect(res[0] == REF_RC and "FLEET_URL is not set" in res[2] and "2 pending" in res[2], "apply: %s" % describe(res))
    expect(outbox_keys(db) == KEYS, "outbox: %s" % outbox_keys(db))


@T.case
def plain_http_refused_for_every_host():
    db = new_db("ob")
    env = api_env(db, None, FLEET_URL="http://fleet.example.com")
    res = run(["apply", "-f", Y_API], env)
    expect(res[0] == 1 and "https only" in res[2], "apply: %s" % describe(res))
    expect(outbox_keys(db) == KEYS, "outbox: %s" % outbox_keys(db))
    # loopback too (issue 9 item 9): a plain-http server on 127.0.0.1 is never sent the token
    fake = Fake(http=True)
    try:
        for url in (fake.url, fake.url.replace("127.0.0.1", "localhost")):
            res = run(["outbox", "--flush"], api_env(db, None, FLEET_URL=url))
            expect(res[0] == 1 and "https only" in res[2] and fake.seen() == [],
                   "flush over http to %s: %s\nfake saw %s" % (url, describe(res), fake.seen()))
        expect(outbox_keys(db) == KEYS, "outbox: %s" % outbox_keys(db))
    finally:
        fake.stop()


@with_fake()
def untrusted_certificate_refused(fake):
    db = new_db("ob")
    res = run(["apply", "-f", Y_API], api_env(db, fake, ca_file=None))
    expect(res[0] == 1 and "TLS verification failed" in res[2] and "FLEETCA_API_CA_FILE" in res[2],
           "apply against a CA it does not trust: %s" % describe(res))
    expect(fake.requests() == [], "a request got through: %s" % fake.seen())
    expect(outbox_keys(db) == KEYS, "outbox: %s" % outbox_keys(db))


shutil.rmtree(TMP, ignore_errors=True)
T.done()
