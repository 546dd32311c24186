"""The L2 (change task) part of a report: resolved rate with its interval, hidden-test pass rates, patch sizes.

L1 and L2 are different task kinds and never share a rate: `per_kind` splits every run-level
figure that mixes them, and this section covers only change tasks.
"""
from __future__ import annotations

from collections import Counter, defaultdict

from pydantic import BaseModel

from evaluator.reporting import stats
from evaluator.results.records import TaskResult


class ChangeStats(BaseModel):
    tasks: int
    trials: int
    resolved_rate: float
    ci_low: float
    ci_high: float
    fail_to_pass_rate: float  # passing F2P tests / all F2P tests, over every trial
    pass_to_pass_rate: float
    patch_bytes_median: float
    patch_bytes_p90: float
    patch_lines_median: float  # lines added + removed
    files_touched_median: float
    files_reset_trials: int  # trials whose test or config edits were put back before grading
    not_run: dict[str, int]  # why hidden tests did not count as run (note's first clause) -> trials
    workspaces: dict[str, int]


def kind_of(t: TaskResult) -> str:
    return "change" if t.kind == "change" else "answer"


def change_stats(trials: list[TaskResult]) -> ChangeStats | None:
    mine = [t for t in trials if t.kind == "change" and t.change is not None]
    if not mine:
        return None
    groups: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for t in mine:
        groups[(t.repo_id, t.task_id)].append(t.success)
    wins = sum(t.success for t in mine)
    if any(len(g) > 1 for g in groups.values()):
        lo, hi = stats.cluster_bootstrap_rate_ci(list(groups.values()))
    else:
        lo, hi = stats.wilson_interval(wins, len(mine))
    ch = [t.change for t in mine if t.change is not None]
    f2p_total = sum(c.fail_to_pass_total for c in ch)
    p2p_total = sum(c.pass_to_pass_total for c in ch)
    sizes = [float(c.patch_bytes) for c in ch]
    lines = [float(c.lines_added + c.lines_removed) for c in ch]
    return ChangeStats(
        tasks=len(groups), trials=len(mine), resolved_rate=round(wins / len(mine), 4), ci_low=round(lo, 4),
        ci_high=round(hi, 4),
        fail_to_pass_rate=round(sum(c.fail_to_pass_passed for c in ch) / f2p_total, 4) if f2p_total else 0.0,
        pass_to_pass_rate=round(sum(c.pass_to_pass_passed for c in ch) / p2p_total, 4) if p2p_total else 1.0,
        patch_bytes_median=stats.percentile(sizes, 50), patch_bytes_p90=stats.percentile(sizes, 90),
        patch_lines_median=stats.percentile(lines, 50),
        files_touched_median=stats.percentile([float(len(c.files_touched)) for c in ch], 50),
        files_reset_trials=sum(bool(c.files_reset) for c in ch),
        not_run=dict(sorted(Counter(c.note.split(":")[0] for c in ch if c.note).items())),
        workspaces=dict(sorted(Counter(c.workspace for c in ch).items())))
