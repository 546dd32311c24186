"""AST helpers shared by the Python fact oracles. Target-repo code is only parsed, never run."""
from __future__ import annotations

import ast
import threading
from pathlib import Path
from typing import Any, Iterator

from evaluator.scoring.oracle_api import OracleError
from oracles._common import iter_files, jsonable, relpath, resolve_path

DefNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
FuncNode = ast.FunctionDef | ast.AsyncFunctionDef


# CPython 3.11's ast.parse is not safe across threads ("AST constructor recursion depth
# mismatch"); the harness computes oracles in worker threads, and parsing holds the GIL
# anyway, so one lock costs nothing.
_PARSE_LOCK = threading.Lock()


def parse_file(path: Path, must_contain: bytes | None = None) -> ast.Module | None:
    """The module's AST, or None when it does not parse (syntax error, bad encoding, NUL
    bytes) or does not contain `must_contain`."""
    try:
        data = path.read_bytes()
        if must_contain is not None and must_contain not in data:
            return None
        with _PARSE_LOCK:
            return ast.parse(data, filename=str(path))
    except (SyntaxError, ValueError, UnicodeError, RecursionError, OverflowError, OSError):
        return None


def load_module(repo_root: Path, path: str) -> ast.Module:
    tree = parse_file(resolve_path(repo_root, path, kind="file"))
    if tree is None:
        raise OracleError(f"{path}: not parseable as Python")
    return tree


def iter_trees(
    repo_root: Path, root: str = ".", exclude_dirs: list[str] | None = None, must_contain: bytes | None = None
) -> Iterator[tuple[str, ast.Module]]:
    """(repo-relative path, AST) for every parseable .py file under `root`, sorted by path;
    with `must_contain`, files whose bytes lack it are not parsed (a cheap prefilter)."""
    for path in iter_files(repo_root, root, exclude_dirs, suffix=".py"):
        tree = parse_file(path, must_contain)
        if tree is not None:
            yield relpath(repo_root, path), tree


def dotted(node: ast.AST | None) -> str | None:
    """`a.b.c` for Name/Attribute chains, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = dotted(node.value)
        return f"{head}.{node.attr}" if head else None
    return None


def decorator_name(dec: ast.expr) -> str | None:
    """Dotted name of a decorator with or without a call: `@a.b` and `@a.b(...)` -> `a.b`."""
    return dotted(dec.func if isinstance(dec, ast.Call) else dec)


def _json_like(value: Any) -> bool:
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, (list, tuple, set, frozenset)):
        return all(_json_like(v) for v in value)
    if isinstance(value, dict):
        return all(k is None or isinstance(k, (str, int, float, bool)) for k in value) and all(
            _json_like(v) for v in value.values()
        )
    return False


def literal(node: ast.AST) -> tuple[bool, Any]:
    """(True, JSON value) when `node` is a literal `ast.literal_eval` accepts and that maps onto
    JSON (tuples/sets -> lists); (False, None) otherwise (bytes and complex count as non-literal)."""
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None
    return (True, jsonable(value)) if _json_like(value) else (False, None)


def value_or_source(node: ast.AST) -> Any:
    """The JSON value of a literal, else the expression's source text (`ast.unparse`)."""
    ok, value = literal(node)
    return value if ok else ast.unparse(node)


def child_defs(body: list[ast.stmt]) -> Iterator[DefNode]:
    """Definitions in a statement list, including those under if/try/with/for (conditional
    definitions), but not those inside nested functions or classes."""
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield stmt
            continue
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            for sub in getattr(stmt, field, None) or []:
                yield from child_defs([sub] if isinstance(sub, ast.stmt) else sub.body)


def find_def_chain(tree: ast.Module, qualname: str) -> list[DefNode] | None:
    """The chain of definitions for `Outer.Inner.method` (`<locals>` parts are ignored). When a
    name is defined more than once at one level, the last definition wins, as at run time."""
    chain: list[DefNode] = []
    body: list[ast.stmt] = tree.body
    for part in (p for p in qualname.split(".") if p != "<locals>"):
        matches = [d for d in child_defs(body) if d.name == part]
        if not matches:
            return None
        chain.append(matches[-1])
        body = matches[-1].body
    return chain or None


def require_def(tree: ast.Module, qualname: str, path: str) -> list[DefNode]:
    chain = find_def_chain(tree, qualname)
    if chain is None:
        raise OracleError(f"{path}: no definition named {qualname!r}")
    return chain


_BODIES = ("body", "orelse", "finalbody", "handlers", "cases")


def iter_stmts(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement at any depth, following statement bodies only (defs, classes and
    imports are statements, so this finds them all several times faster than `ast.walk`)."""
    for stmt in body:
        yield stmt
        for field in _BODIES:
            for sub in getattr(stmt, field, None) or []:
                yield from iter_stmts([sub] if isinstance(sub, ast.stmt) else sub.body)


def walk_defs(body: list[ast.stmt], prefix: str = "") -> Iterator[tuple[str, DefNode]]:
    """(qualname, definition) for every def/class at any depth. Qualnames join enclosing
    definitions with dots and omit `<locals>`."""
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            qual = f"{prefix}{stmt.name}"
            yield qual, stmt
            yield from walk_defs(stmt.body, qual + ".")
            continue
        for field in _BODIES:
            for sub in getattr(stmt, field, None) or []:
                yield from walk_defs([sub] if isinstance(sub, ast.stmt) else sub.body, prefix)


def module_assignments(body: list[ast.stmt]) -> Iterator[tuple[str, ast.expr | None, ast.stmt]]:
    """(name, value, stmt) for top-level `name = v`, `a = b = v`, `name: T = v`, tuple unpacking
    of a same-length tuple/list literal, and `name += v` (value None: the name was modified)."""
    for stmt in body:
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                yield from _bind(target, stmt.value, stmt)
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            yield from _bind(stmt.target, stmt.value, stmt)
        elif isinstance(stmt, ast.AugAssign) and isinstance(stmt.target, ast.Name):
            yield stmt.target.id, None, stmt


def _bind(target: ast.expr, value: ast.expr | None, stmt: ast.stmt) -> Iterator[tuple[str, ast.expr | None, ast.stmt]]:
    if isinstance(target, ast.Name):
        yield target.id, value, stmt
    elif isinstance(target, (ast.Tuple, ast.List)):
        same = isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts)
        for i, elt in enumerate(target.elts):
            yield from _bind(elt, value.elts[i] if same else None, stmt)  # type: ignore[union-attr]


_MUTATORS = frozenset({"append", "extend", "insert", "remove", "pop", "clear", "sort", "reverse", "update",
                       "setdefault", "popitem", "add", "discard"})


def mutates(stmt: ast.stmt, name: str) -> bool:
    """Whether module-level code in `stmt` (not in functions or classes) changes the object bound
    to `name` in place: `name.append(...)` and other container mutators, `name[k] = v`,
    `name.attr = v`, `del name[k]`."""
    def base(node: ast.AST) -> bool:
        return isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(node.value, ast.Name) and node.value.id == name

    stack: list[ast.AST] = [stmt]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Call) and base(node.func) and node.func.attr in _MUTATORS:  # type: ignore[attr-defined]
            return True
        targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else \
            [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
        if any(base(t) for t in targets):
            return True
        if isinstance(node, ast.For) and isinstance(node.iter, ast.Name) and node.iter.id == name and \
                isinstance(node.target, ast.Name) and any(mutates(s, node.target.id) for s in node.body):
            return True  # `for g in groups: g['name'] = ...` changes the items in place
        stack.extend(ast.iter_child_nodes(node))
    return False
