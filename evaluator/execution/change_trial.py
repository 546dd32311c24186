"""One change task (L2) trial: a writable working copy -> the agent loop -> hidden tests in fresh sandboxes.

The working copy is an overlay where the backend can mount one (sandbox/overlay.py: bwrap, with
overlayfs as root, fuse-overlayfs otherwise): read-only lower layers built once per commit (and
per injected bug) in the cache (tasks/overlay_layers.py), and per task only an empty upper and
work dir, which the backend mounts at the working copy's host path while a sandbox is open.
Elsewhere it is a full copy (`git clone --shared`, objects borrowed from the cache). The result
records which was used.
"""
from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any, Callable, Protocol

from jinja2 import Template

from evaluator.agent.loop import AgentLoop, LoopBudget, LoopOutcome, TaskClock
from evaluator.agent.toolbox import Toolbox
from evaluator.config.paths import PROMPTS_DIR
from evaluator.models import TaskContext
from evaluator.results.change_records import ChangeResult, Workspace
from evaluator.results.records import FailureReason, Metrics, TaskResult
from evaluator.readback.host_reads import ArtifactCopy
from evaluator.results.rundir import TranscriptStream
from evaluator.sandbox import SandboxPaths
from evaluator.sandbox import fuse_overlay
from evaluator.sandbox.overlay import remove_tree, route
from evaluator.scoring import score as scoring
from evaluator.scoring.hidden_tests import Grader
from evaluator.tasks.clone_cache import checkout
from evaluator.tasks.env_cache import command_env
from evaluator.tasks.injection import reinit_git, write_files
from evaluator.tasks.overlay_layers import task_overlay
from evaluator.tasks.plan import Job
from evaluator.tasks.specs import Limits



class Runner(Protocol):
    """What a change trial uses of execution.trial.Runner (named here, not imported: no cycle)."""

    cfg: Any
    model: Any
    backend: Any
    run: Any
    cache: Any
    plan_cache: Path
    weights: scoring.Weights

    def base_fields(self, job: Job) -> dict[str, Any]: ...

TRANSCRIPT_PATCH_CHARS = 200_000


def change_prompts(version: str) -> tuple[str, Template]:
    system = (PROMPTS_DIR / f"system_change_{version}.txt").read_text(encoding="utf-8")
    user = (PROMPTS_DIR / f"user_change_{version}.j2").read_text(encoding="utf-8")
    return system, Template(user, keep_trailing_newline=True)


def prepare_change(job: Job, work: Path, layer_cache: Path | None = None
                   ) -> tuple[SandboxPaths, Workspace, dict[str, str]]:
    """A private writable working copy at the pinned commit; pytest importable inside the sandbox (the
    repository environment's, or the harness's when the repo has none). With `layer_cache` (the
    backend mounts overlays) an overlay on the cached layers, else a copy."""
    remove_tree(work)  # a half-done attempt from a killed run
    work.mkdir(parents=True)
    binds, env = command_env(job.env, job.task.env)
    # An injected bug: the working copy gets a fresh .git of its own, so the mirror (which holds
    # the original source) is not mounted at all.
    mirror = [] if job.injected else [job.mirror]
    overlay = None
    if layer_cache is not None:
        overlay = task_overlay(layer_cache, job.task.repo, job.mirror, job.commit, job.injected, work)
    paths = SandboxPaths(work_root=work / "repo", tmp_dir=work / "tmp", home_dir=work / "home",
                         ro_binds=[*mirror, *binds], env=job.env, overlay=overlay)
    if overlay is None:
        checkout(job.mirror, job.commit, paths.work_root)
        if job.injected:
            write_files(paths.work_root, job.injected)
            reinit_git(paths.work_root, job.mirror, sorted(job.injected))
    for d in (paths.tmp_dir, paths.home_dir):
        d.mkdir(parents=True, exist_ok=True)
    return paths, "overlay" if overlay else "copy", env


def layer_cache(runner: Runner) -> Path | None:
    """The cache the overlay's layers live in, when the backend mounts overlays (a user backend
    without `overlay_workspace` gets a copy)."""
    wants = getattr(runner.backend, "overlay_workspace", None)
    return runner.plan_cache if wants is not None and wants() else None


def change_failure(success: bool, stop: str, change: ChangeResult) -> FailureReason | None:
    if success:
        return None
    if stop in scoring.INFRA_STOPS or stop in scoring.LIMIT_STOPS:
        return stop  # type: ignore[return-value]
    return "no_change" if change.patch_bytes == 0 else "tests_failed"


def change_partial(change: ChangeResult, w: scoring.Weights) -> float:
    f2p, p2p = change.fraction_passed
    total = w.change_fail_to_pass_weight + w.change_pass_to_pass_weight
    return (w.change_fail_to_pass_weight * f2p + w.change_pass_to_pass_weight * p2p) / total if total else 0.0


async def run_change(runner: Runner, job: Job, work: Path, stream: TranscriptStream) -> TaskResult:
    task = job.task
    assert task.change is not None
    paths, workspace, env = await asyncio.to_thread(prepare_change, job, work, layer_cache(runner))
    try:
        return await _trial(runner, job, work, stream, paths, workspace, env)
    finally:
        if paths.overlay is not None:  # overlayfs's own dirs in it may have mode 000
            await asyncio.to_thread(remove_tree, paths.overlay.work)


async def _trial(runner: Runner, job: Job, work: Path, stream: TranscriptStream, paths: SandboxPaths,
                 workspace: Workspace, env: dict[str, str]) -> TaskResult:
    task = job.task
    system, user = change_prompts(runner.cfg.prompt_version)
    ctx = TaskContext(task=task, repo_root=job.pristine, commit=job.commit, cache=runner.cache)
    limits = task.limits or Limits()
    timeout = float(min(task.timeout_seconds, runner.cfg.max_task_seconds))
    budget = LoopBudget(max_commands=task.max_commands, max_turns=task.turn_limit, timeout_s=timeout,
                        token_budget=task.token_budget, max_consecutive_format_errors=runner.cfg.max_format_errors)
    sandbox = await asyncio.to_thread(runner.backend.open, paths, limits=limits, env=env)
    sandbox.warm_up()
    try:
        clock = TaskClock(budget.timeout_s)
        tools = Toolbox(task, sandbox, paths, limits=limits, mode=runner.cfg.policy, remaining_s=clock.remaining)
        loop = AgentLoop(runner.model, tools, ctx, budget, stream, clock)
        outcome = await loop.run(system, user.render(task=task, commit=job.commit))
    finally:
        await sandbox.close()
    base = paths.overlay.lowers[-1] if paths.overlay is not None else None  # the pinned commit's checkout
    grader = Grader(runner.backend, job.mirror, job.commit, task.change, limits, job.injected, env=job.env,
                    base_layer=base)
    change, patch = await grader.grade(paths.work_root, work / "grade", workspace, overlay=paths.overlay)
    stream({"role": "harness", "name": "patch", "content": _patch_text(patch)})
    result = _result(runner, job, outcome, tools, change)
    # With an overlay the merged view is gone once its sandboxes closed: the model's own files
    # (its eval_artifacts/ included) are in the upper dir, read back through host_reads as always.
    tree = paths.overlay.upper if paths.overlay is not None else paths.work_root
    skip = fuse_overlay.own_marker if paths.overlay is not None and route() == "fuse" else None
    copied = await asyncio.to_thread(_save, runner, job, tree, patch, skip)
    return result.model_copy(update={"artifacts_left_out": copied.left_out, "artifacts_left_out_unlisted": copied.unlisted})


def _patch_text(patch: bytes) -> str:
    text = patch.decode("utf-8", "replace")
    return text if len(text) <= TRANSCRIPT_PATCH_CHARS else text[:TRANSCRIPT_PATCH_CHARS] + "\n[patch cut; see patch.diff]\n"


def _result(runner: Runner, job: Job, outcome: LoopOutcome, tools: Toolbox, change: ChangeResult) -> TaskResult:
    events = tools.events
    commands = tools.commands
    metrics = Metrics(
        commands_used=commands, valid_rate=round(tools.commands_ok / commands, 4) if commands else 1.0,
        tool_calls=outcome.tool_calls, turns=outcome.turns, format_errors=outcome.format_errors,
        prompt_tokens=outcome.prompt_tokens, completion_tokens=outcome.completion_tokens,
        model_time_s=round(outcome.model_time_s, 3), safety_violations=len(events),
        partial=round(change_partial(change, runner.weights), 4))
    success = change.resolved and outcome.stop_reason not in scoring.INFRA_STOPS
    base: dict[str, Any] = runner.base_fields(job)
    return TaskResult(**base, kind="change", change=change, success=success,
                      score=scoring.score(metrics, success, events, runner.weights),
                      failure_reason=change_failure(success, outcome.stop_reason, change),
                      stop_reason=outcome.stop_reason, metrics=metrics, output_checks=[], safety_events=events,
                      error=outcome.error, response_models=outcome.response_models,
                      system_fingerprints=outcome.system_fingerprints)


def _save(runner: Runner, job: Job, tree: Path, patch: bytes, skip: Callable[[str], bool] | None) -> ArtifactCopy:
    rel = os.path.join(job.task.initial_working_dir, "eval_artifacts")
    copied = runner.run.copy_artifacts(tree, rel, job.task.repo, job.task.id, job.epoch, runner.cfg.epochs,
                                       job.task.read_limits, skip)
    runner.run.write_patch(job.task.repo, job.task.id, job.epoch, runner.cfg.epochs, patch)
    return copied
