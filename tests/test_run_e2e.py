"""The CLI end to end: demo with builtin models, a scripted HTTP model on a fixture repo,
original-format task files, pinned commits, and the clear-error cases."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from conftest import (FACTS, fixture_args, git, load_results, only_run_dir, run_cli, sandbox_flag, turn,
                      user_task_id)
from evaluator.testing.scripted_server import Reply, ScriptedServer, completion, error, tool_call


def demo_run(tmp_path: Path, model: str) -> Path:
    """As the README runs it: the default, relative runs root, from the caller's directory."""
    proc = run_cli("evaluator.run", "--repos", "demo", "--model", model, "--cache-dir", str(tmp_path / "cache"),
                   "--sandbox", sandbox_flag(), "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return only_run_dir(tmp_path / "runs")


def test_demo_oracle_scores_100_and_writes_the_whole_layout(tmp_path: Path) -> None:
    run = demo_run(tmp_path, "builtin/oracle")
    results = load_results(run, "demo")
    assert len(results) >= 8 and all(r["success"] for r in results.values()), {k: r["failure_reason"] for k, r in results.items()}
    assert all(r["score"] == 100 for r in results.values())
    for name in ("run.json", "manifest.json", "results/REPORT.md", "results/demo/index.json", "transcripts/demo.jsonl"):
        assert (run / name).is_file(), name
    task = next(iter(results))
    assert (run / "artifacts" / "demo" / task / "task_result.json").is_file()
    assert any((run / "artifacts" / "demo" / t / "answer.json").is_file() for t in results)
    assert any((run / "artifacts" / "demo" / t / "answer.md").is_file() for t in results)
    one = results[task]
    for key in ("schema_version", "task_id", "repo_id", "model", "success", "score", "failure_reason", "stop_reason",
                "metrics", "output_checks", "safety_events", "transcript"):
        assert key in one
    lines = [json.loads(x) for x in (run / "transcripts" / "demo.jsonl").read_text().splitlines()]
    names = {c["function"]["name"] for x in lines for c in x["message"].get("tool_calls", [])}
    assert {"run_command", "write_file"} <= names
    tool_outputs = [x["message"]["content"] for x in lines if x["message"]["role"] == "tool"]
    assert any('"exit_code": 0' in c for c in tool_outputs)  # the sandboxed command really ran
    meta = json.loads((run / "run.json").read_text())
    assert meta["repos"]["demo"]["pinned"] and len(meta["task_set_hash"]) == 16
    assert "100.0%" in (run / "results" / "REPORT.md").read_text()
    assert all(r["metrics"]["valid_rate"] == 1.0 for r in results.values())  # the probe command really ran


def test_demo_nop_scores_zero(tmp_path: Path) -> None:
    run = demo_run(tmp_path, "builtin/nop")
    results = load_results(run, "demo")
    assert results and not any(r["success"] for r in results.values())
    assert {r["failure_reason"] for r in results.values()} == {"missing_answer"}
    assert all(r["score"] == 0 for r in results.values())


def half_right_script(right: set[str]):  # noqa: ANN201
    """turn 0: `ls`; turn 1: write the answer (right for tasks in `right`, off by one otherwise); turn 2: stop."""
    def script(body: dict[str, Any], _: int) -> Reply:
        messages = body["messages"]
        task = user_task_id(messages)
        key = next(k for k in FACTS if f'"{k}"' in messages[1]["content"])
        t = turn(messages)
        if t == 0:
            return completion(tool_calls=[tool_call("run_command", {"command": "ls -1"}, "c0")], reasoning="look first")
        if t == 1:
            value = FACTS[key]
            if task not in right:
                value = (not value) if isinstance(value, bool) else value + "!" if isinstance(value, str) else value + 1
            return completion(tool_calls=[tool_call("write_file", {"path": "eval_artifacts/answer.json",
                                                                   "content": json.dumps({key: value})}, "c1")])
        return completion("done")
    return script


def test_scripted_http_model_half_right_is_scored_exactly(workspace: dict[str, Any]) -> None:
    right = {"fx_001", "fx_003", "fx_005"}
    with ScriptedServer(half_right_script(right)) as srv:
        proc = run_cli("evaluator.run", "--model", "scripted-1", "--base-url", srv.base_url.removesuffix("/v1"),
                       *fixture_args(workspace))
        first_body = srv.requests[0]
    assert proc.returncode == 0, proc.stderr
    run = only_run_dir(workspace["runs"])
    results = load_results(run, "fixture")
    assert {k for k, r in results.items() if r["success"]} == right
    assert {r["failure_reason"] for k, r in results.items() if k not in right} == {"wrong_answer"}
    for r in results.values():
        assert r["metrics"]["commands_used"] == 1 and r["metrics"]["valid_rate"] == 1.0
        assert r["response_models"] == ["scripted"] and r["system_fingerprints"] == ["fp_scripted"]
    assert results["fx_001"]["score"] == 100.0
    # wrong answer: 0 + 0 partial, process points only with credit -> 0
    assert results["fx_002"]["score"] == 0.0
    assert first_body["temperature"] == 0 and first_body["max_tokens"] == 4096
    assert {t["function"]["name"] for t in first_body["tools"]} == {"run_command", "read_file", "list_dir", "write_file"}
    transcript = (run / "transcripts" / "fixture.jsonl").read_text()
    assert "look first" in transcript  # reasoning_content kept
    assert "reasoning_content" not in json.dumps(srv.requests[1]["messages"])  # but not sent back by default


def test_pinned_commit_is_used_after_the_branch_moves(workspace: dict[str, Any]) -> None:
    src = workspace["src"]
    (src / "src" / "extra.py").write_text("x = 1\n")
    git(src, "add", "-A")
    git(src, "commit", "-q", "-m", "moves on")
    proc = run_cli("evaluator.run", "--model", "builtin/oracle", "--tasks", "fx_001", *fixture_args(workspace))
    assert proc.returncode == 0, proc.stderr
    r = load_results(only_run_dir(workspace["runs"]), "fixture")["fx_001"]
    assert r["success"] and r["output_checks"][0]["expected"] == FACTS["py_files"]
    assert r["repo_commit"] == workspace["commit"]


def test_bad_task_file_names_file_and_field(workspace: dict[str, Any]) -> None:
    bad = workspace["tasks"] / "l1" / "fixture" / "fx_bad.yaml"
    bad.write_text(yaml.safe_dump({"id": "fx_bad", "repo": "fixture", "instruction": "x", "outputs": [],
                                   "max_commands": "many"}))
    proc = run_cli("evaluator.run", "--model", "builtin/oracle", "--dry-run", *fixture_args(workspace))
    assert proc.returncode == 2
    assert "fx_bad.yaml" in proc.stderr and "field `outputs`" in proc.stderr and "Traceback" not in proc.stderr


def test_unknown_oracle_unknown_repo_and_missing_key_exit_2(workspace: dict[str, Any]) -> None:
    path = workspace["tasks"] / "l1" / "fixture" / "fx_001.yaml"
    task = yaml.safe_load(path.read_text())
    task["outputs"][0]["oracle"]["fn"] = "no_such_oracle"
    path.write_text(yaml.safe_dump(task))
    proc = run_cli("evaluator.run", "--model", "builtin/oracle", *fixture_args(workspace))
    assert proc.returncode == 2 and "unknown oracle 'no_such_oracle'" in proc.stderr and "Traceback" not in proc.stderr

    proc = run_cli("evaluator.run", "--model", "builtin/oracle", "--repos", "nope", *fixture_args(workspace))
    assert proc.returncode == 2 and "unknown repo id 'nope'" in proc.stderr

    proc = run_cli("evaluator.run", "--model", "gpt-4o", *fixture_args(workspace), env={"OPENAI_API_KEY": ""})
    assert proc.returncode == 2 and "API key is required" in proc.stderr and "Traceback" not in proc.stderr
    assert not workspace["runs"].exists() or not any(workspace["runs"].iterdir())  # nothing half-written


def test_missing_ref_and_unwritable_runs_root_exit_2(workspace: dict[str, Any], tmp_path: Path) -> None:
    (workspace["repos"] / "fixture.yaml").write_text(yaml.safe_dump({"id": "fixture", "url": str(workspace["src"]), "ref": "f" * 40}))
    proc = run_cli("evaluator.run", "--model", "builtin/oracle", *fixture_args(workspace))
    assert proc.returncode == 2 and "does not exist" in proc.stderr and "Traceback" not in proc.stderr


def test_tasks_are_isolated_and_the_shared_checkout_is_read_only(workspace: dict[str, Any]) -> None:
    """Each task writes its own eval_artifacts/ only; the repo itself stays untouched."""
    probe = "ls eval_artifacts; head -n 1 src/app.py; echo LEAK > eval_artifacts/leak.txt; echo HACK > src/app.py"

    def script(body: dict[str, Any], _: int) -> Reply:
        t = turn(body["messages"])
        if t == 0:
            return completion(tool_calls=[tool_call("run_command", {"command": probe}, "p")])
        return completion("done")

    with ScriptedServer(script) as srv:
        proc = run_cli("evaluator.run", "--model", "m", "--base-url", srv.base_url, "--concurrency", "1",
                       *fixture_args(workspace))
    assert proc.returncode == 0, proc.stderr
    run = only_run_dir(workspace["runs"])
    outputs = [json.loads(json.loads(x)["message"]["content"]) for x in (run / "transcripts" / "fixture.jsonl").read_text().splitlines()
               if json.loads(x)["message"]["role"] == "tool"]
    assert len(outputs) == 6
    for out in outputs:  # no task sees another's leak.txt or a changed app.py
        assert out["stdout"] == "import os\n", out
    for leak in run.glob("artifacts/fixture/*/leak.txt"):
        assert leak.read_text() == "LEAK\n"  # the write it was allowed to make was kept
    if sandbox_flag() == "bwrap":
        assert all("Read-only file system" in o["stderr"] or "Permission denied" in o["stderr"] for o in outputs)
    assert not list(workspace["cache"].rglob("leak.txt"))
    assert all((p / "src" / "app.py").read_text().startswith("import os") for p in (workspace["cache"] / "checkouts").iterdir())


def test_provider_dialects_and_reasoning_round_trip(workspace: dict[str, Any]) -> None:
    """A provider that wants max_completion_tokens and rejects temperature still works, and
    --include-reasoning-content sends reasoning back."""
    def picky(body: dict[str, Any], _: int) -> Reply:
        if "max_tokens" in body:
            return error(400, "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.")
        if "temperature" in body:
            return error(400, "Unsupported value: 'temperature' does not support 0 with this model.")
        return half_right_script({"fx_001"})(body, _)

    with ScriptedServer(picky) as srv:
        proc = run_cli("evaluator.run", "--model", "m", "--base-url", srv.base_url, "--tasks", "fx_001",
                       "--include-reasoning-content", "--extra-body", '{"top_p": 0.5}', *fixture_args(workspace))
        bodies = list(srv.requests)
    assert proc.returncode == 0, proc.stderr
    assert load_results(only_run_dir(workspace["runs"]), "fixture")["fx_001"]["success"]
    last = bodies[-1]
    assert last["max_completion_tokens"] == 4096 and "temperature" not in last and last["top_p"] == 0.5
    assert any(m.get("reasoning_content") == "look first" for m in last["messages"])
