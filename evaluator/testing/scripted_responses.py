"""The Responses API shape for the scripted server: reply builders and the request checks.

`ReasoningLedger` plays the part of the real API's rule that a reasoning item must come
back with the function call it preceded: every reasoning item the server hands out is
remembered by the call ids it went with, and a later request that answers one of those
calls without sending the reasoning item back is refused with a 400, as OpenAI does.
"""
from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from pydantic import BaseModel, Field


class FunctionCall(BaseModel):
    name: str
    arguments: dict[str, Any] | str
    call_id: str


def response_body(text: str | None = None, calls: list[FunctionCall] | None = None, *, reasoning: str | None = None,
                  model: str = "scripted", input_tokens: int = 10, output_tokens: int = 5,
                  reasoning_tokens: int = 0) -> dict[str, Any]:
    """A completed Responses API object: optional reasoning item, then text, then function calls."""
    output: list[dict[str, Any]] = []
    if reasoning is not None:
        n = hashlib.sha256(json.dumps([reasoning, [c.call_id for c in calls or []]]).encode()).hexdigest()[:12]
        output.append({"id": f"rs_{n}", "type": "reasoning", "encrypted_content": f"enc:{n}:{reasoning}",
                       "summary": [{"type": "summary_text", "text": reasoning}]})
    if text is not None:
        output.append({"id": "msg_scripted", "type": "message", "role": "assistant", "status": "completed",
                       "content": [{"type": "output_text", "text": text, "annotations": []}]})
    for c in calls or []:
        args = c.arguments if isinstance(c.arguments, str) else json.dumps(c.arguments)
        output.append({"id": f"fc_{c.call_id}", "type": "function_call", "call_id": c.call_id, "name": c.name,
                       "arguments": args, "status": "completed"})
    return {"id": "resp_scripted", "object": "response", "created_at": 0, "model": model, "status": "completed",
            "output": output, "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
            "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens + reasoning_tokens,
                      "output_tokens_details": {"reasoning_tokens": reasoning_tokens},
                      "input_tokens_details": {"cached_tokens": 0},
                      "total_tokens": input_tokens + output_tokens + reasoning_tokens}}


def input_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A Responses request's input, as role/content messages, for scripts that read the task."""
    out = []
    for item in body.get("input") or []:
        if isinstance(item, dict) and item.get("role"):
            content = item.get("content")
            if isinstance(content, list):
                content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
            out.append({"role": item["role"], "content": content})
    return out


def _from_model(item: dict[str, Any]) -> bool:
    return item.get("type") in ("reasoning", "function_call") or item.get("role") == "assistant"


def responses_turn(body: dict[str, Any]) -> int:
    """How many model replies the request's input already holds (runs of model-made items)."""
    turns, inside = 0, False
    for item in body.get("input") or []:
        mine = isinstance(item, dict) and _from_model(item)
        turns += mine and not inside
        inside = mine
    return turns


class ReasoningLedger(BaseModel):
    issued: dict[str, dict[str, Any]] = Field(default_factory=dict)  # call id -> the reasoning item before it
    returned: int = 0  # reasoning items that came back where they belong
    missing: list[str] = Field(default_factory=list)
    lock: Any = Field(default_factory=threading.Lock, exclude=True)

    def remember(self, reply_body: Any) -> None:
        if not isinstance(reply_body, dict) or reply_body.get("object") != "response":
            return
        reasoning = None
        with self.lock:
            for item in reply_body.get("output") or []:
                if item.get("type") == "reasoning":
                    reasoning = item
                elif item.get("type") == "function_call" and reasoning is not None:
                    self.issued[item["call_id"]] = reasoning

    def check(self, body: dict[str, Any]) -> str | None:
        """None when every answered call's reasoning item came back before it; else the error."""
        items = [i for i in body.get("input") or [] if isinstance(i, dict)]
        for n, item in enumerate(items):
            if item.get("type") != "function_call_output" or item.get("call_id") not in self.issued:
                continue
            want = self.issued[item["call_id"]]
            sent = any(i.get("type") == "reasoning" and i.get("id") == want["id"]
                       and i.get("encrypted_content") == want["encrypted_content"] for i in items[:n])
            with self.lock:
                if not sent:
                    self.missing.append(want["id"])
                    return (f"Item '{item['call_id']}' of type 'function_call_output' answers a call whose "
                            f"reasoning item '{want['id']}' was not provided.")
                self.returned += 1
        return None
