"""compare flags runs that reached their models differently (API, tool format, vendor options)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from test_compare import compare, load, paired_runs


def set_config(run: Path, **config: object) -> None:
    meta = json.loads((run / "run.json").read_text())
    meta["config"] = config
    (run / "run.json").write_text(json.dumps(meta))


def test_runs_with_different_model_options_are_flagged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = paired_runs(tmp_path, p2f=0, f2p=0, both_pass=5, both_fail=5)
    set_config(a, api="chat", tool_format="native", extra_body={}, headers={"X-Key": "***"})
    set_config(b, api="responses", tool_format="native", extra_body={"top_k": 20}, reasoning_effort="high",
               headers={"X-Key": "***"})
    assert compare(a, b, "--out", tmp_path / "cmp") == 0
    err = capsys.readouterr().err
    warning = next(w for w in load(tmp_path / "cmp")["warnings"] if "reached their models differently" in w)
    assert 'api "chat" vs "responses"' in warning and 'extra_body {} vs {"top_k": 20}' in warning
    assert 'reasoning_effort null vs "high"' in warning and "headers" not in warning and "tool_format" not in warning
    assert "reached their models differently" in err
    assert "reached their models differently" in (tmp_path / "cmp" / "leaderboard.md").read_text()


def test_runs_with_the_same_options_are_not_flagged(tmp_path: Path) -> None:
    a, b = paired_runs(tmp_path, p2f=0, f2p=0, both_pass=5, both_fail=5)
    set_config(b, api="chat", tool_format="native")  # the defaults, spelled out: same as an old run.json
    assert compare(a, b, "--out", tmp_path / "cmp") == 0
    assert not any("differently" in w for w in load(tmp_path / "cmp")["warnings"])
