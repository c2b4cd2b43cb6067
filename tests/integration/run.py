"""Runs every test_* function of every tests/integration/test_*.py module,
each with a fresh gannet server (or with none if it takes no argument).
Usage: run.py [MODULE[::TEST] ...]. Last line: "N passed, M failed"."""

import importlib
import inspect
import os
import signal
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

TEST_TIMEOUT = int(os.environ.get("GANNET_TEST_TIMEOUT", "120"))


class Timeout(Exception):
    pass


def on_alarm(signum, frame):
    raise Timeout("test took longer than %ds" % TEST_TIMEOUT)


def collect(selectors):
    here = os.path.dirname(os.path.abspath(__file__))
    names = sorted(f[:-3] for f in os.listdir(here) if f.startswith("test_") and f.endswith(".py"))
    wanted = {}
    for sel in selectors:
        mod, _, fn = sel.partition("::")
        wanted.setdefault(os.path.basename(mod).removesuffix(".py"), set()).add(fn)
    for name in names:
        if wanted and name not in wanted:
            continue
        mod = importlib.import_module(name)
        for fname, fn in inspect.getmembers(mod, inspect.isfunction):
            if fname.startswith("test_") and fn.__module__ == name:
                if wanted and wanted[name] - {""} and fname not in wanted[name]:
                    continue
                yield name, fname, fn


def run_one(fn):
    srv = None
    signal.alarm(TEST_TIMEOUT)
    try:
        params = inspect.signature(fn).parameters
        if params:
            srv = harness.Server()
            fn(srv)
        else:
            fn()
        if srv is not None:
            srv.stop()
            report = srv.sanitizer_report()
            if report:
                raise AssertionError("sanitizer report in server log: " + report + "\n" + srv.report_text())
        return None
    except BaseException as e:  # noqa: B902 - a test failure of any kind is reported
        detail = traceback.format_exc()
        if srv is not None:
            detail += "\n--- server log (tail) ---\n" + srv.log()[-3000:]
        if isinstance(e, KeyboardInterrupt):
            raise
        return detail
    finally:
        signal.alarm(0)
        if srv is not None:
            srv.cleanup()


def main():
    signal.signal(signal.SIGALRM, on_alarm)
    passed = failed = 0
    for mod, name, fn in collect(sys.argv[1:]):
        t0 = time.time()
        err = run_one(fn)
        dt = time.time() - t0
        if err is None:
            passed += 1
            print("PASS %s::%s (%.1fs)" % (mod, name, dt), flush=True)
        else:
            failed += 1
            print("FAIL %s::%s (%.1fs)\n%s" % (mod, name, dt, err), flush=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
