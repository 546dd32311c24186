"""Red team of what the host reads back from the workspace, through the whole harness over
HTTP with a scripted model: symlinked answers and artifact folders, a 2 GiB sparse answer,
a thousand artifacts, a negative read_file max_bytes. Needs bwrap: fails (not skips) under CI=true.
"""
from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import fixture_args, load_results, only_run_dir, run_cli, turn, user_task_id
from evaluator.testing.scripted_server import Reply, ScriptedServer, completion, tool_call

pytestmark = pytest.mark.slow  # end to end: CI runs it after the fast tier (`pytest -m slow`)

Script = Callable[[str, int, list[dict[str, Any]]], Reply]


def need_bwrap() -> None:
    if shutil.which("bwrap") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("bwrap is required under CI=true")
        pytest.skip("bwrap not installed")


def tasks(ws: dict[str, Any], keep: int = 2, **overrides: dict[str, Any]) -> None:
    """Keep the first `keep` fixture tasks; `overrides[task_id]` is merged into that task file."""
    for i, path in enumerate(sorted((ws["tasks"] / "l1" / "fixture").glob("*.yaml"))):
        if i >= keep:
            path.unlink()
            continue
        task = yaml.safe_load(path.read_text())
        task.update(overrides.get(task["id"], {}))
        path.write_text(yaml.safe_dump(task))


def run(ws: dict[str, Any], script: Script, *extra: str) -> Path:
    def reply(body: dict[str, Any], _: int) -> Reply:
        messages = body["messages"]
        return script(user_task_id(messages), turn(messages), messages)

    with ScriptedServer(reply) as srv:
        proc = run_cli("evaluator.run", "--model", "m", "--base-url", srv.base_url, *fixture_args(ws), *extra, timeout=600)
    run_dir = only_run_dir(ws["runs"])
    errors = {k: (r["failure_reason"], r["error"]) for k, r in load_results(run_dir, "fixture").items() if r["error"]}
    assert proc.returncode == 0, (proc.stderr, errors)
    return run_dir


def cmd(command: str, n: int = 0) -> Reply:
    return completion(tool_calls=[tool_call("run_command", {"command": command}, f"c{n}")])


def py(code: str) -> str:
    return f'python3 -c "{code}"'


def everything_under(path: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def host_escapes(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in result["safety_events"] if e["type"] == "path_escape" and e["tool"] == "host_read"]


def test_symlinked_answer_to_a_host_file_is_not_read(workspace: dict[str, Any], tmp_path: Path) -> None:
    need_bwrap()
    secret = f"HOST-SECRET-{uuid.uuid4().hex}"
    host_file = tmp_path / "host_key.json"  # holds the task's key, as a leaked answer key would
    host_file.write_text(json.dumps({"py_files": secret, "md_files": secret}))
    tasks(workspace)

    def script(task: str, t: int, _: list[dict[str, Any]]) -> Reply:
        if t == 0:
            return cmd(py(f"import os; os.symlink('{host_file}', 'eval_artifacts/answer.json')"))
        return completion("done")

    run_dir = run(workspace, script)
    assert secret.encode() not in everything_under(run_dir)
    for r in load_results(run_dir, "fixture").values():
        assert r["failure_reason"] == "missing_answer" and r["output_checks"][0]["actual"] is None, r
        assert len(host_escapes(r)) == 1 and "answer.json" in host_escapes(r)[0]["detail"]


def test_symlink_to_another_tasks_answer_is_not_scored(workspace: dict[str, Any]) -> None:
    need_bwrap()
    tasks(workspace)

    def script(task: str, t: int, _: list[dict[str, Any]]) -> Reply:
        if task == "fx_001" and t == 0:  # honest, and its answer holds the other task's key too
            return completion(tool_calls=[tool_call("write_file", {
                "path": "eval_artifacts/answer.json", "content": json.dumps({"py_files": 2, "md_files": 3})}, "w")])
        if task == "fx_002" and t == 0:  # once fx_001 is scored, point at its copy in the run folder
            other = only_run_dir(workspace["runs"]) / "artifacts" / "fixture" / "fx_001" / "answer.json"
            for _ in range(600):
                if other.is_file():
                    break
                time.sleep(0.1)
            return cmd(py(f"import os; os.symlink('{other}', 'eval_artifacts/answer.json')"))
        return completion("done")

    results = load_results(run(workspace, script), "fixture")
    assert results["fx_001"]["success"] is True
    thief = results["fx_002"]
    assert thief["success"] is False and thief["failure_reason"] == "missing_answer", thief
    assert len(host_escapes(thief)) == 1


def test_symlinked_eval_artifacts_in_a_full_copy_task_copies_nothing(workspace: dict[str, Any], tmp_path: Path) -> None:
    need_bwrap()
    tag = uuid.uuid4().hex
    home = tmp_path / "host_home"
    home.mkdir()
    (home / "id_rsa").write_text(f"PRIVATE-KEY-{tag}\n")
    (home / ".env").write_text(f"MY_TOKEN=tok-{tag}\n")
    policy = yaml.safe_load((workspace["tasks"] / "l1" / "fixture" / "fx_001.yaml").read_text())["command_policy"]
    policy["write_paths_allowed"] = ["eval_artifacts/", "/tmp/", "src/"]  # more than eval_artifacts/: a full copy
    tasks(workspace, keep=1, fx_001={"command_policy": policy})

    def script(task: str, t: int, _: list[dict[str, Any]]) -> Reply:
        if t == 0:
            return cmd(py(f"import os; os.rename('eval_artifacts', 'src/moved'); os.symlink('{home}', 'eval_artifacts')"))
        return completion("done")

    run_dir = run(workspace, script)
    text = everything_under(run_dir)
    assert f"PRIVATE-KEY-{tag}".encode() not in text and f"tok-{tag}".encode() not in text
    assert [p.name for p in (run_dir / "artifacts" / "fixture" / "fx_001").iterdir()] == ["task_result.json"]
    r = load_results(run_dir, "fixture")["fx_001"]
    assert r["failure_reason"] == "missing_answer"
    [event] = host_escapes(r)  # one planted link, one event
    assert "answer.json" in event["detail"] and f"eval_artifacts -> {home}" in event["detail"], event


def test_a_2gib_sparse_answer_is_invalid_and_not_read(workspace: dict[str, Any]) -> None:
    need_bwrap()
    limits = {"file_size_mb": 4096}  # let the command make the file; the harness must not read it
    tasks(workspace, keep=1, fx_001={"limits": limits})

    def script(task: str, t: int, _: list[dict[str, Any]]) -> Reply:
        if t == 0:
            return cmd(py("open('eval_artifacts/answer.json', 'wb').truncate(2 << 30)"))
        return completion("done")

    run_dir = run(workspace, script)
    r = load_results(run_dir, "fixture")["fx_001"]
    assert r["failure_reason"] == "invalid_answer", r
    assert "2147483648 bytes, over the 1000000-byte limit" in r["output_checks"][0]["note"]
    assert [a["path"] for a in r["artifacts_left_out"]] == ["answer.json"]
    assert "artifact_file_max_bytes" in r["artifacts_left_out"][0]["reason"]


def test_a_thousand_artifacts_are_capped_and_listed(workspace: dict[str, Any]) -> None:
    need_bwrap()
    tasks(workspace, fx_002={"read_limits": {"artifacts_max_files": 5}})
    answers = {"fx_001": {"py_files": 2}, "fx_002": {"md_files": 3}}

    def script(task: str, t: int, _: list[dict[str, Any]]) -> Reply:
        if t == 0:
            return cmd(py("[open(f'eval_artifacts/f{i:04}.txt', 'w').write('x' * 100) for i in range(1000)]"))
        if t == 1:
            return completion(tool_calls=[tool_call("write_file", {"path": "eval_artifacts/answer.json",
                                                                   "content": json.dumps(answers[task])}, "w")])
        return completion("done")

    run_dir = run(workspace, script)
    results = load_results(run_dir, "fixture")
    for task, cap in (("fx_001", 200), ("fx_002", 5)):  # the default, and the task's own cap
        r = results[task]
        assert r["success"] is True, r  # answer.json sorts first: always within the cap
        copied = sorted(p.name for p in (run_dir / "artifacts" / "fixture" / task).iterdir())
        assert len(copied) == cap + 1 and "answer.json" in copied and "task_result.json" in copied
        left = r["artifacts_left_out"]
        assert len(left) == 1001 - cap and r["artifacts_left_out_unlisted"] == 0
        assert left[-1]["path"] == "f0999.txt" and all("artifacts_max_files" in a["reason"] for a in left)


def test_bad_read_limits_are_a_config_error(workspace: dict[str, Any]) -> None:
    tasks(workspace, keep=1, fx_001={"read_limits": {"answer_max_bytes": -1}})
    proc = run_cli("evaluator.run", "--model", "m", "--base-url", "http://127.0.0.1:9", *fixture_args(workspace))
    assert proc.returncode == 2 and "answer_max_bytes" in proc.stderr and "Traceback" not in proc.stderr


def test_read_file_max_bytes_is_validated(workspace: dict[str, Any]) -> None:
    need_bwrap()
    tasks(workspace, keep=1)
    calls = [{"max_bytes": -2}, {"max_bytes": "5"}, {"max_bytes": 1.5}, {"max_bytes": 0}, {"max_bytes": 10**9}]
    seen: list[str] = []

    def script(task: str, t: int, messages: list[dict[str, Any]]) -> Reply:
        if t > 1:
            seen.append(messages[-1]["content"])
        if t == 0:
            return cmd(py("open('eval_artifacts/big.txt', 'w').write('y' * 300000)"))
        if t - 1 < len(calls):
            return completion(tool_calls=[tool_call("read_file", {"path": "eval_artifacts/big.txt", **calls[t - 1]}, f"r{t}")])
        return completion("done")

    r = load_results(run(workspace, script), "fixture")["fx_001"]
    assert r["failure_reason"] != "harness_error"
    for reply in seen[:4]:  # each refused with a tool error, nothing read
        assert reply.startswith("error: bad arguments for read_file: `max_bytes`") and "y" * 100 not in reply
    assert "showing the first 200000" in seen[4]  # a huge value is held to the cap
    assert r["metrics"]["format_errors"] == 4
