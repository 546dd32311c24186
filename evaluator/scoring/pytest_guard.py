"""A pytest plugin the harness loads (`-p agentgym_guard`) when it runs a change task's hidden tests.

It is copied next to the runner inside the grading sandbox; it imports nothing from the harness.
Code under test runs in pytest's own process, so it could rewrite pytest from inside. This plugin
notices the usual ways: at start-up it remembers the functions and methods that decide an
outcome (pytest's runner, reports, python and unittest items, JUnit writer, `unittest.TestCase`);
at the end it writes `guard.json` with the ones that changed and the outcome of every test as
pytest's hooks reported it. The grader trusts the JUnit XML only when the guard file exists,
nothing changed, and the two agree.
"""
from __future__ import annotations

import json
import os

_WATCHED = {
    "_pytest.runner": ["call_and_report", "call_runtest_hook", "runtestprotocol", "check_interactive_exception",
                       "pytest_runtest_makereport", "pytest_runtest_call", "CallInfo.from_call"],
    "_pytest.reports": ["TestReport.__init__", "TestReport.from_item_and_call", "BaseReport.passed.fget",
                        "BaseReport.failed.fget", "BaseReport.skipped.fget"],
    "_pytest.python": ["Function.runtest", "pytest_pyfunc_call", "Function.setup"],
    "_pytest.unittest": ["TestCaseFunction.runtest", "pytest_runtest_makereport"],
    "_pytest.junitxml": ["LogXML.pytest_runtest_logreport", "LogXML.pytest_sessionfinish", "_NodeReporter.append_pass",
                         "_NodeReporter.append_failure", "_NodeReporter.write_captured_output"],
    "_pytest.outcomes": ["skip", "fail", "exit", "xfail"],
    "_pytest.main": ["pytest_runtestloop", "Session.perform_collect"],
    "_pytest.skipping": ["pytest_runtest_setup", "pytest_runtest_call", "pytest_runtest_makereport"],
    "unittest": ["TestCase.run", "TestCase.__call__", "TestCase.debug", "TestResult.addSuccess", "TestResult.addFailure"],
    "builtins": ["__import__", "exit"],
    "sys": ["exit"],
    "os": ["_exit"],
}


def _lookup(module: str, dotted: str) -> object:
    """The object stored under `dotted`, as stored: no descriptor binding, so a classmethod
    compares by its function, not by a fresh bound method each time."""
    import importlib
    import inspect

    obj: object = importlib.import_module(module)
    for part in dotted.split("."):
        obj = inspect.getattr_static(obj, part, None)
        obj = getattr(obj, "__func__", obj)
    return obj


def _snapshot() -> dict[str, int]:
    return {f"{m}:{a}": id(_lookup(m, a)) for m, attrs in _WATCHED.items() for a in attrs}


# Taken when `-p` imports this module: before any conftest or test module can run.
_BEFORE = _snapshot()


class _Guard:
    def __init__(self, out_path: str) -> None:
        self.out_path = out_path
        self.before = _BEFORE
        self.outcomes: dict[str, str] = {}
        self.sealed = False

    def pytest_runtest_logreport(self, report: object) -> None:
        nodeid = getattr(report, "nodeid", "")
        outcome = getattr(report, "outcome", "failed")
        when = getattr(report, "when", "call")
        prior = self.outcomes.get(nodeid)
        if outcome != "passed":
            self.outcomes[nodeid] = "error" if when != "call" and outcome == "failed" else outcome
        elif prior is None and when == "call":
            self.outcomes[nodeid] = "passed"

    def pytest_sessionfinish(self, session: object, exitstatus: object) -> None:
        after = _snapshot()
        changed = sorted(k for k, v in self.before.items() if after.get(k) != v)
        data = {"changed": changed, "outcomes": self.outcomes, "finished": True}
        with open(self.out_path, "w", encoding="utf-8") as f:
            json.dump(data, f)


def pytest_configure(config: object) -> None:
    out = os.environ.get("AGENTGYM_GUARD_OUT")
    if out:
        config.pluginmanager.register(_Guard(out), "agentgym-guard-recorder")  # type: ignore[attr-defined]
