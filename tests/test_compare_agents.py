"""`evaluator.compare` keys rows by (agent, model): two agents on one model are two rows,
compared with the same paired test as two models."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from test_compare import compare, load, trial, write_run


def agent_run(tmp: Path, name: str, agent: str, outcomes: list[bool]) -> Path:
    trials = [trial(f"t{i:02d}", ok, model="same-model").model_copy(update={"agent": agent, "agent_version": "1.0"})
              for i, ok in enumerate(outcomes)]
    return write_run(tmp / name, "same-model", trials)


def test_two_agents_on_one_model_are_two_rows_and_a_paired_comparison(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    plan = [(True, False)] * 8 + [(False, True)] * 1 + [(True, True)] * 6 + [(False, False)] * 5
    a = agent_run(tmp_path, "a", "builtin", [x for x, _ in plan])
    b = agent_run(tmp_path, "b", "mini-swe-agent", [y for _, y in plan])
    out = tmp_path / "cmp"
    assert compare(a, b, "--out", out) == 1  # 8 pass->fail against 1: a significant regression
    r = load(out)
    assert [(m["label"], m["agent"], m["model"]) for m in r["models"]] == [
        ("same-model", "builtin", "same-model"), ("mini-swe-agent · same-model", "mini-swe-agent", "same-model")]
    c = r["comparisons"][0]
    assert (c["mcnemar"]["pass_to_fail"], c["mcnemar"]["fail_to_pass"]) == (8, 1)
    assert c["candidate"] == "mini-swe-agent · same-model"
    rows = list(csv.DictReader((out / "leaderboard.csv").open()))
    assert [row["agent"] for row in rows] == ["builtin", "mini-swe-agent"]
    assert "mini-swe-agent · same-model is worse than same-model" in capsys.readouterr().out


def test_the_same_agent_and_model_twice_still_get_distinct_labels(tmp_path: Path) -> None:
    a = agent_run(tmp_path, "run-1", "opencode", [True, False])
    b = agent_run(tmp_path, "run-2", "opencode", [True, True])
    out = tmp_path / "cmp"
    compare(a, b, "--out", out)
    labels = [m["label"] for m in json.loads((out / "leaderboard.json").read_text())["models"]]
    assert labels == ["opencode · same-model (run-1)", "opencode · same-model (run-2)"]
