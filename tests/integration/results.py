"""How every Python test reports: expect() and Failures, which runs each case, reports every failure
(with where an unexpected exception happened) and exits non-zero if any. No database needed, so the
adoption tests share it too."""
import os
import sys
import traceback


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


class Failures:
    """Collects test results so one run reports every failure, and exits non-zero if any."""

    def __init__(self):
        self.failed = []
        self.passed = 0

    def case(self, fn):
        try:
            fn()
            self.passed += 1
            print("ok   %s" % fn.__name__)
        except Exception as e:  # noqa: BLE001 - report and go on
            self.failed.append(fn.__name__)
            where = traceback.extract_tb(e.__traceback__)
            print("FAIL %s: %s%s" % (fn.__name__, e, "" if isinstance(e, AssertionError) else
                                     "\n  at %s:%d" % (os.path.basename(where[-1].filename), where[-1].lineno)))
        return fn

    def done(self):
        print("%d passed, %d failed" % (self.passed, len(self.failed)))
        sys.exit(1 if self.failed else 0)
