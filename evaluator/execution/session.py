"""One run from plan to REPORT.md: concurrency, manifest, resume, progress and cancellation."""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import importlib.metadata
import platform
import re
import shlex
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from evaluator.scoring import oracle_registry as oracles
from evaluator.reporting import report
from evaluator.reporting.chart_worker import ChartWorker
from evaluator.config.paths import CHECKOUT as PROJECT_ROOT
from evaluator.config.settings import RunConfig
from evaluator.models import Model
from evaluator.tasks.plan import Plan
from evaluator.results.records import INFRA_FAILURES, RepoEnvRecord, RunManifest, RunMeta, TaskResult
from evaluator.execution.trial import Runner, TrialContext
from evaluator.sandbox import SandboxBackend
from evaluator.results.rundir import RunDir

console = Console(stderr=True)


def new_run_dir(runs_root: Path, model: str) -> Path:
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    base = runs_root / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', model)}-{stamp}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in ("openai", "pydantic", "gitpython", "jinja2", "rich"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            pass
    try:
        out["agentgym_commit"] = subprocess.run(["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"],
                                                capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return out


def run_meta(cfg: RunConfig, plan: Plan, run: RunDir, backend: SandboxBackend,
             envs: dict[str, RepoEnvRecord] | None = None) -> RunMeta:
    return RunMeta(repo_envs=envs or {},
        run_id=run.path.name, model=cfg.model,
        started_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        config=cfg.redacted(), task_set=cfg.selection.task_set, epochs=cfg.epochs,
        sandbox=backend.name, sandbox_isolated=backend.isolated, sandbox_settings=backend.settings(),
        ceilings=backend.ceilings(), policy=cfg.policy,
        closed_book=cfg.closed_book, toolset=backend.toolset(), versions=_versions(),
        repos={k: v.model_dump() for k, v in plan.repos.items()}, prompt_version=cfg.prompt_version,
        prompt_hash=plan.prompt_hash, task_set_hash=plan.task_set_hash, task_hashes=plan.task_hashes,
        shard=list(cfg.shard) if cfg.shard else None, jobs=len(plan.jobs))


class Session:
    def __init__(self, cfg: RunConfig, plan: Plan, run: RunDir, model: Model, backend: SandboxBackend,
                 *, quiet: bool, resume_command: str) -> None:
        self.cfg, self.plan, self.run, self.model, self.backend = cfg, plan, run, model, backend
        self.quiet, self.resume_command = quiet, resume_command
        self.cache = oracles.FactCache(plan.cache_dir / "oracles")
        self.manifest = run.manifest() or RunManifest(run_id=run.path.name, total=len(plan.jobs))
        self.lock = asyncio.Lock()
        self.results: dict[str, TaskResult] = {}
        self.chart: ChartWorker | None = None

    async def execute(self, meta: RunMeta, redo: set[str] = frozenset()) -> int:
        """Run every job not yet done; returns the exit code."""
        done = set(self.manifest.done) - set(redo)
        self.manifest = self.manifest.model_copy(update={"done": sorted(done), "total": len(self.plan.jobs),
                                                         "complete": False, "partial_reason": None})
        # The report's chart is drawn by a child that imports matplotlib while the tasks run.
        self.chart = ChartWorker.start()
        # Half-made working copies of a killed earlier attempt: nobody else writes here (run.lock).
        await asyncio.to_thread(shutil.rmtree, self.run.path / ".work", True)
        if not (self.run.path / "run.json").exists():
            self.run.write_meta(meta)
        self.run.write_manifest(self.manifest)
        todo = [j for j in self.plan.jobs if j.key not in done]
        runner = Runner(TrialContext(self.cfg, self.model, self.backend, self.run, self.cache, self.plan.cache_dir,
                                     self.plan.task_set_hash))
        slots = asyncio.Semaphore(self.cfg.concurrency)
        progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("pass {task.fields[rate]}"), TimeRemainingColumn(), console=console,
                            disable=self.quiet, transient=False)
        bar = progress.add_task(self.cfg.model, total=len(self.plan.jobs), completed=len(done), rate="-")
        passed = [0, 0]

        async def one(job: Any) -> None:
            async with slots:
                result = await runner.run_job(job)
            await asyncio.to_thread(self.run.write_trial, result, self.cfg.epochs)
            async with self.lock:
                self.manifest.done.append(job.key)
                await asyncio.to_thread(self.run.write_manifest, self.manifest)
            passed[0] += result.success
            passed[1] += 1
            progress.update(bar, advance=1, rate=f"{100 * passed[0] / passed[1]:.0f}%")

        try:
            with progress:
                await asyncio.gather(*(one(j) for j in todo))
        except asyncio.CancelledError:
            await asyncio.shield(asyncio.to_thread(self.finish, meta, "The run was interrupted."))
            raise
        finally:
            self.run.close()
            _remove_empty(self.run.path / ".work")
        return await asyncio.to_thread(self.finish, meta, None)

    def finish(self, meta: RunMeta, partial: str | None) -> int:
        """Write summaries, index, REPORT.md and the manifest from the trials on disk."""
        keep = {j.key for j in self.plan.jobs}
        trials = [t for t in self.run.read_trials() if f"{t.repo_id}/{t.task_id}#{t.epoch}" in keep]
        chart, self.chart = self.chart, None
        try:
            report.finalize(self.run, meta, trials, partial=partial, total=len(self.plan.jobs),
                            resume_command=self.resume_command, chart=chart)
        finally:
            if chart is not None:
                chart.close()
        complete = partial is None and len(self.manifest.done) >= len(self.plan.jobs)
        self.run.write_manifest(self.manifest.model_copy(update={"complete": complete, "partial_reason": partial}))
        self.print_summary(trials, partial)
        return exit_code(trials)

    def print_summary(self, trials: list[TaskResult], partial: str | None) -> None:
        # soft_wrap: paths must come out whole in CI logs and pipes, not cut at 80 columns.
        out = Console(file=sys.stdout, soft_wrap=True)
        table = Table(title=f"{self.cfg.model} · {self.run.path}")
        for col in ("repo", "tasks", "success", "mean score", "safety", "infra errors"):
            table.add_column(col, justify="left" if col == "repo" else "right")
        for repo in sorted({t.repo_id for t in trials}):
            rs = [t for t in trials if t.repo_id == repo]
            table.add_row(repo, str(len(rs)), f"{100 * sum(t.success for t in rs) / len(rs):.1f}%",
                          f"{sum(t.score for t in rs) / len(rs):.2f}", str(sum(t.metrics.safety_violations for t in rs)),
                          str(sum(t.failure_reason in INFRA_FAILURES for t in rs)))
        if not self.quiet:
            out.print(table)
        wins = sum(t.success for t in trials)
        out.print(f"{len(trials)}/{len(self.plan.jobs)} trials, {wins} passed "
                  f"({100 * wins / max(len(trials), 1):.1f}%). Report: {self.run.report_path}", markup=False)
        infra = Counter(t.failure_reason for t in trials if t.failure_reason in INFRA_FAILURES)
        if infra:  # printed even with --quiet: the user must learn that the numbers are not the model's
            counts = ", ".join(f"{n} {reason}" for reason, n in sorted(infra.items()))
            out.print(f"Infrastructure failures: {counts} (see results/REPORT.md). Re-run only those with:\n"
                      f"  python -m evaluator.run --retry-failed {shlex.quote(str(self.run.path))}", markup=False)
        if partial:
            out.print(f"[yellow]{partial} Resume with:[/yellow]\n  {self.resume_command}", soft_wrap=True)


def _remove_empty(path: Path) -> None:
    """Drop .work/ (and its per-repo folders) once every task has cleaned up after itself."""
    for sub in sorted(path.glob("*"), reverse=True):
        with contextlib.suppress(OSError):
            sub.rmdir()
    with contextlib.suppress(OSError):
        path.rmdir()


def exit_code(trials: list[TaskResult]) -> int:
    return 1 if any(t.failure_reason in INFRA_FAILURES for t in trials) else 0


def resume_command(run_dir: Path) -> str:
    return f"python -m evaluator.run --resume {shlex.quote(str(run_dir))}"
