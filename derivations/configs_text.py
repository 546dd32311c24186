"""Text formats read a second way for `derivations.configs`: query paths, INI files, Markdown tables.

Each is written from the format's own rules, not from the oracle's code: the query path is read by
a character scanner (the oracle uses one regular expression per step); INI files by a line parser
that follows the `configparser` documentation (the oracle calls `configparser`); Markdown pipe
tables by one multi-line regular expression over the whole text (the oracle walks lines).
"""
from __future__ import annotations

import datetime
import json
import re
from typing import Any

from evaluator.scoring.oracle_api import OracleError

_DIGITS = re.compile(r"-?[0-9]+")


def query_steps(query: str) -> list[int | str]:
    """`a.b-c[2]["x.y"].0` -> ["a", "b-c", 2, "x.y", "0"]: names between dots, `[n]` indices
    (ints), `["..."]`/`['...']` quoted keys with backslash escapes. OracleError when malformed."""
    steps: list[int | str] = []
    i, n = 0, len(query)
    while i < n:
        if query[i] == "[":
            close = _bracket(query, i, steps)
            i = close + 1
            continue
        if steps:  # a name after the first step needs its dot
            if query[i] != "." or i + 1 >= n or query[i + 1] in ".[]":
                raise OracleError(f"bad query {query!r} at character {i}")
            i += 1
        elif query[i] in ".]":
            raise OracleError(f"bad query {query!r} at character {i}")
        start = i
        while i < n and query[i] not in ".[]":
            i += 1
        steps.append(query[start:i])
    if not steps:
        raise OracleError("empty query")
    return steps


def _bracket(query: str, i: int, steps: list[int | str]) -> int:
    """Reads `[...]` starting at `i`, appends its step, returns the index of `]`."""
    j = i + 1
    while j < len(query) and query[j].isspace():
        j += 1
    if j < len(query) and query[j] in "\"'":
        quote, j, chars = query[j], j + 1, []
        while j < len(query) and query[j] != quote:
            if query[j] == "\\" and j + 1 < len(query):
                j += 1
            chars.append(query[j])
            j += 1
        if j >= len(query):
            raise OracleError(f"bad query {query!r}: unterminated quote at character {i}")
        step: int | str = "".join(chars)
        j += 1
    else:
        end = j
        while end < len(query) and (query[end].isdigit() or (end == j and query[end] == "-")):
            end += 1
        if end == j or not _DIGITS.fullmatch(query[j:end]):
            raise OracleError(f"bad query {query!r} at character {i}")
        step, j = int(query[j:end]), end
    while j < len(query) and query[j].isspace():
        j += 1
    if j >= len(query) or query[j] != "]":
        raise OracleError(f"bad query {query!r} at character {i}")
    steps.append(step)
    return j


def follow(data: Any, steps: list[int | str], where: str) -> Any:
    """The value `steps` reach; a mapping key matches as written or as the same integer, a list
    takes an int step or an all-digit name (negative counts from the end)."""
    cur = data
    for depth, step in enumerate(steps):
        if isinstance(cur, dict):
            if isinstance(step, int):
                wanted: list[Any] = [step, str(step)]
            else:
                wanted = [step, int(step)] if _DIGITS.fullmatch(step) else [step]
            hit = next((k for k in wanted if k in cur), _MISSING)
            nxt = cur[hit] if hit is not _MISSING else _MISSING
        elif isinstance(cur, list):
            idx = step if isinstance(step, int) else int(step) if _DIGITS.fullmatch(step) else None
            nxt = cur[idx] if idx is not None and -len(cur) <= idx < len(cur) else _MISSING
        else:
            nxt = _MISSING
        if nxt is _MISSING:
            raise OracleError(f"{where}: nothing at step {depth + 1} ({step!r}) of the query")
        cur = nxt
    return plain(cur)


_MISSING = object()


def fan_out(data: Any, parts: list[str]) -> list[Any]:
    """Every value a dot path with `*` wildcards reaches, in document order; dead ends give nothing."""
    found = [data]
    for part in parts:
        nxt: list[Any] = []
        for cur in found:
            if part == "*":
                nxt += list(cur.values()) if isinstance(cur, dict) else cur if isinstance(cur, list) else []
            elif isinstance(cur, dict):
                key = part if part in cur else next((k for k in cur if str(k) == part), _MISSING)
                if key is not _MISSING:
                    nxt.append(cur[key])
            elif isinstance(cur, list) and _DIGITS.fullmatch(part) and -len(cur) <= int(part) < len(cur):
                nxt.append(cur[int(part)])
        found = nxt
    return [plain(v) for v in found]


def plain(value: Any) -> Any:
    """JSON data: mapping keys as JSON would write them, tuples as lists, dates as ISO strings."""
    if isinstance(value, dict):
        return {k if isinstance(k, str) else json.dumps(k) if isinstance(k, (bool, int, float)) or k is None
                else str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return value


# --- INI ------------------------------------------------------------------------------------

_SECTION = re.compile(r"\[(.+)\]")


def ini_sections(text: str) -> dict[str, dict[str, str]]:
    """{section: {lower-cased key: raw value}} following configparser's documented defaults:
    `=` or `:` separates key and value (the first of either), whole-line `#`/`;` comments,
    continuation lines indented deeper than their key (blank lines inside a value kept, trailing
    ones dropped), repeated sections merged and repeated keys overwritten (strict=False),
    `[DEFAULT]` values visible in every section. OracleError for a key line before any section or
    a line that is neither."""
    sections: dict[str, dict[str, list[str]]] = {}
    cur: dict[str, list[str]] | None = None
    key: str | None = None
    key_indent = 0
    for number, line in enumerate(text.splitlines(), 1):
        body = line.strip()
        indent = len(line) - len(line.lstrip())
        if body.startswith(("#", ";")):
            continue  # a comment neither ends nor extends a value
        if not body:
            if cur is not None and key is not None:
                cur[key].append("")
            continue
        if cur is not None and key is not None and indent > key_indent:
            cur[key].append(body)
            continue
        header = _SECTION.match(body)
        if header:
            cur, key = sections.setdefault(header.group(1), {}), None
            continue
        cut = min((p for p in (body.find("="), body.find(":")) if p >= 0), default=-1)
        if cut < 0 or cur is None:
            raise OracleError(f"line {number} is not a section header or a key = value line: {body!r}")
        key, key_indent = body[:cut].strip().lower(), indent
        cur[key] = [body[cut + 1:].strip()]
    defaults = sections.pop("DEFAULT", {})
    joined = {name: {**defaults, **keys} for name, keys in sections.items()}
    return {name: {k: "\n".join(v).rstrip() for k, v in keys.items()} for name, keys in joined.items()}


# --- Markdown pipe tables -----------------------------------------------------------------------

_FENCED = re.compile(r"^[ \t]*```.*?(?:^[ \t]*```[^\n]*$|\Z)", re.M | re.S)
_TABLE = re.compile(
    r"^[ \t]*(\|[^\n]*)\n"                                   # header: a line starting with |
    r"[ \t]*(\|[ \t]*[:-]*-[:-]*[ \t]*(?:\|[ \t]*[:-]*-[:-]*[ \t]*)*\|?)[ \t]*(?:\n|\Z)"  # | --- | :-: |
    r"((?:[ \t]*\|[^\n]*(?:\n|\Z))*)",                       # body: the lines starting with | after it
    re.M)
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_WRAPPED = re.compile(r"(\*\*|__|\*|_|`)(.+)\1", re.S)


def _cells(row: str) -> list[str]:
    row = row.strip()
    row = row[1:] if row.startswith("|") else row
    row = row[:-1] if row.endswith("|") and not row.endswith("\\|") else row
    return [c.replace("\\|", "|").strip() for c in _CELL_SPLIT.split(row)]


def md_tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """(header cells, body rows) of each pipe table outside ``` fences, in document order."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _FENCED.sub(lambda m: "\n" * m.group(0).count("\n"), text)  # blank fences, keep line breaks
    out = []
    for m in _TABLE.finditer(text):
        body = [line for line in m.group(3).split("\n") if line.strip()]
        out.append((_cells(m.group(1)), [_cells(line) for line in body]))
    return out


def unwrap(cell: str) -> str:
    """A cell wholly wrapped in one emphasis or code mark loses that one wrapping."""
    m = _WRAPPED.fullmatch(cell)
    return m.group(2).strip() if m else cell
