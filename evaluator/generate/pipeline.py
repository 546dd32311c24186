"""Draw candidates from every template, check them round-robin, enforce the per-template quota."""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from evaluator.generate.checks import DROP_QUOTA, DROP_TEMPLATE, DROP_UNUSED, Checker
from evaluator.generate.model import Accepted, Candidate, Drop, canonical
from evaluator.generate.templates.base import Context, Template

QUOTA = 0.25


@dataclass
class Result:
    accepted: list[Accepted] = field(default_factory=list)
    drops: list[Drop] = field(default_factory=list)
    offered: dict[str, int] = field(default_factory=dict)  # template -> candidates proposed


def quota_cap(total: int, share: float = QUOTA) -> int:
    return max(1, math.floor(total * share))


def generate(ctx: Context, checker: Checker, templates: list[Template], *, max_tasks: int, seed: int,
             progress: Callable[[str], None] | None = None) -> Result:
    res = Result()
    queues: dict[str, list[Candidate]] = {}
    for t in templates:
        try:
            cands = t.candidates(ctx)
        except Exception as exc:  # noqa: BLE001 - one broken template must not sink the others
            res.drops.append(Drop(template=t.name, task_id="-", reason=DROP_TEMPLATE, detail=f"{type(exc).__name__}: {exc}"))
            cands = []
        res.offered[t.name] = len(cands)
        queues[t.name] = ctx.sampler.ranked(t.name, cands, key=lambda c: canonical(c.params))
    versions = {t.name: t.version for t in templates}
    share = max(QUOTA, 1 / len(templates))  # with fewer than 4 templates selected, 25% is unreachable
    cap = quota_cap(max_tasks, share)
    count: Counter[str] = Counter()
    progressing = True
    while progressing and len(res.accepted) < max_tasks:
        progressing = False
        for name in queues:  # one accepted task per template per round keeps the mix even
            while queues[name] and count[name] < cap and len(res.accepted) < max_tasks:
                c = queues[name].pop(0)
                prov: dict[str, Any] = {"template": name, "template_version": versions[name], "seed": seed,
                                        "commit": ctx.commit}
                got = checker.check(c, prov)
                if isinstance(got, Drop):
                    res.drops.append(got)
                    continue
                res.accepted.append(got)
                count[name] += 1
                progressing = True
                if progress:  # not yet "accepted": the quota below may still drop it
                    progress(f"passed checks: {got.task_id} ({name})")
                break
    for name, rest in queues.items():
        reason = DROP_QUOTA if count[name] >= cap else DROP_UNUSED
        res.drops += [Drop(template=name, task_id=c.task_id(ctx.repo_id), reason=reason) for c in rest]
    res.accepted, quota_drops = enforce_quota(res.accepted, share)
    res.drops += quota_drops
    for d in quota_drops if progress else []:
        progress(f"dropped {d.task_id} ({d.template}): {d.detail}")
    return res


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
