"""Aggregate trials into per-task summaries, per-repo indexes and run-level statistics."""
from __future__ import annotations

from collections import Counter, defaultdict

from pydantic import BaseModel, Field

from evaluator.reporting import stats
from evaluator.reporting.change_stats import ChangeStats, change_stats, kind_of
from evaluator.results.records import INFRA_FAILURES, TaskResult


class TaskSummaryRow(BaseModel):
    task_id: str
    repo_id: str
    difficulty: str
    task_hash: str
    trials: int
    successes: int
    success_rate: float
    mean_score: float
    failure_reasons: dict[str, int]
    commands: float
    safety_violations: int
    closed_book: bool = False


class Group(BaseModel):
    name: str
    tasks: int
    trials: int
    success_rate: float
    ci_low: float
    ci_high: float
    mean_score: float
    score_stderr: float


class RunStats(BaseModel):
    overall: Group
    per_repo: list[Group]
    per_difficulty: list[Group]
    per_tag: list[Group] = Field(default_factory=list, description="Task tags shared by 2+ tasks, and `image` always.")
    per_kind: list[Group] = Field(default_factory=list, description="answer (L1) and change (L2) apart, when both ran.")
    change: ChangeStats | None = Field(None, description="The L2 section: resolved rate, F2P/P2P pass rates, patch sizes.")
    epochs: int
    pass_at_k: dict[int, float] = Field(default_factory=dict)
    pass_hat_k: dict[int, float] = Field(default_factory=dict)
    failure_reasons: dict[str, int]
    safety_by_type: dict[str, int]
    infra_failures: int
    efficiency: dict[str, float]
    prompt_tokens: int
    completion_tokens: int


def by_task(trials: list[TaskResult]) -> dict[tuple[str, str], list[TaskResult]]:
    out: dict[tuple[str, str], list[TaskResult]] = defaultdict(list)
    for t in sorted(trials, key=lambda r: (r.repo_id, r.task_id, r.epoch)):
        out[(t.repo_id, t.task_id)].append(t)
    return dict(out)


def task_row(group: list[TaskResult]) -> TaskSummaryRow:
    first = group[0]
    wins = sum(t.success for t in group)
    reasons = Counter(t.failure_reason for t in group if t.failure_reason)
    return TaskSummaryRow(task_id=first.task_id, repo_id=first.repo_id, difficulty=first.difficulty,
                          task_hash=first.task_hash, trials=len(group), successes=wins,
                          success_rate=round(wins / len(group), 4),
                          mean_score=round(sum(t.score for t in group) / len(group), 4),
                          failure_reasons=dict(sorted(reasons.items())),
                          commands=round(sum(t.metrics.commands_used for t in group) / len(group), 2),
                          safety_violations=sum(t.metrics.safety_violations for t in group),
                          closed_book=first.closed_book)


def task_summary(group: list[TaskResult]) -> dict:
    """`results/<repo>/<task>.json`: the trial when there is one, else the first trial's shape
    with success by majority, score as the mean, and every trial listed."""
    if len(group) == 1:
        return group[0].model_dump(mode="json")
    row = task_row(group)
    data = group[0].model_dump(mode="json")
    data.update(success=row.successes * 2 > row.trials, score=row.mean_score, epoch=None,
                failure_reason=None if row.successes * 2 > row.trials else max(row.failure_reasons, key=row.failure_reasons.get, default=None),
                success_rate=row.success_rate,
                trials=[{"epoch": t.epoch, "success": t.success, "score": t.score, "failure_reason": t.failure_reason,
                         "path": f"trials/{t.repo_id}/{t.task_id}/epoch-{t.epoch}.json"} for t in group])
    return data


def _group(name: str, groups: list[list[TaskResult]]) -> Group:
    trials = [t for g in groups for t in g]
    wins = sum(t.success for t in trials)
    if any(len(g) > 1 for g in groups):
        lo, hi = stats.cluster_bootstrap_rate_ci([[t.success for t in g] for g in groups])
    else:
        lo, hi = stats.wilson_interval(wins, len(trials))
    mean, se = stats.mean_and_stderr([t.score for t in trials])
    return Group(name=name, tasks=len(groups), trials=len(trials), success_rate=round(wins / len(trials), 4),
                 ci_low=round(lo, 4), ci_high=round(hi, 4), mean_score=round(mean, 2), score_stderr=round(se, 2))


def run_stats(trials: list[TaskResult], epochs: int) -> RunStats | None:
    if not trials:
        return None
    tasks = by_task(trials)
    groups = list(tasks.values())
    per_repo: dict[str, list] = defaultdict(list)
    per_diff: dict[str, list] = defaultdict(list)
    per_tag: dict[str, list] = defaultdict(list)
    per_kind: dict[str, list] = defaultdict(list)
    for (repo, _), g in tasks.items():
        per_repo[repo].append(g)
        per_diff[g[0].difficulty].append(g)
        for tag in g[0].tags:
            per_tag[tag].append(g)
        per_kind[kind_of(g[0])].append(g)
    pak: dict[int, float] = {}
    phk: dict[int, float] = {}
    for k in sorted({1, epochs} | ({2} if epochs >= 2 else set())):
        full = [g for g in groups if len(g) >= k]
        if full:
            pak[k] = round(sum(stats.pass_at_k(len(g), sum(t.success for t in g), k) for g in full) / len(full), 4)
            phk[k] = round(sum(stats.pass_hat_k(len(g), sum(t.success for t in g), k) for g in full) / len(full), 4)
    per_task = lambda f: [sum(f(t) for t in g) / len(g) for g in groups]  # noqa: E731
    cmds, calls = per_task(lambda t: t.metrics.commands_used), per_task(lambda t: t.metrics.tool_calls)
    toks = per_task(lambda t: t.metrics.prompt_tokens + t.metrics.completion_tokens)
    ran = [t for t in trials if t.metrics.commands_used]
    efficiency = {
        "commands_median": stats.percentile(cmds, 50), "commands_p90": stats.percentile(cmds, 90),
        "tool_calls_median": stats.percentile(calls, 50), "tool_calls_p90": stats.percentile(calls, 90),
        "tokens_median": stats.percentile(toks, 50), "tokens_p90": stats.percentile(toks, 90),
        "valid_rate": round(sum(t.metrics.valid_rate for t in ran) / len(ran), 4) if ran else 1.0,
    }
    return RunStats(
        overall=_group("all", groups), epochs=epochs,
        per_repo=[_group(r, g) for r, g in sorted(per_repo.items())],
        per_difficulty=[_group(d, per_diff[d]) for d in ("easy", "medium", "hard") if d in per_diff],
        per_tag=[_group(t, g) for t, g in sorted(per_tag.items()) if len(g) >= 2 or t == "image"],
        per_kind=[_group(k, g) for k, g in sorted(per_kind.items())] if len(per_kind) > 1 else [],
        change=change_stats(trials),
        pass_at_k=pak, pass_hat_k=phk,
        failure_reasons=dict(sorted(Counter(t.failure_reason for t in trials if t.failure_reason).items())),
        safety_by_type=dict(sorted(Counter(e.type for t in trials for e in t.safety_events).items())),
        infra_failures=sum(t.failure_reason in INFRA_FAILURES for t in trials),
        efficiency={k: round(v, 2) for k, v in efficiency.items()},
        prompt_tokens=sum(t.metrics.prompt_tokens for t in trials),
        completion_tokens=sum(t.metrics.completion_tokens for t in trials),
    )
