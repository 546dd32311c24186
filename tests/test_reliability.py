"""Reliability: API faults are retried or classified, bad tool calls are format errors,
and a run killed at any moment resumes to the same results."""
from __future__ import annotations

import pytest

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from conftest import FACTS, ROOT, fixture_args, load_results, only_run_dir, run_cli, turn
from evaluator.testing.scripted_server import Reply, ScriptedServer, completion, error, tool_call

pytestmark = pytest.mark.slow  # end to end: CI runs it after the fast tier (`pytest -m slow`)

TIMING = {"wall_time_s", "model_time_s"}


def solver(bad_first_call: bool = False, skip: int = 0):  # noqa: ANN201
    """A right-answering scripted agent; optionally its first tool call has broken JSON.
    `skip`: assistant turns another script made before this one takes over."""
    def answer(body: dict[str, Any]) -> Reply:
        messages = body["messages"]
        key = next(k for k in FACTS if f'"{k}"' in messages[1]["content"])
        t = turn(messages) - (1 if bad_first_call else 0) - skip
        if t < 0:
            return completion(tool_calls=[tool_call("run_command", '{"command": "ls', "bad")])
        if t == 0:
            return completion(tool_calls=[tool_call("run_command", {"command": "ls"}, "c0")])
        if t == 1:
            return completion(tool_calls=[tool_call("write_file", {"path": "eval_artifacts/answer.json",
                                                                   "content": json.dumps({key: FACTS[key]})}, "c1")])
        return completion("done")
    return answer


def comparable(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for k, r in results.items():
        r = json.loads(json.dumps(r))
        for f in TIMING:
            r["metrics"].pop(f, None)
        r.pop("transcript", None)
        out[k] = r
    return out


def test_429_500_and_bad_arguments_leave_results_unchanged(workspace: dict[str, Any]) -> None:
    answer = solver(bad_first_call=True)

    def script(body: dict[str, Any], i: int) -> Reply:
        if i % 3 == 2:
            return error(429, "slow down", retry_after=0.01)
        if i % 7 == 6:
            return error(500, "boom")
        return answer(body)

    # 43% of all requests fail, interleaved across 4 concurrent tasks, so one request can meet
    # a long run of faults: enough attempts make exhausting them a one-in-a-million event.
    with ScriptedServer(script) as srv:
        proc = run_cli("evaluator.run", "--model", "m", "--base-url", srv.base_url, "--max-attempts", "20",
                       *fixture_args(workspace))
        statuses = len(srv.requests)
    assert proc.returncode == 0, proc.stderr
    results = load_results(only_run_dir(workspace["runs"]), "fixture")
    assert len(results) == 6 and statuses > 6 * 4
    for r in results.values():
        assert r["success"] and r["failure_reason"] is None, r
        assert r["metrics"]["format_errors"] == 1 and r["metrics"]["commands_used"] == 1
        assert r["score"] == 100.0
    assert "api_error" not in json.dumps(results)


def run_with(workspace: dict[str, Any], script, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:  # noqa: ANN001
    with ScriptedServer(script) as srv:
        proc = run_cli("evaluator.run", "--model", "m", "--base-url", srv.base_url, "--tasks", "fx_001",
                       *fixture_args(workspace), *extra)
    results = load_results(only_run_dir(workspace["runs"]), "fixture") if workspace["runs"].exists() else {}
    return proc, results.get("fx_001", {})


def test_context_overflow_and_404_fail_fast_with_their_class(workspace: dict[str, Any]) -> None:
    calls: list[int] = []

    def overflow(body: dict[str, Any], i: int) -> Reply:
        calls.append(i)
        return error(400, "This model's maximum context length is 8192 tokens", code="context_length_exceeded")

    proc, r = run_with(workspace, overflow)
    assert proc.returncode == 0 and r["failure_reason"] == "context_overflow" and r["stop_reason"] == "context_overflow"
    assert len(calls) == 1  # not retried


def test_404_mid_run_is_api_error_and_exit_1(workspace: dict[str, Any]) -> None:
    calls: list[int] = []

    def gone(body: dict[str, Any], i: int) -> Reply:
        calls.append(i)
        return error(404, "model not found")

    proc, r = run_with(workspace, gone)
    assert proc.returncode == 1 and r["failure_reason"] == "api_error" and "404" in r["error"]
    assert len(calls) == 1


def test_dropped_connection_and_garbage_are_retried(workspace: dict[str, Any]) -> None:
    answer = solver()

    def flaky(body: dict[str, Any], i: int) -> Reply:
        if i == 0:
            return Reply(body={"choices": []}, drop=True)
        if i == 1:
            return Reply(body="<html>bad gateway</html>")
        return answer(body)

    proc, r = run_with(workspace, flaky)
    assert proc.returncode == 0, proc.stderr
    assert r["success"], r


def test_slow_response_times_out_then_is_classified(workspace: dict[str, Any]) -> None:
    proc, r = run_with(workspace, lambda body, i: Reply(body=completion("late").body, delay_s=2.0),
                       "--request-timeout", "0.3", "--max-attempts", "2")
    assert proc.returncode == 1 and r["failure_reason"] == "api_error" and "Timeout" in r["error"]


def test_empty_choices_and_unknown_tool_are_format_errors(workspace: dict[str, Any]) -> None:
    answer = solver(skip=1)

    def odd(body: dict[str, Any], i: int) -> Reply:
        if i == 0:
            return Reply(body={**completion("x").body, "choices": []})
        if i == 1:
            return completion(tool_calls=[tool_call("teleport", {}, "t1"), tool_call("run_command", {"cmd": 1}, "t2")])
        return answer(body)

    proc, r = run_with(workspace, odd)
    assert proc.returncode == 0, proc.stderr
    assert r["success"] and r["metrics"]["format_errors"] == 3 and r["metrics"]["commands_used"] == 1


def test_endless_format_errors_end_the_task(workspace: dict[str, Any]) -> None:
    proc, r = run_with(workspace, lambda b, i: completion(tool_calls=[tool_call("run_command", "{", f"x{i}")]),
                       "--max-format-errors", "3")
    assert r["stop_reason"] == "format_errors" and r["failure_reason"] == "format_errors"
    assert r["metrics"]["format_errors"] == 3 and r["metrics"]["commands_used"] == 0


def test_preflight_catches_bad_key_and_unreachable_endpoint(workspace: dict[str, Any]) -> None:
    with ScriptedServer(lambda b, i: error(401, "bad key"), answer_preflight=False) as srv:
        proc = run_cli("evaluator.run", "--model", "m", "--base-url", srv.base_url, *fixture_args(workspace))
    assert proc.returncode == 2 and "API key was rejected" in proc.stderr
    proc = run_cli("evaluator.run", "--model", "m", "--base-url", "http://127.0.0.1:9", "--max-attempts", "1",
                   *fixture_args(workspace))
    assert proc.returncode == 2 and "cannot reach" in proc.stderr and "Traceback" not in proc.stderr
    assert not workspace["runs"].exists() or not any(workspace["runs"].iterdir())


def slow_solver(delay: float):  # noqa: ANN201
    answer = solver()
    return lambda body, i: answer(body).model_copy(update={"delay_s": delay})


def start_run(workspace: dict[str, Any], base_url: str, *extra: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")} | {"PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "evaluator.run", "--model", "m", "--base-url", base_url,
                             "--concurrency", "2", *fixture_args(workspace), *extra],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_done(workspace: dict[str, Any], n: int, timeout: float = 60) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if workspace["runs"].exists() and any(workspace["runs"].iterdir()):
            run = only_run_dir(workspace["runs"])
            m = run / "manifest.json"
            if m.exists() and len(json.loads(m.read_text())["done"]) >= n:
                return run
        time.sleep(0.05)
    raise AssertionError("run made no progress")


def test_kill_9_then_resume_equals_uninterrupted(workspace: dict[str, Any], tmp_path: Path) -> None:
    with ScriptedServer(slow_solver(0.15)) as srv:
        proc = run_cli("evaluator.run", "--model", "m", "--base-url", srv.base_url, "--concurrency", "2",
                       *fixture_args(workspace, "--runs-root", str(tmp_path / "reference")))
        assert proc.returncode == 0, proc.stderr
        reference = load_results(only_run_dir(tmp_path / "reference"), "fixture")

        child = start_run(workspace, srv.base_url)
        run = wait_done(workspace, 2)
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert len(json.loads((run / "manifest.json").read_text())["done"]) < 6
        resumed = run_cli("evaluator.run", "--resume", str(run), "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    results = load_results(run, "fixture")
    assert comparable(results) == comparable(reference)
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["complete"] and sorted(manifest["done"]) == sorted(set(manifest["done"])) and len(manifest["done"]) == 6
    assert len(list((run / "trials" / "fixture").glob("*/epoch-*.json"))) == 6


def test_sigterm_writes_partial_report_and_a_working_resume_command(workspace: dict[str, Any]) -> None:
    with ScriptedServer(slow_solver(0.2)) as srv:
        child = start_run(workspace, srv.base_url)
        run = wait_done(workspace, 1)
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=60)
        assert child.returncode == 143, err
        report = (run / "results" / "REPORT.md").read_text()
        assert "PARTIAL REPORT" in report
        command = next(line.strip() for line in out.splitlines() if "--resume" in line)
        assert command == f"python -m evaluator.run --resume {run}"
        assert not json.loads((run / "manifest.json").read_text())["complete"]
        resumed = run_cli("evaluator.run", *command.split()[3:], "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert len(load_results(run, "fixture")) == 6 and all(r["success"] for r in load_results(run, "fixture").values())
    assert "PARTIAL" not in (run / "results" / "REPORT.md").read_text()


def test_retry_failed_redoes_only_infrastructure_failures(workspace: dict[str, Any]) -> None:
    answer = solver()
    broken = {"on": True}

    def script(body: dict[str, Any], i: int) -> Reply:
        task = body["messages"][1]["content"]
        if broken["on"] and "Task: fx_001" in task:
            return error(404, "model went away")
        if "Task: fx_002" in task:
            return completion("I give up")  # the model's own failure: must stay as it is
        return answer(body)

    with ScriptedServer(script) as srv:
        proc = run_cli("evaluator.run", "--model", "m", "--base-url", srv.base_url, *fixture_args(workspace))
        assert proc.returncode == 1
        run = only_run_dir(workspace["runs"])
        before = load_results(run, "fixture")
        assert before["fx_001"]["failure_reason"] == "api_error"
        assert before["fx_002"]["failure_reason"] == "missing_answer"
        broken["on"] = False
        n = len(srv.requests)
        # the key is never stored in the run, so it is passed again (here as a flag)
        again = run_cli("evaluator.run", "--retry-failed", str(run), "--api-key", "sk-again-1234", "--quiet")
        retried = {b["messages"][1]["content"].split("Task: ")[1].split()[0] for b in srv.requests[n:]}
    assert again.returncode == 0, again.stderr
    assert retried == {"fx_001"}
    assert "sk-again-1234" not in (run / "run.json").read_text()
    after = load_results(run, "fixture")
    assert after["fx_001"]["success"]
    assert comparable({k: v for k, v in after.items() if k != "fx_001"}) == comparable({k: v for k, v in before.items() if k != "fx_001"})
