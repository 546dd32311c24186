"""Fact oracle over mmengine-style config inheritance (issue 16, items 3 and 6): the effective
value of a key after `_base_` files are resolved, merged and referenced. Configs are parsed,
never run.
"""
from __future__ import annotations

import ast
import json
import posixpath
import re
from pathlib import Path
from typing import Any

import yaml

from evaluator.scoring.oracle_api import OracleError, fact_oracle
from oracles._common import apply_query, resolve_path
from oracles._pyast import dotted, load_module, module_assignments
from oracles.python_configs import ConfigEval

# mmengine's predefined variables; {{ fileDirname }} is an absolute path, so no stable answer.
_PREDEFINED = re.compile(r"\{\{\s*(fileBasename|fileBasenameNoExtension|fileExtname)\s*\}\}")


def _base_query(node: ast.AST) -> str | None:
    """`a.b[0]["c"]` for an expression `_base_.a.b[0]['c']`, else None."""
    steps: list[str] = []
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        if isinstance(node, ast.Attribute):
            steps.append(f".{node.attr}")
        elif isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, (int, str)):
            steps.append(f"[{json.dumps(node.slice.value)}]")
        else:
            return None
        node = node.value
    if not (isinstance(node, ast.Name) and node.id == "_base_" and steps):
        return None
    return "".join(reversed(steps)).lstrip(".")


class _InheritingEval(ConfigEval):
    """ConfigEval that also reads `_base_.x` and `{{_base_.x}}` from the merged bases, and
    substitutes mmengine's predefined file-name variables in strings."""

    def __init__(self, bases: dict[str, Any], rel: str) -> None:
        super().__init__()
        self.bases, self.rel = bases, rel

    def value(self, node: ast.expr) -> Any:
        inner = node
        if isinstance(node, ast.Set) and len(node.elts) == 1 and isinstance(node.elts[0], ast.Set) \
                and len(node.elts[0].elts) == 1:
            inner = node.elts[0].elts[0]  # `{{_base_.x}}`, substituted by mmengine before parsing
        query = _base_query(inner)
        if query is not None:
            return apply_query(self.bases, query, f"{self.rel} (_base_)")
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "{{" in node.value:
            return self._predefined(node.value)
        return super().value(node)

    def _predefined(self, text: str) -> str:
        name = posixpath.basename(self.rel)
        values = {"fileBasename": name, "fileBasenameNoExtension": name.rsplit(".", 1)[0],
                  "fileExtname": "." + name.rsplit(".", 1)[-1] if "." in name else ""}
        out = _PREDEFINED.sub(lambda m: values[m.group(1)], text)
        if "{{" in out:
            raise OracleError(f"{self.rel}: {text!r} uses a substitution that is not followed")
        return out


def _check_supported(tree: ast.Module, rel: str) -> None:
    for stmt in tree.body:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(
            stmt, (ast.AugAssign, ast.AnnAssign)) else []
        for target in targets:
            if not isinstance(target, (ast.Name, ast.Tuple, ast.List)) and (dotted(target) or "").startswith("_base_") \
                    or isinstance(target, ast.Subscript) and _base_query(target) is not None:
                raise OracleError(f"{rel}: line {stmt.lineno} modifies _base_, which is not followed")
    if any(isinstance(n, ast.Name) and n.id == "read_base" for n in ast.walk(tree)):
        raise OracleError(f"{rel}: read_base() imports are not followed")


def _load(repo_root: Path, rel: str, stack: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(own top-level values, merged values of the bases) of one config file."""
    path = resolve_path(repo_root, rel, kind="file")
    if rel.endswith((".yaml", ".yml", ".json")):
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if rel.endswith(".json") else yaml.safe_load(text)
        if not isinstance(data, dict):
            raise OracleError(f"{rel}: not a mapping")
        own = dict(data)
        return own, _bases(repo_root, rel, own.pop("_base_", []), stack)
    tree = load_module(repo_root, rel)
    _check_supported(tree, rel)
    declared = [v for name, v, _ in module_assignments(tree.body) if name == "_base_"]
    base_list = ConfigEval().value(declared[-1]) if declared and declared[-1] is not None else []
    merged = _bases(repo_root, rel, base_list, stack)
    own = _InheritingEval(merged, rel).run(tree.body)
    own.pop("_base_", None)
    return own, merged


def _bases(repo_root: Path, rel: str, bases: Any, stack: tuple[str, ...]) -> dict[str, Any]:
    bases = [bases] if isinstance(bases, str) else bases
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        raise OracleError(f"{rel}: _base_ must be a string or a list of strings")
    merged: dict[str, Any] = {}
    for base in bases:
        if "::" in base:
            raise OracleError(f"{rel}: cross-repository base {base!r} is not followed")
        got = _resolved(repo_root, _join(rel, base), stack + (rel,))
        clash = sorted(set(got) & set(merged))
        if clash:
            raise OracleError(f"{rel}: duplicate key {clash[0]!r} among bases (mmengine refuses it)")
        merged.update(got)
    return merged


def _merge(child: dict[str, Any], base: dict[str, Any], where: str) -> dict[str, Any]:
    out = dict(base)
    for key, value in child.items():
        if isinstance(value, dict):
            value = dict(value)
            delete = value.pop("_delete_", False) is True
            if key in out and not delete:
                if not isinstance(out[key], dict):
                    raise OracleError(f"{where}: {key!r} is a dict over a non-dict base value (mmengine refuses it)")
                value = _merge(value, out[key], where)
        out[key] = value
    return out


def _resolved(repo_root: Path, rel: str, stack: tuple[str, ...]) -> dict[str, Any]:
    if rel in stack:
        raise OracleError(f"{rel}: _base_ cycle")
    own, merged = _load(repo_root, rel, stack)
    return _merge(own, merged, rel)


def _join(rel: str, base: str) -> str:
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(rel), base))
    if joined.startswith("../") or joined == "..":
        raise OracleError(f"{rel}: base {base!r} is outside the repository")
    return joined


@fact_oracle()
def python_config_inherited_value(*, repo_root: Path, path: str, query: str) -> Any:
    """The value at `query` in the config `path` after mmengine-style `_base_` inheritance.

    `_base_` (a path or a list of paths, relative to the file's directory; .py, .json, .yaml
    or .yml) is resolved recursively. The bases' top-level keys are collected in list order
    (a key defined by two bases is an OracleError, as mmengine refuses it); then the file's own
    top-level variables (evaluated as in `python_config_value`, `_base_` itself removed) are
    merged on top: a dict over a dict merges key by key, recursively, unless the child dict
    has `_delete_=True`, which replaces the base dict (`_delete_` itself is removed); any
    other value - lists included - replaces the base value. In the file, `_base_.a.b` /
    `_base_.a['b'][0]` and `{{_base_.a.b}}` read the merged bases' value, and the strings
    `{{fileBasename}}`, `{{fileBasenameNoExtension}}` and `{{fileExtname}}` are substituted.
    The query syntax is that of `python_config_value`. OracleError for `read_base()` imports,
    assignments into `_base_`, other `{{...}}` substitutions, cross-repository (`pkg::`)
    bases, cycles, and missing keys.
    """
    return apply_query(inherited_config(repo_root, path), query, path)


def inherited_config(repo_root: Path, path: str) -> dict[str, Any]:
    """Every top-level key of the config `path` after `_base_` inheritance (the generator's
    templates enumerate questions from it); same rules and errors as the oracle above."""
    return _resolved(repo_root, path, ())
