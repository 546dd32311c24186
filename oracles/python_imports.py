"""Fact oracles about import statements: who imports a module, and import cycles in a package."""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterable, Iterator

from evaluator.scoring.oracle_api import OracleError, fact_oracle
from oracles._common import relpath, resolve_path
from oracles._pyast import dotted, iter_stmts, iter_trees

Imported = tuple[str, list[str]]  # (module named by the statement, names imported from it)


def module_of(rel: str) -> tuple[str, bool]:
    """`a/b/c.py` -> ("a.b.c", False); `a/b/__init__.py` -> ("a.b", True)."""
    parts = rel[: -len(".py")].split("/")
    is_pkg = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_pkg else parts), is_pkg


def resolve_from(node: ast.ImportFrom, module: str, is_pkg: bool) -> str | None:
    """Absolute module of a `from X import ...`; relative levels climb from the file's
    package. None when the import climbs above the top."""
    if node.level == 0:
        return node.module
    package = module.split(".") if is_pkg else module.split(".")[:-1]
    package = [p for p in package if p]
    if node.level - 1 > len(package):
        return None
    base = package[: len(package) - (node.level - 1)] + (node.module.split(".") if node.module else [])
    return ".".join(base)


def imports_of(nodes: Iterable[ast.AST], module: str, is_pkg: bool) -> Iterator[Imported]:
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom):
            target = resolve_from(node, module, is_pkg)
            if target is not None:
                yield target, [a.name for a in node.names if a.name != "*"]


def _is_type_checking(test: ast.expr) -> bool:
    return dotted(test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def module_level_imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports that run when the module is imported: top level and inside if/try/with/for/
    class bodies, but not inside functions or the body of `if TYPE_CHECKING:`."""
    for stmt in body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            yield stmt
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        elif isinstance(stmt, ast.If) and _is_type_checking(stmt.test):
            yield from module_level_imports(stmt.orelse)
        else:
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                for sub in getattr(stmt, field, None) or []:
                    yield from module_level_imports([sub] if isinstance(sub, ast.stmt) else sub.body)


def _matches(name: str, module: str, include_submodules: bool) -> bool:
    return name == module or (include_submodules and name.startswith(module + "."))


@fact_oracle()
def python_import_users(
    *,
    repo_root: Path,
    module: str,
    root: str = ".",
    exclude_dirs: list[str] | None = None,
    include_submodules: bool = False,
) -> list[str]:
    """Repo-relative paths of .py files under `root` with an import statement (anywhere in
    the file, functions included) that imports `module`: `import m`, `import m as x`,
    `from m import y`, or `from pkg import m` where `pkg.m == module`. `import m.sub` and
    `from m.sub import y` count only with `include_submodules` (and `import m.sub` is not
    counted as importing `m` otherwise). Relative imports are resolved against the package
    the file's path relative to repo_root implies (`a/b/c.py` is module `a.b.c`). Sorted."""
    out: list[str] = []
    for rel, tree in iter_trees(repo_root, root, exclude_dirs):
        name, is_pkg = module_of(rel)
        for target, names in imports_of(iter_stmts(tree.body), name, is_pkg):
            candidates = [target] + [f"{target}.{n}" if target else n for n in names]
            if any(_matches(c, module, include_submodules) for c in candidates):
                out.append(rel)
                break
    return sorted(out)


def _sccs(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iterative so deep chains cannot overflow."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)

    for start in sorted(graph):
        if start in index:
            continue
        visit(start)
        work = [(start, iter(sorted(graph[start])))]
        while work:
            v, edges = work[-1]
            for w in edges:
                if w not in index:
                    visit(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    component: list[str] = []
                    while not component or component[-1] != v:
                        component.append(stack.pop())
                        on_stack.discard(component[-1])
                    out.append(sorted(component))
    return out


@fact_oracle()
def python_import_cycles(
    *, repo_root: Path, package: str, root: str = ".", exclude_dirs: list[str] | None = None
) -> list[list[str]]:
    """Import cycles among the modules of `package` (the directory `root/<package as path>`;
    module names are dotted paths relative to `root`, `__init__.py` naming its package).

    Only imports run at import time count (see `module_level_imports`: functions and
    `if TYPE_CHECKING:` bodies are ignored). `import a.b` depends on module `a.b`;
    `from a import b` depends on `a.b` when that is a module of the package, else on `a`;
    parent packages are not implied. A cycle is a strongly connected component of more than
    one module in that graph, reported as its sorted module names; cycles are sorted.
    Unparseable files and `exclude_dirs` are skipped."""
    pkg_dir = resolve_path(repo_root, f"{root}/{package.replace('.', '/')}", kind="dir")
    base = resolve_path(repo_root, root, kind="dir")
    modules: dict[str, tuple[str, ast.Module]] = {}
    for rel, tree in iter_trees(repo_root, relpath(repo_root, pkg_dir), exclude_dirs):
        name, _ = module_of(relpath(base, repo_root / rel))
        modules[name] = (rel, tree)
    if not modules:
        raise OracleError(f"package {package!r} has no parseable modules under {root!r}")
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, (rel, tree) in modules.items():
        is_pkg = rel.endswith("/__init__.py")
        for node in module_level_imports(tree.body):
            for target, names in imports_of([node], name, is_pkg):
                deps = [f"{target}.{n}" if f"{target}.{n}" in modules else target for n in names] or [target]
                graph[name].update(d for d in deps if d in modules and d != name)
    return sorted(c for c in _sccs(graph) if len(c) > 1)
