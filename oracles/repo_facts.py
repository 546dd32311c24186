"""Oracles for repository facts that the L1 suites need beyond the generic code and config oracles.

All are generic (nothing here knows a particular repository): Python facts come from the
AST (code is never imported), YAML from the YAML 1.2 loader of `oracles.config_files`, INI
files from `configparser`. Markdown tables are in `oracles.markdown_tables`.
"""
from __future__ import annotations

import ast
import configparser
from pathlib import Path
from typing import Any, Iterator

from evaluator.scoring.oracle_api import OracleError, fact_oracle
from oracles._common import glob_matcher, iter_files, relpath, resolve_path
from oracles._pyast import (
    child_defs, decorator_name, dotted, iter_stmts, iter_trees, load_module, module_assignments, value_or_source)
from oracles.config_files import load_yaml

__all__ = [
    "glob_files", "ini_value", "python_call_assignments",
    "python_class_attribute_map", "python_class_methods", "python_imported_names", "python_registered_functions",
    "yaml_values",
]  # fmt: skip


@fact_oracle()
def glob_files(*, repo_root: Path, glob: str, exclude_dirs: list[str] | None = None) -> list[str]:
    """Repo-relative posix paths of the regular files whose path matches `glob` (pathlib-style:
    `**/` spans directories, `{a,b}` alternatives allowed), `.git` and `exclude_dirs` pruned
    (as in `grep_count`). Symlinks are not followed. Sorted."""
    matches = glob_matcher(glob)
    return sorted(rel for p in iter_files(repo_root, ".", exclude_dirs) if matches(rel := relpath(repo_root, p)))


@fact_oracle()
def python_registered_functions(
    *, repo_root: Path, registry: str, root: str = ".", exclude_dirs: list[str] | None = None, names: str = "function"
) -> list[str]:
    """Functions (`def`/`async def` at any depth: module level, under if/try/with, nested in
    functions, methods) in .py files under `root` decorated with `@REG.register_module(...)` or `@REG.register_module`, where
    `REG` is the dotted text `registry` (e.g. `TEXT_POSTPROCESSORS`). Classes are not
    counted (see `python_registered_classes`). `names="function"` returns the function names;
    `names="registered"` returns the names they are registered under: the `name=` keyword or
    first positional argument (a string or a list of strings), else the function name; a
    non-literal name comes back as its source text. Sorted, unique."""
    if names not in ("function", "registered"):
        raise OracleError(f"names must be 'function' or 'registered', not {names!r}")
    target = f"{registry}.register_module"
    found: set[str] = set()
    for _, tree in iter_trees(repo_root, root, exclude_dirs, must_contain=b"register_module"):
        for node in iter_stmts(tree.body):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for dec in node.decorator_list:
                if decorator_name(dec) != target:
                    continue
                if names == "function":
                    found.add(node.name)
                    continue
                call = dec if isinstance(dec, ast.Call) else None
                arg = next((k.value for k in call.keywords if k.arg == "name"), None) if call else None
                if call is not None and arg is None and call.args:
                    arg = call.args[0]
                value = node.name if arg is None else value_or_source(arg)
                if value is None:
                    value = node.name
                if isinstance(value, list) and all(isinstance(v, str) for v in value):
                    found.update(value)
                else:
                    found.add(value if isinstance(value, str) else ast.unparse(arg))  # type: ignore[arg-type]
    return sorted(found)


def _outside_defs(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements at any depth except inside functions and classes: an import there binds a
    local or a class attribute, not a name of the module."""
    for stmt in body:
        yield stmt
        if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                for sub in getattr(stmt, field, None) or []:
                    yield from _outside_defs([sub] if isinstance(sub, ast.stmt) else sub.body)


@fact_oracle()
def python_imported_names(*, repo_root: Path, path: str, relative_only: bool = False) -> list[str]:
    """Names bound by the module-level `from X import a, b as c` statements of `path` (top level
    and inside top-level if/try/with blocks; `import X` statements and `*` imports are not
    counted): the bound name, i.e. the alias when there is one. With `relative_only`, only
    relative imports (`from .x import ...`) count. Sorted, unique. This is what a package
    `__init__.py` re-exports when it has no `__all__`."""
    tree = load_module(repo_root, path)
    out: set[str] = set()
    for node in _outside_defs(tree.body):
        if isinstance(node, ast.ImportFrom) and (node.level > 0 or not relative_only):
            out.update(a.asname or a.name for a in node.names if a.name != "*")
    return sorted(out)


@fact_oracle()
def python_call_assignments(*, repo_root: Path, path: str, callee: str) -> list[str]:
    """Names of the top-level variables of `path` assigned the result of a call to `callee`
    (`NAME = callee(...)`, also `NAME: T = callee(...)` and `a = b = callee(...)`), where the
    called expression's dotted text equals `callee` or ends with `.callee` (`callee="Registry"`
    matches `Registry(...)` and `mmengine.Registry(...)`). Only statements directly at top
    level count (not inside if/try/functions). Sorted, unique."""
    tree = load_module(repo_root, path)
    out: set[str] = set()
    for name, value, _ in module_assignments(tree.body):
        if isinstance(value, ast.Call):
            text = dotted(value.func) or ""
            if text == callee or text.endswith("." + callee):
                out.add(name)
    return sorted(out)


def _class_body_value(cls: ast.ClassDef, attr: str) -> tuple[bool, Any]:
    found: tuple[bool, Any] = (False, None)
    for stmt in cls.body:
        if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == attr for t in stmt.targets):
            found = (True, value_or_source(stmt.value))
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id == attr:
            if stmt.value is not None:
                found = (True, value_or_source(stmt.value))
    return found


def _class_attribute_values(
    repo_root: Path, attr: str, root: str, exclude_dirs: list[str] | None
) -> dict[str, list[Any]]:
    """{class name: [value per defining class, in sorted path order]}."""
    out: dict[str, list[Any]] = {}
    for _, tree in iter_trees(repo_root, root, exclude_dirs, must_contain=attr.encode()):
        for node in iter_stmts(tree.body):
            if isinstance(node, ast.ClassDef):
                ok, value = _class_body_value(node, attr)
                if ok:
                    out.setdefault(node.name, []).append(value)
    return out


def _class_attribute_map_ties(
    *, repo_root: Path, attr: str, root: str = ".", exclude_dirs: list[str] | None = None
) -> list[dict[str, Any]]:
    """The answer, plus one per other value of a class name defined (with `attr`) in several
    files with different values: those keys were decided by the path tie-break."""
    values = _class_attribute_values(repo_root, attr, root, exclude_dirs)
    chosen = dict(sorted((name, vs[0]) for name, vs in values.items()))
    alternatives = [chosen]
    for name, vs in values.items():
        alternatives += [{**chosen, name: v} for v in vs[1:] if v != vs[0]]
    return alternatives


@fact_oracle(ties=_class_attribute_map_ties)
def python_class_attribute_map(
    *, repo_root: Path, attr: str, root: str = ".", exclude_dirs: list[str] | None = None
) -> dict[str, Any]:
    """`{class name: value}` for every class (at any depth) in .py files under `root` whose own
    body assigns the class attribute `attr` directly (`attr = v` or `attr: T = v`; the last
    such statement in the body wins; assignments in methods and inherited values do not
    count). Literal values are JSON, others their source text. Classes are keyed by simple
    name; when two files define a same-named class, the one in the path that sorts first wins
    (a tie-break `validate` reports when their values differ)."""
    values = _class_attribute_values(repo_root, attr, root, exclude_dirs)
    return dict(sorted((name, vs[0]) for name, vs in values.items()))


@fact_oracle()
def python_class_methods(*, repo_root: Path, path: str, class_name: str, prefix: str | None = None) -> list[str]:
    """Names of the methods (`def`/`async def` directly in the class body, also under if/try
    blocks there) that the top-level class `class_name` of `path` defines itself, in source
    order without duplicates; inherited methods are not included. With `prefix`, only names
    starting with it."""
    tree = load_module(repo_root, path)
    cls = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name), None)
    if cls is None:
        raise OracleError(f"{path}: no top-level class {class_name!r}")
    out: list[str] = []
    for node in child_defs(cls.body):  # not the functions nested in a method: they are no methods
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name not in out:
            if prefix is None or node.name.startswith(prefix):
                out.append(node.name)
    return out


def _walk(data: Any, parts: list[str]) -> list[Any]:
    if not parts:
        return [data]
    head, rest = parts[0], parts[1:]
    if head == "*":
        items = data if isinstance(data, list) else list(data.values()) if isinstance(data, dict) else []
        return [v for item in items for v in _walk(item, rest)]
    if isinstance(data, dict):
        key = next((k for k in data if k == head or str(k) == head), None)
        return _walk(data[key], rest) if key is not None or head in data else []
    if isinstance(data, list) and head.lstrip("-").isdigit():
        idx = int(head)
        return _walk(data[idx], rest) if -len(data) <= idx < len(data) else []
    return []


@fact_oracle()
def yaml_values(*, repo_root: Path, path: str, query: str) -> list[Any]:
    """Every value the dot-separated `query` reaches in the YAML file `path`, in document order,
    where a `*` component fans out over all items of a list (or all values of a mapping) and
    a numeric component indexes a list: `repos.*.hooks.*.id` lists every pre-commit hook id,
    `jobs.*.runs-on` every job's runner. Branches lacking a key are skipped, not errors.
    YAML 1.2 booleans (see `oracles.config_files`)."""
    data = load_yaml(repo_root, path)
    parts = [p for p in query.split(".") if p != ""]
    if not parts:
        raise OracleError("empty query")
    return _walk(data, parts)


@fact_oracle()
def ini_value(*, repo_root: Path, path: str, section: str, key: str) -> str:
    """The raw string value of `key` in `[section]` of the INI-style file `path` (setup.cfg,
    .pylintrc, tox.ini...), read by `configparser` without interpolation; keys are case
    insensitive, multi-line values keep their inner newlines, surrounding whitespace is
    stripped. `section=""` reads a file without section headers (Java-style
    `key=value` .properties). OracleError when the section or key is missing."""
    text = resolve_path(repo_root, path).read_text(encoding="utf-8", errors="replace")
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    sect = section or "__top__"
    try:
        parser.read_string(text if section else f"[{sect}]\n{text}", source=path)
    except configparser.Error as exc:
        raise OracleError(f"{path}: not a valid INI file: {exc}") from exc
    if not parser.has_section(sect):
        raise OracleError(f"{path}: no section [{section}]")
    if not parser.has_option(sect, key):
        raise OracleError(f"{path}: no key {key!r} in [{section}]")
    return parser.get(sect, key).strip()
