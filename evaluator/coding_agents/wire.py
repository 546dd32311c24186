"""Read what the model proxy forwards, in each wire protocol: the reply message, its token
counts and the commands in its tool calls. Everything here is data from an endpoint or an
agent: malformed input gives empty results, never an exception."""
from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field

from evaluator.coding_agents.base import Wire

COMMAND_KEYS = ("command", "cmd", "script")  # argument names agents use for a shell command line
PATH_KEYS = ("path", "file_path", "filePath", "filename")
WRITE_WORDS = ("write", "edit", "create", "patch", "replace", "insert")  # in a file-writing tool's name


def _as_object(args: Any) -> Any:
    """Tool arguments as sent: a JSON string is decoded; anything unreadable becomes None."""
    if isinstance(args, str):
        try:
            return json.loads(args)
        except ValueError:
            return None
    return args


def _write_of(name: str, args: Any) -> tuple[str, str] | None:
    if not any(w in name.lower() for w in WRITE_WORDS):
        return None
    args = _as_object(args)
    if isinstance(args, dict):
        for key in PATH_KEYS:
            if isinstance(args.get(key), str) and args[key].strip():
                return name, args[key]
    return None


def _calls(pairs: list[tuple[str, Any]]) -> dict[str, list[tuple[str, str]]]:
    """The commands and file writes in a reply's tool calls, as (tool name, arguments) pairs."""
    cmds = [c for name, args in pairs if (c := _command_of(name, args))]
    writes = [w for name, args in pairs if (w := _write_of(name, args))]
    return {"commands": cmds, "writes": writes}


class Exchange(BaseModel):
    """One model reply as the proxy saw it."""

    message: dict[str, Any] = Field(default_factory=lambda: {"role": "assistant", "content": None})
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str | None = None
    commands: list[tuple[str, str]] = Field(default_factory=list, description="(tool name, command line)")
    writes: list[tuple[str, str]] = Field(default_factory=list, description="(tool name, path) of file-writing tools")


def wire_of(path: str) -> Wire | None:
    if path.endswith("/chat/completions"):
        return "chat"
    if path.endswith("/responses"):
        return "responses"
    if path.endswith("/messages"):
        return "anthropic"
    return None


def history(body: dict[str, Any], wire: Wire) -> list[Any]:
    items = body.get("messages") if wire in ("chat", "anthropic") else body.get("input")
    if isinstance(items, str):
        return [{"role": "user", "content": items}]
    return items if isinstance(items, list) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


def _command_of(name: str, args: Any) -> tuple[str, str] | None:
    args = _as_object(args)
    if isinstance(args, dict):
        for key in COMMAND_KEYS:
            value = args.get(key)
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                value = " ".join(value)
            if isinstance(value, str) and value.strip():
                return name, value
    return None


def parse_reply(body: Any, wire: Wire) -> Exchange:
    """A whole (non-streamed, or re-assembled) reply."""
    if not isinstance(body, dict):
        return Exchange()
    if wire == "chat":
        return _chat(body)
    if wire == "responses":
        return _responses(body.get("response") if isinstance(body.get("response"), dict) else body)
    return _anthropic(body)


def _chat(body: dict[str, Any]) -> Exchange:
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    choices = body.get("choices") if isinstance(body.get("choices"), list) else []
    msg = choices[0].get("message") if choices and isinstance(choices[0], dict) else None
    message = {k: v for k, v in msg.items() if k in ("role", "content", "tool_calls", "reasoning_content")} \
        if isinstance(msg, dict) else {"role": "assistant", "content": None}
    pairs = []
    calls = message.get("tool_calls") if isinstance(message.get("tool_calls"), list) else []
    for call in calls:
        fn = call.get("function") if isinstance(call, dict) else None
        if isinstance(fn, dict):
            pairs.append((str(fn.get("name") or ""), fn.get("arguments")))
    return Exchange(message=message, prompt_tokens=_int(usage.get("prompt_tokens")),
                    completion_tokens=_int(usage.get("completion_tokens")),
                    model=body.get("model") if isinstance(body.get("model"), str) else None, **_calls(pairs))


def _responses(body: dict[str, Any]) -> Exchange:
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    output = body.get("output") if isinstance(body.get("output"), list) else []
    pairs: list[tuple[str, Any]] = []
    for item in output:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "function_call":
            pairs.append((str(item.get("name") or ""), item.get("arguments")))
        elif item.get("type") == "local_shell_call":
            pairs.append(("local_shell", item.get("action")))
        elif item.get("type") == "custom_tool_call" and isinstance(item.get("input"), str):
            pairs.append((str(item.get("name") or ""), {"command": item["input"]}))
    text = "".join(c.get("text") or "" for it in output if isinstance(it, dict) and it.get("type") == "message"
                   for c in (it.get("content") if isinstance(it.get("content"), list) else [])
                   if isinstance(c, dict) and isinstance(c.get("text"), str))
    return Exchange(message={"role": "assistant", "content": text or None, "output": output},
                    prompt_tokens=_int(usage.get("input_tokens")), completion_tokens=_int(usage.get("output_tokens")),
                    model=body.get("model") if isinstance(body.get("model"), str) else None, **_calls(pairs))


def _anthropic(body: dict[str, Any]) -> Exchange:
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    content = body.get("content") if isinstance(body.get("content"), list) else []
    pairs = [(str(b.get("name") or ""), b.get("input")) for b in content
             if isinstance(b, dict) and b.get("type") == "tool_use"]
    return Exchange(message={"role": "assistant", "content": content},
                    prompt_tokens=_int(usage.get("input_tokens")), completion_tokens=_int(usage.get("output_tokens")),
                    model=body.get("model") if isinstance(body.get("model"), str) else None, **_calls(pairs))


class StreamAssembler:
    """Re-assembles a streamed (server-sent events) reply into the body it stands for."""

    def __init__(self, wire: Wire) -> None:
        self.wire, self.buffer = wire, b""
        self.chat: dict[str, Any] = {"role": "assistant", "content": None}
        self.calls: dict[int, dict[str, Any]] = {}
        self.final: dict[str, Any] = {}
        self.blocks: dict[int, dict[str, Any]] = {}
        self.usage: dict[str, Any] = {}

    def feed(self, data: bytes) -> None:
        self.buffer += data
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            line = line.strip()
            if line.startswith(b"data:") and line[5:].strip() not in (b"", b"[DONE]"):
                try:
                    event = json.loads(line[5:])
                except ValueError:
                    continue
                if isinstance(event, dict):
                    self._event(event)

    def _event(self, ev: dict[str, Any]) -> None:
        if self.wire == "chat":
            self._chat_event(ev)
        elif self.wire == "responses":
            if ev.get("type") in ("response.completed", "response.incomplete", "response.failed"):
                self.final = ev
        else:
            self._anthropic_event(ev)

    def _chat_event(self, ev: dict[str, Any]) -> None:
        if isinstance(ev.get("usage"), dict):
            self.usage = ev["usage"]
        self.final.setdefault("model", ev.get("model"))
        for choice in ev.get("choices") or []:
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if not isinstance(delta, dict):
                continue
            if isinstance(delta.get("content"), str):
                self.chat["content"] = (self.chat["content"] or "") + delta["content"]
            for tc in delta.get("tool_calls") or []:
                if not isinstance(tc, dict):
                    continue
                slot = self.calls.setdefault(_int(tc.get("index")), {"id": "", "type": "function",
                                                                     "function": {"name": "", "arguments": ""}})
                slot["id"] = _str(tc.get("id")) or slot["id"]
                fn = tc.get("function") if isinstance(tc.get("function"), dict) else {}
                slot["function"]["name"] += _str(fn.get("name"))
                slot["function"]["arguments"] += _str(fn.get("arguments"))

    def _anthropic_event(self, ev: dict[str, Any]) -> None:
        kind, index = ev.get("type"), _int(ev.get("index"))
        if kind == "message_start" and isinstance(ev.get("message"), dict):
            self.final = dict(ev["message"])
            usage = self.final.get("usage")
            self.usage = dict(usage) if isinstance(usage, dict) else {}
        elif kind == "content_block_start" and isinstance(ev.get("content_block"), dict):
            self.blocks[index] = {**ev["content_block"], "_json": ""}
        elif kind == "content_block_delta" and isinstance(ev.get("delta"), dict) and index in self.blocks:
            d, block = ev["delta"], self.blocks[index]
            if isinstance(d.get("text"), str):
                block["text"] = _str(block.get("text")) + d["text"]
            block["_json"] += _str(d.get("partial_json"))
        elif kind == "message_delta" and isinstance(ev.get("usage"), dict):
            self.usage.update(ev["usage"])

    def body(self) -> dict[str, Any]:
        if self.wire == "chat":
            message = dict(self.chat)
            if self.calls:
                message["tool_calls"] = [self.calls[i] for i in sorted(self.calls)]
            return {"model": self.final.get("model"), "choices": [{"message": message}], "usage": self.usage}
        if self.wire == "responses":
            return self.final.get("response") if isinstance(self.final.get("response"), dict) else {}
        content = []
        for i in sorted(self.blocks):
            block = {k: v for k, v in self.blocks[i].items() if k != "_json" and v is not None}
            if block.get("type") == "tool_use" and self.blocks[i]["_json"]:
                try:
                    block["input"] = json.loads(self.blocks[i]["_json"])
                except ValueError:
                    pass
            content.append(block)
        return {**self.final, "content": content, "usage": self.usage}
