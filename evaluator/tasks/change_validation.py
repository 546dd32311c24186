"""Validation of change tasks (L2), used by `python -m evaluator.validate`.

A change task is valid when, graded exactly as a run grades it: the gold patch resolves it three
times in a row with the same outcome for every test (a test that flips is flaky and reported); the
empty patch does not resolve it, every fail_to_pass test fails and every pass_to_pass test passes
without a change; and none of the known gaming attempts (tasks/gaming.py) resolves it.
"""
from __future__ import annotations

import asyncio
import subprocess
import tempfile
from pathlib import Path

from evaluator.results.change_records import ChangeResult
from evaluator.sandbox import SandboxBackend
from evaluator.sandbox.base import Overlay
from evaluator.sandbox.overlay import mount, remove_tree, unmount
from evaluator.scoring.hidden_tests import Grader
from evaluator.tasks.clone_cache import checkout
from evaluator.tasks.gaming import Attempt, attempts
from evaluator.tasks.injection import write_files
from evaluator.tasks.overlay_layers import layers, task_overlay
from evaluator.tasks.plan import Job
from evaluator.tasks.specs import Limits

GOLD_RUNS = 3


class ChangeValidator:
    def __init__(self, backend: SandboxBackend, layer_cache: Path | None = None) -> None:
        """`layer_cache`: the cache the overlay layers live in when the backend mounts overlays; each
        grading's working copy and test tree are then overlays, as in a run (else copies)."""
        self.backend, self.layer_cache = backend, layer_cache

    def check(self, job: Job) -> tuple[list[str], int]:
        """(problems, how many gradings ran)."""
        return asyncio.run(self._check(job))

    async def _check(self, job: Job) -> tuple[list[str], int]:
        change = job.task.change
        assert change is not None
        problems: list[str] = []
        base = layers(self.layer_cache, job.task.repo, job.mirror, job.commit, {})[0] if self.layer_cache else None
        grader = Grader(self.backend, job.mirror, job.commit, change, job.task.limits or Limits(), job.injected,
                        env=job.env, base_layer=base)
        with tempfile.TemporaryDirectory(prefix="agentgym-validate-") as d:
            root = Path(d)
            runs = 0

            async def grade(name: str, edit: Attempt | None) -> ChangeResult:
                nonlocal runs
                runs += 1
                top = root / "model"
                remove_tree(top)
                top.mkdir()
                overlay = self._working_copy(job, top, edit)
                try:
                    return (await grader.grade(top / "repo", root / "grade", "overlay" if overlay else "copy",
                                               overlay=overlay))[0]
                finally:
                    remove_tree(top)

            if change.gold_patch is None:
                problems.append("no gold patch: cannot prove the task can be resolved")
            else:
                gold = [await grade("gold", _apply_gold(change.gold_patch.diff or "")) for _ in range(GOLD_RUNS)]
                problems += _gold_problems(gold)
            empty = await grade("empty", None)
            problems += _empty_problems(empty)
            for name, edit in attempts(change).items():
                if (await grade(name, edit)).resolved:
                    problems.append(f"gaming attempt resolves the task: {name}")
        return problems, runs


    def _working_copy(self, job: Job, top: Path, edit: Attempt | None) -> Overlay | None:
        """The model's working copy at `top`/repo with the injected bug in and `edit` made: an overlay
        (mounted on the host only while the edit is made) where a run would get one, else a copy."""
        overlay = task_overlay(self.layer_cache, job.task.repo, job.mirror, job.commit, job.injected, top) \
            if self.layer_cache else None
        tree = top / "repo"
        if overlay is None:
            checkout(job.mirror, job.commit, tree)
            write_files(tree, job.injected)  # an injected bug goes in before any edit, as in a run
            if edit is not None:
                edit(tree)
            return None
        if edit is not None:
            mount(overlay, tree)
            try:
                edit(tree)
            finally:
                unmount(tree)
        return overlay


def _apply_gold(diff: str) -> Attempt:
    def edit(tree: Path) -> None:
        done = subprocess.run(["git", "apply", "--whitespace=nowarn", "-"], cwd=tree, input=diff.encode(),
                              capture_output=True)
        if done.returncode != 0:
            raise ValueError(f"the gold patch does not apply: {done.stderr.decode(errors='replace').strip()[:300]}")
    return edit


def _gold_problems(runs: list[ChangeResult]) -> list[str]:
    out = []
    for i, r in enumerate(runs, 1):
        if not r.resolved:
            bad = [f"{t.nodeid} ({t.outcome})" for t in r.tests if t.outcome != "passed"]
            out.append(f"gold patch run {i} does not resolve: {r.note or ', '.join(bad[:5])}")
    nodeids = sorted({t.nodeid for r in runs for t in r.tests})
    flaky = [n for n in nodeids if len({_state(r, n) for r in runs}) > 1]
    if flaky:
        out.append("flaky under the gold patch (exclude them): " + ", ".join(flaky[:10]))
    return out


def _state(result: ChangeResult, nodeid: str) -> str | None:
    return next((t.outcome for t in result.tests if t.nodeid == nodeid), None)


def _empty_problems(r: ChangeResult) -> list[str]:
    out = []
    if r.resolved:
        out.append("the empty patch (builtin/nop) resolves the task")
    passing_f2p = [t.nodeid for t in r.tests if t.group == "fail_to_pass" and t.outcome == "passed"]
    failing_p2p = [f"{t.nodeid} ({t.outcome})" for t in r.tests if t.group == "pass_to_pass" and t.outcome != "passed"]
    if passing_f2p:
        out.append("fail_to_pass tests already pass without a change: " + ", ".join(passing_f2p[:10]))
    if failing_p2p:
        out.append("pass_to_pass tests fail without a change: " + ", ".join(failing_p2p[:10]))
    return out
