"""REPORT.md and the per-task/per-repo summary files, built from the trials on disk."""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from evaluator.reporting.chart_worker import ChartRequest, ChartWorker, draw
from evaluator.results.records import RunMeta, TaskResult
from evaluator.reporting.summary import RunStats, by_task, run_stats, task_row, task_summary
from evaluator.results.rundir import RunDir
from evaluator.reporting.textsafe import md
from evaluator.reporting import stats

_ENV = Environment(loader=FileSystemLoader(Path(__file__).parent), undefined=StrictUndefined,
                   trim_blocks=False, lstrip_blocks=False, keep_trailing_newline=True)
_ENV.filters["md"] = md  # every string from outside the harness goes through it (see textsafe.md)


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def render(meta: RunMeta, trials: list[TaskResult], *, partial: str | None = None, total: int = 0,
           resume_command: str = "", plot: str | None = None) -> str:
    return _render(meta, trials, run_stats(trials, meta.epochs), partial=partial, total=total,
                   resume_command=resume_command, plot=plot)


def _render(meta: RunMeta, trials: list[TaskResult], s: RunStats | None, *, partial: str | None, total: int,
            resume_command: str, plot: str | None) -> str:
    rows = [task_row(g) for g in by_task(trials).values()]
    return _ENV.get_template("report.md.j2").render(
        run=meta, s=s, tasks=rows, partial=partial, done=len(trials), total=total,
        resume_command=resume_command, plot=plot, pct=pct, mdd=stats.mdd_text(s.overall.tasks) if s else "")


def write_summaries(run: RunDir, trials: list[TaskResult]) -> None:
    """results/<repo>/<task>.json and results/<repo>/index.json."""
    groups = by_task(trials)
    index: dict[str, list[dict[str, Any]]] = {}
    for (repo, task), group in groups.items():
        run.write_json(f"results/{repo}/{task}.json", task_summary(group))
        index.setdefault(repo, []).append(task_row(group).model_dump(mode="json"))
    for repo, rows in index.items():
        tasks = len(rows)
        run.write_json(f"results/{repo}/index.json", {
            "repo_id": repo, "tasks": tasks,
            "success_rate": round(sum(r["success_rate"] for r in rows) / tasks, 4),
            "mean_score": round(sum(r["mean_score"] for r in rows) / tasks, 4),
            "results": rows})


def _plot(run: RunDir, meta: RunMeta, s: RunStats | None, chart: ChartWorker | None) -> str | None:
    if s is None:
        return None
    g = s.per_repo
    req = ChartRequest(labels=[x.name for x in g], rates=[x.success_rate for x in g], ci_low=[x.ci_low for x in g],
                       ci_high=[x.ci_high for x in g], out=run.results / "success_by_repo.png",
                       title=f"{meta.model}: success rate by repo (95% CI)")
    if chart is None or not chart.draw(req):
        draw(req)
    return req.out.name


def finalize(run: RunDir, meta: RunMeta, trials: list[TaskResult], *, partial: str | None, total: int,
             resume_command: str, chart: ChartWorker | None = None) -> RunMeta:
    """Everything derived from the trials: run.json's closing fields, summaries, plot, REPORT.md.

    `chart` is a child process already waiting to draw the chart (see chart_worker)."""
    meta = meta.model_copy(update={
        "response_models": sorted({v for t in trials for v in t.response_models}),
        "system_fingerprints": sorted({v for t in trials for v in t.system_fingerprints}),
        "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})
    run.write_meta(meta)
    write_summaries(run, trials)
    stats = run_stats(trials, meta.epochs)  # once per report: the chart and REPORT.md share it
    plot = _plot(run, meta, stats, chart)
    run.write_report(_render(meta, trials, stats, partial=partial, total=total, resume_command=resume_command, plot=plot))
    write_viewer(run)
    return meta


def write_viewer(run: RunDir) -> None:
    """results/index.html next to REPORT.md. A convenience: if it fails, say so and carry on."""
    try:
        from evaluator.view.page import write

        write([run.path], run.results / "index.html")
    except Exception as exc:  # noqa: BLE001 - the run's results are written; the viewer must not fail it
        print(f"warning: could not write results/index.html: {type(exc).__name__}: {exc}", file=sys.stderr)
