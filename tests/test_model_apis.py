"""Every way a model is reached: the Responses API with reasoning items carried across turns,
text-format tool calls (builtin/oracle and a scripted endpoint), vendor options in run.json."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import fixture_args, load_results, only_run_dir, run_cli, sandbox_flag
from model_scripts import chat_solver, demo_solutions, responses_solver
from evaluator.testing.scripted_server import ScriptedServer, completion, error


@pytest.fixture(scope="module")
def sols(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return demo_solutions(tmp_path_factory.mktemp("solcache"))


def demo(tmp_path: Path, *args: str) -> tuple[Path, dict[str, dict[str, Any]]]:
    proc = run_cli("evaluator.run", "--repos", "demo", "--cache-dir", str(tmp_path / "cache"), "--sandbox", sandbox_flag(),
                   "--quiet", *args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    run = only_run_dir(tmp_path / "runs")
    return run, load_results(run, "demo")


def failures(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {k: (r["failure_reason"], r["error"]) for k, r in results.items() if not r["success"]}


def test_demo_through_the_responses_api_round_trips_reasoning(tmp_path: Path, sols: dict[str, Any]) -> None:
    with ScriptedServer(responses_solver(sols)) as srv:
        run, results = demo(tmp_path, "--model", "reasoner", "--base-url", srv.base_url, "--api", "responses",
                            "--reasoning-effort", "high")
        ledger = srv.reasoning
    assert len(results) == len(sols) and not failures(results), failures(results)
    assert set(srv.paths) == {"/v1/responses"}
    # Every answered call came back with the reasoning item that preceded it (2 turns of calls per task).
    assert ledger.missing == [] and ledger.returned >= 2 * len(sols)
    first = srv.requests[0]
    assert first["store"] is False and first["include"] == ["reasoning.encrypted_content"]
    assert first["reasoning"] == {"effort": "high"}
    assert {t["name"] for t in first["tools"]} == {"run_command", "read_file", "list_dir", "write_file"}
    r = next(iter(results.values()))
    assert r["api"] == "responses" and r["tool_format"] == "native"
    assert r["metrics"]["reasoning_tokens"] == 7 + 7 + 3 and r["metrics"]["completion_tokens"] == 3 * 5 + 17
    meta = json.loads((run / "run.json").read_text())
    assert meta["config"]["api"] == "responses" and meta["config"]["reasoning_effort"] == "high"


def test_dropping_reasoning_items_is_refused_like_the_real_api(tmp_path: Path, sols: dict[str, Any]) -> None:
    """The check that makes the test above meaningful: a client that forgets them fails."""
    from evaluator.testing.scripted_responses import FunctionCall, response_body

    with ScriptedServer(responses_solver(sols)) as srv:
        srv.reasoning.remember(response_body(None, [FunctionCall(name="x", arguments={}, call_id="c9")], reasoning="r"))
        problem = srv.reasoning.check({"input": [{"type": "function_call", "call_id": "c9", "name": "x", "arguments": "{}"},
                                                 {"type": "function_call_output", "call_id": "c9", "output": "ok"}]})
    assert problem and "reasoning item" in problem and srv.reasoning.missing


def test_demo_oracle_through_text_tool_format(tmp_path: Path) -> None:
    run, results = demo(tmp_path, "--model", "builtin/oracle", "--tool-format", "text")
    assert len(results) >= 8 and all(r["score"] == 100 for r in results.values()), failures(results)
    assert {r["tool_format"] for r in results.values()} == {"text"}
    lines = [json.loads(x)["message"] for x in (run / "transcripts" / "demo.jsonl").read_text().splitlines()]
    said = [m for m in lines if m["role"] == "assistant" and m.get("tool_calls")]
    assert said and all("```" in m["content"] for m in said)  # it spoke text; the calls were parsed from it
    assert json.loads((run / "run.json").read_text())["config"]["tool_format"] == "text"


def test_demo_scripted_endpoint_through_text_tool_format(tmp_path: Path, sols: dict[str, Any]) -> None:
    with ScriptedServer(chat_solver(sols, text=True)) as srv:
        run, results = demo(tmp_path, "--model", "plain-llm", "--base-url", srv.base_url, "--tool-format", "text")
        bodies = list(srv.requests)
    assert len(results) == len(sols) and not failures(results), failures(results)
    assert not any("tools" in b for b in bodies)  # the endpoint never saw function calling
    system = bodies[0]["messages"][0]["content"]
    assert "```bash" in system and "## write_file" in system
    later = next(b for b in bodies if len(b["messages"]) > 3)["messages"]
    assert not any(m["role"] == "tool" or "tool_calls" in m for m in later)
    assert any(m["role"] == "user" and m["content"].startswith("[result of list_dir]") for m in later)


def test_unreadable_text_reply_is_a_format_error_told_to_the_model(workspace: dict[str, Any]) -> None:
    def script(body: dict[str, Any], i: int) -> Any:
        msgs = body["messages"]
        if not any(m["role"] == "assistant" for m in msgs):
            return completion('```tool\n{"tool": "list_dir", "arguments": {"path": ".",}\n```')
        return completion("done")

    with ScriptedServer(script) as srv:
        proc = run_cli("evaluator.run", "--model", "m", "--base-url", srv.base_url, "--tool-format", "text",
                       "--tasks", "fx_001", *fixture_args(workspace))
        second = srv.requests[1]["messages"]
    assert proc.returncode == 0, proc.stderr
    r = load_results(only_run_dir(workspace["runs"]), "fixture")["fx_001"]
    assert r["metrics"]["format_errors"] == 1 and r["metrics"]["tool_calls"] == 0
    assert second[-1]["role"] == "user" and second[-1]["content"].startswith("Format error: the ```tool block at line 1 is not valid JSON")


def test_vendor_options_reach_the_endpoint_and_run_json_without_secrets(workspace: dict[str, Any]) -> None:
    seen: list[dict[str, str]] = []

    def script(body: dict[str, Any], i: int) -> Any:
        return completion("nothing to do") if body.get("reasoning_effort") == "low" else error(400, "no effort")

    with ScriptedServer(script) as srv:
        proc = run_cli("evaluator.run", "--model", "m", "--base-url", srv.base_url, "--tasks", "fx_001",
                       "--reasoning-effort", "low", "--extra-body", '{"top_k": 20, "chat_template_kwargs": {"thinking": true}}',
                       "--header", "X-Route=blue", "--header", "X-Gateway-Token=tok-s3cret-42", *fixture_args(workspace))
        seen = list(srv.headers)
        body = srv.requests[0]
    assert proc.returncode == 0, proc.stderr
    assert body["top_k"] == 20 and body["chat_template_kwargs"] == {"thinking": True}
    assert seen[0]["x-route"] == "blue" and seen[0]["x-gateway-token"] == "tok-s3cret-42"
    run = only_run_dir(workspace["runs"])
    config = json.loads((run / "run.json").read_text())["config"]
    assert config["headers"] == {"X-Route": "blue", "X-Gateway-Token": "***"}
    assert config["reasoning_effort"] == "low" and config["extra_body"]["top_k"] == 20
    assert not any("tok-s3cret-42" in p.read_text(errors="replace") for p in run.rglob("*") if p.is_file())


@pytest.mark.parametrize("flags, message", [
    (["--header", "no-equals"], "--header must look like NAME=VALUE"),
    (["--header", "bad name=x"], "--header must look like NAME=VALUE"),
    (["--extra-body", "[1]"], "--extra-body must be a JSON object"),
    (["--api", "soap"], "invalid choice"),
])
def test_bad_model_options_are_one_sentence_exit_2(workspace: dict[str, Any], flags: list[str], message: str) -> None:
    proc = run_cli("evaluator.run", "--model", "builtin/oracle", *flags, *fixture_args(workspace))
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


ODD_RESPONSES = [
    "not json at all", {"output": "x"}, {"output": [1, 2]}, [], {"output": [], "usage": {"input_tokens": "many"}},
    {"object": "response", "status": "failed", "error": {"message": "boom"}, "output": []},
]


@pytest.mark.parametrize("body", ODD_RESPONSES, ids=range(len(ODD_RESPONSES)))
def test_odd_responses_bodies_are_api_errors_never_crashes(body: Any) -> None:
    import asyncio

    from evaluator.models import ModelError
    from evaluator.models.openai_model import EndpointConfig
    from evaluator.models.responses_model import ResponsesModel
    from evaluator.testing.scripted_server import Reply

    async def ask(url: str) -> str:
        model = ResponsesModel(EndpointConfig(model="m", base_url=url, max_attempts=2, backoff_max_s=0.01))
        try:
            await model.complete([{"role": "user", "content": "hi"}], [{"type": "function", "function": {"name": "x"}}], None)  # type: ignore[arg-type]
        except ModelError as exc:
            return exc.kind
        finally:
            await model.aclose()
        return "answered"

    with ScriptedServer(lambda b, i: Reply(body=body)) as srv:
        assert asyncio.run(ask(srv.base_url)) == "api_error"


def test_odd_output_items_still_give_well_typed_tool_calls() -> None:
    from evaluator.models.responses_model import to_message

    msg = to_message([{"type": "function_call", "call_id": 7, "name": None, "arguments": {"path": "."}},
                      {"type": "message", "content": "abc"}, {"type": "reasoning", "summary": [{"text": 5}, "s"]}])
    call = msg["tool_calls"][0]
    assert call["id"] == "" and call["function"] == {"name": "", "arguments": '{"path": "."}'}
    assert msg["content"] is None and msg["reasoning_content"] == ""


def test_chat_reasoning_tokens_are_counted(workspace: dict[str, Any]) -> None:
    def script(body: dict[str, Any], i: int) -> Any:
        reply = completion("done", completion_tokens=40)
        reply.body["usage"]["completion_tokens_details"] = {"reasoning_tokens": 32}
        return reply

    with ScriptedServer(script) as srv:
        proc = run_cli("evaluator.run", "--model", "m", "--base-url", srv.base_url, "--tasks", "fx_001", *fixture_args(workspace))
    assert proc.returncode == 0, proc.stderr
    metrics = load_results(only_run_dir(workspace["runs"]), "fixture")["fx_001"]["metrics"]
    assert metrics["completion_tokens"] == 40 and metrics["reasoning_tokens"] == 32


def test_resume_asks_again_for_redacted_header_values(workspace: dict[str, Any]) -> None:
    with ScriptedServer(lambda b, i: completion("nothing to do")) as srv:
        base = ["--model", "m", "--base-url", srv.base_url, "--tasks", "fx_001"]
        assert run_cli("evaluator.run", *base, "--header", "X-Api-Key=k-12345678", *fixture_args(workspace)).returncode == 0
        run = only_run_dir(workspace["runs"])
        missing = run_cli("evaluator.run", "--resume", str(run), "--quiet")
        again = run_cli("evaluator.run", "--resume", str(run), "--quiet", "--header", "X-Api-Key=k-12345678")
        sent = [h.get("x-api-key") for h in srv.headers]
    assert missing.returncode == 2 and "pass it again with --header X-Api-Key=..." in missing.stderr
    assert again.returncode == 0, again.stderr
    assert json.loads((run / "run.json").read_text())["config"]["headers"] == {"X-Api-Key": "***"}
    assert set(sent) == {"k-12345678"}
