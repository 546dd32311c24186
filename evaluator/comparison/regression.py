"""Baseline-vs-candidate regression view: flips, score movers, McNemar, paired bootstrap, verdict.

Each task contributes one paired observation. With several epochs a task's pass/fail is
the majority vote of its trials (a tie counts as fail, like `summary.task_summary`) and its
score is the mean over its trials, so repeated epochs do not inflate the sample size.
"""
from __future__ import annotations

from pydantic import BaseModel

from evaluator.reporting import stats, verdicts
from evaluator.comparison.inputs import LoadedRun, Overlap
from evaluator.results.records import TaskResult

TOP_MOVERS = 10


class TaskOutcome(BaseModel):
    task_id: str
    repo_id: str
    baseline_success: bool
    candidate_success: bool
    baseline_score: float
    candidate_score: float
    delta: float


class Comparison(BaseModel):
    baseline: str
    candidate: str
    tasks: int
    dropped: int
    mcnemar: verdicts.McNemarResult
    score: stats.PairedDelta
    verdict: verdicts.Verdict
    pass_to_fail: list[TaskOutcome]
    fail_to_pass: list[TaskOutcome]
    top_movers: list[TaskOutcome]  # largest |score delta| first, unchanged tasks left out


def majority(group: list[TaskResult]) -> bool:
    return sum(t.success for t in group) * 2 > len(group)


def mean_score(group: list[TaskResult]) -> float:
    return sum(t.score for t in group) / len(group)


def outcomes(baseline: LoadedRun, candidate: LoadedRun, tasks: list[str]) -> list[TaskOutcome]:
    ga, gb = baseline.by_task(), candidate.by_task()
    out = []
    for task in tasks:
        a, b = ga[task], gb[task]
        sa, sb = mean_score(a), mean_score(b)
        out.append(TaskOutcome(task_id=task, repo_id=a[0].repo_id, baseline_success=majority(a),
                               candidate_success=majority(b), baseline_score=round(sa, 2),
                               candidate_score=round(sb, 2), delta=round(sb - sa, 2)))
    return out


def compare(baseline: LoadedRun, candidate: LoadedRun, ov: Overlap, *, alpha: float = 0.05,
            seed: int = 0) -> Comparison:
    rows = outcomes(baseline, candidate, ov.shared)
    mc = verdicts.compare_success([r.baseline_success for r in rows], [r.candidate_success for r in rows], alpha=alpha)
    delta = stats.paired_bootstrap_delta([r.baseline_score for r in rows], [r.candidate_score for r in rows],
                                         confidence=1 - alpha, seed=seed)
    movers = sorted((r for r in rows if r.delta != 0), key=lambda r: (-abs(r.delta), r.task_id))[:TOP_MOVERS]
    return Comparison(
        baseline=baseline.label, candidate=candidate.label, tasks=len(rows), dropped=ov.dropped,
        mcnemar=mc, score=delta, verdict=verdicts.verdict(baseline.label, candidate.label, mc, delta, alpha),
        pass_to_fail=[r for r in rows if r.baseline_success and not r.candidate_success],
        fail_to_pass=[r for r in rows if r.candidate_success and not r.baseline_success],
        top_movers=movers,
    )
