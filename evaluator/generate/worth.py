"""Is a generated set worth running? The rules the generator enforces beyond per-task checks.

- A fixed question (a template with one repo-independent question, e.g. `has_license_file`) whose
  answer is the same in this repository and every peer, or that its naive pipeline (naive.py)
  already answers exactly, is dropped for this repository, with the reason.
- At most `PER_FILE` tasks of a template ask about the same file (`params["path"]`).
- At most a third of the set is one-pipeline (the template's `one_pipeline` label).
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluator.scoring import oracle_registry as oracles
from evaluator.generate import naive
from evaluator.generate.checks import DROP_NAIVE, DROP_ONE_PIPELINE, DROP_SAME_ACROSS
from evaluator.generate.model import Accepted, Candidate, Drop, canonical
from evaluator.generate.templates.base import Context

PER_FILE = 2
ONE_PIPELINE_SHARE = 1 / 3


@dataclass(frozen=True)
class Peer:
    """Another repository of the same task set, at its pinned commit."""

    repo_id: str
    root: Path
    commit: str


def subject_file(c: Candidate) -> str | None:
    path = c.params.get("path")
    return path if isinstance(path, str) else None


def one_pipeline_cap(total: int) -> int:
    """Most one-pipeline tasks in a set of `total`: at most a third (never negative)."""
    return math.floor(total * ONE_PIPELINE_SHARE + 1e-9)


def _fact(fn: str, args: dict[str, Any], root: Path, commit: str, cache: oracles.FactCache) -> Any:
    try:
        return oracles.fact(fn, args, repo_root=root, commit=commit, cache=cache)
    except oracles.OracleError:
        return None


def screen(ctx: Context, name: str, cands: list[Candidate], peers: list[Peer]) -> tuple[str, str] | None:
    """(reason, detail) when template `name` is not worth asking in this repository, else None.
    Only fixed questions are screened: one candidate with no parameters and a fact oracle."""
    if len(cands) != 1 or cands[0].params or cands[0].type == "oracle_bool":
        return None
    c = cands[0]
    mine = _fact(c.fn, c.args, ctx.root, ctx.commit, ctx.cache)
    if mine is None:
        return None  # the ordinary checks report the oracle error
    others = [p for p in peers if p.repo_id != ctx.repo_id]
    if others and all(canonical(_fact(c.fn, c.args, p.root, p.commit, ctx.cache)) == canonical(mine) for p in others):
        ids = ", ".join(sorted([ctx.repo_id, *(p.repo_id for p in others)]))
        return DROP_SAME_ACROSS, f"the answer is {canonical(mine)[:80]} in every repo ({ids})"
    got = naive.run(name, ctx.root)
    if got is not None and canonical(got[1]) == canonical(mine):
        return DROP_NAIVE, f"`{got[0]}` prints the exact answer {canonical(mine)[:80]}"
    return None


def enforce_one_pipeline(accepted: list[Accepted]) -> tuple[list[Accepted], list[Drop]]:
    """Drop the last-accepted one-pipeline tasks until at most a third of the set is one-pipeline
    (each drop shrinks the set, so repeat to a fixed point)."""
    kept = list(accepted)
    drops: list[Drop] = []
    while True:
        mine = [a for a in kept if a.candidate.one_pipeline]
        if len(mine) <= one_pipeline_cap(len(kept)):
            return kept, drops
        victim = mine[-1]
        kept.remove(victim)
        drops.append(Drop(template=victim.candidate.template, task_id=victim.task_id, reason=DROP_ONE_PIPELINE,
                          detail=f"more than a third of {len(kept) + 1} tasks would be one-pipeline"))


def per_file_full(count: Counter[tuple[str, str]], c: Candidate) -> bool:
    path = subject_file(c)
    return path is not None and count[(c.template, path)] >= PER_FILE
