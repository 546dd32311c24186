"""Strings from outside the harness, made safe to store and to render.

Two kinds of outside strings reach the writers:
- text that cannot be encoded as UTF-8: lone surrogates from an endpoint's JSON (`"\\ud800"`)
  and file names that are not UTF-8 (Python hands them over as surrogate escapes). They are
  shown as backslash escapes (`\\xff`, `\\ud800`), so a writer never fails on them;
- text rendered into Markdown (model names, fingerprints, error messages, labels): `md` turns
  it into inert inline text that cannot start a line, end a table cell or open HTML.
"""
from __future__ import annotations

import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_one(m: re.Match[str]) -> str:
    cp = ord(m.group(0))
    # U+DC80..U+DCFF is how Python carries an undecodable byte (surrogateescape): show the byte.
    return f"\\x{cp - 0xDC00:02x}" if 0xDC80 <= cp <= 0xDCFF else f"\\u{cp:04x}"


def escape_surrogates(text: str) -> str:
    """`text` with every surrogate code point written as a backslash escape: always UTF-8 encodable."""
    return text if text.isascii() else _SURROGATE.sub(_escape_one, text)


def has_surrogates(text: str) -> bool:
    return not text.isascii() and _SURROGATE.search(text) is not None


def clean(value: Any) -> Any:
    """`value` (JSON-like) with surrogates escaped in every string, keys included."""
    if isinstance(value, str):
        return escape_surrogates(value)
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


def utf8(text: str) -> bytes:
    """`text` as UTF-8; surrogates (which cannot be encoded) become backslash escapes."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return escape_surrogates(text).encode("utf-8")


# --------------------------------------------------------------------------- Markdown

# Characters that give Markdown or HTML structure, as entities that render as themselves.
# `&` first, so the entities added below are not escaped again.
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "&#124;", "`": "&#96;", "\\": "&#92;",
                "[": "&#91;", "]": "&#93;", "#": "&#35;"}
_MD_SPECIAL = re.compile("[&<>|`\\\\\\[\\]#]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


_CODE_SAFE = re.compile(r"[\w .,:;/@+=~()*#-]+")


def md(value: Any, code: bool = False) -> str:
    """Outside text as one run of inline Markdown, safe in a table cell, a list item or a heading.

    Line breaks and other control characters become one space (a value cannot start a new
    line, so no heading or table row); `|`, backticks, `<`, `>`, `&`, brackets, `#` and `\\`
    become HTML entities (no cell break, code span, HTML comment or tag, link or escape).
    The text reads the same once rendered. `code=True` shows a plain value (an id: letters,
    digits and `.-_/:@` and the like) as a code span, and anything else as escaped text:
    entities would show literally inside a code span."""
    text = escape_surrogates("" if value is None else str(value))
    if code and _CODE_SAFE.fullmatch(text):
        return f"`{text}`"
    text = _CONTROL.sub(" ", text)
    return _MD_SPECIAL.sub(lambda m: _MD_ENTITIES[m.group(0)], text)
