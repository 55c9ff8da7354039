"""The state document does not grow without bound (issue 9 item 5, issue 11 item 6): 300 full rotations
(stage -> activate -> retire) of host_identity leave fleetca_state the size it had after the first few,
fold the rest into its history, and Fleet's readers (the Fleet-behaviour harness) still work; a document
that would exceed the one size limit (FCA_STATE_MAX_BYTES) is compacted first, and when its undelivered
activities alone do not fit, the step fails with a clear error and nothing is committed."""
import datetime
import hashlib
import json
import os
import tempfile

from fcalib import (Failures, env_for, expect, live_rows, mariadb, new_db, aes_key, reference_decrypt, run,
                    table_fingerprint)
from fleetharness import check, depots_failing, summary

T = Failures()
CA = "host_identity"
MAX_BYTES = 1024 * 1024  # FCA_STATE_MAX_BYTES (include/fleetca/state.h)
KEEP_PAST = 4                # FCA_STATE_KEEP_PAST
ROTATIONS = 300
T0 = datetime.datetime(2026, 11, 27)


def at(seconds):
    return (T0 + datetime.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def yaml_file(generation, sink="db"):
    fd, path = tempfile.mkstemp(suffix=".yml")
    with os.fdopen(fd, "w") as f:
        # key: keep: no key generation, so 300 rotations take seconds; min_overlap 1s: two runs each
        f.write("version: 1\npolicy:\n  min_overlap: 1s\n  drain: force\n  reason: compaction test\n"
                "activities: {sink: %s}\ncas:\n  %s:\n    generation: %d\n    key: keep\n" % (sink, CA, generation))
    return path


def doc_bytes(db):
    return reference_decrypt(live_rows(db)["fleetca_state"][1])


def write_doc(db, doc):
    """Replaces the live fleetca_state value (as an older fleetca, or a person, would have left it)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    text = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    nonce = os.urandom(12)
    value = nonce + AESGCM(aes_key()).encrypt(nonce, text, None)
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as f:  # megabytes: too long for an argument
        f.write("UPDATE mdm_config_assets SET value = UNHEX('%s'), md5_checksum = UNHEX('%s') "
                "WHERE name = 'fleetca_state' AND deletion_uuid = ''" % (value.hex(), hashlib.md5(value).hexdigest()))
        f.flush()
        mariadb(db, infile=f.name)
    return len(text)


def apply(db, generation, now, sink="db"):
    return run(["apply", "-f", yaml_file(generation, sink)], env_for(db, now=now))


def signing_sha(db, now):
    rc, out, err = run(["status", "--format", "json"], env_for(db, now=now), check_rc=0)
    c = [c for c in json.loads(out)["cas"] if c["id"] == CA][0]
    return [g["sha256_fingerprint"] for g in c["generations"] if g["role"] == "signing"][0]


@T.case
def three_hundred_rotations_keep_the_document_flat():
    db = new_db("size")
    tick = 0
    rc, out, err = apply(db, 1, at(tick))
    expect(rc == 0 and "%s:1:adopt" % CA in out, "adopt: exit %d\n%s%s" % (rc, out, err))
    sizes = {}
    for g in range(2, ROTATIONS + 2):
        # run 1: retire gen g-2 (if any) and stage g; run 2, past min_overlap: activate g
        for step in ("stage", "activate"):
            tick += 2
            rc, out, err = apply(db, g, at(tick))
            if "%s:%d:%s" % (CA, g, step) not in out:
                raise AssertionError("rotation %d: %s not applied at %s: exit %d\n%s%s" % (g - 1, step, at(tick), rc,
                                                                                           out, err))
        sizes[g - 1] = len(doc_bytes(db))
    first = max(sizes[1], sizes[2], sizes[3])
    last = sizes[ROTATIONS]
    expect(last <= 1.1 * first + 2048,
           "after %d rotations the document is %d bytes, after 1-3 %d: more than 1.1x + 2 KiB" % (ROTATIONS, last, first))
    # flat once the kept window is full: only numbers gain digits (generation 9 -> 300)
    steady = [sizes[n] for n in range(KEEP_PAST + 3, ROTATIONS + 1)]
    expect(max(steady) - min(steady) <= 128,
           "from rotation %d on the size stays flat: %d .. %d bytes" % (KEEP_PAST + 3, min(steady), max(steady)))
    late = [sizes[n] for n in range(150, ROTATIONS + 1)]
    expect(max(late) - min(late) <= 8, "from rotation 150 to %d: %d .. %d bytes" % (ROTATIONS, min(late), max(late)))
    doc = json.loads(doc_bytes(db))
    gens = [x["generation"] for x in doc["generations"]]
    expect(sorted(gens) == list(range(ROTATIONS - KEEP_PAST, ROTATIONS + 2)),
           "kept: the signing and previous generations and %d retired ones: %s" % (KEEP_PAST, gens))
    hist = {h["ca"]: h for h in doc.get("history", [])}
    expect(CA in hist and hist[CA]["generations"] == ROTATIONS + 1 - len(gens) and
           hist[CA]["max_generation"] == min(gens) - 1,
           "history counts what was folded: %s" % hist)
    expect(all(int(t["step_id"].split(":")[1]) >= min(gens) for t in doc["transitions"]),
           "transitions of folded generations are folded: %s" % [t["step_id"] for t in doc["transitions"]])

    # the last retire, then a converged run: nothing to do, nothing written
    tick += 2
    rc, out, err = apply(db, ROTATIONS + 1, at(tick))
    expect(rc == 0 and "%s:%d:retire" % (CA, ROTATIONS + 1) in out, "the last retire: exit %d\n%s%s" % (rc, out, err))
    before = table_fingerprint(db)
    rc, out, err = apply(db, ROTATIONS + 1, at(tick + 2))
    expect(rc == 0 and "Nothing to do" in out, "converged after %d rotations: exit %d\n%s%s" % (ROTATIONS, rc, out, err))
    expect(table_fingerprint(db) == before, "a converged run writes nothing")
    # a new generation still gets the next number (the highest folded one is remembered)
    rep = check(db, now=at(tick + 2))
    expect(depots_failing(rep) == {} and rep["idp"]["status"] == "ok",
           "Fleet's readers work after %d rotations: %s" % (ROTATIONS, summary(rep)))
    sha = (rep["scep_depots"][CA].get("ca") or {}).get("sha256")
    expect(sha == signing_sha(db, at(tick + 2)),
           "Fleet's %s depot takes the signing generation: %s" % (CA, sha))


def padded_outbox(n, total):
    """n undelivered activities whose details hold `total` bytes between them."""
    each = total // n
    return [{"idempotency_key": "padding:%d:stage#0" % i, "type": "staged_ca_certificate",
             "details": {"pad": "x" * each}, "created_at": at(0), "attempts": 0} for i in range(n)]


def fill_to(doc, target):
    """Pads the outbox so the serialized document is exactly `target` bytes."""
    doc["outbox"] = padded_outbox(16, 16)
    base = len(json.dumps(doc, sort_keys=True, separators=(",", ":")))
    doc["outbox"] = padded_outbox(16, 16 + (target - base) // 16 * 16)
    size = len(json.dumps(doc, sort_keys=True, separators=(",", ":")))
    doc["outbox"][0]["details"]["pad"] += "x" * (target - size)
    return doc


def adopted(prefix):
    db = new_db(prefix)
    rc, out, err = apply(db, 1, at(0), sink="none")
    expect(rc == 0 and "%s:1:adopt" % CA in out, "adopt: exit %d\n%s%s" % (rc, out, err))
    return db, json.loads(doc_bytes(db))


@T.case
def a_document_that_would_not_fit_is_compacted_first():
    db, doc = adopted("fit")
    live = doc["generations"][0]
    # 250 earlier renewals of generation 1, as a fleetca without compaction left them
    old = []
    for i in range(250):
        g = dict(live)
        g["sha256"] = hashlib.sha256(b"renewal %d" % i).hexdigest()
        old.append(g)
    doc["generations"] = old + [live]
    doc["transitions"].append({"step_id": "%s:1:renew" % CA, "count": 250, "last_at": at(0)})
    written = write_doc(db, fill_to(doc, MAX_BYTES - 200))
    expect(written == MAX_BYTES - 200, "the seeded document is %d bytes" % written)
    rc, out, err = apply(db, 2, at(10), sink="none")
    expect("%s:2:stage" % CA in out, "the stage is applied: exit %d\n%s%s" % (rc, out, err))
    after = doc_bytes(db)
    new = json.loads(after)
    expect(len(after) <= MAX_BYTES, "the document written is %d bytes, at most %d" % (len(after), MAX_BYTES))
    expect(len(new["outbox"]) == 17, "every undelivered activity is kept (16 + the stage's): %d" % len(new["outbox"]))
    hist = {h["ca"]: h for h in new.get("history", [])}
    expect(CA in hist and hist[CA]["generations"] == 250 - KEEP_PAST,
           "the replaced renewals beyond %d are folded: %s" % (KEEP_PAST, hist))
    rc, out, err = run(["status"], env_for(db, now=at(12)))
    expect(rc == 0, "the compacted document reads: exit %d\n%s" % (rc, err))


@T.case
def undelivered_activities_that_do_not_fit_fail_closed():
    db, doc = adopted("nofit")
    written = write_doc(db, fill_to(doc, MAX_BYTES - 200))
    expect(written == MAX_BYTES - 200, "the seeded document is %d bytes" % written)
    before = table_fingerprint(db)
    rc, out, err = apply(db, 2, at(10), sink="none")
    expect(rc == 1, "the stage fails: exit %d\n%s%s" % (rc, out, err))
    expect("%s:2:stage" % CA in err and "more than the %d the reader accepts" % MAX_BYTES in err and
           "17 undelivered activities" in err and "never dropped" in err,
           "the error says why: %s" % err)
    expect(table_fingerprint(db) == before, "nothing was committed (mdm_config_assets unchanged)")
    expect(len(json.loads(doc_bytes(db))["outbox"]) == 16, "the activities are still there")


T.done()
