"""The command line as Terraform and kubectl users expect it (issue 9, item 12): --flag=value and
--flag value alike, a flag missing its value named as such, a repeated single-valued flag refused,
'fleetca version', 'fleetca help <command>', and the nearest command or option for a typo."""
import os

from adoptlib import COMMANDS, FLEETCA, SOURCE, Failures, expect, run

T = Failures()
VALID = os.path.join(SOURCE, "tests", "data", "desired", "valid", "full.yml")


def usage_error(args, words):
    rc, out, err = run([FLEETCA] + args, timeout=30)
    expect(rc == 1, "%s exits 1, not %d" % (args, rc))
    expect(words in err, "%s says %r: %r" % (args, words, err))
    expect("unknown option" not in err or "did you mean" in words, "%s: not 'unknown option': %r" % (args, err))
    return err


@T.case
def equals_and_space_forms_agree():
    a = run([FLEETCA, "plan", "-f", VALID, "--offline", "--format", "markdown"])
    b = run([FLEETCA, "plan", "--file=" + VALID, "--offline", "--format=markdown"])
    expect(a[0] == 0 and a == b, "--format markdown and --format=markdown: %r / %r" % (a[:2], b[:2]))
    expect(run([FLEETCA, "validate", "--file=" + VALID])[0] == 0, "validate --file=FILE")


@T.case
def missing_value_is_named():
    usage_error(["plan", "-f", VALID, "--offline", "--format"], "--format needs a value")
    usage_error(["status", "--format"], "--format needs a value")
    usage_error(["export", "--ca"], "--ca needs a value")
    usage_error(["apply", "-f", "--plan", "x.json"], "-f needs a value")
    usage_error(["reconcile", "-f", VALID, "--interval"], "--interval needs a value")


@T.case
def repeated_flag_is_an_error():
    usage_error(["plan", "-f", VALID, "--file", VALID, "--offline"], "--file given twice")
    usage_error(["status", "--format", "json", "--format=text"], "--format given twice")
    usage_error(["export", "--ca", "apple_scep", "--ca", "host_identity"], "--ca given twice")


@T.case
def a_bad_value_is_refused_before_help():
    usage_error(["plan", "-f", VALID, "--format", "xml", "--help"], "--format must be text, json or markdown")
    usage_error(["apply", "--lock-timeout", "2h", "--help"], "--lock-timeout: at most 1h")


@T.case
def version_and_help_commands():
    rc, out, _ = run([FLEETCA, "version"])
    expect(rc == 0 and out == run([FLEETCA, "--version"])[1], "fleetca version = fleetca --version")
    for cmd in COMMANDS:
        rc, out, _ = run([FLEETCA, "help", cmd])
        expect(rc == 0 and out.startswith("usage: fleetca " + cmd) and out == run([FLEETCA, cmd, "--help"])[1],
               "fleetca help %s = fleetca %s --help" % (cmd, cmd))
    rc, _, err = run([FLEETCA, "help", "pln"])
    expect(rc == 1 and "did you mean 'fleetca plan'" in err, "help pln: %r" % err)


@T.case
def typos_get_the_nearest():
    for typo, want in (("pln", "plan"), ("staus", "status"), ("reconcle", "reconcile"), ("exprt", "export")):
        rc, _, err = run([FLEETCA, typo])
        expect(rc == 1 and "did you mean 'fleetca %s'" % want in err, "%s: %r" % (typo, err))
    rc, _, err = run([FLEETCA, "frobnicate"])
    expect(rc == 1 and "did you mean" not in err and "unknown command 'frobnicate'" in err, err)
    usage_error(["plan", "-f", VALID, "--ofline"], "did you mean '--offline'")
    usage_error(["status", "--check-key"], "did you mean '--check-keys'")


T.done()
