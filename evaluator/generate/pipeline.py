"""Draw candidates from every template, check them round-robin, enforce the per-template quota."""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from evaluator.generate import worth
from evaluator.generate.checks import DROP_ONE_PIPELINE, DROP_QUOTA, DROP_SAME_FILE, DROP_TEMPLATE, DROP_UNUSED, Checker
from evaluator.generate.model import Accepted, Candidate, Drop, canonical
from evaluator.generate.templates.base import Context, Template

QUOTA = 0.25


@dataclass
class Result:
    accepted: list[Accepted] = field(default_factory=list)
    drops: list[Drop] = field(default_factory=list)
    offered: dict[str, int] = field(default_factory=dict)  # template -> candidates proposed
    dropped_templates: dict[str, str] = field(default_factory=dict)  # template -> why it is not asked here


def quota_cap(total: int, share: float = QUOTA) -> int:
    return max(1, math.floor(total * share))


def _candidates(ctx: Context, t: Template, res: Result, peers: list[worth.Peer] | None,
                progress: Callable[[str], None] | None) -> list[Candidate]:
    """The template's candidates, labelled one-pipeline or not under the set rules (`peers` not
    None); none when the template is broken or not worth asking in this repository (then the
    reason is recorded and printed)."""
    try:
        label = {"one_pipeline": t.one_pipeline} if peers is not None else {}
        cands = [c.model_copy(update=label) for c in t.candidates(ctx)]
    except Exception as exc:  # noqa: BLE001 - one broken template must not sink the others
        res.drops.append(Drop(template=t.name, task_id="-", reason=DROP_TEMPLATE, detail=f"{type(exc).__name__}: {exc}"))
        return []
    res.offered[t.name] = len(cands)
    why = worth.screen(ctx, t.name, cands, peers) if peers is not None else None
    if why is None:
        return cands
    res.dropped_templates[t.name] = f"{why[0]}: {why[1]}"
    res.drops += [Drop(template=t.name, task_id=c.task_id(ctx.repo_id), reason=why[0], detail=why[1]) for c in cands]
    if progress:
        progress(f"dropped template {t.name} for {ctx.repo_id}: {why[0]}: {why[1]}")
    return []


def generate(ctx: Context, checker: Checker, templates: list[Template], *, max_tasks: int, seed: int,
             progress: Callable[[str], None] | None = None, peers: list[worth.Peer] | None = None,
             rules: bool = True) -> Result:
    """`rules` applies the set rules of worth.py (fixed questions screened against `peers` and their
    naive pipeline, at most 2 tasks of a template per file, at most a third one-pipeline)."""
    res = Result()
    queues: dict[str, list[Candidate]] = {}
    for t in templates:
        res.offered[t.name] = 0
        cands = _candidates(ctx, t, res, (peers or []) if rules else None, progress)
        queues[t.name] = ctx.sampler.ranked(t.name, cands, key=lambda c: canonical(c.params))
    versions = {t.name: t.version for t in templates}
    share = max(QUOTA, 1 / len(templates))  # with fewer than 4 templates selected, 25% is unreachable
    cap = quota_cap(max_tasks, share)
    count: Counter[str] = Counter()
    per_file: Counter[tuple[str, str]] = Counter()
    one_pipeline_cap = worth.one_pipeline_cap(max_tasks) if rules else max_tasks
    progressing = True
    while progressing and len(res.accepted) < max_tasks:
        progressing = False
        for name in queues:  # one accepted task per template per round keeps the mix even
            while queues[name] and count[name] < cap and len(res.accepted) < max_tasks:
                c = queues[name].pop(0)
                full = sum(bool(a.candidate.one_pipeline) for a in res.accepted) >= one_pipeline_cap
                skip = _skip(c, ctx.repo_id, per_file, full) if rules else None
                if skip:
                    res.drops.append(skip)
                    continue
                prov: dict[str, Any] = {"template": name, "template_version": versions[name], "seed": seed,
                                        "commit": ctx.commit}
                got = checker.check(c, prov)
                if isinstance(got, Drop):
                    res.drops.append(got)
                    continue
                res.accepted.append(got)
                count[name] += 1
                if worth.subject_file(c):
                    per_file[(name, worth.subject_file(c) or "")] += 1
                progressing = True
                if progress:  # not yet "accepted": the quota below may still drop it
                    progress(f"passed checks: {got.task_id} ({name})")
                break
    for name, rest in queues.items():
        reason = DROP_QUOTA if count[name] >= cap else DROP_UNUSED
        res.drops += [Drop(template=name, task_id=c.task_id(ctx.repo_id), reason=reason) for c in rest]
    late: list[Drop] = []
    while True:  # each cap shrinks the set, which can put the other over: repeat to a fixed point
        res.accepted, by_quota = enforce_quota(res.accepted, share)
        res.accepted, by_pipeline = worth.enforce_one_pipeline(res.accepted) if rules else (res.accepted, [])
        late += by_quota + by_pipeline
        if not by_quota and not by_pipeline:
            break
    res.drops += late
    for d in late if progress else []:
        progress(f"dropped {d.task_id} ({d.template}): {d.detail}")
    return res


def _skip(c: Candidate, repo_id: str, per_file: Counter[tuple[str, str]], pipelines_full: bool) -> Drop | None:
    """A candidate the set has no room for, before its (costly) checks run."""
    if worth.per_file_full(per_file, c):
        return Drop(template=c.template, task_id=c.task_id(repo_id), reason=DROP_SAME_FILE,
                    detail=f"{worth.PER_FILE} tasks of this template already ask about {worth.subject_file(c)}")
    if c.one_pipeline and pipelines_full:
        return Drop(template=c.template, task_id=c.task_id(repo_id), reason=DROP_ONE_PIPELINE,
                    detail="a third of the tasks are one-pipeline already")
    return None


def enforce_quota(accepted: list[Accepted], share: float = QUOTA) -> tuple[list[Accepted], list[Drop]]:
    """No template above `share` of the final set: drop its last-accepted tasks until that holds
    (dropping shrinks the set, so repeat to a fixed point)."""
    kept = list(accepted)
    drops: list[Drop] = []
    while True:
        cap = quota_cap(len(kept), share)
        count = Counter(a.candidate.template for a in kept)
        over = sorted(name for name, n in count.items() if n > cap)
        if not over:
            return kept, drops
        victim = next(a for a in reversed(kept) if a.candidate.template == over[0])
        kept.remove(victim)
        drops.append(Drop(template=over[0], task_id=victim.task_id, reason=DROP_QUOTA,
                          detail=f"more than {share:.0%} of {len(kept) + 1} tasks"))
