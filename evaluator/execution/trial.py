"""Run one job (a task at an epoch) from working copy to scored result.

Any exception inside a job becomes a `harness_error` result with its traceback; the run
goes on. Cancellation (SIGINT/SIGTERM) propagates and leaves no result, so resume redoes it.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import time
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from jinja2 import Template

from evaluator.scoring import oracle_registry as oracles, score as scoring
from evaluator.agent.loop import AgentLoop, LoopBudget, TaskClock
from evaluator.execution.modes import mode_for
from evaluator.config.settings import RunConfig
from evaluator.readback import host_reads
from evaluator.models import Model, TaskContext
from evaluator.tasks.plan import Job, prompt_files
from evaluator.results.records import Metrics, TaskResult, TranscriptRef
from evaluator.sandbox import SandboxBackend, SandboxPaths, SandboxUnavailable
from evaluator.tasks.specs import Limits
from evaluator.agent.image_tool import ImageViewer
from evaluator.agent.toolbox import Toolbox
from evaluator.models.images import ImageStore
from evaluator.tasks.clone_cache import RepoCache, checkout
from evaluator.tasks.env_cache import command_env
from evaluator.results.rundir import RunDir, TranscriptStream


@dataclass(frozen=True)
class TrialContext:
    """What every trial of a run shares, built once by the session."""

    cfg: RunConfig
    model: Model
    backend: SandboxBackend
    run: RunDir
    facts: oracles.FactCache
    cache_dir: Path
    task_set_hash: str = ""


class Runner:
    def __init__(self, ctx: TrialContext) -> None:
        cfg, run = ctx.cfg, ctx.run
        self.cfg, self.model, self.backend, self.run, self.cache = cfg, ctx.model, ctx.backend, run, ctx.facts
        self.plan_cache, self.task_set_hash = ctx.cache_dir, ctx.task_set_hash
        system_path, user_path = prompt_files(cfg.prompt_version)
        self.system = system_path.read_text(encoding="utf-8")
        self.user = Template(user_path.read_text(encoding="utf-8"), keep_trailing_newline=True)
        self.weights = scoring.load_weights(cfg.weights)
        self.mode = mode_for(cfg)  # open or closed book: the one place the flag is read
        self.images = ImageStore(run.path / "artifacts" / "images", run.path)

    def user_message(self, job: Job) -> str:
        keys = [o.key for o in job.task.outputs if o.type != "oracle_bool"]
        return self.user.render(task=job.task, commit=job.commit, keys=keys, closed_book=self.mode.closed)

    async def run_job(self, job: Job) -> TaskResult:
        t0 = time.monotonic()
        attempt = uuid.uuid4().hex[:12]
        stream = TranscriptStream(self.run, job.task.repo, job.task.id, job.epoch, attempt)
        work = self.run.path / ".work" / job.task.repo / f"{job.task.id}-e{job.epoch}"
        try:
            result = await self._run(job, work, stream)
        except asyncio.CancelledError:
            raise
        except SandboxUnavailable as exc:  # the machine's fault, not the model's nor a harness bug
            result = self._infra_error(job, "sandbox_error", str(exc))
        except Exception as exc:  # noqa: BLE001 - isolated: one task's bug must not end the run
            result = self._harness_error(job, exc)
        finally:
            await asyncio.to_thread(shutil.rmtree, work, True)
        result.metrics.wall_time_s = round(time.monotonic() - t0, 3)
        result.transcript = TranscriptRef(path=f"transcripts/{job.task.repo}.jsonl", attempt=attempt,
                                          messages=stream.count, sha256=stream.hash.hexdigest())
        return result

    def base_fields(self, job: Job) -> dict[str, Any]:
        return self._base(job)

    def _base(self, job: Job) -> dict[str, Any]:
        return dict(task_id=job.task.id, repo_id=job.task.repo, model=self.cfg.model, epoch=job.epoch,
                    difficulty=job.task.difficulty, tags=list(job.task.tags), task_hash=job.task_hash, repo_commit=job.commit,
                    task_set_hash=self.task_set_hash,
                    closed_book=self.mode.closed, api=self.cfg.api, tool_format=self.cfg.tool_format)

    def _harness_error(self, job: Job, exc: BaseException) -> TaskResult:
        return self._infra_error(job, "harness_error", "".join(traceback.format_exception(exc)))

    def _infra_error(self, job: Job, reason: Literal["harness_error", "sandbox_error"], error: str) -> TaskResult:
        return TaskResult(**self._base(job), success=False, score=0.0, failure_reason=reason,
                          stop_reason=reason, metrics=Metrics(), output_checks=[], error=error)

    async def _run(self, job: Job, work: Path, stream: TranscriptStream) -> TaskResult:
        task = job.task
        if task.kind == "change":  # L2: hidden tests grade the model's change
            from evaluator.execution.change_trial import run_change

            return await run_change(self, job, work, stream)
        paths, answer_dir = await asyncio.to_thread(self._prepare, job, work)
        expected = await asyncio.to_thread(self._expected, job)
        ctx = TaskContext(task=task, repo_root=job.pristine, commit=job.commit, cache=self.cache,
                          closed_book=self.mode.closed, api=self.cfg.api, tool_format=self.cfg.tool_format)
        limits = task.limits or Limits()
        timeout = float(min(task.timeout_seconds, self.cfg.max_task_seconds))
        budget = LoopBudget(max_commands=task.max_commands, max_turns=self.mode.max_turns(task),
                            timeout_s=timeout, token_budget=task.token_budget,
                            max_consecutive_format_errors=self.cfg.max_format_errors)
        if self.cfg.agent != "builtin":
            outcome, tools = await self._external(job, paths, stream, budget)
            root = answer_dir if paths.readonly_root else paths.work_root
            result = await asyncio.to_thread(self._score, job, root, answer_dir, expected, outcome, tools)
            return result.model_copy(update=self._agent_fields())
        sandbox = tools = None
        if self.mode.uses_sandbox:
            sandbox = await asyncio.to_thread(self.backend.open, paths, limits=limits,
                                              env=command_env(job.env, task.env)[1])
            sandbox.warm_up()
        try:
            clock = TaskClock(budget.timeout_s)  # one clock for the loop and its tools
            if sandbox is not None:
                tools = Toolbox(task, sandbox, paths, limits=limits, mode=self.cfg.policy, remaining_s=clock.remaining,
                                extra_tools=self.cfg.extra_tools)
                tools.images = ImageViewer(vision=self.cfg.vision, store=self.images)
            loop = AgentLoop(self.model, tools, ctx, budget, stream, clock)
            outcome = await loop.run(self.system, self.user_message(job))
        finally:
            if sandbox is not None:
                await sandbox.close()
        await asyncio.to_thread(self.mode.finish, answer_dir, outcome.final_text)
        # The harness made `root` (the model cannot replace it); reads start there.
        root = answer_dir if paths.readonly_root else paths.work_root
        return await asyncio.to_thread(self._score, job, root, answer_dir, expected, outcome, tools)

    async def _external(self, job: Job, paths: SandboxPaths, stream: TranscriptStream, budget: LoopBudget) -> Any:
        """The task run by an external coding agent (evaluator/coding_agents) instead of our loop."""
        from evaluator.coding_agents.proxy import ProxyBudget
        from evaluator.coding_agents.trial import agent_run, agent_prompt

        run = await asyncio.to_thread(agent_run, self.cfg)
        limits = ProxyBudget(max_turns=budget.max_turns, timeout_s=budget.timeout_s, token_budget=budget.token_budget,
                             max_commands=budget.max_commands)
        keys = [o.key for o in job.task.outputs if o.type != "oracle_bool"]
        prompt = agent_prompt(job.task, job.commit, keys, self.backend.name)
        return await run.run(self.backend, job.task, paths, prompt, limits, stream)

    def _agent_fields(self) -> dict[str, Any]:
        from evaluator.coding_agents.trial import agent_identity

        return agent_identity(self.cfg.agent)

    def _prepare(self, job: Job, work: Path) -> tuple[SandboxPaths, Path]:
        """The task's sandbox paths and the directory its eval_artifacts/ lives in.

        When the task may write only eval_artifacts/ and /tmp/ and the backend can mount
        read-only, every task shares one checkout and gets just its own eval_artifacts/:
        no per-task copy at all. Otherwise it gets a full working copy."""
        if work.exists():
            shutil.rmtree(work)  # a half-done attempt from a killed run
        work.mkdir(parents=True)
        iwd = job.task.initial_working_dir
        artifacts_rel = os.path.normpath(os.path.join(iwd, "eval_artifacts"))
        allowed = {p.strip("/") for p in job.task.command_policy.write_paths_allowed}
        binds, _ = command_env(job.env, job.task.env)  # pytest importable: the repo env's, or the harness's
        common = dict(tmp_dir=work / "tmp", home_dir=work / "home", ro_binds=[job.mirror, *binds], env=job.env)
        if self.backend.readonly_root and allowed <= {"eval_artifacts", "tmp"}:
            answer_dir = work / "answer"
            repo = RepoCache(self.plan_cache).shared_base(job.task.repo, job.mirror, job.commit, artifacts_rel)
            paths = SandboxPaths(work_root=repo, readonly_root=True,
                                 writable={artifacts_rel: answer_dir / "eval_artifacts"}, **common)
        else:
            paths = SandboxPaths(work_root=work / "repo", **common)
            checkout(job.mirror, job.commit, paths.work_root)
            answer_dir = paths.work_root / iwd
        for d in (paths.tmp_dir, paths.home_dir, answer_dir / "eval_artifacts"):
            d.mkdir(parents=True, exist_ok=True)
        return paths, answer_dir

    def _expected(self, job: Job) -> dict[str, Any]:
        return {o.key: oracles.fact(o.oracle.fn, o.oracle.args, repo_root=job.pristine, commit=job.commit, cache=self.cache)
                for o in job.task.outputs if o.type != "oracle_bool"}

    def _score(self, job: Job, root: Path, answer_dir: Path, expected: dict[str, Any], outcome: Any,
               tools: Toolbox | None) -> TaskResult:
        caps = job.task.read_limits
        rel = os.path.relpath(answer_dir, root)
        answer = scoring.read_answer(root, os.path.join(rel, scoring.ANSWER_REL), max_bytes=caps.answer_max_bytes)
        copied = self.run.copy_artifacts(root, os.path.join(rel, "eval_artifacts"), job.task.repo, job.task.id,
                                         job.epoch, self.cfg.epochs, caps)
        checks = scoring.check_outputs(job.task, expected, answer, repo_root=job.pristine, answer_dir=answer_dir)
        events = [*(tools.events if tools else [])]
        escape = host_reads.read_back_event(answer.escape, copied)
        if escape:
            events.append(escape)
        commands = tools.commands if tools else 0
        # The score is computed from the exact rates; only the stored metrics are rounded (docs/05).
        exact = Metrics(
            commands_used=commands, valid_rate=tools.commands_ok / commands if tools and commands else 1.0,
            tool_calls=outcome.tool_calls, turns=outcome.turns, format_errors=outcome.format_errors,
            prompt_tokens=outcome.prompt_tokens, completion_tokens=outcome.completion_tokens,
            reasoning_tokens=outcome.reasoning_tokens,
            model_time_s=round(outcome.model_time_s, 3), safety_violations=len(events),
            partial=scoring.partial_credit(checks))
        metrics = exact.model_copy(update={"valid_rate": round(exact.valid_rate, 4), "partial": round(exact.partial, 4)})
        success = bool(checks) and all(c.ok for c in checks) and outcome.stop_reason not in scoring.INFRA_STOPS
        return TaskResult(**self._base(job), success=success, score=scoring.score(exact, success, events, self.weights),
                          failure_reason=scoring.failure_reason(success, outcome.stop_reason, checks, answer),
                          stop_reason=outcome.stop_reason, metrics=metrics, output_checks=checks, safety_events=events,
                          error=outcome.error, response_models=outcome.response_models,
                          system_fingerprints=outcome.system_fingerprints,
                          artifacts_left_out=copied.left_out, artifacts_left_out_unlisted=copied.unlisted)
