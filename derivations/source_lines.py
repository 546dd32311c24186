"""Python source read as token lines, for the second derivations of the Python-source oracles.

The oracles walk `ast` trees; these derivations never build one. They read the token stream of
the stdlib `tokenize` module, cut it into statements at NEWLINE and `;`, and follow the nesting
of blocks by INDENT/DEDENT, so a bug in one reading does not repeat in the other.
This module registers nothing; `python_source.py` and `import_graph.py` use it.
"""
from __future__ import annotations

import io
import json
import os
import re
import tokenize
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from evaluator.scoring.oracle_api import OracleError

Tok = tokenize.TokenInfo
COMPOUND = frozenset({"if", "elif", "else", "for", "while", "try", "except", "finally", "with", "def", "class"})
SOFT_COMPOUND = frozenset({"match", "case"})  # keywords only when the line is a block header
SKIPPED = (tokenize.NL, tokenize.COMMENT, tokenize.ENCODING, tokenize.ENDMARKER)


def inside(repo_root: Path, rel: str, *, want_dir: bool) -> Path:
    """`repo_root/rel`, refused when it leaves the repository or is not a dir/file as wanted."""
    target = (repo_root / rel).resolve()
    if not target.is_relative_to(repo_root.resolve()):
        raise OracleError(f"{rel!r} is outside the repository")
    if not (target.is_dir() if want_dir else target.is_file()):
        raise OracleError(f"no such {'directory' if want_dir else 'file'} in the repository: {rel!r}")
    return repo_root / rel


def py_files(repo_root: Path, root: str = ".", exclude_dirs: list[str] | None = None) -> list[str]:
    """Repo-relative posix paths of the regular (not symlinked) .py files under `root`, sorted.
    `.git` is never entered; an `exclude_dirs` entry with a slash names one repo-relative
    directory, one without names every directory so called."""
    entries = [e.strip("/") for e in exclude_dirs or []]
    by_name = {".git"} | {e for e in entries if "/" not in e}
    by_path = {e for e in entries if "/" in e}
    start = inside(repo_root, root, want_dir=True)
    found: list[str] = []
    pending = [start]
    while pending:
        with os.scandir(pending.pop()) as it:
            for entry in it:
                rel = Path(entry.path).relative_to(repo_root).as_posix()
                if entry.is_dir(follow_symlinks=False):
                    if entry.name not in by_name and rel not in by_path:
                        pending.append(Path(entry.path))
                elif entry.name.endswith(".py") and entry.is_file(follow_symlinks=False):
                    found.append(rel)
    return sorted(found)


def source(path: Path) -> str | None:
    """The decoded text of a Python file (PEP 263 cookie or UTF-8), None when it cannot be read."""
    try:
        data = path.read_bytes()
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding).removeprefix("\ufeff")
    except (OSError, SyntaxError, UnicodeError, LookupError):
        return None


def compiles(text: str, name: str) -> bool:
    """Whether CPython compiles the file: the oracles skip files that do not parse."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences and the like
            compile(text, name, "exec", dont_inherit=True)
        return True
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
        return False


@dataclass(eq=False)
class Block:
    """One compound statement: `kind` its keyword; `owner` the statement an else/elif/except/
    finally belongs to (`if`, `for`, `while`, `try`), else `kind`; `name` for def/class."""

    kind: str
    owner: str
    name: str
    header: list[str]


@dataclass
class Stmt:
    toks: list[Tok]  # a simple statement, or a block header without its ':'
    blocks: tuple[Block, ...]  # enclosing blocks, outermost first
    block: Block | None = None  # the block this header opens
    decorators: list[list[Tok]] = field(default_factory=list)  # `@...` lines before a def/class

    @property
    def words(self) -> list[str]:
        return [t.string for t in self.toks]


def split_top(toks: list[Tok], sep: str) -> list[list[Tok]]:
    """`toks` cut at each `sep` operator outside brackets."""
    parts: list[list[Tok]] = [[]]
    depth = 0
    for t in toks:
        if t.type == tokenize.OP and t.string in "([{":
            depth += 1
        elif t.type == tokenize.OP and t.string in ")]}":
            depth -= 1
        if depth == 0 and t.type == tokenize.OP and t.string == sep:
            parts.append([])
        else:
            parts[-1].append(t)
    return parts


def _logical_lines(text: str) -> Iterator[tuple[list[Tok], int]]:
    depth, line = 0, []
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.INDENT:
            depth += 1
        elif tok.type == tokenize.DEDENT:
            depth -= 1
        elif tok.type == tokenize.NEWLINE:
            yield line, depth
            line = []
        elif tok.type not in SKIPPED:
            line.append(tok)
    if line:
        yield line, depth


def _keyword(toks: list[Tok]) -> str | None:
    words = [t.string for t in toks[:2]]
    first = words[1] if words[0] == "async" and len(words) > 1 else words[0]
    if toks[0].type != tokenize.NAME:
        return None
    if first in COMPOUND or (first in SOFT_COMPOUND and toks[-1].string == ":" and words[1:2] not in (["="], ["."])):
        return first
    return None


def statements(text: str) -> list[Stmt] | None:
    """Every statement of the module in source order, with its enclosing blocks; None when the
    text does not tokenize."""
    out: list[Stmt] = []
    stack: list[tuple[int, Block]] = []  # (indentation of the block's body, block)
    last_owner: dict[int, str] = {}  # per indentation: the compound statement an `else` continues
    decorators: list[list[Tok]] = []
    try:
        for toks, depth in _logical_lines(text):
            while stack and stack[-1][0] > depth:
                stack.pop()
            rest, level = toks, depth
            while rest:
                kw = _keyword(rest)
                if kw is None:
                    if rest[0].string == "@":
                        decorators.append(rest[1:])
                    else:
                        out += [Stmt(p, tuple(b for _, b in stack)) for p in split_top(rest, ";") if p]
                        decorators = []
                    break
                head = split_top(rest, ":")[0]
                rest = rest[len(head) + 1:]
                owner = last_owner.get(level, kw) if kw in ("elif", "else", "except", "finally") else kw
                last_owner[level] = owner
                name = head[2 if head[0].string == "async" else 1].string if kw in ("def", "class") else ""
                block = Block(kw, owner, name, [t.string for t in head])
                out.append(Stmt(head, tuple(b for _, b in stack), block, decorators if kw in ("def", "class") else []))
                decorators = []
                stack.append((level + 1, block))
                level += 1
    except (tokenize.TokenError, IndentationError, SyntaxError, IndexError):
        return None
    return out


def dotted(toks: list[Tok]) -> str | None:
    """`a.b.c` when the tokens are exactly a dotted name, else None."""
    words = [t.string for t in toks]
    if not words or len(words) % 2 == 0 or any(w != "." for w in words[1::2]):
        return None
    return ".".join(words[0::2]) if all(t.type == tokenize.NAME for t in toks[0::2]) else None


def closing(toks: list[Tok], i: int) -> int:
    """Index of the bracket closing the one at `toks[i]`."""
    depth = 0
    for j in range(i, len(toks)):
        if toks[j].string in "([{" and toks[j].type == tokenize.OP:
            depth += 1
        elif toks[j].string in ")]}" and toks[j].type == tokenize.OP:
            depth -= 1
            if depth == 0:
                return j
    raise IndexError("unbalanced brackets")


def call_parts(toks: list[Tok]) -> tuple[str | None, list[list[Tok]], dict[str, list[Tok]], list[Tok]] | None:
    """`f.g(a, k=v) rest` -> ("f.g", [[a]], {"k": [v]}, rest); a bare dotted name gives no
    arguments and no rest; None when the tokens start with neither."""
    head = next((i for i, t in enumerate(toks) if t.string == "(" and t.type == tokenize.OP), len(toks))
    name = dotted(toks[:head])
    if name is None:
        return None
    if head == len(toks):
        return name, [], {}, []
    end = closing(toks, head)
    args: list[list[Tok]] = []
    kwargs: dict[str, list[Tok]] = {}
    for part in split_top(toks[head + 1:end], ","):
        if len(part) > 2 and part[0].type == tokenize.NAME and part[1].string == "=":
            kwargs[part[0].string] = part[2:]
        elif part:
            args.append(part)
    return name, args, kwargs, toks[end + 1:]


_LITERAL_OPS = frozenset("()[]{},:-")


def _plain(value: Any) -> Any:
    """A Python literal as JSON data: tuples and sets become lists (sets sorted by their JSON
    text), dict keys strings (`1` -> "1", `None` -> "null")."""
    if isinstance(value, dict):
        return {k if isinstance(k, str) else json.dumps(k) if k is None or isinstance(k, (bool, int, float))
                else str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((_plain(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    return value


def literal(toks: list[Tok]) -> tuple[bool, Any]:
    """(True, JSON value) when the tokens are only string, number, None/True/False, brackets,
    commas, colons and unary minus: such text is evaluated with no names in scope, so nothing
    runs; (False, None) for anything else (names, calls, f-strings, bytes, subscripts)."""
    prev: Tok | None = None
    for t in toks:
        if t.type == tokenize.STRING:
            ok = not set(re.match(r"[A-Za-z]*", t.string).group().lower()) & {"b", "f"}  # type: ignore[union-attr]
        elif t.type == tokenize.NUMBER:
            ok = not t.string.lower().endswith("j")
        elif t.type == tokenize.NAME:
            ok = t.string in ("None", "True", "False")
        else:
            ok = t.type == tokenize.OP and t.string in _LITERAL_OPS
            if t.string in "([" and prev is not None and (prev.type in (tokenize.STRING, tokenize.NUMBER, tokenize.NAME)
                                                          or prev.string in ")]}"):
                ok = False  # a call or subscript
            if t.string == "-" and prev is not None and prev.string not in "([{,:":
                ok = False  # binary minus
        if not ok:
            return False, None
        prev = t
    try:
        return True, _plain(eval(" ".join(t.string for t in toks), {"__builtins__": {}}, {}))  # noqa: S307
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError):
        return False, None


def source_text(toks: list[Tok]) -> str:
    """The source text of an expression (a dotted name without spaces)."""
    name = dotted(toks)
    if name is not None:
        return name
    if toks[0].start[0] == toks[-1].end[0]:
        return toks[0].line[toks[0].start[1]:toks[-1].end[1]]
    return " ".join(t.string for t in toks)


def literal_or_text(toks: list[Tok]) -> Any:
    ok, value = literal(toks)
    return value if ok else source_text(toks)
