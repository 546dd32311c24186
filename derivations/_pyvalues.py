"""Small independent pieces for the python_semantics derivations: docstrings read from compiled
code objects, an integer scanner, the query walk, file selection with `glob`, JSON equality."""
from __future__ import annotations

import dis
import glob as globlib
import inspect
import os
import re
import types
from pathlib import Path
from typing import Any, Iterator

from evaluator.scoring.oracle_api import OracleError


def _code_objects(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _stored_doc(code: types.CodeType) -> str | None:
    """A module's or class body's docstring: the `__doc__` it stores before anything else."""
    previous = None
    for ins in dis.get_instructions(code):
        if ins.opname == "STORE_NAME":
            if ins.argval == "__doc__":
                return previous if isinstance(previous, str) else None
            if ins.argval not in ("__module__", "__qualname__"):
                return None
        if ins.opname == "LOAD_CONST":
            previous = ins.argval
    return None


def docstring(source: str, path: str, qualname: str | None) -> str | None:
    """The cleaned docstring of the module or of the last definition named `qualname`, read from
    the compiled code objects (compiling runs nothing)."""
    try:
        module = compile(source, path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise OracleError(f"{path}: does not compile: {exc}") from None
    if qualname is None:
        doc = _stored_doc(module)
    else:
        want = ".".join(p for p in qualname.split(".") if p != "<locals>")
        found = [c for c in _code_objects(module) if c.co_qualname.replace("<locals>.", "") == want]
        if not found:
            raise OracleError(f"{path}: no definition named {qualname!r}")
        code = max(found, key=lambda c: c.co_firstlineno)
        is_function = bool(code.co_flags & inspect.CO_NEWLOCALS) and not _looks_like_class_body(code)
        if is_function:
            doc = code.co_consts[0] if code.co_consts and isinstance(code.co_consts[0], str) else None
        else:
            doc = _stored_doc(code)
    return inspect.cleandoc(doc) if doc else None


def _looks_like_class_body(code: types.CodeType) -> bool:
    return any(i.opname == "STORE_NAME" and i.argval == "__qualname__" for i in dis.get_instructions(code))


def _word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def integers(text: str) -> list[int]:
    """Integers written in prose: a digit run not inside a word or a decimal (`conv2d`, `0.5`),
    `1,000` read as 1000 (groups of three), a `-` right before the digits (not after a word
    character) as a sign."""
    out: list[int] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        before = text[i - 1] if i else ""
        sign = ch == "-" and i + 1 < n and text[i + 1].isdecimal()
        if not (sign or ch.isdecimal()) or (before and (_word(before) or before == ".")):
            i += 1
            continue
        start = i + 1 if sign else i
        end = start
        while end < n and text[end].isdecimal():
            end += 1
        value, stop = _grouped(text, start, end)
        if value is None and _ends_number(text, end):
            value, stop = text[start:end], end
        if value is None:
            i = end if not sign else i + 1
            continue
        out.append(int(("-" if sign else "") + value))
        i = stop
    return out


def _ends_number(text: str, j: int) -> bool:
    """Nothing glued after position j: not a word character, not a decimal point with digits."""
    if j >= len(text):
        return True
    return not _word(text[j]) and not (text[j] == "." and j + 1 < len(text) and text[j + 1].isdecimal())


def _grouped(text: str, start: int, end: int) -> tuple[str | None, int]:
    """`1,000,000` at start..: the longest run of `,ddd` groups that ends cleanly, if any."""
    if end - start > 3:
        return None, end
    stops = []
    j = end
    while j + 3 < len(text) and text[j] == "," and all(c.isdecimal() for c in text[j + 1:j + 4]):
        j += 4
        stops.append(j)
    for stop in reversed(stops):
        if _ends_number(text, stop):
            return text[start:stop].replace(",", ""), stop
    return None, end


def query_steps(query: str) -> list[int | str]:
    """`a.b[0]["x.y"]` -> ["a", "b", 0, "x.y"]."""
    steps: list[int | str] = []
    for m in re.finditer(r"""\[(-?\d+)\]|\[(["'])(.*?)\2\]|(?:^|\.)([^.\[\]]+)|(.)""", query):
        if m.group(5) is not None:
            raise OracleError(f"bad query {query!r}")
        steps.append(int(m.group(1)) if m.group(1) else m.group(3) if m.group(2) else m.group(4))
    if not steps:
        raise OracleError("empty query")
    return steps


def follow(value: Any, query: str, where: str) -> Any:
    for step in query_steps(query):
        if isinstance(value, dict):
            digits = isinstance(step, str) and re.fullmatch(r"-?\d+", step)
            keys = [step, str(step)] if isinstance(step, int) else [step, int(step)] if digits else [step]
            hit = next((k for k in keys if k in value), None)
            if hit is None:
                raise OracleError(f"{where}: no {step!r} in the evaluated config")
            value = value[hit]
        elif isinstance(value, list) and re.fullmatch(r"-?\d+", str(step)) and -len(value) <= int(step) < len(value):
            value = value[int(step)]
        else:
            raise OracleError(f"{where}: no {step!r} in the evaluated config")
    return value


def braces(pattern: str) -> list[str]:
    m = re.search(r"\{([^{}]*)\}", pattern)
    if not m:
        return [pattern]
    return [x for alt in m.group(1).split(",") for x in braces(pattern[:m.start()] + alt + pattern[m.end():])]


def select_files(repo_root: Path, root: str, pattern: str, exclude_dirs: list[str] | None) -> list[str]:
    """Repo-relative paths of regular .py files (no links) under `root` that Python's `glob`
    (recursive `**`, hidden files too) matches with `pattern` relative to `root`; `.git` and
    `exclude_dirs` (a bare name anywhere, or a repo-relative directory) left out."""
    base = (repo_root / root).resolve()
    if not base.is_dir() or not base.is_relative_to(repo_root.resolve()):
        raise OracleError(f"no such directory in the repository: {root!r}")
    names = {".git"} | {d.strip("/") for d in exclude_dirs or [] if "/" not in d.strip("/")}
    prefixes = [d.strip("/") + "/" for d in exclude_dirs or [] if "/" in d.strip("/")]
    found = set()
    for pat in braces(pattern):
        for rel in globlib.glob(pat, root_dir=base, recursive=True, include_hidden=True):
            full = base / rel
            repo_rel = os.path.relpath(full, repo_root.resolve()).replace(os.sep, "/")
            parts = repo_rel.split("/")
            if not rel.endswith(".py") or names & set(parts[:-1]) or any(repo_rel.startswith(p) for p in prefixes):
                continue
            if any((repo_root / "/".join(parts[:k])).is_symlink() for k in range(1, len(parts) + 1)) or not full.is_file():
                continue
            found.add(repo_rel)
    return sorted(found)


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values where true is never 1 and 1 equals 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return set(a) == set(b) and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(json_equal, a, b))
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return False
    return a == b


def holds(value: Any, key: str, wanted: Any) -> bool:
    """Some dict at any depth of `value` maps `key` to `wanted`."""
    if isinstance(value, dict):
        return (key in value and json_equal(value[key], wanted)) or any(holds(v, key, wanted) for v in value.values())
    return isinstance(value, list) and any(holds(v, key, wanted) for v in value)
