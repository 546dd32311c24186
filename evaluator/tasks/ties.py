"""Answers decided by a tie-break: found through an oracle's `ties`, judged for `validate`.

An oracle that picks one item by a maximum, a minimum or an order (`largest_file`, the first
of several same-named classes, ...) registers `ties`, which lists every answer as correct as
the one it returned. When that list has more than one answer, a careful agent may give any of
them, so the task is only valid when its instruction states the rule (it says what to do on a
tie) and the comparator accepts every tied answer.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

from evaluator.scoring import oracle_registry as oracles
from evaluator.tasks.specs import OutputSpec, TaskSpec

# The instruction names the tie case ("if several files tie ...", "ties: list all").
TIE_RULE = re.compile(r"\b(tie|ties|tied|tying)\b", re.IGNORECASE)


def tied_answers(out: OutputSpec, repo_root: Path) -> list[Any]:
    """Every answer the oracle of `out` could have returned but for a tie-break; [] when it has no `ties`."""
    if out.oracle is None:
        return []
    oracle = oracles.resolve(out.oracle.fn)
    if oracle.kind != "fact" or oracle.ties is None:
        return []
    ties = oracle.ties
    return oracles.call(oracles.Oracle(oracle.name, ties, "fact", oracle.version), repo_root=repo_root, **out.oracle.args)


def tie_problems(task: TaskSpec, out: OutputSpec, tied: list[Any], accepted: Callable[[Any], bool]) -> list[str]:
    """Why the expected answer of `out` depends on a tie-break (none when at most one answer ties)."""
    if len(tied) < 2:
        return []
    shown = ", ".join(json.dumps(t)[:100] for t in tied[:3]) + (", ..." if len(tied) > 3 else "")
    problems = []
    if not TIE_RULE.search(task.instruction):
        problems.append(f"`{out.key}`: {len(tied)} answers tie ({shown}) and the instruction states no tie rule")
    refused = [t for t in tied if not accepted(t)]
    if refused:
        problems.append(f"`{out.key}`: {len(tied)} answers tie and the comparator refuses {len(refused)} of them "
                        f"({', '.join(json.dumps(t)[:100] for t in refused[:3])})")
    return problems
