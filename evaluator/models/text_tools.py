"""Text-format tool calling (`--tool-format text`), for endpoints without function calling.

The tools are described in the system prompt and the model writes one fenced block per
action (the format is documented in docs/models.md, and `FORMAT` below is what the model
reads):

    ```bash                        -> run_command {"command": <the block>}
    ls -la src/
    ```

    ```tool                        -> any tool, as one JSON object
    {"tool": "write_file", "arguments": {"path": "eval_artifacts/answer.json", "content": "{}"}}
    ```

A ```json block whose object has a "tool" key counts as a tool block too; other fenced
blocks (python, text, json without "tool") are prose. A reply without action blocks ends
the task, as a reply without tool calls does natively. A reply that cannot be read (an
unclosed action block, bad JSON in a tool block, an empty command) raises TextFormatError,
which becomes a format error with a message back to the model.

`TextToolsModel` wraps any model: the loop keeps native-shaped messages (tool_calls, tool
messages), and only what the wrapped model sees and says is text.
"""
from __future__ import annotations

import json
import re
from typing import Any

from evaluator.models import Model, ModelReply, TaskContext
from evaluator.models.images import is_ref, text_of

BASH_LANGS = ("bash", "sh", "shell")
_FENCE = re.compile(r"^ {0,3}(`{3,})[ \t]*([^`\s]*)[^`]*$")

FORMAT = """\
# How to act
You have no function-calling interface. Act by writing fenced blocks in your reply:

To run a shell command, a block with the language `bash`:
```bash
ls -la
```

For any other tool, a block with the language `tool` holding one JSON object:
```tool
{"tool": "write_file", "arguments": {"path": "eval_artifacts/answer.json", "content": "{\\"count\\": 3}"}}
```

Write one block per action; several blocks in one reply run in order, and their results come back
in the next message. When the task is done, reply without any `bash` or `tool` block.

# Tools
"""
REMINDER = ("Write each action as one fenced block: ```bash for a command, or ```tool holding "
            '{"tool": <name>, "arguments": {...}}; reply without such blocks when you are done.')


class TextFormatError(Exception):
    """The reply cannot be read as actions; the message tells the model why."""


def describe_tools(tools: list[dict[str, Any]]) -> str:
    lines = [FORMAT]
    for t in tools:
        fn = t.get("function") or {}
        params = fn.get("parameters") or {}
        required = set(params.get("required") or [])
        lines.append(f"## {fn.get('name')}\n{fn.get('description', '')}\nArguments:")
        for name, prop in (params.get("properties") or {}).items():
            need = "required" if name in required else "optional"
            lines.append(f"- {name} ({prop.get('type', 'any')}, {need}): {prop.get('description', '')}")
        lines.append("")
    return "\n".join(lines)


def _action(lang: str, body: str, line: int) -> tuple[str, dict[str, Any]] | None:
    """(tool name, arguments) for an action block; None for a prose block."""
    if lang in BASH_LANGS:
        if not body.strip():
            raise TextFormatError(f"the ```{lang} block at line {line} is empty")
        return "run_command", {"command": body}
    if lang not in ("tool", "json"):
        return None
    try:
        data = json.loads(body)
    except ValueError as exc:
        if lang == "json":
            return None  # a JSON snippet in prose, not an action
        raise TextFormatError(f"the ```tool block at line {line} is not valid JSON ({exc})") from None
    if lang == "json" and not (isinstance(data, dict) and "tool" in data):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("tool"), str) or not data["tool"]:
        raise TextFormatError(f'the ```{lang} block at line {line} must be a JSON object with a "tool" name')
    args = data.get("arguments", {k: v for k, v in data.items() if k != "tool"})
    if not isinstance(args, dict):
        raise TextFormatError(f'the ```{lang} block at line {line}: "arguments" must be a JSON object')
    return data["tool"], args


def parse_actions(text: str) -> list[tuple[str, dict[str, Any]]]:
    """The actions in a reply, in order. Raises TextFormatError and nothing else."""
    if not isinstance(text, str):
        raise TextFormatError("the reply is not text")
    lines = text.split("\n")
    actions: list[tuple[str, dict[str, Any]]] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        ticks, lang, start = m.group(1), m.group(2).lower(), i
        close = re.compile(rf"^ {{0,3}}`{{{len(ticks)},}}[ \t]*$")
        end = next((j for j in range(i + 1, len(lines)) if close.match(lines[j])), None)
        if end is None:
            if lang in BASH_LANGS or lang == "tool":
                raise TextFormatError(f"the ```{lang} block at line {start + 1} is not closed")
            break  # an unclosed prose block: the rest is prose
        action = _action(lang, "\n".join(lines[start + 1 : end]), start + 1)
        if action is not None:
            actions.append(action)
        i = end + 1
    return actions


def render_actions(calls: list[dict[str, Any]]) -> str:
    """Native tool calls written in the text format (what builtin/oracle says with --tool-format text)."""
    blocks = []
    for call in calls:
        fn = call.get("function") or {}
        args = json.loads(fn.get("arguments") or "{}")
        if fn.get("name") == "run_command" and set(args) == {"command"} and "```" not in args["command"]:
            blocks.append(f"```bash\n{args['command']}\n```")
        else:
            blocks.append("```tool\n" + json.dumps({"tool": fn.get("name"), "arguments": args}, ensure_ascii=False) + "\n```")
    return "\n\n".join(blocks)


def to_text_messages(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Native-shaped history -> what a text-format model sees: tools in the system prompt,
    tool results as one user message per reply."""
    out: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    results: list[str] = []
    images: list[dict[str, Any]] = []  # image parts of the results, after their text

    def flush() -> None:
        if results:
            text = "\n\n".join(results)
            out.append({"role": "user", "content": [{"type": "text", "text": text}, *images] if images else text})
            results.clear()
            images.clear()

    for m in messages:
        role = m.get("role")
        if role == "tool":
            call_id = m.get("tool_call_id") or ""
            results.append(f"[result of {names.get(call_id, 'the action')}]\n{text_of(m.get('content'))}")
            if isinstance(m.get("content"), list):
                images.extend(p for p in m["content"] if is_ref(p))
            continue
        flush()
        if role == "system" and tools:
            out.append({**m, "content": f"{m.get('content') or ''}\n\n{describe_tools(tools)}"})
        elif role == "assistant":
            for call in m.get("tool_calls") or []:
                names[call.get("id") or ""] = (call.get("function") or {}).get("name") or "the action"
            out.append({k: v for k, v in m.items() if k != "tool_calls"})
        else:
            out.append(m)
    flush()
    return out


class TextToolsModel:
    """Any model, with its tools spoken as text."""

    def __init__(self, inner: Model) -> None:
        self.inner = inner
        self.name = inner.name

    async def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], ctx: TaskContext) -> ModelReply:
        reply = await self.inner.complete(to_text_messages(messages, tools), [], ctx)
        if reply.message is None:
            return reply
        message = {k: v for k, v in reply.message.items() if k != "tool_calls"}
        turn = sum(1 for m in messages if m.get("role") == "assistant")
        try:
            actions = parse_actions(message.get("content") or "")
        except TextFormatError as exc:
            return reply.model_copy(update={"message": message, "format_error": f"Format error: {exc}. {REMINDER}"})
        if actions:
            message["tool_calls"] = [
                {"id": f"text_{turn}_{i}", "type": "function",
                 "function": {"name": name, "arguments": json.dumps(args, ensure_ascii=False)}}
                for i, (name, args) in enumerate(actions)]
        return reply.model_copy(update={"message": message})

    async def preflight(self) -> None:
        await self.inner.preflight()

    async def aclose(self) -> None:
        await self.inner.aclose()
