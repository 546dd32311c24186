"""An assistant message as the endpoint sent it, made into one the loop can run and send back.

Endpoints send anything: `tool_calls: "abc"`, calls that are numbers, `arguments` as a JSON
object, content as a list. What cannot be a tool call is dropped from the message (so the
history stays valid for the next request) and described in one note to the model; what can
be kept but is wrong is kept, normalised, and answered with a tool error by the loop. Each
problem is one format error; none is the harness's.
"""
from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel


class Call(BaseModel):
    """One tool call to answer: its OpenAI-shaped form, and the error to answer with instead of running it."""

    message: dict[str, Any]
    name: str
    arguments: Any
    error: str | None = None


def _text(value: Any) -> str | None:
    """Message text: a string, the text parts of a content list, or the JSON of anything else."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(p, dict) and isinstance(p.get("text"), str) for p in value):
        return "".join(p["text"] for p in value)
    return json.dumps(value, ensure_ascii=False)


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def _call(entry: Any, turn: int, k: int) -> Call | str:
    """A runnable (or answerable) call, or why `entry` cannot be one."""
    if not isinstance(entry, dict):
        return f"tool call {k + 1} is {_kind(entry)}, not an object"
    fn = entry.get("function")
    if not isinstance(fn, dict):
        return f"tool call {k + 1} has no `function` object"
    name = fn.get("name")
    if not isinstance(name, str) or not name:
        return f"tool call {k + 1} has no function name (`function.name` is {_kind(name)})"
    call_id = entry.get("id") if isinstance(entry.get("id"), str) and entry.get("id") else f"call_{turn}_{k}"
    raw = fn.get("arguments")
    error = None
    if raw is not None and not isinstance(raw, str):
        error = ("arguments must be a string holding a JSON object (e.g. \"{\\\"path\\\": \\\".\\\"}\"), "
                 f"not {_kind(raw)}")
    # The history must be valid for the next request: arguments go back as a string.
    shown = raw if isinstance(raw, str) else json.dumps(raw if raw is not None else {}, ensure_ascii=False)
    # Other keys are the provider's (e.g. signatures it wants back): kept as sent.
    message = {**entry, "id": call_id, "type": "function", "function": {**fn, "name": name, "arguments": shown}}
    return Call(message=message, name=name, arguments="" if raw is None else raw, error=error)  # absent: no arguments


def split_reply(raw: dict[str, Any], turn: int) -> tuple[dict[str, Any], list[Call], list[str]]:
    """(the assistant message to keep, the calls to answer, problems with what was dropped)."""
    message: dict[str, Any] = {"role": "assistant", "content": _text(raw.get("content"))}
    if raw.get("reasoning_content"):
        message["reasoning_content"] = _text(raw["reasoning_content"])
    entries = raw.get("tool_calls")
    calls: list[Call] = []
    problems: list[str] = []
    if not entries:  # absent, null, empty: a plain answer, as before
        return message, calls, problems
    if not isinstance(entries, list):
        return message, calls, [f"`tool_calls` is {_kind(entries)}, not a list of calls"]
    for k, entry in enumerate(entries):
        got = _call(entry, turn, k)
        if isinstance(got, str):
            problems.append(got)
        else:
            calls.append(got)
    if calls:
        message["tool_calls"] = [c.message for c in calls]
    return message, calls, problems


def problems_note(problems: list[str]) -> str:
    return ("Your last reply had malformed tool calls, which were not run: " + "; ".join(problems)
            + ". Send `tool_calls` as a list of {\"id\", \"type\": \"function\", \"function\": "
              "{\"name\", \"arguments\": \"<JSON object as a string>\"}}.")
