"""The scripted server's check of images in a request, as strict as the real APIs are.

Chat Completions: images only as `image_url` parts of user messages (a tool message cannot
carry one); Responses: `input_image` parts of user messages or function_call_output items.
Every image must be a base64 data URL whose bytes are the image type it claims.
"""
from __future__ import annotations

import base64
import binascii
from typing import Any

from evaluator.models.images import FORMATS, sniff


def _data_url_problem(url: Any) -> str | None:
    if not isinstance(url, str) or not url.startswith("data:"):
        return "image URL is not a data URL"
    head, _, b64 = url.partition(",")
    media = head[5:].removesuffix(";base64")
    if not head.endswith(";base64") or media not in FORMATS.values():
        return f"unsupported image data URL header {head[:40]!r}"
    try:
        data = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        return "image data URL is not valid base64"
    kind = sniff(data[:16])
    if kind is None or FORMATS[kind] != media:
        return f"image bytes are {kind or 'not an image'}, but the URL says {media}"
    return None


def _parts(content: Any) -> list[dict[str, Any]]:
    return [p for p in content if isinstance(p, dict)] if isinstance(content, list) else []


def chat_image_problem(body: dict[str, Any]) -> str | None:
    for m in body.get("messages") or []:
        for part in _parts(m.get("content")):
            if part.get("type") not in ("image_url", "image_ref", "input_image"):
                continue
            if part.get("type") != "image_url" or m.get("role") != "user":
                return f"Invalid content part {part.get('type')!r} in a {m.get('role')!r} message: images go in user messages"
            problem = _data_url_problem((part.get("image_url") or {}).get("url"))
            if problem:
                return problem
    return None


def responses_image_problem(body: dict[str, Any]) -> str | None:
    for item in body.get("input") or []:
        if not isinstance(item, dict):
            continue
        parts = _parts(item.get("output") if item.get("type") == "function_call_output" else item.get("content"))
        for part in parts:
            if part.get("type") in ("image_url", "image_ref"):
                return f"Invalid input part type {part.get('type')!r}; expected 'input_image'"
            if part.get("type") == "input_image":
                problem = _data_url_problem(part.get("image_url"))
                if problem:
                    return problem
    return None
