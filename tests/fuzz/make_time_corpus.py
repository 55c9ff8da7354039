#!/usr/bin/env python3
"""Writes the seed corpus of time_fuzzer (tests/fuzz/corpus/time_fuzzer): times and durations that
parse, and the shapes that must not (short offsets, signs inside fields, impossible dates)."""
import os

SEEDS = ["2026-12-04T10:00:00Z", "2026-12-04 10:00:00", "2026-12-04", "2026-12-04T10:00:00.5+02:30",
         "2026-12-04T10:00:00-05:00", "2026-12-04T10:00:00+1:2", "2026-12-04T-1:00:00", "1969-12-31T23:59:59Z",
         "9999-12-31T23:59:59Z", "7d", "72h", "10y", "100y", "-7d", "", "2026-02-29"]

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "time_fuzzer")
os.makedirs(out, exist_ok=True)
for name in os.listdir(out):
    os.unlink(os.path.join(out, name))
for i, s in enumerate(SEEDS, 1):
    with open(os.path.join(out, "seed-%d" % i), "w") as f:
        f.write(s)
