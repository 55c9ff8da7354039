"""doc/fleetca.1: mandoc -T lint reports nothing; every command has its subsection, and its options
there are exactly those of 'fleetca <command> --help'; every environment variable the code reads
(but the test-only ones) and every exit code is documented."""
import os
import re

from adoptlib import COMMANDS, FLEETCA, SOURCE, Failures, expect, help_options, run, tool

T = Failures()
MAN = os.path.join(SOURCE, "doc", "fleetca.1")
TEXT = open(MAN).read()
TEST_ONLY = {"FLEETCA_TEST_NOW", "FLEETCA_FAULT", "FLEETCA_FAULT_MODE", "FLEETCA_FAULT_PAUSE_FILE"}


def man_sections():
    """{command: the lines of its '.Ss fleetca <command>' subsection}."""
    out, cur = {}, None
    for line in TEXT.splitlines():
        m = re.match(r"\.S[sh] (.*)", line)
        if m:
            cur = m.group(1).split()[1] if m.group(1).startswith("fleetca ") else None
            if cur:
                out[cur] = []
            continue
        if cur:
            out[cur].append(line)
    return out


def man_options(lines):
    """The flags of the option list items: '.It Fl f Ar FILE , Fl -file Ar FILE' gives -f, --file."""
    opts = set()
    for line in lines:
        if line.startswith(".It Fl "):
            opts |= {"-" + w for w in re.findall(r"\bFl (\S+)", line)}
    return opts


@T.case
def mandoc_lint_is_clean():
    mandoc = tool("mandoc")
    rc, out, err = run([mandoc, "-T", "lint", "-W", "all", MAN])
    # An outdated mandoc.db on the machine is no defect of the page.
    err = "\n".join(line for line in err.splitlines() if "mandoc.db" not in line)
    expect(rc == 0 and not out.strip() and not err.strip(), "mandoc -T lint: %s%s" % (out, err))


@T.case
def every_command_has_its_subsection():
    rc, out, _ = run([FLEETCA, "--help"])
    listed = re.findall(r"^  ([a-z]+) ", out, re.M)
    expect(listed == COMMANDS, "fleetca --help lists %s" % listed)
    expect(set(man_sections()) == set(COMMANDS), "subsections %s" % sorted(man_sections()))


@T.case
def options_agree_with_help():
    secs = man_sections()
    bad = []
    for cmd in COMMANDS:
        want, have = help_options(cmd), man_options(secs.get(cmd, []))
        if want != have:
            bad.append("%s: --help only %s, man only %s" % (cmd, sorted(want - have), sorted(have - want)))
    expect(not bad, "; ".join(bad))


@T.case
def synopsis_names_every_option():
    syn = TEXT.split(".Sh SYNOPSIS", 1)[1].split(".Sh DESCRIPTION", 1)[0]
    flags = {"-" + w for w in re.findall(r"\bFl (\S+)", syn)}
    every = set()
    for cmd in COMMANDS:
        every |= help_options(cmd)
    # SOURCE's own options are in the SOURCE subsection, not repeated in each synopsis line.
    missing = every - flags - {"-f", "--file", "--git-repo", "--git-ref"}
    expect(not missing, "the SYNOPSIS lacks %s" % sorted(missing))


@T.case
def every_environment_variable():
    names = set()
    for d, _, files in os.walk(os.path.join(SOURCE, "src")):
        for f in files:
            if f.endswith(".c"):
                names |= set(re.findall(r'"((?:FLEET|FLEETCA)_[A-Z_]+|NO_COLOR|TERM)"', open(os.path.join(d, f)).read()))
    env = TEXT.split(".Sh ENVIRONMENT", 1)[1].split(".Sh ", 1)[0]
    documented = set(re.findall(r"\b((?:FLEET|FLEETCA)_[A-Z_]+|NO_COLOR|TERM)\b", " ".join(
        line for line in env.splitlines() if line.startswith(".It Ev"))))
    expect(len(names) >= 15, "the code's variables were found: %s" % sorted(names))
    missing = names - TEST_ONLY - documented
    expect(not missing, "ENVIRONMENT lacks %s" % sorted(missing))
    expect(not (documented & TEST_ONLY), "test-only variables are not for users")


@T.case
def every_exit_code():
    sec = TEXT.split(".Sh EXIT STATUS", 1)[1].split(".Sh ", 1)[0]
    codes = re.findall(r"^\.It (\d+)$", sec, re.M)
    expect(codes == ["0", "1", "2", "3", "4"], "exit codes %s" % codes)


@T.case
def files_are_where_the_package_puts_them():
    for path in ("/usr/share/fleetca/schemas/", "/usr/share/doc/fleetca/examples/",
                 "/usr/share/bash-completion/completions/fleetca"):
        expect((".It Pa %s" % path) in TEXT, "FILES names %s" % path)


T.done()
