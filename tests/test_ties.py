"""Answers decided by a tie-break: the oracles report ties, `validate` refuses a task whose
answer depends on one unless the instruction states the rule and the comparator accepts every
tied answer (issue 16: mmengine_l1_004, two copies of one logo tie for the largest file)."""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from conftest import POLICY, make_repo, run_cli
from evaluator.scoring import oracle_registry as oracles
from oracles.original import largest_file, largest_files
from oracles.repo_facts import python_class_attribute_map

LOGO = "x" * 300
FILES = {
    "docs/en/logo.png": LOGO,  # the tie: the same image in two doc trees
    "docs/zh_cn/logo.png": LOGO,
    "small.txt": "hi\n",
    "a/models.py": "class Net:\n    depth = 50\n",
    "b/models.py": "class Net:\n    depth = 101\n\n\nclass Head:\n    depth = 2\n",
}


def _ties(fn: str, repo: Path, **args: object) -> list[object]:
    ties = oracles.resolve(fn).ties
    assert ties is not None
    return ties(repo_root=repo, **args)


def test_largest_file_reports_the_tie_and_largest_files_lists_both(tmp_path: Path) -> None:
    make_repo(tmp_path / "r", FILES)
    repo = tmp_path / "r"
    assert largest_file(repo_root=repo, exclude_dirs=[".git"]) == {"path": "docs/en/logo.png", "size": 300}
    assert _ties("largest_file", repo, exclude_dirs=[".git"]) == [
        {"path": "docs/en/logo.png", "size": 300}, {"path": "docs/zh_cn/logo.png", "size": 300},
    ]
    assert largest_files(repo_root=repo, exclude_dirs=[".git"]) == {
        "paths": ["docs/en/logo.png", "docs/zh_cn/logo.png"], "size": 300,
    }
    (repo / "docs/zh_cn/logo.png").write_text(LOGO + "!")  # no tie any more: one answer
    assert _ties("largest_file", repo, exclude_dirs=[".git"]) == [{"path": "docs/zh_cn/logo.png", "size": 301}]


def test_same_named_classes_with_different_values_are_a_tie(tmp_path: Path) -> None:
    make_repo(tmp_path / "r", FILES)
    repo = tmp_path / "r"
    chosen = python_class_attribute_map(repo_root=repo, attr="depth")
    assert chosen == {"Head": 2, "Net": 50}  # a/models.py sorts first
    assert _ties("python_class_attribute_map", repo, attr="depth") == [chosen, {"Head": 2, "Net": 101}]


def _task(task_id: str, instruction: str, key: str, fn: str) -> dict[str, object]:
    return {"id": task_id, "repo": "fixture", "difficulty": "easy", "initial_working_dir": ".",
            "instruction": instruction, "command_policy": POLICY,
            "outputs": [{"key": key, "type": "json", "oracle": {"fn": fn, "args": {"exclude_dirs": [".git"]}},
                         "comparator": "equals"}],
            "max_commands": 6, "timeout_seconds": 60}


def test_validate_fails_a_task_decided_by_a_tie_break(tmp_path: Path) -> None:
    commit = make_repo(tmp_path / "src", FILES)
    repos = tmp_path / "repos"
    repos.mkdir()
    (repos / "fixture.yaml").write_text(yaml.safe_dump({"id": "fixture", "url": str(tmp_path / "src"), "ref": commit}))
    tasks = tmp_path / "tasks" / "l1" / "fixture"
    tasks.mkdir(parents=True)
    write = 'Write to eval_artifacts/answer.json: {"%s": ...} .'
    tasks_yaml = {
        # the original wording: no tie rule, and only the first path scores
        "tie_silent": _task("tie_silent", "Which file is the largest? " + write % "largest_file", "largest_file", "largest_file"),
        # a stated tie-break that still accepts only one of the tied answers
        "tie_ruled": _task("tie_ruled", "Which file is the largest? On a tie give the path that sorts first. "
                           + write % "largest_file", "largest_file", "largest_file"),
        # the fix: list every tied file
        "tie_listed": _task("tie_listed", "Which files are the largest? If several files tie, list every one. "
                            + write % "largest_files", "largest_files", "largest_files"),
    }
    for name, task in tasks_yaml.items():
        (tasks / f"{name}.yaml").write_text(yaml.safe_dump(task, sort_keys=False))
    out = tmp_path / "verdicts.json"
    r = run_cli("evaluator.validate", "--repos-config", str(repos), "--tasks-dir", str(tmp_path / "tasks"),
                "--cache-dir", str(tmp_path / "cache"), "--json", str(out))
    assert r.returncode == 1, r.stdout + r.stderr
    verdicts = {v["task_id"]: v for v in json.loads(out.read_text())}
    assert verdicts["tie_listed"]["ok"], verdicts["tie_listed"]
    silent, ruled = verdicts["tie_silent"]["problems"], verdicts["tie_ruled"]["problems"]
    assert any("2 answers tie" in p and "no tie rule" in p for p in silent), silent
    assert any("comparator refuses 1" in p for p in silent), silent
    assert not any("no tie rule" in p for p in ruled) and any("comparator refuses 1" in p for p in ruled), ruled
    assert "docs/zh_cn/logo.png" in r.stdout
