"""Write a comparison: leaderboard.md / .csv / .json and the three PNG charts."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import BaseModel

from evaluator.reporting import plots
from evaluator.results.atomic import write_text_atomic
from evaluator.comparison.leaderboard import ModelRow, fmt_cost, fmt_pct
from evaluator.comparison.regression import Comparison
from evaluator.reporting.stats import mdd_text
from evaluator.reporting.verdicts import fmt_p
from evaluator.reporting.textsafe import md

_ENV = Environment(loader=FileSystemLoader(Path(__file__).parent), undefined=StrictUndefined,
                   keep_trailing_newline=True)
_ENV.filters["md"] = md  # labels, task ids and texts come from run folders: data, never Markdown
PLOTS = ("success_rate.png", "repo_heatmap.png", "score_vs_tokens.png")
DIFFICULTIES = ("easy", "medium", "hard")


class CompareReport(BaseModel):
    generated_at: str
    alpha: float
    baseline: str
    task_set: str | None
    task_set_hash: str | None
    common_tasks: int
    prices_file: str | None
    warnings: list[str]
    models: list[ModelRow]  # baseline first
    comparisons: list[Comparison]  # one per candidate
    regression: bool  # any candidate significantly worse than the baseline


def _union(rows: list[ModelRow], attr: str) -> list[str]:
    return sorted({k for m in rows for k in getattr(m, attr)})


def _num(x: float) -> str:
    return f"{x:.0f}" if float(x).is_integer() else f"{x:.1f}"


def render_markdown(r: CompareReport) -> str:
    diffs = {d for m in r.models for d in m.per_difficulty}
    ks = sorted({k for m in r.models for k in m.pass_at_k if m.epochs > 1})
    return _ENV.get_template("leaderboard.md.j2").render(
        r=r, repos=_union(r.models, "per_repo"),
        difficulties=[d for d in DIFFICULTIES if d in diffs] + sorted(diffs - set(DIFFICULTIES)),
        ks=ks, failures=_union(r.models, "failure_reasons"), safety=_union(r.models, "safety_by_type"),
        pct=fmt_pct, cost=fmt_cost, num=_num, p=fmt_p, mdd=mdd_text(r.common_tasks, r.alpha))


def render_csv(r: CompareReport) -> str:
    """One row per model; per-repo, per-difficulty, failure and safety columns are the union over models."""
    repos, failures, safety = (_union(r.models, a) for a in ("per_repo", "failure_reasons", "safety_by_type"))
    diffs = _union(r.models, "per_difficulty")
    vs = {c.candidate: c for c in r.comparisons}
    base = ["label", "model", "agent", "run_id", "is_baseline", "epochs", "tasks", "trials", "success_rate",
            "success_ci_low", "success_ci_high", "ci_method", "mean_score", "score_ci_low", "score_ci_high",
            "safety_violations", "safety_per_task", "tool_calls_median", "tool_calls_p90", "commands_median",
            "commands_p90", "tokens_median", "tokens_p90", "valid_rate", "prompt_tokens", "completion_tokens",
            "tokens_per_task", "wall_time_s", "wall_time_median_s", "cost_usd", "cost_per_task_usd"]
    extra = ([f"repo:{x}" for x in repos] + [f"difficulty:{x}" for x in diffs]
             + [f"failure:{x}" for x in failures] + [f"safety:{x}" for x in safety])
    regress = ["vs_baseline_tasks", "pass_to_fail", "fail_to_pass", "mcnemar_p", "score_delta",
               "score_delta_ci_low", "score_delta_ci_high", "regression", "improvement", "verdict"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(base + extra + regress)
    for i, m in enumerate(r.models):
        d = m.model_dump()
        d.update(d.pop("efficiency"), is_baseline=i == 0)
        row = ["" if d[k] is None else d[k] for k in base]
        row += [m.per_repo.get(x, "") for x in repos] + [m.per_difficulty.get(x, "") for x in diffs]
        row += [m.failure_reasons.get(x, 0) for x in failures] + [m.safety_by_type.get(x, 0) for x in safety]
        c = vs.get(m.label) if i else None
        row += ([c.tasks, c.mcnemar.pass_to_fail, c.mcnemar.fail_to_pass, c.mcnemar.p_value, c.score.delta,
                 c.score.ci_low, c.score.ci_high, c.verdict.regression, c.verdict.improvement, c.verdict.text]
                if c else [""] * len(regress))
        w.writerow(row)
    return buf.getvalue()


def write_plots(r: CompareReport, out: Path) -> None:
    labels = [m.label for m in r.models]
    plots.success_rate_bars(labels, [m.success_rate for m in r.models], [m.success_ci_low for m in r.models],
                            [m.success_ci_high for m in r.models], out / PLOTS[0],
                            title="Success rate (95% CI)")
    repos = _union(r.models, "per_repo")
    plots.repo_model_heatmap(labels, repos, [[m.per_repo.get(x, float("nan")) for x in repos] for m in r.models],
                             out / PLOTS[1])
    plots.score_vs_tokens(labels, [m.mean_score for m in r.models], [m.tokens_per_task for m in r.models],
                          out / PLOTS[2])


def write_all(r: CompareReport, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    write_plots(r, out)
    write_text_atomic(out / "leaderboard.json", json.dumps(r.model_dump(mode="json"), indent=2) + "\n")
    write_text_atomic(out / "leaderboard.csv", render_csv(r))
    write_text_atomic(out / "leaderboard.md", render_markdown(r))
    return [out / n for n in ("leaderboard.md", "leaderboard.csv", "leaderboard.json", *PLOTS)]
