#!/usr/bin/env python3
"""The program and the JSON Schema agree on every example and test file.

For every YAML file under examples/ and tests/data/desired/valid/: `$FLEETCA validate -f FILE`
exits 0 and schemas/ca-rotation.schema.json (Draft 2020-12, the YAML loaded with PyYAML) accepts.
For every file under tests/data/desired/invalid/: both reject; the program exits 1 and its stderr
holds the substring from the file's first line `# expect: ...` after a `file:line:column:` prefix.

Needs no database. Environment: FLEETCA (the binary), FCA_SOURCE_DIR (the repository root).
"""
import glob
import json
import os
import re
import subprocess
import unittest

import jsonschema
import yaml

SRC = os.environ.get("FCA_SOURCE_DIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FLEETCA = os.environ.get("FLEETCA", "")

# Invalid files the schema cannot reject, and why. Keep this short: everything else must agree.
PROGRAM_ONLY = {
    # PyYAML keeps the last of two equal keys; JSON Schema never sees the duplicate.
    "duplicate-key.yml",
    # PyYAML expands aliases before the schema sees the data; fleetca rejects them (alias bombs).
    "alias.yml",
    # PyYAML reads YAML 1.1, where `yes` is a boolean; fleetca follows YAML 1.2 (only true/false).
    "bool-yes.yml",
    # A comparison between two duration strings is beyond JSON Schema.
    "renew-not-less.yml",
}

DIAG = re.compile(r"^(?P<file>.+?):(?P<line>[0-9]+):(?P<col>[0-9]+): ")


def rel(path):
    return os.path.relpath(path, SRC)


def load_schema():
    with open(os.path.join(SRC, "schemas", "ca-rotation.schema.json"), encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def schema_errors(validator, path):
    """The schema's complaints about a file, or a YAML error as one complaint."""
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except yaml.YAMLError as e:
        return ["YAML: %s" % str(e).splitlines()[0]]
    return [e.message for e in validator.iter_errors(data)]


def run_validate(path):
    return subprocess.run([FLEETCA, "validate", "-f", path], capture_output=True, text=True, timeout=30)


class SchemaAgreement(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not FLEETCA or not os.access(FLEETCA, os.X_OK):
            raise RuntimeError("set FLEETCA to the fleetca binary")
        cls.validator = load_schema()

    def files(self, pattern):
        found = sorted(glob.glob(os.path.join(SRC, pattern)))
        self.assertTrue(found, "no files match %s" % pattern)
        return found

    def check_valid(self, path):
        with self.subTest(file=rel(path)):
            p = run_validate(path)
            self.assertEqual(p.returncode, 0, "fleetca rejects %s:\n%s" % (rel(path), p.stderr))
            self.assertEqual(p.stderr, "")
            self.assertEqual(len(p.stdout.splitlines()), 1, p.stdout)
            self.assertTrue(p.stdout.startswith(path + ": valid ("), p.stdout)
            self.assertEqual(schema_errors(self.validator, path), [], "the schema rejects %s" % rel(path))

    def test_examples_valid(self):
        for path in self.files("examples/*.yml"):
            self.check_valid(path)

    def test_valid_data(self):
        for path in self.files("tests/data/desired/valid/*.yml"):
            self.check_valid(path)

    def test_invalid_data(self):
        seen_program_only = set()
        for path in self.files("tests/data/desired/invalid/*.yml"):
            name = os.path.basename(path)
            with self.subTest(file=rel(path)):
                with open(path, encoding="utf-8", errors="replace") as f:
                    first = f.readline()
                m = re.match(r"^# expect: (.+?)\s*$", first)
                self.assertIsNotNone(m, "%s: first line must be '# expect: <substring>'" % rel(path))
                p = run_validate(path)
                self.assertEqual(p.returncode, 1, "fleetca accepts %s:\n%s" % (rel(path), p.stdout))
                lines = [l for l in p.stderr.splitlines() if m.group(1) in l]
                self.assertTrue(lines, "no diagnostic holds %r:\n%s" % (m.group(1), p.stderr))
                d = DIAG.match(lines[0])
                self.assertIsNotNone(d, "no file:line:column prefix: %s" % lines[0])
                self.assertEqual(d.group("file"), path)
                self.assertGreaterEqual(int(d.group("line")), 1)
                self.assertGreaterEqual(int(d.group("col")), 1)
                self.assertRegex(p.stderr.splitlines()[-1], r": invalid: [0-9]+ problems?$")
                errs = schema_errors(self.validator, path)
                if name in PROGRAM_ONLY:
                    seen_program_only.add(name)
                    self.assertEqual(errs, [], "%s is listed as program-only but the schema rejects it "
                                     "too: remove it from PROGRAM_ONLY" % name)
                else:
                    self.assertNotEqual(errs, [], "the schema accepts %s" % rel(path))
        self.assertEqual(seen_program_only, PROGRAM_ONLY, "PROGRAM_ONLY names files that do not exist")


if __name__ == "__main__":
    unittest.main(verbosity=1)
