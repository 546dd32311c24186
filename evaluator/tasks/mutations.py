"""Semantic mutations of one Python function, as exact source edits (bug injection, SWE-smith style).

A mutation is found with `ast` and written back by exact source positions (ast offsets, tokenize for
operators, which ast does not locate), so the rest of the file keeps its formatting and comments.
Candidates of one kind in one function are ordered by where they start; a recipe names one by its
index (`occurrence`), so the same recipe on the same source always makes the same edit.
"""
from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass
from typing import Callable, Iterator

KINDS = ("compare_op", "arith_op", "off_by_one", "drop_branch", "swap_args", "wrong_default", "remove_body")

COMPARE_SWAP = {"<": "<=", "<=": "<", ">": ">=", ">=": ">", "==": "!=", "!=": "==",
                "in": "not in", "not in": "in", "is": "is not", "is not": "is"}
ARITH_SWAP = {"+": "-", "-": "+", "*": "/", "/": "*", "//": "*", "%": "//", "**": "*"}
_ARITH_NODES = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
_OFF_BY_ONE_PARENTS = (ast.Compare, ast.Slice, ast.Subscript, ast.BinOp)


class MutationError(ValueError):
    """The function or the named candidate is not in the source (a stale recipe)."""


@dataclass(frozen=True)
class Edit:
    start: int  # character offsets into the source text
    end: int
    text: str


class Source:
    """A module's text with ast-position -> character-offset conversion and its tokens."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.splitlines(keepends=True)
        self._starts = [0]
        for line in self.lines:
            self._starts.append(self._starts[-1] + len(line))
        try:
            self.tree = ast.parse(text)
        except SyntaxError as exc:
            raise MutationError(f"not valid Python: {exc.msg} (line {exc.lineno})") from None
        self.tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))

    def at(self, lineno: int, byte_col: int) -> int:
        """ast positions count UTF-8 bytes within the line; edits count characters."""
        line = self.lines[lineno - 1]
        return self._starts[lineno - 1] + len(line.encode("utf-8")[:byte_col].decode("utf-8", "replace"))

    def tok_at(self, row: int, col: int) -> int:
        return self._starts[row - 1] + col  # tokenize counts characters already

    def span(self, node: ast.AST) -> tuple[int, int]:
        return (self.at(node.lineno, node.col_offset),  # type: ignore[attr-defined]
                self.at(node.end_lineno, node.end_col_offset))  # type: ignore[attr-defined]

    def line_span(self, first: int, last: int) -> tuple[int, int]:
        return self._starts[first - 1], self._starts[last]

    def ops_between(self, start: int, end: int) -> list[tokenize.TokenInfo]:
        """Operator tokens (and `in`/`not`/`is`) between two offsets, brackets left out."""
        out = []
        for tok in self.tokens:
            a, b = self.tok_at(*tok.start), self.tok_at(*tok.end)
            if a >= start and b <= end and (tok.type == tokenize.OP and tok.string not in "()[]{}"
                                              or tok.type == tokenize.NAME and tok.string in ("in", "not", "is")):
                out.append(tok)
        return out


def find_function(src: Source, qualname: str) -> ast.FunctionDef | ast.AsyncFunctionDef:
    for node, name in _defs(src.tree, ""):
        if name == qualname and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return node
    raise MutationError(f"no function {qualname!r}")


def functions(src: Source) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function and method by qualified name (Class.method, outer.inner), in file order."""
    return [(name, node) for node, name in _defs(src.tree, "") if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def _defs(node: ast.AST, prefix: str) -> Iterator[tuple[ast.AST, str]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = f"{prefix}{child.name}"
            yield child, name
            yield from _defs(child, name + ".")
        else:
            yield from _defs(child, prefix)


def function_text(src: Source, fn: ast.AST) -> str:
    a, b = src.line_span(fn.lineno, fn.end_lineno)  # type: ignore[attr-defined]
    return src.text[a:b]


def _docstring(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.Expr | None:
    first = fn.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first
    return None


def _body_nodes(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[tuple[ast.AST, ast.AST]]:
    """(node, parent) for everything in the body; the docstring, decorators and signature left out."""
    doc = _docstring(fn)
    stack: list[tuple[ast.AST, ast.AST]] = [(s, fn) for s in fn.body if s is not doc]
    while stack:
        node, parent = stack.pop()
        yield node, parent
        stack.extend((c, node) for c in ast.iter_child_nodes(node))


def _compare(src: Source, fn) -> list[Edit]:
    out = []
    for node, _ in _body_nodes(fn):
        if isinstance(node, ast.Compare):
            left = node.left
            for right in node.comparators:
                toks = src.ops_between(src.span(left)[1], src.span(right)[0])
                if toks:
                    a, b = src.tok_at(*toks[0].start), src.tok_at(*toks[-1].end)
                    op = " ".join(t.string for t in toks)
                    if op in COMPARE_SWAP:
                        out.append(Edit(a, b, COMPARE_SWAP[op]))
                left = right
    return out


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes))


def _arith(src: Source, fn) -> list[Edit]:
    out = []
    for node, _ in _body_nodes(fn):
        if isinstance(node, ast.BinOp) and isinstance(node.op, _ARITH_NODES) and not (_is_text(node.left) or _is_text(node.right)):
            toks = src.ops_between(src.span(node.left)[1], src.span(node.right)[0])
            if len(toks) == 1 and toks[0].string in ARITH_SWAP:
                t = toks[0]
                out.append(Edit(src.tok_at(*t.start), src.tok_at(*t.end), ARITH_SWAP[t.string]))
    return out


def _int_const(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int


def _off_by_one(src: Source, fn) -> list[Edit]:
    out = []
    for node, parent in _body_nodes(fn):
        in_range = isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name) and parent.func.id == "range"
        if _int_const(node) and (isinstance(parent, _OFF_BY_ONE_PARENTS) or in_range):
            a, b = src.span(node)
            out.append(Edit(a, b, str(node.value + 1)))  # type: ignore[attr-defined]
    return out


def _drop_branch(src: Source, fn) -> list[Edit]:
    out = []
    for node, parent in _body_nodes(fn):
        if not isinstance(node, ast.If) or node.body[0].lineno <= node.test.end_lineno:  # type: ignore[operator]
            continue  # a one-line `if x: y` has no body lines to drop
        first, last = node.body[0].lineno, node.body[-1].end_lineno
        tail = src.text[src.span(node.body[-1])[1]:src.line_span(last, last)[1]].strip()
        if tail and not tail.startswith("#"):
            continue  # something else shares the body's last line
        is_elif = isinstance(parent, ast.If) and parent.orelse == [node] and src.lines[node.lineno - 1].lstrip().startswith("elif")
        if is_elif:
            a, b = src.line_span(node.lineno, last)
            out.append(Edit(a, b, ""))
        else:
            line = src.lines[first - 1]
            indent = line[:len(line) - len(line.lstrip())]
            a, b = src.line_span(first, last)
            out.append(Edit(a, b, f"{indent}pass\n"))
    return out


def _swap_args(src: Source, fn) -> list[Edit]:
    out = []
    for node, _ in _body_nodes(fn):
        if isinstance(node, ast.Call) and len(node.args) >= 2 and not any(isinstance(a, ast.Starred) for a in node.args[:2]):
            (a0, b0), (a1, b1) = src.span(node.args[0]), src.span(node.args[1])
            first, second = src.text[a0:b0], src.text[a1:b1]
            if first != second and b0 <= a1:
                # One edit covering both arguments and what lies between keeps the offsets simple.
                out.append(Edit(a0, b1, second + src.text[b0:a1] + first))
    return out


def _wrong_default(src: Source, fn) -> list[Edit]:
    out = []
    for node in [*fn.args.defaults, *(d for d in fn.args.kw_defaults if d is not None)]:
        if isinstance(node, ast.Constant) and type(node.value) in (bool, int, float):
            v = node.value
            new = repr(not v) if isinstance(v, bool) else repr(v + 1)
            a, b = src.span(node)
            out.append(Edit(a, b, new))
    return out


def _remove_body(src: Source, fn) -> list[Edit]:
    doc = _docstring(fn)
    rest = fn.body[1:] if doc else []
    if not rest or rest[0].lineno <= doc.end_lineno:  # type: ignore[union-attr,operator]
        return []
    if len(rest) == 1 and isinstance(rest[0], (ast.Pass, ast.Raise)):
        return []  # nothing to implement
    line = src.lines[rest[0].lineno - 1]
    indent = line[:len(line) - len(line.lstrip())]
    a, b = src.line_span(rest[0].lineno, fn.end_lineno)  # type: ignore[arg-type]
    return [Edit(a, b, f"{indent}raise NotImplementedError\n")]


FINDERS: dict[str, Callable[[Source, ast.AST], list[Edit]]] = {
    "compare_op": _compare, "arith_op": _arith, "off_by_one": _off_by_one, "drop_branch": _drop_branch,
    "swap_args": _swap_args, "wrong_default": _wrong_default, "remove_body": _remove_body,
}


def candidates(src: Source, fn: ast.AST, kind: str) -> list[Edit]:
    """The possible edits of one kind in one function, in source order."""
    return sorted(FINDERS[kind](src, fn), key=lambda e: (e.start, e.end))


def apply(text: str, edit: Edit) -> str:
    return text[:edit.start] + edit.text + text[edit.end:]
