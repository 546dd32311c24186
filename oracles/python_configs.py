"""Fact oracles over mmengine/opencompass-style Python config files, evaluated from the AST."""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Any, Iterable, Iterator

from evaluator.scoring.oracle_api import fact_oracle
from oracles._common import apply_query, glob_matcher, iter_files, json_key, relpath, resolve_path
from oracles._pyast import dotted, load_module, module_assignments, mutates, parse_file


class ConfigEval:
    """Evaluates config expressions: constants, lists/tuples/sets (-> lists, `*x` spliced when
    `x` is a list), `{...}` and `dict(k=v, **x)` (merged when `x` is a dict), unary +/- on
    numbers, and names bound earlier in the file. Anything else is its source text."""

    def __init__(self) -> None:
        self.env: dict[str, Any] = {}

    def run(self, body: list[ast.stmt]) -> dict[str, Any]:
        """Bind every top-level assignment in order (also inside top-level `with` blocks, as in
        `with read_base():`). `x += ...` removes `x`, since its value is no longer known; so does
        module-level code that changes it in place (see `mutates`)."""
        for stmt in body:
            if isinstance(stmt, ast.With):
                self.run(stmt.body)
                continue
            for name, value, _ in module_assignments([stmt]):
                if value is None:
                    self.env.pop(name, None)
                else:
                    self.env[name] = self.value(value)
            used = {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)} & self.env.keys()
            for name in [n for n in used if mutates(stmt, n)]:
                self.env.pop(name)  # `x.append(...)`, `x[k] = v`: the literal is no longer x's value
        return self.env

    def value(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Constant):
            ok = node.value is None or isinstance(node.value, (str, int, float, bool))
            return node.value if ok else ast.unparse(node)
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            items: list[Any] = []
            for elt in node.elts:
                if not isinstance(elt, ast.Starred):
                    items.append(self.value(elt))
                    continue
                spliced = self.value(elt.value)
                if not isinstance(spliced, list):
                    return ast.unparse(node)
                items.extend(spliced)
            return items
        if isinstance(node, ast.Dict):
            return self._dict(zip(node.keys, node.values), node)
        if isinstance(node, ast.Call) and dotted(node.func) == "dict" and not node.args:
            return self._dict(((None if k.arg is None else ast.Constant(k.arg), k.value) for k in node.keywords), node)
        if isinstance(node, ast.Name) and node.id in self.env:
            return self.env[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.value(node.operand)
            if isinstance(operand, (int, float)) and not isinstance(operand, bool):
                return -operand if isinstance(node.op, ast.USub) else operand
        return ast.unparse(node)

    def _dict(self, pairs: Iterable[tuple[ast.expr | None, ast.expr]], node: ast.expr) -> Any:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key is None:  # **other
                merged = self.value(value)
                if not isinstance(merged, dict):
                    return ast.unparse(node)
                out.update(merged)
                continue
            k = self.value(key)
            out[json_key(k) if k is None or isinstance(k, (str, int, float, bool)) else ast.unparse(key)] = self.value(value)
        return out


def config_env(tree: ast.Module) -> dict[str, Any]:
    return ConfigEval().run(tree.body)


@fact_oracle()
def python_config_value(*, repo_root: Path, path: str, query: str) -> Any:
    """The value at `query` in the Python config file `path`, e.g.
    `model.backbone.depth`, `train_cfg.max_epochs`, `datasets[0].abbr`. The first query step
    is a top-level variable; values are evaluated as described in `ConfigEval` (anything
    non-literal - calls other than `dict(...)`, attributes, imported or unknown names,
    arithmetic - is returned as its source text, e.g. `type=ResNet` -> "ResNet"). Tuples
    become lists. The same query syntax as `yaml_query`. OracleError when a step is missing."""
    return apply_query(config_env(load_module(repo_root, path)), query, path)


def _written_dicts(tree: ast.Module) -> Iterator[ast.expr]:
    """Every `{...}` and `dict(...)` expression in module-level code, including inside
    top-level for/if/with blocks (`datasets.append(dict(...))` in a loop), but not inside
    functions, lambdas or classes."""
    stack: list[ast.AST] = list(reversed(tree.body))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Dict) or (isinstance(node, ast.Call) and dotted(node.func) == "dict"):
            yield node  # type: ignore[misc]
        stack.extend(ast.iter_child_nodes(node))


def _contains(value: Any, key: str, wanted: Any) -> bool:
    if isinstance(value, dict):
        if key in value and _same(value[key], wanted):
            return True
        return any(_contains(v, key, wanted) for v in value.values())
    if isinstance(value, list):
        return any(_contains(v, key, wanted) for v in value)
    return False


def _same(a: Any, b: Any) -> bool:
    """JSON equality: booleans never equal numbers; 1 equals 1.0."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        return False
    return bool(a == b)


@fact_oracle()
def python_configs_with_value(
    *,
    repo_root: Path,
    root: str,
    key: str,
    value: Any,
    glob: str = "**/*.py",
    exclude_dirs: list[str] | None = None,
) -> list[str]:
    """Repo-relative paths of Python config files under `root` (path relative to `root`
    matching `glob`) where some dict maps `key` to exactly `value` (JSON equality; true
    never equals 1, 1 equals 1.0). The dicts searched, at any depth in lists/dicts: the final
    values of top-level variables (evaluated as in `python_config_value`) and every
    `dict(...)`/`{...}` written in module-level code, loops and if/with blocks included
    (functions and classes excluded), evaluated with the file's final variables. E.g.
    opencompass dataset configs with `abbr='gsm8k'`. Non-literal values compare as their
    source text (`type=GSM8K` matches value "GSM8K"; an f-string never equals a plain
    string). Sorted; unparseable files are skipped."""
    base = resolve_path(repo_root, root, kind="dir")
    matches = glob_matcher(glob)
    out: list[str] = []
    for path in iter_files(repo_root, root, exclude_dirs, suffix=".py"):
        if not matches(relpath(base, path)):
            continue
        tree = parse_file(path, must_contain=key.encode())
        if tree is None:
            continue
        ev = ConfigEval()
        values = list(ev.run(tree.body).values())
        if any(_contains(v, key, value) for v in values) or any(
            _contains(ev.value(d), key, value) for d in _written_dicts(tree)
        ):
            out.append(relpath(repo_root, path))
    return sorted(out)
