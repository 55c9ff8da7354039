#!/usr/bin/env python3
"""Validates the plan JSON written by tests/unit/render_test (render-sample-plan-*.json) against
schemas/plan.schema.json. When the render_test binary is in the build directory it is run here, into
a fresh temporary directory, so the check does not depend on ctest's order; otherwise the samples
under the build directory are used. Fails when there is no sample, when the schema is not a valid
2020-12 schema, or when any sample does not match it."""
import glob
import json
import os
import subprocess
import sys
import tempfile

from jsonschema import Draft202012Validator


def main():
    src = os.environ.get("FCA_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
    build = os.environ.get("FCA_BINARY_DIR") or os.getcwd()
    with open(os.path.join(src, "schemas", "plan.schema.json"), encoding="utf-8") as f:
        schema = json.load(f)
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)

    binaries = [p for p in glob.glob(os.path.join(build, "**", "render_test"), recursive=True)
                if os.access(p, os.X_OK)]
    tmp = tempfile.TemporaryDirectory()
    where = build
    if binaries:
        env = dict(os.environ, FCA_BINARY_DIR=tmp.name)
        run = subprocess.run([binaries[0]], env=env, cwd=tmp.name, capture_output=True, text=True)
        if run.returncode != 0:
            print(f"render_test failed:\n{run.stdout}{run.stderr}", file=sys.stderr)
            return 1
        where = tmp.name
    samples = sorted(glob.glob(os.path.join(where, "**", "render-sample-plan-*.json"), recursive=True))
    if not samples:
        print(f"no render-sample-plan-*.json under {where}: build and run the unit test render_test",
              file=sys.stderr)
        return 1
    failed = 0
    for path in samples:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        for e in errors:
            where = "/".join(str(p) for p in e.absolute_path) or "(root)"
            print(f"{os.path.basename(path)}: {where}: {e.message}", file=sys.stderr)
        failed += bool(errors)
        if not errors:
            print(f"ok {os.path.basename(path)}")
    # The schema must also refuse what the renderer never writes.
    bad = json.loads(json.dumps(doc))
    bad["unexpected"] = True
    if validator.is_valid(bad):
        print("the schema accepts an unknown top-level field", file=sys.stderr)
        failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
