#!/usr/bin/env python3
"""Publish a run's results into a committable tree, and build the L1 leaderboard docs from it.

    python tools/publish_results.py RUN_DIR [--dest results] [--date YYYY-MM-DD] [--model NAME] [--overwrite]
        Copy RUN_DIR/results/ (REPORT.md, <repo>/<task>.json, <repo>/index.json, *.png) and
        RUN_DIR/run.json into <dest>/<date>/<model_slug>/ and print that directory.
        --date defaults to today (UTC); --model to run.json's model. Transcripts, trials,
        artifacts and the viewer (results/index.html, which embeds the transcripts) are not
        copied: they stay in the run directory (CI uploads them as an artifact).

    python tools/publish_results.py --leaderboard [--dest results] [--exclude-model M ...] [--docs docs/benchmarks]
        Regenerate <docs>/L1-leaderboard.md, <docs>/L1-detailed-results.md and their Chinese
        versions under <docs>/zh-CN/ from every published run under <dest> (the latest per model).

Exit codes:
  0  published / docs written
  2  usage or input error (not a run directory, bad date, target exists, no published runs)
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

# Allow `python tools/publish_results.py` from the repo root (evaluator is not installed).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluator.reporting import stats  # noqa: E402
from evaluator.reporting.textsafe import md  # noqa: E402  (published names are data, never Markdown)


class InputError(Exception):
    """Bad input: reported as one sentence on stderr, exit 2."""


def slug(name: str) -> str:
    # Same rule as evaluator.execution.session.new_run_dir, so a published folder matches the run's prefix.
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "model"


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None


# --- publish ---------------------------------------------------------------------------------

def publish(run_dir: Path, dest: Path, date: str, model: str | None, overwrite: bool = False) -> Path:
    meta_path, results = run_dir / "run.json", run_dir / "results"
    if not meta_path.is_file() or not (results / "REPORT.md").is_file():
        raise InputError(f"{run_dir} is not a finished run directory (needs run.json and results/REPORT.md)")
    meta = _read_json(meta_path)
    name = model or str(meta.get("model") or "")
    if not name:
        raise InputError(f"{meta_path} names no model; pass --model")
    target = dest / date / slug(name)
    if target.exists() and any(target.iterdir()):
        if not overwrite:
            raise InputError(f"{target} already exists; pass --overwrite to replace it")
        shutil.rmtree(target)
    # results/index.html (the viewer) embeds the transcripts: it stays with them, in the run.
    shutil.copytree(results, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("index.html"))
    shutil.copy2(meta_path, target / "run.json")
    return target


# --- leaderboard -----------------------------------------------------------------------------

class TaskRow(BaseModel):
    """One row of results/<repo>/index.json (evaluator.reporting.summary.TaskSummaryRow; extra keys ignored)."""

    task_id: str
    repo_id: str
    difficulty: str = ""
    trials: int
    successes: int
    mean_score: float
    failure_reasons: dict[str, int] = {}
    commands: float = 0.0
    safety_violations: int = 0


class Published(BaseModel):
    model: str
    folder: Path  # <dest>/<date>/<slug>
    date: str
    started_at: str
    epochs: int
    rows: list[TaskRow]


def load_published(folder: Path) -> Published | None:
    meta = _read_json(folder / "run.json")
    rows: list[TaskRow] = []
    for index in sorted(folder.glob("*/index.json")):
        data = _read_json(index)
        try:
            rows += [TaskRow.model_validate(r) for r in data.get("results", [])]
        except (ValidationError, AttributeError) as exc:
            raise InputError(f"{index} is not a results index: {str(exc).splitlines()[0]}") from None
    if not rows or not isinstance(meta, dict) or not meta.get("model"):
        return None
    return Published(model=str(meta["model"]), folder=folder, date=folder.parent.name,
                     started_at=str(meta.get("started_at") or ""), epochs=int(meta.get("epochs") or 1), rows=rows)


def latest_per_model(dest: Path, exclude: list[str]) -> list[Published]:
    if not dest.is_dir():
        raise InputError(f"{dest} is not a directory of published results")
    skip = {slug(x).lower() for x in exclude}
    latest: dict[str, Published] = {}
    for meta in sorted(dest.glob("*/*/run.json")):
        run = load_published(meta.parent)
        if run is None or slug(run.model).lower() in skip:
            continue
        seen = latest.get(run.model)
        if seen is None or (run.started_at, run.date) > (seen.started_at, seen.date):
            latest[run.model] = run
    if not latest:
        raise InputError(f"no published runs under {dest} (after --exclude-model)")
    return list(latest.values())


class Agg(BaseModel):
    tasks: int
    trials: int
    success_rate: float
    ci: tuple[float, float]
    score: float
    commands: float
    safety: int


def aggregate(rows: list[TaskRow]) -> Agg:
    trials = sum(r.trials for r in rows)
    wins = sum(r.successes for r in rows)
    if any(r.trials > 1 for r in rows):
        # Epochs of one task are correlated: resample tasks, as the run report does.
        ci = stats.cluster_bootstrap_rate_ci([[True] * r.successes + [False] * (r.trials - r.successes) for r in rows])
    else:
        ci = stats.wilson_interval(wins, trials)
    n = len(rows)
    return Agg(tasks=n, trials=trials, success_rate=wins / trials if trials else 0.0, ci=ci,
               score=sum(r.mean_score for r in rows) / n, commands=sum(r.commands for r in rows) / n,
               safety=sum(r.safety_violations for r in rows))


def pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def ci_cell(ci: tuple[float, float]) -> str:
    return f"[{pct(ci[0])}, {pct(ci[1])}]"


def table(headers: list[str], rows: list[list[str]], align: str) -> list[str]:
    # align: one char per column, 'l' or 'r'.
    sep = ["---:" if a == "r" else "---" for a in align]
    return ["| " + " | ".join(headers) + " |", "|" + "|".join(sep) + "|", *("| " + " | ".join(r) + " |" for r in rows)]


TEXT: dict[str, dict[str, str]] = {
    "en": {
        "lb_title": "# L1 Leaderboard",
        "disclaimer": "> **Note**: LLM outputs are non-deterministic. These results are for reference and for improving "
                      "models and tooling only; they are not AgentGym's judgement of any model.",
        "generated": "Generated by `python tools/publish_results.py --leaderboard` from `{dest}` "
                     "(latest published run per model). Success rate is over all trials, with a 95% confidence "
                     "interval (Wilson; task-level bootstrap when a run has several epochs).",
        "models": "- **models**: {n}",
        "details_link": "Per-repo and per-task breakdown: [`L1-detailed-results.md`](L1-detailed-results.md)",
        "model": "Model", "score": "Avg score", "rate": "Success rate", "ci": "95% CI",
        "cmds": "Avg commands / task", "safety": "Safety / task (total)", "repo_score": "{repo} score",
        "run": "Run", "epochs": "Epochs", "tasks": "Tasks", "trials": "Trials", "safety_total": "Safety (total)",
        "repo": "Repo", "task": "Task", "difficulty": "Difficulty", "success": "Success", "failure": "Failure",
        "report": "report",
        "dt_title": "# L1 Detailed Results",
        "dt_model": "## Model: {model}",
        "dt_per_repo": "### Per-repo metrics",
        "dt_repo": "### Repo: {repo} (per task)",
    },
    "zh": {
        "lb_title": "# L1 排行榜",
        "disclaimer": "> **说明**：大模型的输出具有非确定性。以下结果仅供参考，以及用于改进模型和工具链，"
                      "不代表 AgentGym 对任何模型的评价。",
        "generated": "由 `python tools/publish_results.py --leaderboard` 根据 `{dest}` 生成（每个模型取最新一次发布的运行）。"
                     "成功率按全部试验（trial）计算，并给出 95% 置信区间（Wilson 区间；多轮 epoch 的运行按任务做 bootstrap 重采样）。",
        "models": "- **模型数**：{n}",
        "details_link": "按仓库、按任务的详细数据见：[`L1-detailed-results.md`](L1-detailed-results.md)",
        "model": "模型", "score": "平均得分", "rate": "成功率", "ci": "95% 置信区间",
        "cmds": "平均命令数 / 任务", "safety": "安全违规 / 任务（总数）", "repo_score": "{repo} 得分",
        "run": "运行", "epochs": "轮数", "tasks": "任务数", "trials": "试验数", "safety_total": "安全违规（总数）",
        "repo": "仓库", "task": "任务", "difficulty": "难度", "success": "成功", "failure": "失败原因",
        "report": "报告",
        "dt_title": "# L1 详细结果",
        "dt_model": "## 模型：{model}",
        "dt_per_repo": "### 各仓库指标",
        "dt_repo": "### 仓库：{repo}（逐任务）",
    },
}


def _link(doc_dir: Path, target: Path) -> str:
    return Path(os.path.relpath(target, doc_dir)).as_posix()


def render_leaderboard(runs: list[tuple[Published, Agg]], repos: list[str], doc_dir: Path, dest_label: str, lang: str) -> str:
    t = TEXT[lang]
    headers = [t["model"], t["score"], t["rate"], t["ci"], t["cmds"], t["safety"],
               *(t["repo_score"].format(repo=md(r)) for r in repos), t["run"]]
    rows = []
    for run, agg in runs:
        per_repo = {r: aggregate([x for x in run.rows if x.repo_id == r]) for r in {x.repo_id for x in run.rows}}
        rows.append([md(run.model, code=True), f"{agg.score:.2f}", pct(agg.success_rate), ci_cell(agg.ci), f"{agg.commands:.2f}",
                     f"{agg.safety / agg.tasks:.2f} ({agg.safety})",
                     *(f"{per_repo[r].score:.2f}" if r in per_repo else "-" for r in repos),
                     f"[{run.date}]({_link(doc_dir, run.folder / 'REPORT.md')})"])
    lines = [t["lb_title"], "", t["disclaimer"], "", t["generated"].format(dest=dest_label), "",
             t["models"].format(n=len(runs)), "",
             *table(headers, rows, "lrrlrr" + "r" * len(repos) + "l"), "", t["details_link"], ""]
    return "\n".join(lines)


def render_details(runs: list[tuple[Published, Agg]], doc_dir: Path, lang: str) -> str:
    t = TEXT[lang]
    lines = [t["dt_title"], "", t["disclaimer"], ""]
    for run, agg in runs:
        lines += [t["dt_model"].format(model=md(run.model, code=True)), ""]
        lines += table([t["run"], t["epochs"], t["tasks"], t["trials"], t["score"], t["rate"], t["ci"], t["cmds"], t["safety_total"]],
                       [[f"[{run.date}]({_link(doc_dir, run.folder / 'REPORT.md')})", str(run.epochs), str(agg.tasks),
                         str(agg.trials), f"{agg.score:.2f}", pct(agg.success_rate), ci_cell(agg.ci),
                         f"{agg.commands:.2f}", str(agg.safety)]], "lrrrrrlrr")
        repos = sorted({r.repo_id for r in run.rows})
        lines += ["", t["dt_per_repo"], ""]
        repo_rows = []
        for repo in repos:
            a = aggregate([r for r in run.rows if r.repo_id == repo])
            repo_rows.append([md(repo, code=True), str(a.tasks), f"{a.score:.2f}", pct(a.success_rate), ci_cell(a.ci),
                              f"{a.commands:.2f}", str(a.safety)])
        lines += table([t["repo"], t["tasks"], t["score"], t["rate"], t["ci"], t["cmds"], t["safety_total"]], repo_rows, "lrrrlrr")
        for repo in repos:
            lines += ["", t["dt_repo"].format(repo=md(repo, code=True)), ""]
            task_rows = []
            for r in sorted((r for r in run.rows if r.repo_id == repo), key=lambda r: r.task_id):
                failure = md(", ".join(f"{k} ×{v}" if r.trials > 1 else k for k, v in r.failure_reasons.items()))
                task_rows.append([md(r.task_id, code=True), md(r.difficulty), f"{r.successes}/{r.trials}", f"{r.mean_score:.1f}",
                                  f"{r.commands:.1f}", str(r.safety_violations), failure])
            lines += table([t["task"], t["difficulty"], t["success"], t["score"], t["cmds"], t["safety_total"], t["failure"]],
                           task_rows, "llrrrrl")
        lines.append("")
    return "\n".join(lines)


def build_leaderboard(dest: Path, docs: Path, exclude: list[str]) -> list[Path]:
    runs = [(r, aggregate(r.rows)) for r in latest_per_model(dest, exclude)]
    runs.sort(key=lambda ra: (-ra[1].score, -ra[1].success_rate, ra[0].model.lower()))
    repos = sorted({row.repo_id for run, _ in runs for row in run.rows})
    dest_label = dest.as_posix()
    written = []
    for lang, doc_dir in (("en", docs), ("zh", docs / "zh-CN")):
        doc_dir.mkdir(parents=True, exist_ok=True)
        for name, text in (("L1-leaderboard.md", render_leaderboard(runs, repos, doc_dir, dest_label, lang)),
                           ("L1-detailed-results.md", render_details(runs, doc_dir, lang))):
            (doc_dir / name).write_text(text, encoding="utf-8")
            written.append(doc_dir / name)
    return written


# --- CLI -------------------------------------------------------------------------------------

def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python tools/publish_results.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", nargs="?", type=Path, metavar="RUN_DIR", help="A finished (or merged) run directory.")
    p.add_argument("--leaderboard", action="store_true", help="Rebuild the leaderboard docs instead of publishing a run (default off).")
    p.add_argument("--dest", type=Path, default=Path("results"), help="Published results tree (default: results).")
    p.add_argument("--date", help="Date folder, YYYY-MM-DD (default: today, UTC).")
    p.add_argument("--model", help="Model name for the folder (default: run.json's model).")
    p.add_argument("--overwrite", action="store_true", help="Replace an existing <dest>/<date>/<model_slug>/ (default off: exit 2).")
    p.add_argument("--exclude-model", action="append", default=[], metavar="M", help="Leave model M out (repeatable; default: none).")
    p.add_argument("--docs", type=Path, default=Path("docs/benchmarks"), help="Docs folder (default: docs/benchmarks).")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)  # argparse itself exits 2 on unknown flags
    try:
        if args.leaderboard:
            if args.run_dir is not None:
                raise InputError("--leaderboard takes no RUN_DIR")
            for path in build_leaderboard(args.dest, args.docs, args.exclude_model):
                print(path)
            return 0
        if args.run_dir is None:
            raise InputError("give a RUN_DIR to publish, or --leaderboard")
        date = args.date or dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", date):
                raise ValueError
            dt.date.fromisoformat(date)
        except ValueError:
            raise InputError(f"--date must be YYYY-MM-DD, got {date!r}") from None
        print(publish(args.run_dir, args.dest, date, args.model, args.overwrite))
        return 0
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
