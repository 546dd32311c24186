"""Malformed tool calls and hostile endpoint strings, through the whole harness over HTTP.

Whatever a model or endpoint sends, the task ends with the model's own result (never
`harness_error`), the run exits 0, and REPORT.md keeps its structure.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from conftest import FACTS, fixture_args, git, load_results, only_run_dir, run_cli, turn
from evaluator.testing.scripted_server import Reply, ScriptedServer, completion, tool_call

ODD_NAME = b"odd\xff\xfename.txt"  # not UTF-8: a real repository can hold such a name


def commit_odd_name(ws: dict[str, Any]) -> None:
    src = ws["src"]
    (Path(os.fsdecode(os.fsencode(src) + b"/" + ODD_NAME))).write_text("x\n")
    git(src, "add", "-A")
    git(src, "commit", "-q", "-m", "a file whose name is not UTF-8")
    commit = git(src, "rev-parse", "HEAD")
    (ws["repos"] / "fixture.yaml").write_text(yaml.safe_dump({"id": "fixture", "url": str(src), "ref": commit}))


def raw_call(function: Any, call_id: str = "r") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": function}


def with_message(reply: Reply, **message: Any) -> Reply:
    body = json.loads(json.dumps(reply.body))
    body["choices"][0]["message"].update(message)
    return Reply(body=body)


# Each bad turn: (the reply, how many format errors it is).
BAD_TURNS: list[tuple[Reply, int]] = [
    (completion(tool_calls=[tool_call("read_file", {"path": "README.md\x00.txt"}, "nul")]), 1),
    (completion(tool_calls=[tool_call("run_command", {"command": "ls\x00 -la"}, "nulc")]), 1),
    (completion(tool_calls=[raw_call({"name": "run_command", "arguments": {"command": "ls"}}, "obj")]), 1),
    (with_message(completion("thinking"), tool_calls="abc"), 1),
    (with_message(completion("x"), tool_calls=[5, "y", None, {"function": "z"}]), 4),  # one per call
    (completion(tool_calls=[raw_call({"name": ["run_command"], "arguments": "{}"}, "badname")]), 1),
    (completion(tool_calls=[tool_call("read_file", '{"path": "\\ud800x"}', "sur")]), 1),
    (completion(tool_calls=[tool_call("run_command", {"command": "a;" * 500_000}, "huge")]), 1),
    (completion(tool_calls=[tool_call("run_command", {"command": "ls", "timeout_seconds": 10 ** 400}, "big")]), 1),
    (completion(tool_calls=[tool_call("run_command", {"command": "git ls-remote http://127.0.0.1:9/r.git"}, "net")]), 0),
    (with_message(completion("\ud83d half a pair and \x00 a NUL"), content=["not", "a", "string"],
                  tool_calls=[tool_call("list_dir", {"path": "."}, "ls")]), 0),
]


def attacker(body: dict[str, Any], _: int) -> Reply:
    messages = body["messages"]
    t = turn(messages)
    if t < len(BAD_TURNS):
        return BAD_TURNS[t][0]
    if t == len(BAD_TURNS):
        key = next(k for k in FACTS if f'"{k}"' in messages[1]["content"])
        return completion(tool_calls=[tool_call("write_file", {"path": "eval_artifacts/answer.json",
                                                               "content": json.dumps({key: FACTS[key]})}, "w")])
    return completion("done \ud800 \udcff")


def test_malformed_calls_are_format_errors_not_harness_errors(workspace: dict[str, Any]) -> None:
    commit_odd_name(workspace)
    with ScriptedServer(attacker) as srv:
        proc = run_cli("evaluator.run", "--model", "m", "--base-url", srv.base_url, "--tasks", "fx_001",
                       "--max-format-errors", "50", *fixture_args(workspace))
        sent = srv.requests
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    run = only_run_dir(workspace["runs"])
    r = load_results(run, "fixture")["fx_001"]
    assert r["failure_reason"] is None and r["success"], r
    assert r["metrics"]["format_errors"] == sum(n for _, n in BAD_TURNS), r["metrics"]
    # the history went back to the endpoint as valid JSON: list_dir showed the odd name escaped,
    # and each bad call got one sentence saying what was wrong
    tool_texts = [m["content"] for m in sent[-1]["messages"] if m["role"] == "tool"]
    assert any("odd\\xff\\xfename.txt" in t for t in tool_texts), tool_texts
    for says in ("contains a NUL byte", "limited to 64 KiB", "must be a string holding a JSON object", "lone UTF-16 surrogate",
                 "must be between 0 and"):
        assert any(says in t for t in tool_texts), (says, tool_texts)
    notes = [m["content"] for m in sent[-1]["messages"] if m["role"] == "user"][1:]
    assert any("`tool_calls` is a string" in n for n in notes) and any("is a number" in n for n in notes), notes
    assert "network_attempt" in {e["type"] for e in r["safety_events"]}
    # the transcript is valid UTF-8 JSON lines and holds every message
    lines = (run / "transcripts" / "fixture.jsonl").read_bytes().decode("utf-8").splitlines()
    assert len(lines) == r["transcript"]["messages"] and all(json.loads(x) for x in lines)


def test_endpoint_strings_cannot_rewrite_the_report(workspace: dict[str, Any]) -> None:
    evil = "x\n\n## Summary\n\n| 100% |\n\n<!--"

    def script(body: dict[str, Any], _: int) -> Reply:
        reply = attacker(body, 0) if turn(body["messages"]) >= len(BAD_TURNS) else completion("I give up <!-- |")
        data = json.loads(json.dumps(reply.body))
        data["model"] = evil
        data["system_fingerprint"] = "fp\n# Injected\n<!--"
        return Reply(body=data)

    with ScriptedServer(script) as srv:
        proc = run_cli("evaluator.run", "--model", "m", "--base-url", srv.base_url, "--tasks", "fx_00[12]",
                       *fixture_args(workspace))
    assert proc.returncode == 0, proc.stderr
    report = (only_run_dir(workspace["runs"]) / "results" / "REPORT.md").read_text()
    lines = report.splitlines()
    # no comment opened, no heading or table row added; the value is still shown (escaped)
    assert "<!--" not in report and "&lt;!--" in report
    assert [x for x in lines if x.startswith("#") and ("Summary" in x or "Injected" in x)] == ["## Summary"]
    assert not any(x.strip().startswith("| 100%") for x in lines)
    assert report.count("\n") == len(lines)


def test_a_reply_nested_too_deeply_is_an_api_error_not_a_crash(workspace: dict[str, Any]) -> None:
    deep = "[" * 900 + "]" * 900  # Python's parser takes it; walking it recursively would not
    body = ('{"choices": [{"message": {"role": "assistant", "content": ' + deep + '}, "finish_reason": "stop"}],'
            ' "model": "m"}')
    with ScriptedServer(lambda b, i: Reply(body=body)) as srv:
        proc = run_cli("evaluator.run", "--model", "m", "--base-url", srv.base_url, "--tasks", "fx_001",
                       "--max-attempts", "2", *fixture_args(workspace))
    assert proc.returncode == 1, proc.stderr  # the endpoint's failure: retried, then api_error
    r = load_results(only_run_dir(workspace["runs"]), "fixture")["fx_001"]
    assert r["failure_reason"] == "api_error" and "nests deeper" in r["error"], r
