"""Finding things in Python source with the tokenizer, not the AST (the oracles parse with `ast`):
definitions by qualname, top-level statements, and the text of calls to a method."""
from __future__ import annotations

import io
import os
import tokenize
from dataclasses import dataclass
from pathlib import Path

from evaluator.scoring.oracle_api import OracleError

MAX_SOURCE = 4_000_000  # bytes; a larger ".py" file is not source anyone asks about
_SKIP = {tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.NEWLINE, tokenize.ENDMARKER}
_COMPOUND = {"if", "elif", "else", "try", "except", "finally", "for", "while", "with", "def", "class", "async", "@"}


def read_source(repo_root: Path, rel: str) -> str:
    """The text of the repository file `rel`; refuses paths (or links) that leave the repository."""
    if not rel or os.path.isabs(rel) or ".." in Path(rel).parts:
        raise OracleError(f"path {rel!r} is not inside the repository")
    path = repo_root / rel
    try:
        real = path.resolve(strict=True)
    except OSError:
        raise OracleError(f"no such file in the repository: {rel!r}") from None
    if not real.is_relative_to(repo_root.resolve()) or not real.is_file():
        raise OracleError(f"{rel!r} is not a file inside the repository")
    data = real.read_bytes()[:MAX_SOURCE]
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding).lstrip("\ufeff")
    except (SyntaxError, UnicodeError, LookupError) as exc:
        raise OracleError(f"{rel}: cannot decode: {exc}") from None


def tokens(source: str) -> list[tokenize.TokenInfo]:
    try:
        return list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError) as exc:
        raise OracleError(f"not tokenizable as Python: {exc}") from None


def segment(lines: list[str], start: tuple[int, int], end: tuple[int, int]) -> str:
    """Source text between two tokenizer positions (rows from 1)."""
    (r0, c0), (r1, c1) = start, end
    if r0 == r1:
        return lines[r0 - 1][c0:c1]
    return lines[r0 - 1][c0:] + "".join(lines[r0:r1 - 1]) + lines[r1 - 1][:c1]


@dataclass
class Definition:
    qualname: str     # `Outer.Inner.method`, no `<locals>`
    kind: str         # "def" or "class"
    parent_kind: str  # kind of the enclosing definition, "" at module level
    start: tuple[int, int]        # the `def`/`class` keyword
    header_end: tuple[int, int]   # just after the `:` that ends the header
    end_row: int                  # last row of the body
    column: int
    decorators: list[str]  # dotted names, `@a.b(...)` -> "a.b"
    oneliner: bool = False


def definitions(source: str) -> list[Definition]:
    """Every def/class in source order, with the rows its body spans (indentation-tracked)."""
    toks = tokens(source)
    out: list[Definition] = []
    stack: list[tuple[int, Definition]] = []  # (indent level, definition)
    level, line_start, last_row = 0, True, 1
    decorators: list[str] = []
    for i, tok in enumerate(toks):
        if tok.type == tokenize.INDENT:
            level += 1
        elif tok.type == tokenize.DEDENT:
            level -= 1
            _close(stack, level, last_row)
        if tok.type in (tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.COMMENT):
            line_start = line_start or tok.type == tokenize.NEWLINE
            continue
        if line_start and tok.string in ("def", "class") and tok.type == tokenize.NAME and i + 1 < len(toks):
            _close(stack, level, last_row)
            name = toks[i + 1].string
            qual = f"{stack[-1][1].qualname}.{name}" if stack else name
            d = Definition(qual, tok.string, stack[-1][1].kind if stack else "", tok.start, _header_end(toks, i),
                           tok.start[0], tok.start[1], decorators)
            out.append(d)
            stack.append((level, d))
            after = next((t for t in toks[i:] if t.start >= d.header_end and t.type != tokenize.COMMENT), None)
            if after is not None and after.type != tokenize.NEWLINE:  # `def f(): return 1`
                d.oneliner = True
                d.end_row = after.start[0]
        if line_start and tok.string == "@":
            decorators = decorators + [_dotted_after(toks, i + 1)]
        elif line_start and tok.string not in ("async", "def", "class"):
            decorators = []
        elif tok.string in ("def", "class") and line_start:
            decorators = []
        line_start = tok.string == "async" and line_start
        last_row = tok.end[0]
    _close(stack, -1, last_row)
    return out


def _close(stack: list[tuple[int, "Definition"]], level: int, last_row: int) -> None:
    """End the definitions whose bodies a dedent to `level` closed."""
    while stack and stack[-1][0] >= level:
        d = stack.pop()[1]
        if not d.oneliner:
            d.end_row = last_row


def _dotted_after(toks: list[tokenize.TokenInfo], i: int) -> str:
    parts = []
    while i < len(toks) and (toks[i].type == tokenize.NAME or toks[i].string == "."):
        parts.append(toks[i].string)
        i += 1
    return "".join(parts)


def _header_end(toks: list[tokenize.TokenInfo], i: int) -> tuple[int, int]:
    depth = 0
    for tok in toks[i:]:
        if tok.type == tokenize.OP and tok.string in "([{":
            depth += 1
        elif tok.type == tokenize.OP and tok.string in ")]}":
            depth -= 1
        elif tok.type == tokenize.OP and tok.string == ":" and depth == 0:
            return tok.end
    raise OracleError("a definition header without its ':'")


def find_definition(source: str, qualname: str) -> Definition:
    """The last definition named `qualname` (`<locals>` parts ignored), as at run time."""
    want = ".".join(p for p in qualname.split(".") if p != "<locals>")
    found = [d for d in definitions(source) if d.qualname == want]
    if not found:
        raise OracleError(f"no definition named {qualname!r}")
    return found[-1]


@dataclass
class Statement:
    text: str
    compound: bool        # if/for/with/def/... (their bodies are part of `text`)
    toks: list[tokenize.TokenInfo]


def top_level_statements(source: str) -> list[Statement]:
    """Module-level statements in order; a compound statement comes with its body, its
    `else`/`except`/... clauses and its decorators."""
    lines = source.splitlines(keepends=True)
    toks = [t for t in tokens(source) if t.type not in (tokenize.NL, tokenize.COMMENT)]
    chunks: list[list[tokenize.TokenInfo]] = []
    level, current = 0, []
    for i, tok in enumerate(toks):
        level += (tok.type == tokenize.INDENT) - (tok.type == tokenize.DEDENT)
        if tok.type == tokenize.DEDENT and level == 0 and current:  # a compound statement's body ended
            chunks.append(current)
            current = []
        if tok.type in (tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER):
            continue
        current.append(tok)
        if tok.type == tokenize.NEWLINE and level == 0 and not (i + 1 < len(toks) and toks[i + 1].type == tokenize.INDENT):
            chunks.append(current)
            current = []
    merged: list[list[tokenize.TokenInfo]] = []
    decorating = False  # the last chunk is decorators waiting for their def/class
    for chunk in chunks:
        if merged and (chunk[0].string in ("elif", "else", "except", "finally") or decorating):
            merged[-1] = merged[-1] + chunk
        else:
            merged.append(chunk)
        decorating = chunk[0].string == "@"
    return [Statement("".join(lines[c[0].start[0] - 1:c[-1].end[0]]), c[0].string in _COMPOUND, c) for c in merged]


def significant(toks: list[tokenize.TokenInfo]) -> list[tokenize.TokenInfo]:
    return [t for t in toks if t.type not in _SKIP]


def call_texts(source: str, method: str, rows: tuple[int, int] | None = None) -> list[str]:
    """`(...)`, argument list as written, of every `<expr>.method(...)` call, in source order
    (only those starting within `rows`, inclusive, when given)."""
    lines = source.splitlines(keepends=True)
    toks = significant(tokens(source))
    out = []
    for i in range(1, len(toks) - 1):
        t = toks[i]
        if t.string != method or toks[i - 1].string != "." or toks[i + 1].string != "(":
            continue
        if rows and not rows[0] <= t.start[0] <= rows[1]:
            continue
        depth = 0
        for close in toks[i + 1:]:
            depth += close.string in ("(", "[", "{") and close.type == tokenize.OP
            depth -= close.string in (")", "]", "}") and close.type == tokenize.OP
            if depth == 0:
                out.append(segment(lines, toks[i + 1].start, close.end))
                break
    return out
