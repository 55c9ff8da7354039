"""Bash completion (completion/fleetca.bash), run in a real bash: commands, each command's options
(those of its --help), CA ids and --format values."""
import os

from adoptlib import COMMANDS, SOURCE, Failures, expect, help_options, run, tool

T = Failures()
SCRIPT = os.path.join(SOURCE, "completion", "fleetca.bash")


def complete(line):
    """COMPREPLY for the command line typed so far (the last word is being completed)."""
    words = line.split(" ")
    prog = 'source "$1"; COMP_WORDS=(%s); COMP_CWORD=%d; _fleetca; printf "%%s\\n" "${COMPREPLY[@]}"' % (
        " ".join("'%s'" % w for w in words), len(words) - 1)
    rc, out, err = run([tool("bash"), "--norc", "-c", prog, "bash", SCRIPT])
    expect(rc == 0 and not err, "bash: %s" % err)
    return sorted(w for w in out.splitlines() if w)


@T.case
def syntax():
    rc, _, err = run([tool("bash"), "-n", SCRIPT])
    expect(rc == 0, err)


@T.case
def commands():
    expect(complete("fleetca ") == sorted(COMMANDS + ["help", "version", "--help", "--version"]), complete("fleetca "))
    expect(complete("fleetca re") == ["reconcile"], complete("fleetca re"))
    expect(complete("fleetca help ") == sorted(COMMANDS), complete("fleetca help "))


@T.case
def options_are_those_of_help():
    for cmd in COMMANDS:
        want = help_options(cmd) | {"--help"}
        got = set(complete("fleetca %s -" % cmd))
        expect(want == got, "%s: help only %s, completion only %s" % (cmd, sorted(want - got), sorted(got - want)))


@T.case
def ca_ids_and_formats():
    ids = ["apple_scep", "conditional_access", "conditional_access_idp", "host_identity"]
    expect(complete("fleetca export --ca ") == ids, complete("fleetca export --ca "))
    expect(complete("fleetca export --ca cond") == ids[1:3], complete("fleetca export --ca cond"))
    expect(complete("fleetca plan -f x.yml --format ") == ["json", "markdown", "text"], "plan formats")
    expect(complete("fleetca status --format ") == ["json", "text"], "status formats")


@T.case
def files_after_f():
    got = complete("fleetca validate -f %s/examples/ca-rot" % SOURCE)
    expect(got == ["%s/examples/ca-rotation.yml" % SOURCE], got)


T.done()
