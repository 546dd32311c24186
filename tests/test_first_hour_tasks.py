"""Issue 20 items 6, 10, 11 and 14 (--tasks lists): one validation pass at load, with every
problem listed, file and line, did-you-mean, and oracle arguments checked by signature."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from conftest import ROOT, fixture_args, original_task, run_cli


def write(ws: dict[str, Any], name: str, task: dict[str, Any]) -> Path:
    path = ws["tasks"] / "l1" / "fixture" / name
    path.write_text(yaml.safe_dump(task, sort_keys=False))
    return path


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_all_task_file_errors_at_once_with_lines_and_suggestions(workspace: dict[str, Any]) -> None:
    """Item 10: only the first error came out, as raw pydantic text, with no suggestion."""
    bad = original_task("fx_bad", "n", "int", "glob_count", {"glob": "*.py"})
    bad["instuction"] = bad.pop("instruction")
    bad["max_comands"] = bad.pop("max_commands")
    bad_path = write(workspace, "fx_bad.yaml", bad)
    typo = original_task("fx_typo", "n", "int", "glob_cont", {"glob": "*.py"})
    typo["outputs"].append({"key": "m", "type": "int", "oracle": {"fn": "glob_count", "args": {"glob": "*.md"}},
                            "comparator": "set_equal"})
    typo_path = write(workspace, "fx_typo.yaml", typo)
    proc = run_cli("evaluator.run", "--model", "builtin/oracle", "--dry-run", *fixture_args(workspace))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    err = proc.stderr
    assert "5 problems in task files:" in err, err
    assert f"{bad_path}:{line_of(bad_path, 'instuction')}: field `instuction`: unknown key; did you mean `instruction`?" in err
    assert f"{bad_path}:{line_of(bad_path, 'max_comands')}: field `max_comands`: unknown key; did you mean `max_commands`?" in err
    assert f"{bad_path}:1: field `instruction`: Field required" in err
    assert f"{typo_path}:{line_of(typo_path, 'glob_cont')}: output `n`: unknown oracle 'glob_cont'" in err
    assert "did you mean `glob_count`?" in err
    assert "did you mean `set_equals`?" in err and f"{typo_path}:{line_of(typo_path, 'set_equal')}:" in err


def test_dry_run_catches_oracle_argument_typos(workspace: dict[str, Any]) -> None:
    """Item 6: a typo in an oracle argument passed --dry-run and made every task a harness_error."""
    path = write(workspace, "fx_001.yaml", original_task("fx_001", "py_files", "int", "glob_count",
                                                         {"glb": "**/*.py", "exclude_dirs": [".git"]}))
    for module in ("evaluator.run", "evaluator.validate"):
        args = ["--model", "builtin/oracle", "--dry-run"] if module == "evaluator.run" else []
        proc = run_cli(module, *args, *[a for a in fixture_args(workspace) if a not in ("--quiet", "--runs-root",
                                                                                         str(workspace["runs"]), "--sandbox", "bwrap", "local")])
        assert proc.returncode == 2, (module, proc.stdout, proc.stderr)
        assert f"{path}:{line_of(path, 'glb')}: output `py_files`: bad arguments for oracle 'glob_count'" in proc.stderr
        assert "did you mean `glob`?" in proc.stderr and "(it takes: glob, exclude_dirs)" in proc.stderr


def test_custom_oracle_that_does_not_import_hints_at_pythonpath(workspace: dict[str, Any]) -> None:
    """Item 10: "No module named 'my_oracles'" said nothing about PYTHONPATH."""
    write(workspace, "fx_001.yaml", original_task("fx_001", "n", "int", "my_oracles:count_things", {}))
    proc = run_cli("evaluator.run", "--model", "builtin/oracle", "--dry-run", *fixture_args(workspace))
    assert proc.returncode == 2 and "No module named 'my_oracles'" in proc.stderr
    assert "put the folder that contains it on PYTHONPATH" in proc.stderr


def test_repos_config_without_repos_means_every_registered_repo(workspace: dict[str, Any], tmp_path: Path) -> None:
    """Item 11: the built-in tasks failed with "unknown repo id" for repos missing from --repos-config."""
    repos = tmp_path / "mine"
    repos.mkdir()
    demo = yaml.safe_load((ROOT / "repos" / "demo.yaml").read_text())
    (repos / "demo.yaml").write_text(yaml.safe_dump({**demo, "url": str(ROOT / "repos" / demo["url"])}))
    proc = run_cli("evaluator.run", "--model", "builtin/oracle", "--dry-run", "--repos-config", str(repos),
                   "--cache-dir", str(workspace["cache"]))
    assert proc.returncode == 0, proc.stderr
    assert "20 trials planned" in proc.stdout and "note: leaving out the tasks of repos not registered" in proc.stderr
    assert "internlm" in proc.stderr


def test_tasks_takes_a_comma_separated_list(workspace: dict[str, Any]) -> None:
    """Item 14: `--tasks a,b` said "no tasks match" though --repos takes lists."""
    proc = run_cli("evaluator.run", "--model", "builtin/oracle", "--dry-run", "--tasks", "fx_001,fx_00[45]",
                   *fixture_args(workspace))
    assert proc.returncode == 0, proc.stderr
    assert "3 trials planned" in proc.stdout
