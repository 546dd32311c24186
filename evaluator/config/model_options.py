"""How the harness talks to a model: API, tool format, vendor options, vision.

Flags and their checks live here so that settings.py only calls `model_options_from`.
Header values whose names look like credentials are never written to run.json.
"""
from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from evaluator.config.errors import ConfigError
from evaluator.models.presets import PresetError, load_presets

APIS = ("chat", "responses")
TOOL_FORMATS = ("native", "text")
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")
REDACTED = "***"
_SECRET_HEADER = re.compile(r"auth|key|token|secret|cookie|password|credential", re.I)
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")  # an HTTP token (RFC 9110)


def add_model_option_flags(m: argparse._ArgumentGroup) -> None:
    m.add_argument("--api", choices=APIS, default=None,
                   help="chat (default): Chat Completions; responses: OpenAI's Responses API, reasoning items carried across turns.")
    m.add_argument("--tool-format", choices=TOOL_FORMATS, default=None,
                   help="native (default): function calling; text: tools described in the prompt, calls parsed from "
                        "fenced blocks (for endpoints without function calling).")
    m.add_argument("--reasoning-effort", choices=REASONING_EFFORTS,
                   help="Reasoning effort for reasoning models (reasoning_effort / reasoning.effort; default: not sent).")
    m.add_argument("--header", action="append", default=[], metavar="NAME=VALUE",
                   help="Extra HTTP header on every model request, for gateways (repeatable). "
                        "Values of auth/key/token-like headers are redacted in run.json (default: none).")
    m.add_argument("--vision", action="store_true", default=None,
                   help="The model accepts images: read_file on an image shows it to the model (default: its preset).")
    m.add_argument("--model-presets", type=Path, metavar="FILE",
                   help="Your model presets YAML over the built-in ones (env AGENTGYM_MODEL_PRESETS): "
                        "context window, vision, tool format, api, prices (default: the built-in presets only).")


def parse_headers(values: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in values or []:
        name, sep, value = raw.partition("=")
        name = name.strip()
        if not sep or not _HEADER_NAME.match(name):
            raise ConfigError(f"--header must look like NAME=VALUE with an HTTP header name, got {raw!r}")
        if any(c in value for c in "\r\n\0"):
            raise ConfigError(f"--header {name}: the value may not contain line breaks")
        out[name] = value
    return out


def secret_header(name: str) -> bool:
    return bool(_SECRET_HEADER.search(name))


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: REDACTED if secret_header(k) else v for k, v in headers.items()}


def restore_headers(recorded: dict[str, str], given: dict[str, str]) -> dict[str, str]:
    """Headers for a resumed run: the recorded ones, with redacted values given again by --header."""
    out = {**recorded, **given}
    missing = sorted(k for k, v in out.items() if v == REDACTED)
    if missing:
        raise ConfigError(f"the run used header {missing[0]}, whose value is not stored in run.json: "
                          f"pass it again with --header {missing[0]}=...")
    return out


def model_options_from(ns: argparse.Namespace, model: str) -> dict[str, Any]:
    """The RunConfig fields these flags set; the model's preset fills what they leave out."""
    out: dict[str, Any] = {"headers": parse_headers(getattr(ns, "header", []))}
    for field in ("api", "tool_format", "reasoning_effort", "vision"):
        value = getattr(ns, field, None)
        if value is not None:
            out[field] = value
    try:
        found = load_presets(getattr(ns, "model_presets", None)).lookup(model)
    except PresetError as exc:
        raise ConfigError(str(exc)) from None
    if found:
        key, preset = found
        out["preset"], out["context_window"] = key, preset.context_window
        for field in ("api", "tool_format", "vision"):
            if field not in out and getattr(preset, field) is not None:
                out[field] = getattr(preset, field)
    return out


def comparable_options(config: dict[str, Any]) -> dict[str, Any]:
    """The recorded options that change what a model sees or can do: runs differing in them are
    not like for like. Headers as recorded: credential values are already redacted."""
    return {"api": config.get("api", "chat"), "tool_format": config.get("tool_format", "native"),
            "reasoning_effort": config.get("reasoning_effort"), "extra_body": config.get("extra_body") or {},
            "vision": bool(config.get("vision", False)), "headers": config.get("headers") or {}}
