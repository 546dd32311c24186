"""`validate`'s count of one-pipeline tasks per repository, and the cap a generated set must meet.

A task labelled `one_pipeline: true` is answered by one shell pipeline (`find | wc`, `grep KEY
FILE`); a set where more than a third of the labelled tasks are is mostly a test of typing. Tasks
without the label (the curated set, the original AgentGym easy tasks of `--no-set-rules`) are
not counted, only reported.
"""
from __future__ import annotations

from collections import defaultdict

from evaluator.tasks.specs import TaskSpec


def share_report(tasks: list[TaskSpec]) -> tuple[list[str], bool]:
    """(lines to print, True when some repository's set breaks a rule)."""
    labelled: dict[str, list[bool]] = defaultdict(list)
    unlabelled: dict[str, int] = defaultdict(int)
    for t in tasks:
        if t.one_pipeline is None:
            unlabelled[t.repo] += 1
        else:
            labelled[t.repo].append(t.one_pipeline)
    lines: list[str] = []
    bad = False
    for repo in sorted(labelled):
        flags = labelled[repo]
        ones = sum(flags)
        over = 3 * ones > len(flags)  # integers: "more than a third" without rounding
        verdict = "FAIL: over the cap of a third" if over else "within the cap of a third"
        rest = f"; {unlabelled[repo]} unlabelled task(s) not counted" if unlabelled[repo] else ""
        lines.append(f"one-pipeline {repo}: {ones}/{len(flags)} labelled tasks ({ones / len(flags):.0%}), {verdict}{rest}")
        bad = bad or over
    return lines, bad
