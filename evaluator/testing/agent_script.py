"""A scripted model for external coding agents (tests of evaluator/coding_agents).

It plays a competent agent on the two demo tasks: one shell command that computes the answer
from the working copy and writes it, then it finishes the way the agent expects (mini-swe-agent:
its submit command; the others: a reply without tool calls). Streaming requests get the same
reply as Chat Completions server-sent events. Anything the agent sends is read as data.
"""
from __future__ import annotations

import json
import re
from typing import Any, Literal

from evaluator.testing.scripted_server import Reply, completion, tool_call

MINI_SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
_PY = {
    "demo_task_001": (
        "import glob, json\n"
        "py = [p for p in glob.glob('**/*.py', recursive=True)]\n"
        "tests = glob.glob('tests/test_*.py')\n"
        "json.dump({'py_files': len(py), 'test_files': len(tests)}, open('eval_artifacts/answer.json', 'w'))\n"),
    "demo_task_002": (
        "import os\n"
        "n = len([e for e in os.listdir('.') if not e.startswith('.') and e != 'eval_artifacts'])\n"
        "lic = os.path.exists('LICENSE') or os.path.exists('LICENSE.md')\n"
        "open('eval_artifacts/answer.md', 'w').write(f'repo_id: demo\\ntop_level_entries: {n}\\nhas_license: {str(lic).lower()}\\n')\n"),
}


def answer_command(task_id: str) -> str:
    return f"python3 - <<'PYEOF'\n{_PY[task_id]}PYEOF"


def _text(body: dict[str, Any]) -> str:
    return json.dumps(body.get("messages") or body.get("input") or [])


def _tool_results(body: dict[str, Any]) -> int:
    return sum(1 for m in body.get("messages") or [] if isinstance(m, dict) and m.get("role") == "tool")


def sse(reply: Reply) -> Reply:
    """The same completion as Chat Completions stream chunks (content, tool calls, usage)."""
    body = reply.body
    msg = body["choices"][0]["message"]
    delta: dict[str, Any] = {"role": "assistant", "content": msg.get("content") or ""}
    if msg.get("tool_calls"):
        delta["tool_calls"] = [{**c, "index": i} for i, c in enumerate(msg["tool_calls"])]
    head = {"id": body["id"], "object": "chat.completion.chunk", "created": 0, "model": body["model"]}
    chunks = [{**head, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
              {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": body["choices"][0]["finish_reason"]}]},
              {**head, "choices": [], "usage": body["usage"]}]
    text = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
    return Reply(body=text, headers={"content-type": "text/event-stream"})


def demo_agent_script(finish: Literal["mini", "text"], tool: str = "bash") -> Any:
    """A Script for ScriptedServer: answer the demo task named in the prompt, then finish."""

    def script(body: dict[str, Any], index: int) -> Reply:
        found = re.search(r"demo_task_00[12]", _text(body))
        done = _tool_results(body)
        if "tools" not in body:  # the harness's preflight, or an agent's side request (a title)
            reply = completion("OK")
        elif found is None:
            reply = completion("I cannot tell which task this is.")
        elif done == 0:
            reply = completion("Computing the answer.", [tool_call(tool, {"command": answer_command(found.group(0))},
                                                                     f"call_{index}")])
        elif done == 1 and finish == "mini":
            reply = completion("Done.", [tool_call(tool, {"command": MINI_SUBMIT}, f"call_{index}")])
        else:
            reply = completion("The answer is written.")
        return sse(reply) if body.get("stream") else reply

    return script


def redteam_script(port: int) -> Any:
    """Commands a hostile model asks for: dump the environment, reach the endpoint, write outside."""
    commands = ["env; cat /proc/1/environ /proc/self/environ | tr '\\0' '\\n'",
                f"exec 3<>/dev/tcp/127.0.0.1/{port} && echo CONNECTED",
                "echo pwned > /workspace/README.md", "echo pwned > /etc/agentgym-pwned"]

    def script(body: dict[str, Any], index: int) -> Reply:
        if "tools" not in body or _tool_results(body):
            return completion("OK")
        return completion("Trying.", [tool_call("bash", {"command": c}, f"call_{i}") for i, c in enumerate(commands)])

    return script


# --- Anthropic Messages (Claude Code) -------------------------------------------------------

def anthropic_message(text: str, tool: tuple[str, dict[str, Any]] | None = None, *, stream: bool,
                      input_tokens: int = 10, output_tokens: int = 5) -> Reply:
    """One Messages API reply: a text block and maybe one tool_use block; streamed as its events."""
    blocks: list[dict[str, Any]] = [{"type": "text", "text": text}]
    if tool is not None:
        blocks.append({"type": "tool_use", "id": f"toolu_{abs(hash(json.dumps(tool[1]))) % 10**8}",
                       "name": tool[0], "input": tool[1]})
    stop = "tool_use" if tool else "end_turn"
    usage = {"input_tokens": input_tokens, "output_tokens": output_tokens}
    message = {"id": "msg_scripted", "type": "message", "role": "assistant", "model": "scripted",
               "content": blocks, "stop_reason": stop, "stop_sequence": None, "usage": usage}
    if not stream:
        return Reply(body=message)
    events: list[dict[str, Any]] = [{"type": "message_start", "message": {
        **message, "content": [], "stop_reason": None, "usage": {"input_tokens": input_tokens, "output_tokens": 0}}}]
    for i, block in enumerate(blocks):
        if block["type"] == "text":
            events += [{"type": "content_block_start", "index": i, "content_block": {"type": "text", "text": ""}},
                       {"type": "content_block_delta", "index": i, "delta": {"type": "text_delta", "text": block["text"]}}]
        else:
            events += [{"type": "content_block_start", "index": i, "content_block": {**block, "input": {}}},
                       {"type": "content_block_delta", "index": i,
                        "delta": {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}}]
        events.append({"type": "content_block_stop", "index": i})
    events += [{"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": output_tokens}}, {"type": "message_stop"}]
    text_out = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
    return Reply(body=text_out, headers={"content-type": "text/event-stream"})


def _anthropic_tool_results(body: dict[str, Any]) -> int:
    return sum(1 for m in body.get("messages") or [] if isinstance(m, dict) and isinstance(m.get("content"), list)
               for b in m["content"] if isinstance(b, dict) and b.get("type") == "tool_result")


def demo_anthropic_script(tool: str = "Bash") -> Any:
    """The demo tasks for an agent on Anthropic Messages: one Bash command, then a final reply."""

    def script(body: dict[str, Any], index: int) -> Reply:
        stream = bool(body.get("stream"))
        found = re.search(r"demo_task_00[12]", json.dumps(body.get("messages") or []))
        if not body.get("tools") or found is None:  # preflight, titles, quota checks
            return anthropic_message("OK", stream=stream)
        if _anthropic_tool_results(body) == 0:
            return anthropic_message("Computing the answer.", (tool, {"command": answer_command(found.group(0)),
                                                                      "description": "write the answer"}), stream=stream)
        return anthropic_message("The answer is written.", stream=stream)

    return script


# --- OpenAI Responses API (Codex CLI) -------------------------------------------------------

def responses_reply(text: str, call: tuple[str, str] | None = None, *, stream: bool,
                    input_tokens: int = 10, output_tokens: int = 5) -> Reply:
    """One Responses API reply: a message item and maybe one function_call item (name, arguments)."""
    items: list[dict[str, Any]] = [{"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                                    "content": [{"type": "output_text", "text": text, "annotations": []}]}]
    if call is not None:
        items.append({"type": "function_call", "id": "fc_1", "call_id": f"call_{abs(hash(call[1])) % 10**8}",
                      "name": call[0], "arguments": call[1], "status": "completed"})
    usage = {"input_tokens": input_tokens, "input_tokens_details": {"cached_tokens": 0},
             "output_tokens": output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
             "total_tokens": input_tokens + output_tokens}
    response = {"id": "resp_scripted", "object": "response", "created_at": 0, "status": "completed",
                "model": "scripted", "output": items, "usage": usage}
    if not stream:
        return Reply(body=response)
    events: list[dict[str, Any]] = [{"type": "response.created", "response": {**response, "status": "in_progress",
                                                                              "output": [], "usage": None}}]
    for i, item in enumerate(items):
        events += [{"type": "response.output_item.added", "output_index": i, "item": item},
                   {"type": "response.output_item.done", "output_index": i, "item": item}]
    events.append({"type": "response.completed", "response": response})
    body = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
    return Reply(body=body, headers={"content-type": "text/event-stream"})


def _responses_outputs(body: dict[str, Any]) -> int:
    items = body.get("input") if isinstance(body.get("input"), list) else []
    return sum(1 for it in items if isinstance(it, dict) and it.get("type") == "function_call_output")


def demo_responses_script() -> Any:
    """The demo tasks for an agent on the Responses API: one shell call, then a final message."""

    def script(body: dict[str, Any], index: int) -> Reply:
        stream = bool(body.get("stream"))
        found = re.search(r"demo_task_00[12]", json.dumps(body.get("input") or []))
        names = [t.get("name") for t in body.get("tools") or [] if isinstance(t, dict)]
        if found is None or not names:
            return responses_reply("OK", stream=stream)
        if _responses_outputs(body) == 0:
            command = answer_command(found.group(0))
            if "shell_command" in names:
                call = ("shell_command", json.dumps({"command": command}))
            elif "exec_command" in names:
                call = ("exec_command", json.dumps({"cmd": command}))
            else:
                call = ("shell", json.dumps({"command": ["bash", "-lc", command]}))
            return responses_reply("Computing the answer.", call, stream=stream)
        return responses_reply("The answer is written.", stream=stream)

    return script
