"""`validate`'s second derivation: every oracle's answer, computed again a different way.

An answer key is only as good as the code that made it; a second derivation that shares no code
with the oracle (package `derivations/`) catches the oracle's bugs (the `-e ...#egg=` requirement
the first parser dropped). A task fails validation when its oracle has no second derivation, or
when the second answer would not pass the task's own comparator: the key is disputed.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any, Callable

from evaluator.scoring import oracle_registry as oracles
from evaluator.tasks.specs import OutputSpec


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


def _missing(out: OutputSpec, name: str) -> list[str]:
    return [f"`{out.key}`: oracle {name} has no second derivation (register one with "
            "@second_derivation, docs/03-add-tasks-new-oracle.md)"]


def fact_problems(out: OutputSpec, truth: Any, repo_root: Path, accepted: Callable[[Any], bool]) -> list[str]:
    """Problems when the second derivation of a fact output disagrees with `truth` (the oracle's
    answer) beyond what the comparator accepts; `accepted(value)` scores a candidate answer."""
    assert out.oracle is not None
    oracle = oracles.resolve(out.oracle.fn)
    derivation = oracles.derivation_for(oracle)
    if derivation is None:
        return _missing(out, oracle.name)
    try:
        second = oracles.call(oracles.Oracle(oracle.name, derivation.fn, "fact", oracle.version),
                              repo_root=repo_root, **out.oracle.args)
    except oracles.OracleError as exc:
        return [f"`{out.key}`: second derivation ({derivation.method}) failed: {exc}"]
    if second == truth or accepted(second):
        return []
    return [f"`{out.key}`: the two derivations disagree: the oracle gives {_shown(truth)}, "
            f"the second derivation ({derivation.method}) gives {_shown(second)}"]


def checker_problems(out: OutputSpec, repo_root: Path, good: dict[str, str], bad: dict[str, str]) -> list[str]:
    """For an answer checker: its second derivation accepts the solver's files (`good`) and
    refuses the damaged ones (`bad`), as the checker does."""
    assert out.oracle is not None
    oracle = oracles.resolve(out.oracle.fn)
    derivation = oracles.derivation_for(oracle)
    if derivation is None:
        return _missing(out, oracle.name)
    problems = []
    for files, want in ((good, True), (bad, False)):
        with tempfile.TemporaryDirectory() as d:
            for rel, text in files.items():
                (Path(d) / rel).parent.mkdir(parents=True, exist_ok=True)
                (Path(d) / rel).write_text(text)
            try:
                got = bool(oracles.call(oracles.Oracle(oracle.name, derivation.fn, "checker", oracle.version),
                                        repo_root=repo_root, answer_dir=Path(d), **out.oracle.args))
            except oracles.OracleError as exc:
                return [f"`{out.key}`: second derivation ({derivation.method}) failed: {exc}"]
        if got != want:
            which = "the solver's answer" if want else "a damaged answer"
            problems.append(f"`{out.key}`: the two derivations disagree on {which}: the checker says "
                            f"{want}, the second derivation ({derivation.method}) says {got}")
    return problems
