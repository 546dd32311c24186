"""Hidden-test outcomes from pytest's JUnit XML, vetoed by the guard plugin's record; never from console text."""
from __future__ import annotations

import json
import os
import stat
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from evaluator.results.change_records import TestGroup, TestOutcome, TestState

MAX_XML_BYTES = 20_000_000
_RANK = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}


def read_capped(path: Path, cap: int) -> bytes | None:
    """The bytes of a file the sandbox wrote, or None when it is missing, a link or larger than `cap`.

    The one place grading reads workspace-side files on the host: the last component is opened
    with O_NOFOLLOW, only regular files count, and at most `cap` bytes are read (kept small so it
    can be swapped for the shared safe reader)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    with os.fdopen(fd, "rb") as f:
        data = f.read(cap + 1)
    return None if len(data) > cap else data


def junit_address(nodeid: str) -> tuple[str, str]:
    """(classname, name) pytest's junitxml writes for a node id: `a/b.py::C::t[x]` -> (`a.b.C`, `t[x]`)."""
    parts = nodeid.split("::")
    path = parts[0][:-3] if parts[0].endswith(".py") else parts[0]
    names = [path.replace("/", "."), *parts[1:-1]]
    return ".".join(names), parts[-1] if len(parts) > 1 else ""


def parse_junit(data: bytes) -> dict[tuple[str, str], TestState]:
    """Outcome per (classname, name); a test reported twice (an error in teardown) keeps its worst."""
    root = ET.fromstring(data)  # expat here refuses entity expansion bombs; no external entities
    out: dict[tuple[str, str], TestState] = {}
    for case in root.iter("testcase"):
        key = (case.get("classname", ""), case.get("name", ""))
        tags = {child.tag for child in case}
        state: TestState = ("error" if "error" in tags else "failed" if "failure" in tags
                            else "skipped" if "skipped" in tags else "passed")
        if key not in out or _RANK[state] > _RANK[out[key]]:
            out[key] = state
    return out


def read_guard(data: bytes | None) -> tuple[dict[str, str] | None, str | None]:
    """(outcomes by node id, why not trusted). None outcomes: the guard's record is missing or says tampered."""
    if data is None:
        return None, "pytest did not finish (no guard record): it was killed, timed out or exited early"
    try:
        guard: Any = json.loads(data)
        changed, outcomes = guard["changed"], guard["outcomes"]
        assert isinstance(changed, list) and isinstance(outcomes, dict) and guard.get("finished") is True
    except (ValueError, KeyError, TypeError, AssertionError):
        return None, "the guard record is not what the guard plugin writes"
    if changed:
        return None, "code under test replaced pytest/unittest internals: " + ", ".join(map(str, changed[:8]))
    return {str(k): str(v) for k, v in outcomes.items()}, None


def outcomes(groups: dict[str, TestGroup], xml: bytes | None, guard: bytes | None) -> tuple[list[TestOutcome], str | None]:
    """Every listed test's outcome. Without trusted JUnit XML and guard record every test counts as missing."""
    seen, why = read_guard(guard)
    table: dict[tuple[str, str], TestState] = {}
    if xml is None:
        why = why or "pytest wrote no JUnit XML (or it was too large)"
    else:
        try:
            table = parse_junit(xml)
        except ET.ParseError as exc:
            why = why or f"pytest's JUnit XML does not parse: {exc}"
    result = []
    for nodeid, group in groups.items():
        state: TestState = "missing" if why else table.get(junit_address(nodeid), "missing")
        if state == "passed" and (seen or {}).get(nodeid) != "passed":
            state = "failed"  # the hooks saw something else than the XML says
        result.append(TestOutcome(nodeid=nodeid, group=group, outcome=state))
    return result, why
