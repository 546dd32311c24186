"""Fact oracles over config and packaging files: YAML/TOML queries, requirements, pyproject,
setup.py, GitHub workflow schedules. Re-exports the oracles of `oracles.python_configs`
(mmengine-style Python configs) and `oracles.pytest_params`, so all are reachable here too.

YAML is read with YAML 1.2 booleans: only true/false (any case) are booleans, so a
workflow's `on:` key stays the string "on" and `yes`/`no`/`on`/`off` values stay strings.
"""
from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path
from typing import Any, Iterator

import yaml

from evaluator.scoring.oracle_api import OracleError, fact_oracle
from oracles._common import apply_query, relpath, resolve_path
from oracles._pyast import dotted, literal, load_module, module_assignments
from oracles.pip_requirements import marker_env, normalize_name, requirement_name, requirements_names
from oracles.pytest_params import pytest_param_count
from oracles.python_configs import python_config_value, python_configs_with_value

__all__ = [
    "pyproject_dependencies", "pytest_param_count", "python_config_value", "python_configs_with_value",
    "requirements_list", "setup_py_install_requires", "toml_query", "workflow_cron_schedules",
    "workflows_with_cron", "yaml_query",
]  # fmt: skip

_BOOL_TAG = "tag:yaml.org,2002:bool"


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader whose implicit booleans are only true/false, as GitHub Actions reads YAML."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(_BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def load_yaml(repo_root: Path, path: str) -> Any:
    try:
        return yaml.load(resolve_path(repo_root, path).read_text(encoding="utf-8"), Loader=_Yaml12Loader)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise OracleError(f"{path}: not valid YAML: {exc}") from exc


@fact_oracle()
def yaml_query(*, repo_root: Path, path: str, query: str) -> Any:
    """The value at `query` in the YAML file `path`. Query syntax: dot-separated keys (dashes
    fine), `[n]` list indices (negative allowed; a bare digit component also indexes a
    list), `["a.b"]` or `['a.b']` for keys containing dots or brackets: e.g.
    `jobs.build.strategy.matrix.python-version[0]`, `on.schedule[0].cron`. Dates become ISO
    strings, mappings/lists are returned whole. OracleError when a step is missing."""
    return apply_query(load_yaml(repo_root, path), query, path)


@fact_oracle()
def toml_query(*, repo_root: Path, path: str, query: str) -> Any:
    """`yaml_query` for a TOML file (tomllib); dates/times become ISO strings."""
    return apply_query(_load_toml(repo_root, path), query, path)


def _load_toml(repo_root: Path, path: str) -> dict[str, Any]:
    try:
        return tomllib.loads(resolve_path(repo_root, path).read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise OracleError(f"{path}: not valid TOML: {exc}") from exc


def _requirements(path: Path, repo_root: Path, python_version: str | None = None) -> set[str]:
    return requirements_names(repo_root, path, marker_env(python_version) if python_version else None)


@fact_oracle(version="2")
def requirements_list(*, repo_root: Path, path: str, python_version: str | None = None) -> list[str]:
    """Normalised (PEP 503) names of the distributions `pip install -r path` installs
    directly, read by pip's rules (`oracles.pip_requirements`): `-r`/`--requirement` includes
    are followed relative to the including file (each file read once); `-e`/`--editable`
    projects count by their `#egg=` name (or a local project's `[project] name`); `name @ url`
    counts as `name`; bare URLs by `#egg=` or their wheel/sdist file name; `-c` constraints and
    other options add nothing; versions, extras and hashes are dropped. Markers are not
    evaluated unless `python_version` ("3.10") is given, then a requirement whose marker is
    false for that Python (on this platform) is left out. Sorted, unique. OracleError for a
    missing include, an invalid line, or an entry only a build could name."""
    return sorted(_requirements(resolve_path(repo_root, path), repo_root, python_version))


@fact_oracle()
def pyproject_dependencies(*, repo_root: Path, path: str = "pyproject.toml", extra: str | None = None) -> list[str]:
    """Normalised names in `[project] dependencies`, or in `[project.optional-dependencies]
    <extra>` when `extra` is given. Without a `[project]` table, Poetry's
    `[tool.poetry.dependencies]` keys (minus `python`) or `[tool.poetry.extras] <extra>` are
    used. Sorted, unique. OracleError when the table or extra does not exist (including
    dependencies declared `dynamic`)."""
    data = _load_toml(repo_root, path)
    project, poetry = data.get("project"), data.get("tool", {}).get("poetry")
    if isinstance(project, dict):
        table = project.get("optional-dependencies", {}) if extra else project
        specs = table.get(extra or "dependencies")
        if not isinstance(specs, list):
            raise OracleError(f"{path}: no [project] {'optional-dependencies.' + extra if extra else 'dependencies'}")
        return sorted({n for n in map(requirement_name, specs) if n})
    if isinstance(poetry, dict):
        if extra:
            names = poetry.get("extras", {}).get(extra)
            if not isinstance(names, list):
                raise OracleError(f"{path}: no [tool.poetry.extras] {extra}")
        else:
            names = [n for n in poetry.get("dependencies", {}) if n.lower() != "python"]
        return sorted({normalize_name(n) for n in names})
    raise OracleError(f"{path}: neither a [project] nor a [tool.poetry] table")


def _bindings(body: list[ast.stmt]) -> Iterator[tuple[str, ast.expr | None, ast.stmt]]:
    """Top-level bindings, also inside top-level if/else, try and with blocks, in source order."""
    for stmt in body:
        yield from module_assignments([stmt])
        if isinstance(stmt, (ast.If, ast.Try, ast.With)):
            for field in ("body", "orelse", "finalbody"):
                yield from _bindings(getattr(stmt, field, []))


def _setup_requires(expr: ast.expr, tree: ast.Module, setup_dir: Path, repo_root: Path, depth: int = 0) -> list[str]:
    if depth > 10:
        raise OracleError("setup.py: install_requires refers to itself")
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
        return _setup_requires(expr.left, tree, setup_dir, repo_root, depth + 1) + _setup_requires(
            expr.right, tree, setup_dir, repo_root, depth + 1
        )
    if isinstance(expr, ast.Name):
        values = [v for name, v, _ in _bindings(tree.body) if name == expr.id and v is not None]
        if values:
            return _setup_requires(values[-1], tree, setup_dir, repo_root, depth + 1)
    ok, value = literal(expr)
    if ok and isinstance(value, list):
        return [n for n in (requirement_name(v) for v in value if isinstance(v, str)) if n]
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name):
        fn = next((d for d in tree.body if isinstance(d, ast.FunctionDef) and d.name == expr.func.id), None)
        file_arg = next((a for a in expr.args if literal(a)[0] and isinstance(literal(a)[1], str)), None)
        if file_arg is None and fn and fn.args.args and fn.args.defaults:
            file_arg = next((d for d in fn.args.defaults if literal(d)[0] and isinstance(literal(d)[1], str)), None)
        if fn is not None and file_arg is not None:
            req = setup_dir / literal(file_arg)[1]
            if not req.is_file():
                raise OracleError(f"setup.py: requirements file {literal(file_arg)[1]!r} not found")
            return sorted(_requirements(req, repo_root))
    raise OracleError(f"setup.py: unsupported install_requires expression: {ast.unparse(expr)}")


@fact_oracle()
def setup_py_install_requires(*, repo_root: Path, path: str = "setup.py") -> list[str]:
    """Best-effort normalised names of `install_requires` in the `setup(...)` call of
    `path` (`setup` or `<x>.setup`), read via AST. Supported values: a literal list/tuple of
    strings; a name bound to a supported value at top level or in a top-level if/else, try
    or with block (the last binding in source order wins - for `if os.getenv(...): x = a
    else: x = b` that is the default `else` branch); `a + b` of
    supported values; a call of a function defined at top level of the same file with a
    literal string argument (or, with none, the function's first literal string default),
    taken as a requirements file relative to setup.py's directory and read like
    `requirements_list`. No install_requires -> []. OracleError for anything else or when
    there is no setup() call."""
    tree = load_module(repo_root, path)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and (dotted(n.func) or "").split(".")[-1] == "setup"]
    if not calls:
        raise OracleError(f"{path}: no setup(...) call")
    expr = next((k.value for c in calls for k in c.keywords if k.arg == "install_requires"), None)
    if expr is None:
        return []
    return sorted(set(_setup_requires(expr, tree, resolve_path(repo_root, path).parent, repo_root)))


def _crons(doc: Any) -> list[str]:
    if not isinstance(doc, dict):
        return []
    on = doc.get("on", doc.get(True))  # True: a file read elsewhere with YAML 1.1 booleans
    schedule = on.get("schedule") if isinstance(on, dict) else None
    if not isinstance(schedule, list):
        return []
    return [item["cron"] for item in schedule if isinstance(item, dict) and isinstance(item.get("cron"), str)]


@fact_oracle()
def workflows_with_cron(*, repo_root: Path, dir: str = ".github/workflows") -> list[str]:
    """Repo-relative paths of the `*.yml`/`*.yaml` files directly in `dir` (GitHub reads no
    subdirectories) whose `on:` mapping has a `schedule` list with at least one string
    `cron`. Unparseable files are skipped. Sorted. OracleError when `dir` does not exist."""
    base = resolve_path(repo_root, dir, kind="dir")
    out: list[str] = []
    for p in sorted(base.iterdir()):
        if p.is_file() and p.suffix in (".yml", ".yaml"):
            try:
                doc = yaml.load(p.read_text(encoding="utf-8"), Loader=_Yaml12Loader)
            except (yaml.YAMLError, UnicodeDecodeError):
                continue
            if _crons(doc):
                out.append(relpath(repo_root, p))
    return out


@fact_oracle()
def workflow_cron_schedules(*, repo_root: Path, path: str) -> list[str]:
    """The `cron` strings under `on.schedule` of the workflow file `path`, sorted (duplicates
    kept); [] when it has no schedule. OracleError when the file is missing or not YAML."""
    return sorted(_crons(load_yaml(repo_root, path)))
