"""Shared helpers for the code and config fact oracles: safe paths, tree walks, globs,
JSON normalisation and the dotted query language used by `yaml_query` and friends."""
from __future__ import annotations

import datetime
import json
import os
import posixpath
import re
from pathlib import Path
from typing import Any, Iterator

from evaluator.scoring.oracle_api import OracleError
from oracles.original import expand_braces

ALWAYS_SKIPPED = frozenset({".git"})


def resolve_path(repo_root: Path, rel: str, *, kind: str = "file") -> Path:
    """`repo_root/rel` after checking it stays inside the repo and is a `kind` ("file"/"dir")."""
    norm = posixpath.normpath(rel.replace("\\", "/")) if rel else "."
    if norm.startswith("/") or norm == ".." or norm.startswith("../"):
        raise OracleError(f"path {rel!r} is outside the repository")
    target = repo_root / norm
    if target.exists() and not target.resolve().is_relative_to(repo_root.resolve()):
        raise OracleError(f"path {rel!r} leads outside the repository (symlink)")
    if kind == "file" and not target.is_file():
        raise OracleError(f"no such file in the repository: {rel!r}")
    if kind == "dir" and not target.is_dir():
        raise OracleError(f"no such directory in the repository: {rel!r}")
    return target


def relpath(repo_root: Path, path: Path) -> str:
    return path.relative_to(repo_root).as_posix()


def iter_files(
    repo_root: Path, root: str = ".", exclude_dirs: list[str] | None = None, suffix: str | None = None
) -> Iterator[Path]:
    """Regular files under `root` in sorted order. `.git` is always pruned; an `exclude_dirs`
    entry without a slash prunes every directory of that name, one with a slash prunes that
    repo-relative directory only."""
    base = resolve_path(repo_root, root, kind="dir")
    entries = [d.strip("/") for d in exclude_dirs or []]
    names = ALWAYS_SKIPPED | {d for d in entries if "/" not in d}
    paths = {d for d in entries if "/" in d}
    for cur, dirs, files in os.walk(base):
        cur_rel = relpath(repo_root, Path(cur))
        dirs[:] = sorted(
            d for d in dirs if d not in names and (d if cur_rel == "." else f"{cur_rel}/{d}") not in paths
        )
        for name in sorted(files):
            path = Path(cur, name)
            if (suffix is None or name.endswith(suffix)) and path.is_file() and not path.is_symlink():
                yield path


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A pathlib-style glob as a full-match regex over posix relative paths:
    `**/` is zero or more directories, `*` and `?` never cross `/`, `[...]` is a class."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2 :]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1 : end]
            # re.escape would make the `-` of a range (`[a-z]`) a literal hyphen
            klass = re.escape(body[1:] if body.startswith("!") else body).replace("\\-", "-")
            out.append("[" + ("^" if body.startswith("!") else "") + klass + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def glob_matcher(glob: str) -> "GlobMatcher":
    return GlobMatcher([glob_regex(p) for p in expand_braces(glob)])


class GlobMatcher:
    def __init__(self, regexes: list[re.Pattern[str]]) -> None:
        self.regexes = regexes

    def __call__(self, rel: str) -> bool:
        return any(rx.fullmatch(rel) for rx in self.regexes)


def json_key(key: Any) -> str:
    # Same conversion json.dumps applies, done up front so cached and fresh results agree.
    return key if isinstance(key, str) else json.dumps(key) if key is None or isinstance(key, (bool, int, float)) else str(key)


def jsonable(value: Any) -> Any:
    """Plain JSON data: tuples -> lists, sets -> sorted lists, dates -> ISO strings, keys -> str."""
    if isinstance(value, dict):
        return {json_key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


_STEP = re.compile(r"""\[\s*(?:(-?\d+)|"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*\]|(\.)?([^.\[\]]+)""")


def parse_query(query: str) -> list[int | str]:
    """`a.b-c[2]["x.y"].0` -> ["a", "b-c", 2, "x.y", "0"]; ints come from `[n]` only."""
    steps: list[int | str] = []
    pos = 0
    while pos < len(query):
        m = _STEP.match(query, pos)
        if not m or (m.group(5) is not None and (m.group(4) is None) != (pos == 0)):
            raise OracleError(f"bad query {query!r} at character {pos}")
        if m.group(1) is not None:
            steps.append(int(m.group(1)))
        elif m.group(5) is not None:
            steps.append(m.group(5))
        else:
            quoted = m.group(2) if m.group(2) is not None else m.group(3)
            steps.append(re.sub(r"\\(.)", r"\1", quoted))
        pos = m.end()
    if not steps:
        raise OracleError("empty query")
    return steps


def apply_query(data: Any, query: str, where: str) -> Any:
    """Follow `query` into `data`. Dict keys are tried as written, then as an int when they
    are digits (YAML `1:` keys); list steps take `[n]` or a bare digit component."""
    cur = data
    done: list[str] = []
    for step in parse_query(query):
        found = False
        if isinstance(cur, dict):
            for key in _key_candidates(step):
                if key in cur:
                    cur, found = cur[key], True
                    break
        elif isinstance(cur, list):
            idx = step if isinstance(step, int) else int(step) if re.fullmatch(r"-?\d+", step) else None
            if idx is not None and -len(cur) <= idx < len(cur):
                cur, found = cur[idx], True
        if not found:
            at = ".".join(done) or "<top>"
            raise OracleError(f"{where}: query {query!r}: no {step!r} under {at} ({type(cur).__name__})")
        done.append(str(step))
    return jsonable(cur)


def _key_candidates(step: int | str) -> list[Any]:
    if isinstance(step, int):
        return [step, str(step)]
    return [step, int(step)] if re.fullmatch(r"-?\d+", step) else [step]
