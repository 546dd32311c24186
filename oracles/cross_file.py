"""Fact oracles whose answer needs evidence from several files (issue 16, items 3 and 6):
every call site of a function across a package, and the file a re-exported name is really
defined in. (Config values after `_base_` inheritance: oracles/cross_file_configs.py.) Code is
parsed, never run.
"""
from __future__ import annotations

import ast
from pathlib import Path

from evaluator.scoring.oracle_api import OracleError, fact_oracle
from oracles._pyast import iter_trees, load_module
from oracles.python_imports import module_of, resolve_from


def _identifier(name: str, what: str) -> None:
    if not name.isidentifier():
        raise OracleError(f"{what} must be a plain Python name, not {name!r}")


def _calls(node: ast.AST, function: str, out: set[int]) -> None:
    """Lines of calls of `function` under `node` (f-string replacement fields included)."""
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name) and func.id == function:
            out.add(func.lineno)
        elif isinstance(func, ast.Attribute) and func.attr == function:
            out.add(func.end_lineno or func.lineno)  # the line the attribute name is written on
    for child in ast.iter_child_nodes(node):
        _calls(child, function, out)


@fact_oracle()
def python_call_sites(
    *, repo_root: Path, function: str, root: str = ".", exclude_dirs: list[str] | None = None, by: str = "line"
) -> list[str]:
    """Every place a function named `function` is called in .py files under `root`.

    A call is a call expression whose callee is written `function` or ends in `.function`
    (`function(x)`, `self.function(x)`, `mod.function(x)`, `super().function(x)`). A decorator
    with parentheses (`@function(...)`) is a call; a bare `@function`, a definition
    (`def function`), an import, or passing it as a value (`map(function, xs)`) is not. Calls
    inside f-string replacement fields are not counted. `by="line"` gives unique `path:line`
    entries (two calls on one line are one entry), the line being where the name `function`
    is written; `by="file"` gives unique repo-relative paths. Sorted by path, then line.
    Unparseable files are skipped; `exclude_dirs` as in every tree-walking oracle.
    """
    _identifier(function, "function")
    if by not in ("line", "file"):
        raise OracleError(f"by must be 'line' or 'file', not {by!r}")
    found: list[tuple[str, int]] = []
    for rel, tree in iter_trees(repo_root, root, exclude_dirs, must_contain=function.encode()):
        lines: set[int] = set()
        _calls(tree, function, lines)
        found.extend((rel, n) for n in lines)
    found.sort()
    if by == "file":
        return sorted({rel for rel, _ in found})
    return [f"{rel}:{n}" for rel, n in found]


def _module_file(repo_root: Path, module: str) -> str | None:
    """`a.b` -> `a/b.py` or `a/b/__init__.py` (repo-relative), or None when neither exists."""
    base = module.replace(".", "/")
    for rel in (f"{base}.py", f"{base}/__init__.py"):
        if (repo_root / rel).is_file() and not (repo_root / rel).is_symlink():
            return rel
    return None


def _binding(stmt: ast.stmt, name: str) -> tuple[str, str | None] | None:
    """How a top-level statement binds `name`: ("here", None), ("from", original name) with
    the statement an ImportFrom, ("module", dotted) for `import x.y as name`; None if it does not."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and stmt.name == name:
        return "here", None
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return "here", None
    if isinstance(stmt, ast.ImportFrom):
        for alias in stmt.names:
            if (alias.asname or alias.name) == name and alias.name != "*":
                return "from", alias.name
    if isinstance(stmt, ast.Import):
        for alias in stmt.names:
            if alias.asname == name:
                return "module", alias.name
    return None


def _origin(repo_root: Path, rel: str, name: str, seen: frozenset[tuple[str, str]]) -> str | None:
    if (rel, name) in seen:
        raise OracleError(f"{rel}: import cycle while looking for {name!r}")
    seen = seen | {(rel, name)}  # the path so far: a diamond of star imports is not a cycle
    tree = load_module(repo_root, rel)
    module, is_pkg = module_of(rel)
    last: tuple[ast.stmt, tuple[str, str | None]] | None = None
    for stmt in tree.body:
        how = _binding(stmt, name)
        if how is not None:
            last = (stmt, how)
    if last is not None:
        stmt, (kind, orig) = last
        if kind == "here":
            return rel
        if kind == "module":
            return _need(_module_file(repo_root, orig or ""), orig or "", rel)
        target = resolve_from(stmt, module, is_pkg)  # type: ignore[arg-type]
        sub = _module_file(repo_root, f"{target}.{orig}") if target else None
        if sub is not None:
            return sub  # `from pkg import submodule` (Python imports the submodule)
        return _origin(repo_root, _need(_module_file(repo_root, target) if target else None, target or "?", rel),
                       orig or name, seen)
    # No explicit binding: star imports from last to first; the last that provides it wins.
    stars = [s for s in tree.body if isinstance(s, ast.ImportFrom) and any(a.name == "*" for a in s.names)]
    for stmt in reversed(stars):
        target = resolve_from(stmt, module, is_pkg)
        target_rel = _module_file(repo_root, target) if target else None
        if target_rel is not None:
            found = _origin(repo_root, target_rel, name, seen)
            if found is not None:
                return found
    if is_pkg and _module_file(repo_root, f"{module}.{name}"):
        return _module_file(repo_root, f"{module}.{name}")  # a submodule reached as an attribute
    return None


def _need(rel: str | None, module: str, where: str) -> str:
    if rel is None:
        raise OracleError(f"{where}: module {module!r} is not a file in the repository")
    return rel


@fact_oracle()
def python_name_origin(*, repo_root: Path, module: str, name: str) -> str:
    """Repo-relative path of the file that defines `name` as `from module import name` sees it.

    Start at `module`'s file (`a/b.py`, else `a/b/__init__.py`). Only unindented top-level
    statements count (not those inside if/try/with blocks); when several bind `name`, the
    last wins, as at run time. A `def`, `class` or assignment of `name` means this file.
    `from X import name` / `from X import orig as name` continue in X (relative imports
    resolved from this file's package), except that when X has a submodule `orig`
    (`X/orig.py` or `X/orig/__init__.py`), the answer is that submodule's file. `import x.y as name` gives x.y's file.
    With no explicit binding, `from X import *` statements are tried from last to first
    (an `__all__` is not consulted), then a submodule `module.name`. OracleError when a module
    on the way is not a file in the repository (a third-party package), on a cycle, or when
    nothing binds `name` (a star import that does not provide it is skipped).
    """
    _identifier(name, "name")
    start = _need(_module_file(repo_root, module), module, "module")
    found = _origin(repo_root, start, name, frozenset())
    if found is None:
        raise OracleError(f"{start}: nothing binds {name!r}")
    return found
