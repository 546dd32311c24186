"""Run a repository's own tests on a checkout in a sandbox, for bug-injection generation.

The same way grading runs hidden tests (scoring/hidden_tests.py): `python3 -I`, plugin autoloading
off, the guard plugin, `--junitxml`; outcomes come from the guard's per-node-id record (it names tests
by node id, which the JUnit XML does not) and failure messages from the XML, never from console text.
"""
from __future__ import annotations

import asyncio
import shutil
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from evaluator.sandbox import SandboxBackend, SandboxPaths
from evaluator.sandbox.base import EnvMount
from evaluator.scoring import junit
from evaluator.scoring.hidden_tests import GUARD_SOURCE, ROOTDIR_ARG, RUNNER_SOURCE, test_site
from evaluator.tasks.specs import Limits

MESSAGE_CHARS = 400


@dataclass
class TestRun:
    outcomes: dict[str, str] = field(default_factory=dict)  # node id -> passed/failed/error/skipped
    messages: dict[tuple[str, str], str] = field(default_factory=dict)  # JUnit (classname, name) -> failure message
    seconds: float = 0.0
    note: str | None = None

    def passed(self) -> set[str]:
        return {n for n, s in self.outcomes.items() if s == "passed"}

    def message(self, nodeid: str) -> str:
        return self.messages.get(junit.junit_address(nodeid), "")


def _messages(xml: bytes | None) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    if not xml:
        return out
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return out
    for case in root.iter("testcase"):
        for child in case:
            if child.tag in ("failure", "error"):
                lines = (child.text or "").strip().splitlines()
                text = child.get("message") or (lines[-1] if lines else "")
                out.setdefault((case.get("classname", ""), case.get("name", "")), text[:MESSAGE_CHARS])
    return out


class TestRunner:
    def __init__(self, backend: SandboxBackend, mirror: Path, timeout_s: float, limits: Limits | None = None,
                 env: EnvMount | None = None) -> None:
        self.backend, self.mirror, self.timeout_s = backend, mirror, timeout_s
        self.limits = limits or Limits()
        self.env = env  # the repository's environment: the tests run with its python, as when graded

    def run(self, tree: Path, files: list[str], work: Path) -> TestRun:
        return asyncio.run(self._run(tree, files, work))

    async def _run(self, tree: Path, files: list[str], work: Path) -> TestRun:
        if work.exists():
            shutil.rmtree(work)
        dirs = {n: work / n for n in ("tmp", "home", "in")}
        for d in dirs.values():
            d.mkdir(parents=True)
        (dirs["in"] / "agentgym_guard.py").write_bytes(GUARD_SOURCE.read_bytes())
        site = None if self.env is not None and self.env.has_pytest else str(test_site())
        (dirs["in"] / "run_pytest.py").write_text(RUNNER_SOURCE.format(site=site), encoding="utf-8")
        paths = SandboxPaths(work_root=tree, tmp_dir=dirs["tmp"], home_dir=dirs["home"],
                             ro_binds=[self.mirror, dirs["in"], test_site()], env=self.env)
        limits = self.limits.model_copy(update={"cpu_seconds": max(self.limits.cpu_seconds, int(self.timeout_s) + 1)})
        box = self.backend.open(paths, limits=limits, env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
        inp, tmp = str(dirs["in"]), box.tmp
        cmd = (f"AGENTGYM_GUARD_OUT={tmp}/guard.json python3 -I -B {inp}/run_pytest.py -p agentgym_guard "
               f"-p no:cacheprovider {ROOTDIR_ARG} --junitxml={tmp}/junit.xml -o junit_logging=no -q -- "
               + " ".join(files))
        start = time.monotonic()
        try:
            done = await box.exec(cmd, cwd=box.root, timeout_s=self.timeout_s)
            xml = junit.read_capped(dirs["tmp"] / "junit.xml", junit.MAX_XML_BYTES)
            guard = junit.read_capped(dirs["tmp"] / "guard.json", junit.MAX_XML_BYTES)
        finally:
            await box.close()
        run = TestRun(seconds=time.monotonic() - start, messages=_messages(xml))
        seen, why = junit.read_guard(guard)
        if done.timed_out:
            run.note = f"the tests took longer than {self.timeout_s:.0f} s"
        elif seen is None:
            run.note = why
        else:
            run.outcomes = seen
        return run
