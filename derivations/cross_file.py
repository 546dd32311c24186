"""Second derivations (see derivations/__init__.py): the cross-file oracles of oracles/cross_file.py.

Each uses a different method from its oracle: call sites from the token stream (`tokenize`)
where the oracle walks the AST; a name's origin by regular expressions over the text where the
oracle follows import statements in the AST. (Inherited config values: cross_file_configs.py.)
"""
from __future__ import annotations

import ast
import io
import os
import re
import tokenize
from pathlib import Path, PurePosixPath

from evaluator.scoring.oracle_api import OracleError, second_derivation

_F_PREFIX = re.compile(r"[rRbBuU]?[fF][rRbB]?['\"]")  # Python < 3.12 keeps an f-string as one STRING token


def _walk_py(repo_root: Path, root: str, exclude_dirs: list[str] | None) -> list[tuple[str, bytes]]:
    """(repo-relative path, bytes) of regular .py files under `root`, `.git` and excluded dirs pruned."""
    top = (repo_root / root).resolve()
    if not top.is_dir() or not top.is_relative_to(repo_root.resolve()):
        raise OracleError(f"no such directory in the repository: {root!r}")
    entries = [e.strip("/") for e in exclude_dirs or []]
    by_name = {e for e in entries if "/" not in e} | {".git"}
    by_path = {e for e in entries if "/" in e}
    out = []
    for cur, dirs, files in os.walk(top):
        here = PurePosixPath(Path(cur).relative_to(repo_root.resolve()).as_posix())
        dirs[:] = [d for d in dirs if d not in by_name and (here / d).as_posix() not in by_path]
        for name in files:
            full = Path(cur, name)
            if name.endswith(".py") and not full.is_symlink() and full.is_file():
                out.append(((here / name).as_posix().removeprefix("./"), full.read_bytes()))
    return out


def _compiles(data: bytes) -> bool:
    try:
        compile(data, "<file>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, ValueError, UnicodeError, RecursionError, OverflowError):
        return False
    return True


def _fields(literal: str) -> list[tuple[int, str]]:
    """(offset, text) of each replacement field `{...}` of an f-string literal; `{{` is a brace."""
    out, i, depth, start = [], 0, 0, 0
    while i < len(literal):
        c = literal[i]
        if depth == 0 and literal.startswith("{{", i):
            i += 2
            continue
        if c == "{":
            depth, start = depth + 1, (i + 1 if depth == 0 else start)
        elif c == "}" and depth:
            depth -= 1
            if depth == 0:
                out.append((start, literal[start:i]))
        elif c in "'\"" and depth:  # a quoted string inside a field: jump over it
            i = max(literal.find(c, i + 1), i)
        i += 1
    return out


def _call_lines(data: bytes | str, function: str, line0: int = 0) -> set[int]:
    """Lines of `function(` in the token stream, f-string fields (one STRING token before 3.12) included."""
    read = io.BytesIO(data).readline if isinstance(data, bytes) else io.StringIO(data).readline
    gen = tokenize.tokenize(read) if isinstance(data, bytes) else tokenize.generate_tokens(read)
    try:
        toks = [t for t in gen if t.type not in (tokenize.NL, tokenize.COMMENT, tokenize.ENCODING)]
    except (tokenize.TokenError, SyntaxError):
        return set()
    lines: set[int] = set()
    for i, tok in enumerate(toks):
        if tok.type == tokenize.STRING and _F_PREFIX.match(tok.string):
            for offset, text in _fields(tok.string):
                lines |= _call_lines(text, function, line0 + tok.start[0] - 1 + tok.string.count("\n", 0, offset))
        if tok.type != tokenize.NAME or tok.string != function or i + 1 >= len(toks):
            continue
        nxt, prev = toks[i + 1], toks[i - 1] if i else None
        if nxt.type == tokenize.OP and nxt.string == "(" and not (prev and prev.string in ("def", "class")):
            lines.add(line0 + tok.start[0])
    return lines


@second_derivation("python_call_sites", method="tokenize: a NAME token followed by `(` and not after def/class, f-string fields re-tokenized")
def call_sites(*, repo_root: Path, function: str, root: str = ".", exclude_dirs: list[str] | None = None,
               by: str = "line") -> list[str]:
    hits = []
    for rel, data in _walk_py(repo_root, root, exclude_dirs):
        if function.encode() in data and _compiles(data):
            hits += [(rel, n) for n in _call_lines(data, function)]
    if by == "file":
        return sorted({rel for rel, _ in hits})
    return [f"{rel}:{n}" for rel, n in sorted(hits)]


# --- where a name comes from, by regular expressions over the text ---------------------------

_TRIPLE = re.compile(r"(?s)('''|\"\"\").*?\1")
_FROM = re.compile(r"^from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|(?:[^\n\\]|\\\n)*)", re.M)


def _blank_strings(text: str) -> str:
    return _TRIPLE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def _file_of(repo_root: Path, dotted_name: str) -> str | None:
    stem = "/".join(dotted_name.split("."))
    for candidate in (stem + ".py", stem + "/__init__.py"):
        p = repo_root / candidate
        if p.is_file() and not p.is_symlink():
            return candidate
    return None


def _absolute(rel: str, dots: str, mod: str) -> str | None:
    if not dots:
        return mod
    parts = rel[:-3].split("/")[:-1]  # the package of `a/b/c.py` and of `a/b/__init__.py` is a.b
    up = len(dots) - 1
    if up > len(parts):
        return None
    parts = parts[: len(parts) - up]
    return ".".join(parts + ([mod] if mod else []))


def _bindings(text: str, name: str) -> list[tuple[int, str, str, str]]:
    """(offset, kind, module-dots, module-name-or-original) of each column-0 binding of `name`."""
    n = re.escape(name)
    found: list[tuple[int, str, str, str]] = []
    for m in re.finditer(rf"^(?:(?:async[ \t]+)?def|class)[ \t]+{n}\b|^(?:\w+[ \t]*=[ \t]*)*{n}[ \t]*(?::[^=\n]+)?=(?!=)",
                         text, re.M):
        found.append((m.start(), "here", "", ""))
    for m in re.finditer(rf"^import[ \t]+[^\n]*?([\w.]+)[ \t]+as[ \t]+{n}\b", text, re.M):
        found.append((m.start(), "module", "", m.group(1)))
    for m in _FROM.finditer(text):
        names = re.sub(r"#[^\n]*", "", m.group(3)).strip("()").replace("\\\n", " ")
        for item in (i.strip() for i in names.split(",")):
            parts = item.split()
            if parts and parts[-1] == name and (len(parts) == 1 or parts[1] == "as"):
                found.append((m.start(), "from:" + parts[0], m.group(1), m.group(2)))
            elif parts == ["*"]:
                found.append((m.start(), "star", m.group(1), m.group(2)))
    return sorted(found)


def _origin_text(repo_root: Path, rel: str, name: str, seen: frozenset[tuple[str, str]]) -> str | None:
    if (rel, name) in seen:
        raise OracleError(f"{rel}: import cycle while looking for {name!r}")
    seen = seen | {(rel, name)}  # the path so far: a diamond of star imports is not a cycle
    text = _blank_strings((repo_root / rel).read_text(encoding="utf-8", errors="replace"))
    binds = _bindings(text, name)
    explicit = [b for b in binds if b[1] != "star"]
    is_pkg = rel.endswith("/__init__.py") or rel == "__init__.py"
    this = rel[: -len("/__init__.py")].replace("/", ".") if is_pkg else rel[:-3].replace("/", ".")
    if explicit:
        _, kind, dots, mod = explicit[-1]
        if kind == "here":
            return rel
        if kind == "module":
            return _must(_file_of(repo_root, mod), mod)
        original = kind[len("from:"):]
        target = _absolute(rel, dots, mod)
        sub_file = _file_of(repo_root, f"{target}.{original}") if target else None
        if sub_file:
            return sub_file
        return _origin_text(repo_root, _must(_file_of(repo_root, target) if target else None, str(target)), original, seen)
    for _, _, dots, mod in reversed([b for b in binds if b[1] == "star"]):
        target = _absolute(rel, dots, mod)
        target_file = _file_of(repo_root, target) if target else None
        got = _origin_text(repo_root, target_file, name, seen) if target_file else None
        if got is not None:
            return got
    return _file_of(repo_root, f"{this}.{name}") if is_pkg else None


def _must(rel: str | None, module: str) -> str:
    if rel is None:
        raise OracleError(f"module {module!r} is not a file in the repository")
    return rel


@second_derivation("python_name_origin", method="regular expressions over the text: column-0 def/class/"
                   "assignment and from/import lines, followed file to file")
def name_origin(*, repo_root: Path, module: str, name: str) -> str:
    start = _must(_file_of(repo_root, module), module)
    got = _origin_text(repo_root, start, name, frozenset())
    if got is None:
        raise OracleError(f"{start}: nothing binds {name!r}")
    return got
