"""REPORT.md and `evaluator.compare` state the minimum detectable difference for the number of
tasks in the run (issue 16, item 3), so a reader knows what the run can and cannot tell apart."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import only_run_dir, run_cli, sandbox_flag
from test_compare import compare, paired_runs


def test_compare_prints_and_writes_the_mdd_for_the_common_tasks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = paired_runs(tmp_path, p2f=2, f2p=1, both_pass=10, both_fail=7)  # 20 shared tasks
    out = tmp_path / "cmp"
    assert compare(a, b, "--out", out) == 0
    # 2.801585 * 0.707107 / sqrt(20) = 0.442969
    sentence = "With 20 tasks, a paired comparison (80 % power, alpha = 0.05) reliably detects a success-rate difference of 44.3 points"
    assert sentence in capsys.readouterr().out
    assert sentence in (out / "leaderboard.md").read_text()


def test_demo_report_states_the_mdd(tmp_path: Path) -> None:
    proc = run_cli("evaluator.run", "--repos", "demo", "--model", "builtin/oracle", "--cache-dir", str(tmp_path / "cache"),
                   "--runs-root", str(tmp_path / "runs"), "--sandbox", sandbox_flag(), "--quiet")
    assert proc.returncode == 0, proc.stderr
    report = (only_run_dir(tmp_path / "runs") / "results" / "REPORT.md").read_text()
    # 20 demo tasks: 1.981020 / sqrt(20) = 0.442970
    assert "**Minimum detectable difference.** With 20 tasks, a paired comparison (80 % power, alpha = 0.05) " \
           "reliably detects a success-rate difference of 44.3 points or more" in report
