"""Fact oracles about parameters and their defaults: functions, argparse parsers, dataclasses."""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from evaluator.scoring.oracle_api import OracleError, fact_oracle
from oracles._pyast import FuncNode, decorator_name, dotted, literal, load_module, require_def, value_or_source


def _function(repo_root: Path, path: str, qualname: str) -> tuple[FuncNode, bool]:
    """The function `qualname` names (a class means its own `__init__`) and whether it is a method."""
    chain = require_def(load_module(repo_root, path), qualname, path)
    node = chain[-1]
    if isinstance(node, ast.ClassDef):
        inits = [d for d in node.body if isinstance(d, (ast.FunctionDef, ast.AsyncFunctionDef)) and d.name == "__init__"]
        if not inits:
            raise OracleError(f"{path}: class {qualname!r} defines no __init__ of its own")
        return inits[-1], True
    return node, len(chain) > 1 and isinstance(chain[-2], ast.ClassDef)


@fact_oracle()
def python_function_defaults(*, repo_root: Path, path: str, qualname: str) -> dict[str, Any]:
    """`{param: default}` for the parameters with defaults (positional and keyword-only) of the
    function/method `qualname` in `path` (`f`, `Cls.method`, `Outer.Inner.method`); a class
    name means its own `__init__` (inherited ones are not looked up). Literal defaults become
    JSON values (tuples -> lists); anything else becomes its source text via `ast.unparse`,
    e.g. `dict(type='SGD')` -> "dict(type='SGD')" and `os.sep` -> "os.sep". Parameters without
    defaults are omitted. OracleError when `qualname` is not defined in the file."""
    fn, _ = _function(repo_root, path, qualname)
    a = fn.args
    positional = a.posonlyargs + a.args
    out: dict[str, Any] = {}
    for arg, default in zip(positional[len(positional) - len(a.defaults) :], a.defaults):
        out[arg.arg] = value_or_source(default)
    for arg, kw_default in zip(a.kwonlyargs, a.kw_defaults):
        if kw_default is not None:
            out[arg.arg] = value_or_source(kw_default)
    return out


@fact_oracle()
def python_function_params(*, repo_root: Path, path: str, qualname: str) -> list[str]:
    """Parameter names of `qualname` (as in `python_function_defaults`) in declaration order:
    positional-only, positional, `*args` (written with its star), keyword-only, `**kwargs`.
    For methods (and classes, via `__init__`) a first parameter named `self` or `cls` is left
    out. The bare `*` and `/` markers are not parameters and are not listed."""
    fn, is_method = _function(repo_root, path, qualname)
    a = fn.args
    names = [p.arg for p in a.posonlyargs + a.args]
    if is_method and names and names[0] in ("self", "cls"):
        names = names[1:]
    if a.vararg:
        names.append(f"*{a.vararg.arg}")
    names.extend(p.arg for p in a.kwonlyargs)
    if a.kwarg:
        names.append(f"**{a.kwarg.arg}")
    return names


def _argparse_dest(call: ast.Call) -> str | None:
    explicit = next((k.value for k in call.keywords if k.arg == "dest"), None)
    if explicit is not None:
        ok, value = literal(explicit)
        return value if ok and isinstance(value, str) else None
    options: list[str] = []
    for arg in call.args:
        ok, value = literal(arg)
        if not ok or not isinstance(value, str):
            return None
        options.append(value)
    if not options:
        return None
    if not options[0].startswith("-"):
        return options[0]  # positional: argparse keeps the name as written
    longs = [o for o in options if len(o) > 1 and o[1] == "-"]
    return (longs or options)[0].lstrip("-").replace("-", "_")


_ACTION_DEFAULTS: dict[str, Any] = {"store_true": False, "store_false": True}


@fact_oracle()
def python_argparse_defaults(*, repo_root: Path, path: str, function: str | None = None) -> dict[str, Any]:
    """`{dest: default}` for every `<anything>.add_argument(...)` call in `path` (or only
    inside the function `function`, a qualname), in source order.

    dest follows argparse: explicit `dest=`; else a positional's name as written; else the
    first `--long` option (or the first option) without leading dashes, `-` -> `_`. Without
    `default=`: `action='store_true'` -> false, `'store_false'` -> true, everything else
    (count, append, positionals...) -> null. Literal defaults are JSON; others are source
    text (`argparse.SUPPRESS` -> "argparse.SUPPRESS"). When several calls share a dest the
    first one wins, as in argparse; calls whose option strings are not literals are skipped.
    `set_defaults(...)` is not applied."""
    tree = load_module(repo_root, path)
    scope: ast.AST = tree if function is None else require_def(tree, function, path)[-1]
    calls = [
        n
        for n in ast.walk(scope)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "add_argument"
    ]
    out: dict[str, Any] = {}
    for call in sorted(calls, key=lambda c: (c.lineno, c.col_offset)):
        dest = _argparse_dest(call)
        if dest is None or dest in out:
            continue
        kw = {k.arg: k.value for k in call.keywords if k.arg}
        if "default" in kw:
            out[dest] = value_or_source(kw["default"])
        else:
            ok, action = literal(kw["action"]) if "action" in kw else (False, None)
            out[dest] = _ACTION_DEFAULTS.get(action) if ok and isinstance(action, str) else None
    return out


def _is_classvar(annotation: ast.expr) -> bool:
    node = annotation.value if isinstance(annotation, ast.Subscript) else annotation
    return (dotted(node) or "").rsplit(".", 1)[-1] in ("ClassVar", "KW_ONLY")


@fact_oracle()
def dataclass_defaults(*, repo_root: Path, path: str, class_name: str) -> dict[str, Any]:
    """`{field: default}` for the fields declared in the body of the dataclass `class_name`
    (a qualname) in `path`. The class must carry a decorator whose last dotted part is
    `dataclass` (`@dataclass`, `@dataclasses.dataclass(frozen=True)`, pydantic's too).

    `x: int = 3` -> 3; `x: T = field(default=v)` -> v; `field(default_factory=f)` -> the
    factory's source text (`list`, `dict`, `lambda: [1]`); non-literal defaults -> source
    text. Fields without a default (including `field()` with neither), `ClassVar` and
    `KW_ONLY` annotations are omitted; inherited fields are not included."""
    cls = require_def(load_module(repo_root, path), class_name, path)[-1]
    if not isinstance(cls, ast.ClassDef):
        raise OracleError(f"{path}: {class_name!r} is not a class")
    if not any((decorator_name(d) or "").rsplit(".", 1)[-1] == "dataclass" for d in cls.decorator_list):
        raise OracleError(f"{path}: class {class_name!r} is not decorated with @dataclass")
    out: dict[str, Any] = {}
    for stmt in cls.body:
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.value is not None):
            continue
        if _is_classvar(stmt.annotation):
            continue
        value = stmt.value
        if isinstance(value, ast.Call) and (dotted(value.func) or "").rsplit(".", 1)[-1] == "field":
            kw = {k.arg: k.value for k in value.keywords if k.arg}
            if "default" in kw:
                out[stmt.target.id] = value_or_source(kw["default"])
            elif "default_factory" in kw:
                out[stmt.target.id] = ast.unparse(kw["default_factory"])
            continue
        out[stmt.target.id] = value_or_source(value)
    return out
