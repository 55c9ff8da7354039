#!/usr/bin/env python3
"""Validates the plan JSON written by tests/unit/render_test (render-sample-plan-*.json, under the
build directory) against schemas/plan.schema.json. Fails when there is no sample, when the schema
is not a valid 2020-12 schema, or when any sample does not match it."""
import glob
import json
import os
import sys

from jsonschema import Draft202012Validator


def main():
    src = os.environ.get("FCA_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
    build = os.environ.get("FCA_BINARY_DIR") or os.getcwd()
    with open(os.path.join(src, "schemas", "plan.schema.json"), encoding="utf-8") as f:
        schema = json.load(f)
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)

    samples = sorted(glob.glob(os.path.join(build, "**", "render-sample-plan-*.json"), recursive=True))
    if not samples:
        print(f"no render-sample-plan-*.json under {build}: run the unit test render_test first", file=sys.stderr)
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
