"""Fact oracles that compute facts from Python source with `ast` (the code is never imported).

This module holds the class/definition oracles and re-exports the rest, so every Python-code
oracle is reachable as `oracles.python_code:<name>`:
- oracles.python_signatures: function defaults/params, argparse defaults, dataclass defaults;
- oracles.python_imports: import users and import cycles;
- oracles.python_text: grep-like counts and numbers in docstrings (naive distractor sources).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from evaluator.scoring.oracle_api import OracleError, fact_oracle
from oracles._pyast import (
    decorator_name,
    dotted,
    iter_stmts,
    iter_trees,
    literal,
    load_module,
    module_assignments,
    mutates,
    walk_defs,
)
from oracles.python_imports import python_import_cycles, python_import_users
from oracles.python_signatures import (
    dataclass_defaults,
    python_argparse_defaults,
    python_function_defaults,
    python_function_params,
)
from oracles.python_text import docstring_number, grep_count, grep_files

__all__ = [
    "dataclass_defaults", "docstring_number", "grep_count", "grep_files", "python_all_exports",
    "python_argparse_defaults", "python_decorated_functions", "python_definitions_count",
    "python_function_defaults", "python_function_params", "python_import_cycles", "python_import_users",
    "python_module_constant", "python_registered_classes", "python_subclasses",
]  # fmt: skip


def _registered_names(call: ast.Call | None, fallback: str) -> list[str]:
    # mmengine: register_module(name=None, force=False, module=None); name may be a str or a list.
    node = next((k.value for k in call.keywords if k.arg == "name"), None) if call else None
    if call and node is None and call.args:
        node = call.args[0]
    if node is None or (isinstance(node, ast.Constant) and node.value is None):
        return [fallback]
    ok, value = literal(node)
    if ok and isinstance(value, str):
        return [value]
    if ok and isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return [ast.unparse(node)]


def _module_level_calls(body: list[ast.stmt]) -> list[ast.Call]:
    """Calls that are whole expression statements at module level (also under if/try/with)."""
    out: list[ast.Call] = []
    for stmt in body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            out.append(stmt.value)
        elif isinstance(stmt, (ast.If, ast.Try, ast.With)):
            for field in ("body", "orelse", "finalbody"):
                out.extend(_module_level_calls(getattr(stmt, field, [])))
            for handler in getattr(stmt, "handlers", []):
                out.extend(_module_level_calls(handler.body))
    return out


@fact_oracle()
def python_registered_classes(
    *, repo_root: Path, registry: str, root: str = ".", exclude_dirs: list[str] | None = None, names: str = "class"
) -> list[str]:
    """Classes registered in the mmengine-style registry variable `registry` (e.g. `HOOKS`,
    matched against the receiver's full dotted text) in .py files under `root`.

    Recognised: `@REG.register_module()` and `@REG.register_module` on any class, with
    `name=`/first positional name (a string or list of strings) and `force=`; and module-level
    statements `REG.register_module(module=Cls)` / `REG.register_module('n', module=Cls)` /
    `REG.register_module()(Cls)`, where the class name is the last part of `Cls` (`nn.Conv2d`
    -> `Conv2d`). `names="class"` returns class names; `names="registered"` returns the names
    they are registered under (each `name=` entry, else the class name; a non-literal name
    comes back as its source text). Sorted, unique. Unparseable files are skipped.
    """
    if names not in ("class", "registered"):
        raise OracleError(f"names must be 'class' or 'registered', not {names!r}")
    target = f"{registry}.register_module"
    found: set[str] = set()

    def add(cls_name: str, call: ast.Call | None) -> None:
        found.update([cls_name] if names == "class" else _registered_names(call, cls_name))

    for _, tree in iter_trees(repo_root, root, exclude_dirs, must_contain=b"register_module"):
        for node in iter_stmts(tree.body):
            if isinstance(node, ast.ClassDef):
                for dec in node.decorator_list:
                    if decorator_name(dec) == target:
                        add(node.name, dec if isinstance(dec, ast.Call) else None)
        for call in _module_level_calls(tree.body):
            if dotted(call.func) == target:  # REG.register_module(..., module=Cls)
                module = next((k.value for k in call.keywords if k.arg == "module"), None)
                cls = dotted(module if module is not None else (call.args[2] if len(call.args) > 2 else None))
            elif isinstance(call.func, ast.Call) and dotted(call.func.func) == target and len(call.args) == 1:
                cls, call = dotted(call.args[0]), call.func  # REG.register_module()(Cls)
            else:
                continue
            if cls:
                add(cls.rsplit(".", 1)[-1], call)
    return sorted(found)


@fact_oracle()
def python_subclasses(
    *, repo_root: Path, base: str, root: str = ".", transitive: bool = True, exclude_dirs: list[str] | None = None
) -> list[str]:
    """Names of classes under `root` that derive from `base`.

    A class derives directly when one of its base expressions (subscripts like `Generic[T]`
    reduced to `Generic`) has dotted text equal to `base`, or a last component equal to it:
    `base="Module"` matches `nn.Module` and `Module`; `base="nn.Module"` matches only
    `nn.Module`. With `transitive`, classes deriving (by last component) from any class found
    so far are added until nothing changes. Classes are identified by simple name, so
    same-named classes in different files are merged. Sorted, unique; `base` itself is only
    listed if some class of that name derives from it.
    """
    bases_of: dict[str, set[str]] = {}
    for _, tree in iter_trees(repo_root, root, exclude_dirs, must_contain=b"class"):
        for node in iter_stmts(tree.body):
            if isinstance(node, ast.ClassDef):
                texts = bases_of.setdefault(node.name, set())
                for b in node.bases:
                    name = dotted(b.value if isinstance(b, ast.Subscript) else b)
                    if name:
                        texts.update({name, name.rsplit(".", 1)[-1]})
    return sorted(subclass_closure(bases_of, base, transitive))


def subclass_closure(bases: dict[str, set[str]], base: str, transitive: bool) -> set[str]:
    """Classes whose base names include `base`; with `transitive`, their subclasses too."""
    found = {name for name, texts in bases.items() if base in texts}
    while transitive:
        more = {name for name, texts in bases.items() if name not in found and texts & found}
        if not more:
            break
        found |= more
    return found


@fact_oracle()
def python_decorated_functions(
    *, repo_root: Path, decorator: str, root: str = ".", exclude_dirs: list[str] | None = None
) -> list[str]:
    """`path:qualname` (e.g. `pkg/mod.py:Cls.fn`) of every function or method under `root`
    with a decorator whose dotted name equals `decorator` exactly, called or not:
    `decorator="pytest.fixture"` matches `@pytest.fixture` and `@pytest.fixture(scope="x")`
    but not `@fixture`. Nested functions get `outer.inner` qualnames (no `<locals>`). Sorted."""
    out: set[str] = set()
    for rel, tree in iter_trees(repo_root, root, exclude_dirs):
        for qual, node in walk_defs(tree.body):
            if not isinstance(node, ast.ClassDef) and any(decorator_name(d) == decorator for d in node.decorator_list):
                out.add(f"{rel}:{qual}")
    return sorted(out)


@fact_oracle()
def python_module_constant(*, repo_root: Path, path: str, name: str) -> Any:
    """The value of the top-level assignment `name = <literal>` in `path` (also `name: T = v`,
    `a = b = v`, `a, b = 1, 2`); the last top-level assignment wins. Assignments nested in
    if/try blocks are ignored. Tuples/sets become lists. OracleError when there is no such
    assignment, the value is not a literal (names, calls, f-strings...), the last
    statement binding it is an augmented assignment (`name += ...`), or later module-level
    code changes it in place (`name.append(...)` and other list/dict/set mutators,
    `name[k] = v`, `name.attr = v`, `del name[k]`, also on `item` in `for item in name:`),
    since then the module's value is not the literal written."""
    tree = load_module(repo_root, path)
    last: tuple[ast.expr | None, ast.stmt] | None = None
    for bound, value, stmt in module_assignments(tree.body):
        if bound == name:
            last = (value, stmt)
    if last is None:
        raise OracleError(f"{path}: no top-level assignment to {name!r}")
    ok, value = literal(last[0]) if last[0] is not None else (False, None)
    if not ok:
        raise OracleError(f"{path}: {name!r} is not a literal: {ast.unparse(last[1])}")
    later = tree.body[tree.body.index(last[1]) + 1:]
    mutation = next((n for n in later if mutates(n, name)), None)
    if mutation is not None:
        raise OracleError(f"{path}: {name!r} is modified after its assignment (line {mutation.lineno})")
    return value


@fact_oracle()
def python_all_exports(*, repo_root: Path, path: str) -> list[str]:
    """The strings in the module's top-level `__all__`: `__all__ = [...]` (the last one),
    then any later `__all__ += [...]` and `__all__.extend([...])`/`.append('x')` with literal
    arguments. Sorted, unique. OracleError when `__all__` is missing or not literal."""
    tree = load_module(repo_root, path)
    names: list[str] | None = None
    for stmt in tree.body:
        value: ast.expr | None = None
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                names, value = [], stmt.value
        elif isinstance(stmt, ast.AugAssign) and dotted(stmt.target) == "__all__":
            value = stmt.value
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            method = dotted(stmt.value.func)
            if method in ("__all__.extend", "__all__.append") and len(stmt.value.args) == 1:
                value = stmt.value.args[0]
                if method.endswith("append"):
                    value = ast.List(elts=[value], ctx=ast.Load())
        if value is None:
            continue
        ok, items = literal(value)
        if names is None or not ok or not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise OracleError(f"{path}: __all__ is not a literal list of strings (line {stmt.lineno})")
        names.extend(items)
    if names is None:
        raise OracleError(f"{path}: no top-level __all__")
    return sorted(set(names))


@fact_oracle()
def python_definitions_count(
    *,
    repo_root: Path,
    root: str = ".",
    kind: str = "class",
    exclude_dirs: list[str] | None = None,
    name_regex: str | None = None,
) -> int:
    """Number of `class` (kind="class") or `def`/`async def` (kind="function", methods and
    nested functions included) statements at any depth in .py files under `root`, counting
    only names that fully match `name_regex` when given. Unparseable files are skipped."""
    types: dict[str, tuple[type, ...]] = {"class": (ast.ClassDef,), "function": (ast.FunctionDef, ast.AsyncFunctionDef)}
    if kind not in types:
        raise OracleError(f"kind must be 'class' or 'function', not {kind!r}")
    try:
        pattern = re.compile(name_regex) if name_regex is not None else None
    except re.error as exc:
        raise OracleError(f"bad name_regex {name_regex!r}: {exc}") from exc
    return sum(
        1
        for _, tree in iter_trees(repo_root, root, exclude_dirs)
        for node in iter_stmts(tree.body)
        if isinstance(node, types[kind]) and (pattern is None or pattern.fullmatch(node.name))  # type: ignore[attr-defined]
    )
