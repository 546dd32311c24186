"""Per-model leaderboard rows for `evaluator.compare`, and the USD price table.

A row is computed over a given list of trials (the tasks all compared runs share), reusing
`summary.run_stats` for the success CI (Wilson, or a task-cluster bootstrap when epochs > 1),
pass@k, breakdowns and efficiency, and adding a bootstrap CI of the mean score and cost.
"""
from __future__ import annotations

import fnmatch
import math
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from evaluator.models.presets import PresetError, load_presets, read_presets
from evaluator.reporting import stats
from evaluator.comparison.inputs import InputError, LoadedRun
from evaluator.results.records import TaskResult
from evaluator.reporting.change_stats import kind_of
from evaluator.reporting.summary import by_task, run_stats


# --- prices ----------------------------------------------------------------------------

class Price(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: float = Field(ge=0, description="USD per 1M prompt tokens")
    output: float = Field(ge=0, description="USD per 1M completion tokens")


class PriceTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: dict[str, Price] = Field(default_factory=dict)

    def lookup(self, model: str) -> Price | None:
        """Exact model id first, then glob patterns (e.g. `builtin/*`) in file order."""
        if model in self.models:
            return self.models[model]
        for pattern, price in self.models.items():
            if any(ch in pattern for ch in "*?[") and fnmatch.fnmatchcase(model, pattern):
                return price
        return None


def load_prices(path: Path | None) -> PriceTable:
    """Prices from the model presets (built-in, overridden by $AGENTGYM_MODEL_PRESETS), or
    from the file at `path` (same format; a plain {models: {id: {input, output}}} is one)."""
    if path is not None and not path.is_file():
        raise InputError(f"Price table {path} does not exist.")
    try:
        table = read_presets(path) if path is not None else load_presets()
    except PresetError as e:
        raise InputError(f"{str(e)[0].upper()}{str(e)[1:]}.") from None
    return PriceTable(models={k: Price(input=p.input, output=p.output) for k, p in table.models.items()
                              if p.input is not None and p.output is not None})


# --- rows ------------------------------------------------------------------------------

class Efficiency(BaseModel):
    tool_calls_median: float
    tool_calls_p90: float
    commands_median: float
    commands_p90: float
    tokens_median: float
    tokens_p90: float
    valid_rate: float


class ModelRow(BaseModel):
    label: str
    model: str
    agent: str = "builtin"
    run_id: str
    run_dir: str
    epochs: int
    tasks: int
    trials: int
    success_rate: float
    success_ci_low: float
    success_ci_high: float
    ci_method: str  # "wilson" | "cluster-bootstrap"
    mean_score: float
    score_ci_low: float
    score_ci_high: float
    pass_at_k: dict[int, float]
    pass_hat_k: dict[int, float]
    per_repo: dict[str, float]  # repo -> success rate
    per_difficulty: dict[str, float]
    per_kind: dict[str, float] = {}  # "answer" (L1) / "change" (L2) -> success rate; kinds never share a rate
    change_resolved: float | None = None  # L2 resolved rate on the compared change tasks
    change_fail_to_pass_rate: float | None = None
    change_pass_to_pass_rate: float | None = None
    safety_violations: int
    safety_per_task: float  # violations per trial (one trial = one attempt at a task)
    safety_by_type: dict[str, int]
    failure_reasons: dict[str, int]
    efficiency: Efficiency
    prompt_tokens: int
    completion_tokens: int
    tokens_per_task: float  # mean prompt + completion tokens per trial
    wall_time_s: float
    wall_time_median_s: float
    cost_usd: float | None  # None: model not in the price table
    cost_per_task_usd: float | None


def _cost(trials: list[TaskResult], price: Price | None) -> float | None:
    if price is None:
        return None
    prompt = sum(t.metrics.prompt_tokens for t in trials)
    completion = sum(t.metrics.completion_tokens for t in trials)
    return (prompt * price.input + completion * price.output) / 1_000_000


def model_row(run: LoadedRun, trials: list[TaskResult], prices: PriceTable, *, seed: int = 0) -> ModelRow:
    s = run_stats(trials, run.epochs)
    if s is None:
        raise InputError(f"{run.label} has no trials on the compared tasks.")
    groups = list(by_task(trials).values())
    clustered = any(len(g) > 1 for g in groups)
    # Score CI: bootstrap over per-task mean scores, so epochs of one task move together.
    task_scores = [sum(t.score for t in g) / len(g) for g in groups]
    mean_score = sum(task_scores) / len(task_scores)
    lo, hi = stats.bootstrap_mean_ci(task_scores, seed=seed)
    n = len(trials)
    violations = sum(t.metrics.safety_violations for t in trials)
    walls = [t.metrics.wall_time_s for t in trials]
    cost = _cost(trials, prices.lookup(run.model))
    return ModelRow(
        label=run.label, model=run.model, agent=run.agent, run_id=run.run_id, run_dir=str(run.path), epochs=run.epochs,
        tasks=s.overall.tasks, trials=s.overall.trials, success_rate=s.overall.success_rate,
        success_ci_low=s.overall.ci_low, success_ci_high=s.overall.ci_high,
        ci_method="cluster-bootstrap" if clustered else "wilson",
        mean_score=round(mean_score, 2), score_ci_low=round(lo, 2), score_ci_high=round(hi, 2),
        pass_at_k=s.pass_at_k, pass_hat_k=s.pass_hat_k,
        per_repo={g.name: g.success_rate for g in s.per_repo},
        per_difficulty={g.name: g.success_rate for g in s.per_difficulty},
        per_kind=_per_kind(trials),
        change_resolved=s.change.resolved_rate if s.change else None,
        change_fail_to_pass_rate=s.change.fail_to_pass_rate if s.change else None,
        change_pass_to_pass_rate=s.change.pass_to_pass_rate if s.change else None,
        safety_violations=violations, safety_per_task=round(violations / n, 3), safety_by_type=s.safety_by_type,
        failure_reasons=s.failure_reasons, efficiency=Efficiency(**s.efficiency),
        prompt_tokens=s.prompt_tokens, completion_tokens=s.completion_tokens,
        tokens_per_task=round((s.prompt_tokens + s.completion_tokens) / n, 1),
        wall_time_s=round(sum(walls), 2), wall_time_median_s=round(stats.percentile(walls, 50), 2),
        cost_usd=None if cost is None else round(cost, 4),
        cost_per_task_usd=None if cost is None else round(cost / n, 6),
    )


def _per_kind(trials: list[TaskResult]) -> dict[str, float]:
    out: dict[str, list[bool]] = {}
    for t in trials:
        out.setdefault(kind_of(t), []).append(t.success)
    return {k: round(sum(v) / len(v), 4) for k, v in sorted(out.items())}


def fmt_cost(x: float | None) -> str:
    if x is None:
        return "unknown"
    if x == 0:
        return "$0"
    return f"${x:.4f}" if x < 1 else f"${x:,.2f}"


def fmt_pct(x: float) -> str:
    return "n/a" if math.isnan(x) else f"{100 * x:.1f}%"
