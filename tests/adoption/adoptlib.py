"""Helpers for the adoption tests (package, man page, completion, examples): the real binary and the
real tools of each ecosystem, no database. Failures and expect are the integration tests' own."""
import os
import re
import shlex
import subprocess
import sys


SOURCE = os.environ.get("FCA_SOURCE_DIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FLEETCA = os.environ.get("FLEETCA", os.path.join(SOURCE, "build", "fleetca"))
BINARY_DIR = os.environ.get("FCA_BINARY_DIR") or os.path.join(SOURCE, "build")
TESTING = os.environ.get("FCA_TESTING", "1") == "1"


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
from results import Failures, expect  # noqa: E402,F401 - the integration tests' own

COMMANDS = ["status", "validate", "plan", "apply", "reconcile", "export", "outbox"]
# What a shell variable in an example stands for when its command line is parsed. $offline and
# $FORK take the value that adds an option, so that the option is checked too.
SAMPLE_VARS = {"offline": "--offline", "base": "origin/main", "GITHUB_SHA": "0123456789abcdef",
               "CI_COMMIT_SHA": "0123456789abcdef", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": "main"}


def help_options(cmd):
    """The flags of the usage lines (up to the first empty line) and of the option table lines."""
    rc, out, err = run([FLEETCA, cmd, "--help"])
    expect(rc == 0, "%s --help exits 0: %s" % (cmd, err))
    lines = out.splitlines()
    head = lines[:lines.index("")] if "" in lines else lines
    opts = set()
    for line in head:
        opts |= set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", line))
    for line in lines:
        m = re.match(r"^  (-[a-z], )?(--?[a-z][a-z-]*)", line)
        if m:
            opts.add(m.group(2))
            if m.group(1):
                opts.add(m.group(1)[:2])
    return opts - {"-h", "--help"}  # every command takes them; the man page says so once


def tool(name):
    """The path of a tool CI installs (ci/install-deps); its absence fails the test."""
    for d in os.environ.get("PATH", "").split(os.pathsep):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    raise AssertionError("%s is not installed: run ci/install-deps" % name)


def run(args, **kw):
    p = subprocess.run(args, capture_output=True, text=True, timeout=kw.pop("timeout", 300), **kw)
    return p.returncode, p.stdout, p.stderr


def expand(text):
    def sub(m):
        name = m.group(1) or m.group(2)
        return SAMPLE_VARS.get(name, "X" + name)
    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", sub, text)


def fleetca_commands(shell_text):
    """The fleetca command lines in a piece of shell: the argv from 'fleetca' (or a path ending in
    /fleetca) to the end of its simple command, with variables replaced by SAMPLE_VARS."""
    lex = shlex.shlex(expand(shell_text), posix=True, punctuation_chars=";&|<>(){}")
    lex.whitespace_split = True
    lex.commenters = "#"
    out, cur = [], None
    for tok in lex:
        if cur is None:
            if tok == "fleetca" or tok.endswith("/fleetca"):
                cur = ["fleetca"]
            continue
        if tok and set(tok) <= set(";&|<>(){}"):
            out.append(cur)
            cur = None
            continue
        cur.append(tok)
    if cur is not None:
        out.append(cur)
    return out


def check_parses(argv, where):
    """Runs the real argument parser on argv: with --help appended, every option and value before it
    is parsed as for a real run (an unknown option, a bad value or a missing value is exit 1), and
    the command then prints its help and exits 0 without touching a database."""
    expect(len(argv) >= 2 and argv[1] in COMMANDS, "%s: '%s' names no fleetca command" % (where, " ".join(argv)))
    rc, out, err = run([FLEETCA] + argv[1:] + ["--help"], timeout=30)
    expect(rc == 0 and out.startswith("usage: fleetca %s" % argv[1]),
           "%s: the parser refuses '%s': exit %d, %s" % (where, " ".join(argv), rc, err.strip() or out[:200]))
    # What the parser checks only after the options: SOURCE for the commands that read the file.
    if argv[1] in ("validate", "plan", "apply", "reconcile"):
        expect("-f" in argv or "--file" in argv, "%s: '%s' names no file (-f)" % (where, " ".join(argv)))
    if argv[1] == "export":
        expect("--ca" in argv, "%s: '%s' names no CA (--ca)" % (where, " ".join(argv)))
