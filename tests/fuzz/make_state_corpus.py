#!/usr/bin/env python3
"""Writes the seed corpus of state_fuzzer (tests/fuzz/corpus/state_fuzzer/): valid fleetca_state
documents and invalid ones, one rejection each. Run from anywhere; it rewrites the folder (files it
no longer makes are removed)."""
import glob
import json
import os

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "state_fuzzer")
A = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
B = "b" * 64


def gen(ca, g, sha, staged=None, act=None, ret=None, commit=""):
    return {"ca": ca, "generation": g, "sha256": sha, "created_at": "2026-01-01T00:00:00Z",
            "staged_at": staged, "activated_at": act, "retired_at": ret, "commit": commit}


FULL = {
    "format_version": 1, "updated_at": "2026-11-27T10:00:01Z",
    "generations": [
        gen("apple_scep", 1, A),
        gen("apple_scep", 2, B, "2026-11-27T10:00:00Z", "2026-12-04T10:00:00Z", None,
            "0123456789abcdef0123456789abcdef01234567"),
        gen("host_identity", 1, A),
    ],
    "transitions": [
        {"step_id": "apple_scep:2:stage", "count": 1, "last_at": "2026-11-27T10:00:00Z"},
        {"step_id": "apple_scep:2:activate", "count": 2, "last_at": "2026-12-04T10:00:00Z"},
    ],
    "outbox": [{
        "idempotency_key": "apple_scep:2:activate#1", "type": "activated_ca_certificate",
        "details": {"ca": "apple_scep", "generation": 2, "previous_generation": 1,
                    "assets": ["ca_cert", "ca_key"], "forced": False, "ratio": 0.98,
                    "source": {"commit": "0123", "ref": "main", "path": "ca-rotation.yml"}},
        "created_at": "2026-12-04T10:00:01Z", "attempts": 3,
    }],
}
EMPTY = {"format_version": 1, "updated_at": "2026-01-01T00:00:00Z", "generations": [], "transitions": [],
         "outbox": []}

docs = {
    "valid-full.json": json.dumps(FULL, sort_keys=True, separators=(",", ":")),
    "valid-pretty.json": json.dumps(FULL, indent=2),
    "valid-empty.json": json.dumps(EMPTY),
    "valid-offset-times.json": json.dumps(dict(EMPTY, updated_at="2026-01-01T02:00:00+02:00")),
    # As earlier fleetcas wrote it, with the trust profiles they uploaded: read past, never written.
    "valid-old-profiles.json": json.dumps(dict(FULL, profiles=[{
        "ca": "apple_scep", "profile_uuid": "0c6f1f2e-7d7a-4b1e-9a55-2b4d7c1e9f00", "sha256s": [A, B],
        "uploaded_at": "2026-11-27T10:00:02Z"}]), sort_keys=True, separators=(",", ":")),
    "valid-old-profiles-odd.json": json.dumps(dict(EMPTY, profiles={"ca": "apple"})),
    # The facts of each certificate row (issue 11 item 3): one line per row, by its md5_checksum.
    "valid-row-facts.json": json.dumps(dict(FULL, row_facts=[
        "f1 0123456789ABCDEF0123456789ABCDEF " + A + " 1700000000 2016000000 RSA 2048 1 " + B + " 01d2 "
        + "c8c7c6c5c4c3c2c1c0bfbebdbcbbbab9b8b7b6b5 MBMxETAPBgNVBAMTCEZsZWV0IENB Q049RmxlZXQgQ0E=",
        "f1 FEDCBA9876543210FEDCBA9876543210 " + B + " 1 2 EC 256 0 - - - - -"]), sort_keys=True,
        separators=(",", ":")),
    "invalid-truncated.json": json.dumps(FULL)[:200],
    "invalid-not-object.json": "[1,2,3]",
    "invalid-duplicate-key.json": '{"format_version":1,"format_version":1}',
}
invalid = {
    "version-2": dict(EMPTY, format_version=2),
    "unknown-ca": dict(EMPTY, generations=[gen("apple", 1, A)]),
    "short-sha": dict(EMPTY, generations=[gen("apple_scep", 1, A[:10])]),
    "upper-sha": dict(EMPTY, generations=[gen("apple_scep", 1, A.upper())]),
    "gen-string": dict(EMPTY, generations=[dict(gen("apple_scep", 1, A), generation="1")]),
    "unknown-field": dict(EMPTY, extra=1),
    "details-array": dict(EMPTY, outbox=[dict(FULL["outbox"][0], details=[1])]),
    "bad-time": dict(EMPTY, updated_at="yesterday"),
    "unknown-field-profile": dict(EMPTY, profile=[]),
    "duplicate-gen": dict(EMPTY, generations=[gen("apple_scep", 1, A), gen("apple_scep", 2, A)]),
    "row-facts-number": dict(EMPTY, row_facts=[7]),
    "row-facts-too-many": dict(EMPTY, row_facts=["x"] * 17),
}
for name, doc in invalid.items():
    docs["invalid-" + name + ".json"] = json.dumps(doc)

os.makedirs(HERE, exist_ok=True)
for old in glob.glob(os.path.join(HERE, "*.json")):
    if os.path.basename(old) not in docs:
        os.remove(old)
for name, text in docs.items():
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
        f.write(text)
