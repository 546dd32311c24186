"""The model proxy on its own (no sandbox, no agent): every wire protocol it reads, streaming,
the real key going upstream only, budgets answered with an error, our retry rules; and the
adapters that cannot run on this machine (Codex: Responses API only; Claude Code: Anthropic
Messages; Qwen Code: Node.js 22) at the command-line level."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from conftest import run_cli
from evaluator.coding_agents import AGENTS, agent_names
from evaluator.coding_agents.base import PLACEHOLDER_KEY, LaunchContext
from evaluator.coding_agents.proxy import ModelProxy, ProxyBudget
from evaluator.coding_agents.upstream import Upstream
from evaluator.coding_agents.wire import StreamAssembler, parse_reply
from evaluator.testing.agent_script import sse
from evaluator.testing.scripted_server import ScriptedServer, completion, error, tool_call

REAL_KEY = "sk-agentgym-real-proxy-test-0123456789"
TOOLS = [{"type": "function", "function": {"name": "bash", "parameters": {"type": "object"}}}]


class Seen:
    def __init__(self) -> None:
        self.commands: list[tuple[str, str]] = []
        self.writes: list[tuple[str, str]] = []

    def command(self, tool: str, text: str) -> None:
        self.commands.append((tool, text))

    def write(self, tool: str, path: str) -> None:
        self.writes.append((tool, path))


async def talk(tmp_path: Path, srv: ScriptedServer, bodies: list[dict[str, Any]], budget: ProxyBudget | None = None,
               path: str = "/v1/chat/completions", **upstream: Any) -> tuple[ModelProxy, list[httpx.Response], list, Seen]:
    lines: list = []
    seen = Seen()
    proxy = ModelProxy(tmp_path / "m.sock", Upstream(base_url=srv.base_url, api_key=REAL_KEY, **upstream),
                       budget or ProxyBudget(max_turns=10, timeout_s=60), lambda m, meta: lines.append((m, meta)), seen)
    await proxy.start()
    out = []
    try:
        async with httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(uds=str(tmp_path / "m.sock"))) as client:
            for body in bodies:
                out.append(await client.post(f"http://proxy{path}", json=body,
                                             headers={"authorization": f"Bearer {PLACEHOLDER_KEY}"}))
    finally:
        await proxy.close()
    return proxy, out, lines, seen


def chat_body(*messages: dict[str, Any], stream: bool = False) -> dict[str, Any]:
    return {"model": "m", "messages": list(messages), "tools": TOOLS, "stream": stream}


def test_chat_exchange_is_recorded_counted_and_its_commands_seen(tmp_path: Path) -> None:
    reply = completion("ok", [tool_call("bash", {"command": "ls -la"}, "c1")], prompt_tokens=7, completion_tokens=3)
    with ScriptedServer(lambda b, i: reply) as srv:
        proxy, resp, lines, seen = asyncio.run(talk(tmp_path, srv, [chat_body({"role": "user", "content": "hi"})]))
    assert resp[0].status_code == 200 and resp[0].json()["choices"][0]["message"]["content"] == "ok"
    assert (proxy.stats.turns, proxy.stats.prompt_tokens, proxy.stats.completion_tokens) == (1, 7, 3)
    assert seen.commands == [("bash", "ls -la")]
    assert [m["role"] for m, _ in lines] == ["user", "assistant"]
    assert lines[1][1]["client_key"] == "placeholder" and lines[1][1]["status"] == 200


def test_streamed_chat_is_relayed_and_reassembled(tmp_path: Path) -> None:
    reply = completion(None, [tool_call("bash", {"command": "cat README.md"}, "c1")], prompt_tokens=11)
    with ScriptedServer(lambda b, i: sse(reply)) as srv:
        proxy, resp, lines, seen = asyncio.run(talk(tmp_path, srv, [chat_body({"role": "user", "content": "x"},
                                                                                 stream=True)]))
    assert resp[0].text.startswith("data: ") and resp[0].text.rstrip().endswith("data: [DONE]")
    assert seen.commands == [("bash", "cat README.md")] and proxy.stats.prompt_tokens == 11
    assert lines[-1][0]["tool_calls"][0]["function"]["name"] == "bash"


def test_only_new_messages_are_recorded_on_each_request(tmp_path: Path) -> None:
    u1, a1, t1 = {"role": "user", "content": "q"}, {"role": "assistant", "content": "ok"}, {"role": "user", "content": "more"}
    with ScriptedServer(lambda b, i: completion("ok")) as srv:
        _, _, lines, _ = asyncio.run(talk(tmp_path, srv, [chat_body(u1), chat_body(u1, a1, t1)]))
    assert [m.get("content") for m, _ in lines] == ["q", "ok", "more", "ok"]


def test_the_real_key_goes_upstream_and_never_back(tmp_path: Path) -> None:
    auth: list[str] = []

    with ScriptedServer(lambda b, i: completion("ok")) as srv:
        handler = srv.httpd.RequestHandlerClass
        original = handler.do_POST

        def spy(self: Any) -> None:
            auth.append(self.headers.get("authorization", ""))
            original(self)

        handler.do_POST = spy
        _, resp, lines, _ = asyncio.run(talk(tmp_path, srv, [chat_body({"role": "user", "content": "q"})]))
    assert auth == [f"Bearer {REAL_KEY}"]
    assert REAL_KEY not in resp[0].text and REAL_KEY not in json.dumps(lines)


def test_a_spent_budget_is_answered_with_an_error_and_stops_the_agent(tmp_path: Path) -> None:
    with ScriptedServer(lambda b, i: completion("ok")) as srv:
        proxy, resp, _, _ = asyncio.run(talk(tmp_path, srv, [chat_body()] * 3, ProxyBudget(max_turns=2, timeout_s=60)))
    assert [r.status_code for r in resp] == [200, 200, 400]
    assert "budget is spent (max_turns)" in resp[2].json()["error"]["message"]
    assert proxy.spent.is_set() and proxy.stats.stop_reason == "max_turns" and len(srv.requests) == 2


def test_token_budget_counts_what_the_endpoint_reported(tmp_path: Path) -> None:
    with ScriptedServer(lambda b, i: completion("ok", prompt_tokens=60, completion_tokens=50)) as srv:
        proxy, resp, _, _ = asyncio.run(talk(tmp_path, srv, [chat_body()] * 2,
                                             ProxyBudget(max_turns=9, timeout_s=60, token_budget=100)))
    assert [r.status_code for r in resp] == [200, 400] and proxy.stats.stop_reason == "token_budget"


def test_retryable_errors_are_retried_like_our_own_client(tmp_path: Path) -> None:
    script = [error(429, "slow down", retry_after=0), error(503, "busy", retry_after=0), completion("ok")]
    with ScriptedServer(lambda b, i: script[i]) as srv:
        proxy, resp, _, _ = asyncio.run(talk(tmp_path, srv, [chat_body()]))
    assert resp[0].status_code == 200 and len(srv.requests) == 3 and proxy.stats.turns == 1


def test_a_client_error_is_passed_on_not_retried(tmp_path: Path) -> None:
    with ScriptedServer(lambda b, i: error(400, "bad request")) as srv:
        proxy, resp, lines, _ = asyncio.run(talk(tmp_path, srv, [chat_body()]))
    assert resp[0].status_code == 400 and len(srv.requests) == 1 and "HTTP 400" in (proxy.stats.error or "")


def test_responses_and_anthropic_replies_give_tokens_and_commands() -> None:
    responses = {"model": "r", "usage": {"input_tokens": 5, "output_tokens": 2}, "output": [
        {"type": "function_call", "name": "shell", "arguments": json.dumps({"command": ["bash", "-lc", "ls"]})},
        {"type": "function_call", "name": "apply_patch", "arguments": json.dumps({"path": "../x"})}]}
    ex = parse_reply(responses, "responses")
    assert (ex.prompt_tokens, ex.completion_tokens, ex.commands) == (5, 2, [("shell", "bash -lc ls")])
    assert ex.writes == [("apply_patch", "../x")]
    anthropic = {"model": "c", "usage": {"input_tokens": 9, "output_tokens": 4}, "content": [
        {"type": "text", "text": "hi"}, {"type": "tool_use", "name": "Bash", "input": {"command": "pwd"}}]}
    ex = parse_reply(anthropic, "anthropic")
    assert (ex.prompt_tokens, ex.completion_tokens, ex.commands) == (9, 4, [("Bash", "pwd")])


def test_streamed_anthropic_and_responses_are_reassembled() -> None:
    events = [{"type": "message_start", "message": {"model": "c", "usage": {"input_tokens": 3}}},
              {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "name": "Bash", "input": {}}},
              {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": '{"comm'}},
              {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": 'and": "ls"}'}},
              {"type": "message_delta", "usage": {"output_tokens": 6}}]
    asm = StreamAssembler("anthropic")
    for e in events:
        asm.feed(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode())
    ex = parse_reply(asm.body(), "anthropic")
    assert (ex.prompt_tokens, ex.completion_tokens, ex.commands) == (3, 6, [("Bash", "ls")])
    asm = StreamAssembler("responses")
    done = {"type": "response.completed", "response": {"usage": {"input_tokens": 1, "output_tokens": 1}, "output": [
        {"type": "local_shell_call", "action": {"command": ["ls", "-a"]}}]}}
    asm.feed(b"data: {\"type\": \"response.created\"}\n\ndata: " + json.dumps(done).encode() + b"\n\n")
    assert parse_reply(asm.body(), "responses").commands == [("local_shell", "ls -a")]


def test_garbage_from_the_endpoint_is_data_not_a_crash() -> None:
    for wire in ("chat", "responses", "anthropic"):
        for body in (None, [], {"choices": "x"}, {"output": [1, None]}, {"content": [{"type": "tool_use", "input": 5}]}):
            assert parse_reply(body, wire).commands == []
        asm = StreamAssembler(wire)
        asm.feed(b"data: {not json\n\ndata: [1]\n\n")
        odd = [{"choices": [{"delta": {"content": 5, "tool_calls": [{"index": "x", "id": 3, "function": {"name": 7,
                                                                                                       "arguments": [1]}}]}}]},
               {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "text": 4}},
               {"type": "content_block_delta", "index": 0, "delta": {"text": "a", "partial_json": {"x": 1}}},
               {"type": "message_start", "message": {"usage": "lots"}}, {"type": "response.completed", "response": 3}]
        for event in odd:
            asm.feed(b"data: " + json.dumps(event).encode() + b"\n\n")
        assert parse_reply(asm.body(), wire).commands == []


@pytest.mark.parametrize("name", ["mini-swe-agent", "opencode", "codex", "claude-code", "qwen-code"])
def test_every_adapter_gets_the_proxy_and_the_placeholder_never_the_key(name: str, tmp_path: Path) -> None:
    agent = AGENTS.get(name)()
    ctx = LaunchContext(install_dir=tmp_path, base_url="http://127.0.0.1:18080/v1", model="some/model",
                        prompt="do the task", prompt_file="/p/prompt.txt", workdir="/workspace", home="/home/sandbox")
    launch = agent.launch(ctx)
    text = json.dumps([launch.argv, launch.env])
    assert "127.0.0.1:18080" in text and PLACEHOLDER_KEY in text and "do the task" in text and "some/model" in text
    assert agent.package.source in ("pypi", "npm") and agent.package.version[0].isdigit()
    assert agent.wire in ("chat", "responses", "anthropic")
    assert agent.check_installed(tmp_path) is not None  # an empty folder is not an install


def test_registry_lists_builtin_and_the_adapters() -> None:
    assert agent_names() == ["builtin", "claude-code", "codex", "mini-swe-agent", "opencode", "qwen-code"]


@pytest.mark.parametrize("args, words", [
    (["--agent", "mini-swe-agnet"], "did you mean 'mini-swe-agent'"),
    (["--agent", "mini-swe-agent", "--closed-book"], "cannot be combined with --agent"),
    (["--agent", "mini-swe-agent", "--sandbox", "local"], "isolated sandbox"),
    (["--agent", "mini-swe-agent", "--model", "builtin/oracle"], "needs a model endpoint"),
])
def test_agent_usage_errors_exit_2_in_one_sentence(args: list[str], words: str, tmp_path: Path) -> None:
    with ScriptedServer(lambda b, i: completion("ok")) as srv:
        proc = run_cli("evaluator.run", "--repos", "demo", "--model", "scripted", "--base-url", srv.base_url,
                       "--runs-root", str(tmp_path / "runs"), "--cache-dir", str(tmp_path / "cache"), *args)
    assert proc.returncode == 2 and words in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_a_query_string_does_not_hide_a_request_from_the_budget(tmp_path: Path) -> None:
    """Claude Code posts to /v1/messages?beta=true: still a turn, counted and recorded."""
    from evaluator.testing.agent_script import anthropic_message

    with ScriptedServer(lambda b, i: anthropic_message("hi", ("Bash", {"command": "ls"}), stream=False)) as srv:
        body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "q"}], "tools": TOOLS}
        proxy, resp, lines, seen = asyncio.run(talk(tmp_path, srv, [body, body], ProxyBudget(max_turns=1, timeout_s=60),
                                                    path="/v1/messages?beta=true"))
    assert [r.status_code for r in resp] == [200, 400] and proxy.stats.turns == 1
    assert seen.commands == [("Bash", "ls")] and lines[-1][1]["wire"] == "anthropic"


def test_an_endpoint_that_breaks_off_mid_stream_still_leaves_a_counted_turn(tmp_path: Path) -> None:
    from evaluator.testing.scripted_server import Reply

    broken = Reply(body="data: " + json.dumps({"choices": [{"delta": {"content": "par"}}]}) + "\n\n" * 200,
                   headers={"content-type": "text/event-stream"}, drop=True)
    with ScriptedServer(lambda b, i: broken) as srv:
        lines: list = []
        proxy = ModelProxy(tmp_path / "n.sock", Upstream(base_url=srv.base_url, api_key=REAL_KEY),
                           ProxyBudget(max_turns=5, timeout_s=60), lambda m, meta: lines.append((m, meta)))

        async def go() -> None:
            await proxy.start()
            reader, writer = await asyncio.open_unix_connection(str(tmp_path / "n.sock"))
            data = json.dumps(chat_body(stream=True)).encode()
            writer.write(b"POST /v1/chat/completions HTTP/1.1\r\ncontent-length: %d\r\n\r\n%s" % (len(data), data))
            await writer.drain()
            await reader.read()  # until the proxy closes the connection
            writer.close()
            await proxy.close()

        asyncio.run(go())
    assert proxy.stats.turns == 1 and lines[-1][1]["wire"] == "chat"  # recorded although cut off
    assert "RemoteProtocolError" in (proxy.stats.error or "")


def test_side_conversations_do_not_make_the_main_one_recorded_again(tmp_path: Path) -> None:
    main1, side = {"role": "user", "content": "task"}, {"role": "user", "content": "make a title"}
    a1, more = {"role": "assistant", "content": "ok"}, {"role": "user", "content": "next"}
    with ScriptedServer(lambda b, i: completion("ok")) as srv:
        _, _, lines, _ = asyncio.run(talk(tmp_path, srv, [chat_body(main1), chat_body(side), chat_body(main1, a1, more)]))
    assert [m.get("content") for m, _ in lines] == ["task", "ok", "make a title", "ok", "next", "ok"]
