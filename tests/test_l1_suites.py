"""Quotas of the built-in L1 suites for mmengine, opencompass and InternLM (no network, no checkouts)."""
from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import pytest
import yaml

from evaluator.tasks.catalog import load_repos, load_tasks
from evaluator.tasks.specs import TaskSpec

ROOT = Path(__file__).resolve().parent.parent
SUITES = ("mmengine", "opencompass", "internlm")


@pytest.fixture(scope="module")
def tasks() -> dict[str, list[TaskSpec]]:
    out: dict[str, list[TaskSpec]] = {}
    for repo in SUITES:
        loaded = load_tasks(ROOT / "tasks" / "l1" / repo, task_set=None, repos=[repo], pattern=None)
        out[repo] = [task for task, _ in loaded]
    return out


@pytest.mark.parametrize("repo", SUITES)
def test_repo_file_pinned(repo: str) -> None:
    spec = load_repos(ROOT / "repos")[repo]
    assert re.fullmatch(r"[0-9a-f]{40}", spec.ref)
    assert spec.url.startswith("https://github.com/") and spec.url.endswith(".git")
    raw = yaml.safe_load((ROOT / "repos" / f"{repo}.yaml").read_text())
    assert raw["initial_working_dir"] == "."


@pytest.mark.parametrize("repo", SUITES)
def test_quotas(repo: str, tasks: dict[str, list[TaskSpec]]) -> None:
    suite = tasks[repo]
    assert len(suite) >= 20
    assert all(t.repo == repo for t in suite)
    assert all(re.fullmatch(rf"{repo}_l1_\d{{3}}", t.id) for t in suite)
    hard_or_medium = sum(t.difficulty in ("medium", "hard") for t in suite)
    assert Fraction(hard_or_medium, len(suite)) >= Fraction(2, 3)
    traps = sum(any(o.distractors for o in t.outputs) for t in suite)
    assert Fraction(traps, len(suite)) >= Fraction(1, 3)
    assert any(t.difficulty == "easy" for t in suite)


@pytest.mark.parametrize("repo", SUITES)
def test_every_task_is_explained_and_bounded(repo: str, tasks: dict[str, list[TaskSpec]]) -> None:
    for t in tasks[repo]:
        assert t.difficulty_reason and t.difficulty_reason.strip(), t.id
        assert "eval_artifacts/answer" in t.instruction, t.id
        assert "rm" in t.command_policy.prohibited and t.command_policy.allowed, t.id
        assert t.command_policy.write_paths_allowed == ["eval_artifacts/", "/tmp/"], t.id
        if t.difficulty == "hard":
            assert 15 <= t.max_commands <= 25 and 300 <= t.timeout_seconds <= 600, t.id
        for o in t.outputs:
            if o.comparator == "f1":
                assert 0 < float(o.comparator_args.get("threshold", 1.0)) <= 1.0, t.id
