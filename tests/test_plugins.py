"""Plug-ins by dotted path: a user's own sandbox backend runs the demo, a backend that cannot open a
sandbox makes every task an infrastructure failure (not the model's, not a harness bug), and a
misspelt backend name is a usage error with a suggestion."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli


def run_demo(tmp_path: Path, sandbox: str, *extra: str):  # noqa: ANN201
    return run_cli("evaluator.run", "--repos", "demo", "--tasks", "demo_task_00[12]", "--model", "builtin/oracle",
                   "--sandbox", sandbox, "--runs-root", str(tmp_path / "runs"), "--cache-dir", str(tmp_path / "cache"),
                   "--quiet", *extra)


def test_a_backend_named_by_dotted_path_runs_the_tasks(tmp_path: Path) -> None:
    proc = run_demo(tmp_path, "tests.plugins.sandboxes:TaggedLocal")
    assert proc.returncode == 0, proc.stderr
    (meta,) = (tmp_path / "runs").glob("*/run.json")
    data = json.loads(meta.read_text())
    assert data["sandbox"] == "tagged-local" and data["sandbox_settings"] == {"plugin": "tests.plugins.sandboxes:TaggedLocal"}
    assert "2/2 trials, 2 passed" in proc.stdout


def test_no_sandbox_for_a_task_is_an_infrastructure_failure(tmp_path: Path) -> None:
    proc = run_demo(tmp_path, "tests.plugins.sandboxes:NoSandboxLeft")
    assert proc.returncode == 1, proc.stderr
    trials = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*/trials/*/*/epoch-0.json")]
    assert len(trials) == 2
    assert {t["failure_reason"] for t in trials} == {"sandbox_error"}
    assert all("every sandbox uid stayed taken" in t["error"] and "Traceback" not in t["error"] for t in trials)
    assert "sandbox_error" in proc.stdout + proc.stderr and "--retry-failed" in proc.stdout + proc.stderr


def test_a_misspelt_backend_is_a_usage_error_with_a_suggestion(tmp_path: Path) -> None:
    proc = run_demo(tmp_path, "bwarp")
    assert proc.returncode == 2
    assert "unknown sandbox backend 'bwarp' (did you mean 'bwrap'?)" in proc.stderr and "Traceback" not in proc.stderr
    missing = run_demo(tmp_path, "no_such_pkg.mod:Backend")
    assert missing.returncode == 2 and "cannot import 'no_such_pkg.mod'" in missing.stderr


def test_a_tool_by_dotted_path_reaches_the_run_and_a_bad_one_stops_it(tmp_path: Path) -> None:
    proc = run_demo(tmp_path, "local", "--tool", "tests.plugins.tools:LINE_COUNT")
    assert proc.returncode == 0, proc.stderr
    (meta,) = (tmp_path / "runs").glob("*/run.json")
    assert json.loads(meta.read_text())["config"]["extra_tools"] == ["tests.plugins.tools:LINE_COUNT"]
    bad = run_demo(tmp_path / "b", "local", "--tool", "tests.plugins.tools:NO_SUCH_TOOL")
    assert bad.returncode == 2 and "has no attribute 'NO_SUCH_TOOL'" in bad.stderr
    assert not (tmp_path / "b" / "runs").exists()
