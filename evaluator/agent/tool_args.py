"""Checking a tool call's arguments before any tool sees them.

Whatever a model sends as a tool call (any JSON, text with NUL bytes or lone surrogates,
megabytes of it) ends here as either validated arguments or a `ToolError`: one sentence that
goes back to the model and counts as a format error. Nothing it sends can make a tool crash
the harness, and no check here costs more than a linear pass over a capped string.

The caps are here, in one place (docs/sandbox.md lists them):
"""
from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ValidationError, ValidationInfo, field_validator

from evaluator.reporting.textsafe import has_surrogates

MAX_ARGUMENTS_CHARS = 1_048_576  # a whole `arguments` string (a write_file's content is inside it)
MAX_COMMAND_BYTES = 65_536  # run_command's command line, in UTF-8 bytes; the policy check is bounded by it
MAX_PATH_BYTES = 4_096  # PATH_MAX: a path argument (path, cwd)
MAX_INT = 2**31 - 1  # any integer argument (all are counts: seconds, bytes)

_PATH_FIELDS = frozenset({"path", "cwd"})
_NO_NUL_FIELDS = _PATH_FIELDS | {"command"}  # NUL cannot be in a path or an argv string


class ToolError(Exception):
    """Refused or failed tool call; the message goes back to the model."""


def _kib(n: int) -> str:
    return f"{n // 1024} KiB"


class ToolArgs(BaseModel):
    """Base of every tool's arguments: text must be encodable and within the caps."""

    @field_validator("*", mode="after")
    @classmethod
    def _sane(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name or ""
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int) and not 0 <= value <= MAX_INT:  # every integer argument is a count
            raise ValueError(f"must be between 0 and {MAX_INT}")
        if not isinstance(value, str):
            return value
        if name == "command" and (len(value) > MAX_COMMAND_BYTES or len(value.encode("utf-8", "surrogatepass")) > MAX_COMMAND_BYTES):
            raise ValueError(f"is {len(value.encode('utf-8', 'surrogatepass'))} bytes long; commands are limited to "
                             f"{_kib(MAX_COMMAND_BYTES)}. Write long scripts to a file with write_file and run that file")
        if name in _PATH_FIELDS and len(value.encode("utf-8", "surrogatepass")) > MAX_PATH_BYTES:
            raise ValueError(f"is longer than {MAX_PATH_BYTES} bytes")
        if name in _NO_NUL_FIELDS and "\x00" in value:
            raise ValueError("contains a NUL byte (\\u0000), which no path or command can hold")
        if has_surrogates(value):
            raise ValueError("contains a lone UTF-16 surrogate (e.g. \\ud800), which is not valid text; send UTF-8 text")
        return value


def _kind(value: Any) -> str:
    return {dict: "a JSON object", list: "a JSON array", bool: "a boolean", int: "a number", float: "a number",
            type(None): "null"}.get(type(value), "a string")


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=True, default=str)
    text = text.encode("ascii", "backslashreplace").decode()
    return repr(text[:limit] + ("..." if len(text) > limit else ""))


def parse_args(models: dict[str, type[ToolArgs]], name: Any, raw: Any) -> BaseModel:
    """Validate one tool call (`name` and its `arguments`, as the endpoint sent them)."""
    if not isinstance(name, str) or name not in models:
        shown = _short(name) if isinstance(name, str) else f"{_kind(name)} ({_short(name)})"
        raise ToolError(f"unknown tool {shown}; available: {', '.join(models)}")
    if not isinstance(raw, str):
        raise ToolError(f"arguments must be a string holding a JSON object (e.g. \"{{\\\"path\\\": \\\".\\\"}}\"), "
                        f"not {_kind(raw)}")
    if len(raw) > MAX_ARGUMENTS_CHARS:
        raise ToolError(f"arguments are {len(raw)} characters long; the limit is {MAX_ARGUMENTS_CHARS}")
    try:
        data = json.loads(raw or "{}")
    except ValueError as exc:
        raise ToolError(f"arguments are not valid JSON ({getattr(exc, 'msg', exc)}); send a JSON object") from None
    except RecursionError:
        raise ToolError("arguments are nested too deeply to be read; send a flat JSON object") from None
    if not isinstance(data, dict):
        raise ToolError(f"arguments must be a JSON object, not {_kind(data)}")
    try:
        return models[name].model_validate(data)
    except ValidationError as exc:
        e = exc.errors(include_url=False, include_input=False)[0]
        msg = e["msg"].removeprefix("Value error, ")
        raise ToolError(f"bad arguments for {name}: `{'.'.join(map(str, e['loc']))}` {msg}") from None
