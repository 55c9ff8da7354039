"""bench/benchlib.py: interleaved rounds for the bench/ scripts.

Each round runs every contender once, in an order shuffled for that round; the figure of a bench
is the per-round ratio subject / baseline (min / median / max over the rounds), so both sides see
the same machine load at the same moment. Programs are started with posix_spawn (stdout and stderr
to /dev/null) and timed from the spawn to the wait: the same start-up cost on both sides. Peak RSS
comes from separate, untimed runs under /usr/bin/time -f %M (kilobytes).

Every result line is printed and appended, tab-separated, to $FCA_BENCH_SUMMARY when it is set;
bench/run prints them as one table. A missed target makes the script exit 1 (after it printed all
its lines).
"""
import os
import random
import statistics
import subprocess
import sys
import time

SUMMARY = os.environ.get("FCA_BENCH_SUMMARY", "")
_missed = []


class Contender:
    """name; argv; env (None: this process's); before: an untimed callable run before each timed run."""

    def __init__(self, name, argv, env=None, before=None):
        self.name, self.argv, self.env, self.before = name, list(argv), env, before


def _spawn_wait(c):
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        fa = [(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
        env = c.env if c.env is not None else os.environ
        t = time.perf_counter()
        pid = os.posix_spawnp(c.argv[0], c.argv, env, file_actions=fa)
        _, status = os.waitpid(pid, 0)
        dt = time.perf_counter() - t
    finally:
        os.close(devnull)
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        # run it again, visibly, to show why
        p = subprocess.run(c.argv, env=c.env, capture_output=True, text=True)
        sys.exit("bench: %s exited %d: %s\n%s%s" % (c.name, rc, " ".join(c.argv), p.stdout[-2000:], p.stderr[-2000:]))
    return dt


def rounds(contenders, runs, warmup=2):
    """{name: [seconds per round]} after `warmup` untimed rounds; every round shuffled."""
    for _ in range(warmup):
        for c in contenders:
            if c.before:
                c.before()
            _spawn_wait(c)
    times = {c.name: [] for c in contenders}
    for _ in range(runs):
        order = list(contenders)
        random.shuffle(order)
        for c in order:
            if c.before:
                c.before()
            times[c.name].append(_spawn_wait(c))
    return times


def peak_rss_kb(argv, env=None, repeat=3):
    """The largest of `repeat` peak RSS figures (kB) of argv, as /usr/bin/time -f %M reports them."""
    worst = 0
    for _ in range(repeat):
        p = subprocess.run(["/usr/bin/time", "-f", "%M"] + list(argv), env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            sys.exit("bench: %s exited %d: %s" % (" ".join(argv), p.returncode, p.stderr[-2000:]))
        worst = max(worst, int(p.stderr.strip().splitlines()[-1]))
    return worst


def _emit(fields):
    if SUMMARY:
        with open(SUMMARY, "a") as f:
            f.write("\t".join(str(x) for x in fields) + "\n")


def ratio(work, times, subject, baseline, target, strict=False):
    """Prints the per-round ratio subject/baseline; PASS when its median is <= target (< when strict).
    target None: shown for information, no verdict."""
    r = [a / b for a, b in zip(times[subject], times[baseline])]
    med = statistics.median(r)
    ok = target is None or (med < target if strict else med <= target)
    ms = lambda name: statistics.median(times[name]) * 1e3  # noqa: E731
    verdict = "-" if target is None else "PASS" if ok else "MISS"
    tgt = "-" if target is None else "%s %.2f" % ("<" if strict else "<=", target)
    print("%-30s %s %.2f ms  %s %.2f ms  ratio min %.3f  median %.3f  max %.3f  (%d rounds)  target %s  %s"
          % (work, subject, ms(subject), baseline, ms(baseline), min(r), med, max(r), len(r), tgt, verdict))
    _emit([work, "%s %.2f ms" % (subject, ms(subject)), "%s %.2f ms" % (baseline, ms(baseline)),
           "%.3f / %.3f / %.3f" % (min(r), med, max(r)), len(r), tgt, verdict])
    if not ok:
        _missed.append(work)
    return ok


def rss(work, kb, limit_mb, others=()):
    """Prints a peak-RSS line; PASS when kb <= limit_mb MiB. others: (name, kB) shown beside it."""
    ok = kb <= limit_mb * 1024
    beside = ", ".join("%s %.1f MB" % (n, k / 1024) for n, k in others)
    verdict = "PASS" if ok else "MISS"
    print("%-30s fleetca peak RSS %.1f MB%s  target <= %d MB  %s"
          % (work, kb / 1024, "  (" + beside + ")" if beside else "", limit_mb, verdict))
    _emit([work, "fleetca %.1f MB RSS" % (kb / 1024), beside or "-", "-", "-", "<= %d MB" % limit_mb, verdict])
    if not ok:
        _missed.append(work)
    return ok


def spread(times, name):
    v = times[name]
    return "min %.2f / median %.2f / max %.2f ms" % (min(v) * 1e3, statistics.median(v) * 1e3, max(v) * 1e3)


def done():
    """Exit status of the script: 1 when a target was missed."""
    sys.exit(1 if _missed else 0)
