"""Model presets: a user file adds a model whose preset fills the run's defaults (flags
still win), and the same entries price the leaderboard's cost column."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import fixture_args, only_run_dir, run_cli
from test_compare import compare, load, trial, write_run
from evaluator.testing.scripted_server import ScriptedServer, completion, error

USER = "models:\n  'local-*': {vision: true, tool_format: text, context_window: 32768, input: 0.5, output: 2}\n"


def config_of(workspace: dict[str, Any]) -> dict[str, Any]:
    return json.loads((only_run_dir(workspace["runs"]) / "run.json").read_text())["config"]


def test_user_preset_fills_defaults_and_flags_win(workspace: dict[str, Any], tmp_path: Path) -> None:
    presets = tmp_path / "mine.yaml"
    presets.write_text(USER)
    with ScriptedServer(lambda b, i: error(400, "function calling is not supported") if "tools" in b else completion("done")) as srv:
        proc = run_cli("evaluator.run", "--model", "local-qwen", "--base-url", srv.base_url, "--tasks", "fx_001",
                       "--model-presets", str(presets), *fixture_args(workspace))
    assert proc.returncode == 0, proc.stderr  # text tool format, from the preset: no `tools` sent
    config = config_of(workspace)
    assert (config["preset"], config["tool_format"], config["vision"], config["context_window"]) == ("local-*", "text", True, 32768)
    with ScriptedServer(lambda b, i: completion("done")) as srv:
        proc = run_cli("evaluator.run", "--model", "local-qwen", "--base-url", srv.base_url, "--tasks", "fx_001",
                       "--tool-format", "native", "--model-presets", str(presets), *fixture_args(workspace),
                       "--runs-root", str(tmp_path / "runs2"))
        sent_tools = "tools" in srv.requests[0]
    assert proc.returncode == 0, proc.stderr
    flagged = json.loads((only_run_dir(tmp_path / "runs2") / "run.json").read_text())["config"]
    assert sent_tools and flagged["tool_format"] == "native" and flagged["vision"] is True  # the flag won, the rest stayed


def test_builtin_presets_know_common_models(workspace: dict[str, Any]) -> None:
    proc = run_cli("evaluator.run", "--model", "builtin/oracle", "--tasks", "fx_001", *fixture_args(workspace))
    assert proc.returncode == 0, proc.stderr
    assert config_of(workspace)["preset"] == "builtin/*"


@pytest.mark.parametrize("text, message", [
    ("models:\n  x: {vision: maybe}\n", "is invalid at models.x.vision"),
    ("models:\n  x: {colour: red}\n", "is invalid at models.x.colour"),
    ("models: [\n", "is not readable YAML"),
])
def test_bad_presets_file_is_one_sentence_exit_2(workspace: dict[str, Any], tmp_path: Path, text: str, message: str) -> None:
    presets = tmp_path / "bad.yaml"
    presets.write_text(text)
    proc = run_cli("evaluator.run", "--model", "builtin/oracle", "--model-presets", str(presets), *fixture_args(workspace))
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


def test_presets_price_the_leaderboard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    presets = tmp_path / "mine.yaml"
    presets.write_text(USER)
    monkeypatch.setenv("AGENTGYM_MODEL_PRESETS", str(presets))
    a = [trial("t1", True, model="local-qwen", tokens=(2_000_000, 1_000_000)), trial("t2", False, model="local-qwen")]
    b = [trial("t1", True, model="gpt-4o", tokens=(1_000_000, 0)), trial("t2", True, model="gpt-4o")]
    out = tmp_path / "cmp"
    assert compare(write_run(tmp_path / "a", "local-qwen", a), write_run(tmp_path / "b", "gpt-4o", b), "--out", out) == 0
    m, n = load(out)["models"]
    assert m["cost_usd"] == pytest.approx(2 * 0.5 + 1 * 2)  # from the user's file
    assert n["cost_usd"] == pytest.approx(2.5)  # from the built-in presets
