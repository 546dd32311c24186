"""Second derivation (see derivations/__init__.py) of oracles/cross_file_configs.py: config values
after `_base_` inheritance, with a separate evaluator (pattern matching over the syntax tree,
its own `_base_` reference and substitution handling) and an iterative merge on an explicit stack.
"""
from __future__ import annotations

import ast
import json
import os
import re
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from evaluator.scoring.oracle_api import OracleError, second_derivation

_SUBST = re.compile(r"\{\{(.*?)\}\}")


class _Reader:
    """Evaluates one config file's top-level statements; `parents` are the merged bases."""

    def __init__(self, parents: dict[str, Any], filename: str) -> None:
        self.parents, self.filename, self.names = parents, filename, {}  # type: dict[str, Any], str, dict[str, Any]

    def chain(self, node: ast.expr) -> Any:
        """Value of `_base_.a[0].b` in the parents; a non-chain raises LookupError."""
        match node:
            case ast.Name(id="_base_"):
                return self.parents
            case ast.Attribute(value=inner, attr=key):
                holder = self.chain(inner)
            case ast.Subscript(value=inner, slice=ast.Constant(value=key)):
                holder = self.chain(inner)
            case _:
                raise LookupError
        try:
            return holder[key]
        except (KeyError, IndexError, TypeError):
            raise OracleError(f"{self.filename}: _base_ has no {key!r}") from None

    def text(self, s: str) -> str:
        stem, dot, ext = self.filename.rpartition(".")
        known = {"fileBasename": self.filename, "fileBasenameNoExtension": stem if dot else ext,
                 "fileExtname": dot + ext if dot else ""}

        def swap(m: re.Match[str]) -> str:
            if m.group(1).strip() not in known:
                raise OracleError(f"{self.filename}: substitution {m.group(0)} is not followed")
            return known[m.group(1).strip()]
        return _SUBST.sub(swap, s)

    def evaluate(self, node: ast.expr) -> Any:
        match node:
            case ast.Set(elts=[ast.Set(elts=[ref])]):
                try:
                    return self.chain(ref)
                except LookupError:
                    return ast.unparse(node)
            case ast.Attribute() | ast.Subscript():
                try:
                    return self.chain(node)
                except LookupError:
                    return ast.unparse(node)
            case ast.Constant(value=str() as s):
                return self.text(s) if "{{" in s else s
            case ast.Constant(value=v) if v is None or isinstance(v, (int, float, bool)):
                return v
            case ast.Name(id=i) if i in self.names:
                return self.names[i]
            case ast.UnaryOp(op=ast.USub() | ast.UAdd() as op, operand=inner):
                v = self.evaluate(inner)
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    return -v if isinstance(op, ast.USub) else v
            case ast.List(elts=elts) | ast.Tuple(elts=elts) | ast.Set(elts=elts):
                items: list[Any] = []
                for e in elts:
                    inner = self.evaluate(e.value) if isinstance(e, ast.Starred) else None
                    if isinstance(e, ast.Starred) and not isinstance(inner, list):
                        return ast.unparse(node)
                    items += inner if isinstance(e, ast.Starred) else [self.evaluate(e)]
                return items
            case ast.Dict(keys=keys, values=values):
                return self.mapping(list(zip(keys, values)), node)
            case ast.Call(func=ast.Name(id="dict"), args=[], keywords=kws):
                return self.mapping([(None if k.arg is None else ast.Constant(k.arg), k.value) for k in kws], node)
        return ast.unparse(node)

    def mapping(self, pairs: list[tuple[ast.expr | None, ast.expr]], node: ast.expr) -> Any:
        result: dict[str, Any] = {}
        for k, v in pairs:
            if k is None:
                spread = self.evaluate(v)
                if not isinstance(spread, dict):
                    return ast.unparse(node)
                result.update(spread)
                continue
            key = self.evaluate(k)
            result[json.dumps(key) if isinstance(key, (bool, int, float)) or key is None else
                   key if isinstance(key, str) else ast.unparse(k)] = self.evaluate(v)
        return result

    def assign(self, target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, ast.Name):
            self.names[target.id] = self.evaluate(value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            paired = isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts)
            for i, t in enumerate(target.elts):
                if paired:
                    self.assign(t, value.elts[i])  # type: ignore[union-attr]
                elif isinstance(t, ast.Name):
                    self.names.pop(t.id, None)
        elif "_base_" in ast.unparse(target).split(".")[0].split("[")[0]:
            raise OracleError(f"{self.filename}: an assignment into _base_ is not followed")


def _base_list(body: list[ast.stmt]) -> list[str]:
    found: Any = []
    for s in body:
        if isinstance(s, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "_base_" for t in s.targets):
            found = ast.literal_eval(s.value)
    found = [found] if isinstance(found, str) else found
    if not isinstance(found, list) or not all(isinstance(b, str) for b in found):
        raise OracleError("_base_ must be a string or a list of strings")
    return found


def _overlay(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """Child over base with mmengine's rules, iteratively: (destination, source) pairs on a stack."""
    top = json.loads(json.dumps(base))
    stack = [(top, json.loads(json.dumps(child)))]
    while stack:
        dest, src = stack.pop()
        for key, value in src.items():
            if isinstance(value, dict):
                replace = bool(value.pop("_delete_", False) is True)
                if key in dest and not replace:
                    if not isinstance(dest[key], dict):
                        raise OracleError(f"{key!r}: a dict cannot merge into a non-dict")
                    stack.append((dest[key], value))
                    continue
            dest[key] = value
    return top


def _parents(repo_root: Path, rel: PurePosixPath, listed: list[str], chain: list[PurePosixPath]) -> dict[str, Any]:
    collected: dict[str, Any] = {}
    for parent in listed:
        if "::" in parent:
            raise OracleError(f"{rel}: unsupported base {parent!r}")
        target = PurePosixPath(os.path.normpath(rel.parent / parent))
        if target.parts[:1] == ("..",):
            raise OracleError(f"{rel}: base outside the repository")
        values = _inherited(repo_root, target, chain + [rel])
        if collected.keys() & values.keys():
            raise OracleError(f"{rel}: a key is defined by two bases")
        collected |= values
    return collected


def _inherited(repo_root: Path, rel: PurePosixPath, chain: list[PurePosixPath]) -> dict[str, Any]:
    if rel in chain:
        raise OracleError(f"{rel}: _base_ cycle")
    path = repo_root / rel
    if not path.is_file() or not path.resolve().is_relative_to(repo_root.resolve()):
        raise OracleError(f"no such config in the repository: {rel}")
    if path.suffix in (".yaml", ".yml", ".json"):
        own = yaml.safe_load(path.read_text(encoding="utf-8"))  # JSON is YAML
        if not isinstance(own, dict):
            raise OracleError(f"{rel}: not a mapping")
        listed = own.pop("_base_", [])
        return _overlay(_parents(repo_root, rel, [listed] if isinstance(listed, str) else listed, chain), own)
    text = path.read_text(encoding="utf-8")
    if re.search(r"\bread_base\b", text):
        raise OracleError(f"{rel}: read_base() is not followed")
    body = ast.parse(text).body
    reader = _Reader(_parents(repo_root, rel, _base_list(body), chain), rel.name)
    pending = list(body)
    while pending:
        s = pending.pop(0)
        if isinstance(s, ast.With):
            pending[:0] = s.body
        elif isinstance(s, ast.AugAssign):
            if isinstance(s.target, ast.Name):
                reader.names.pop(s.target.id, None)
            else:
                reader.assign(s.target, s.value)
        elif isinstance(s, (ast.Assign, ast.AnnAssign)) and s.value is not None:
            for t in s.targets if isinstance(s, ast.Assign) else [s.target]:
                reader.assign(t, s.value)
    reader.names.pop("_base_", None)
    return _overlay(reader.parents, reader.names)


def _lookup(data: Any, query: str) -> Any:
    for part in re.findall(r"\[(-?\d+)\]|\[[\"']([^\"']*)[\"']\]|([^.\[\]]+)", query):
        index, quoted, plain = part
        if index and isinstance(data, list):
            data = data[int(index)]
        elif isinstance(data, dict) and (quoted or plain) in data:
            data = data[quoted or plain]
        elif isinstance(data, list) and plain.lstrip("-").isdigit():
            data = data[int(plain)]
        else:
            raise OracleError(f"query {query!r}: no {(index or quoted or plain)!r}")
    return data


@second_derivation("python_config_inherited_value",
                   method="a separate config evaluator (pattern matching) and an iterative _base_ merge")
def config_inherited_value(*, repo_root: Path, path: str, query: str) -> Any:
    return _lookup(_inherited(repo_root, PurePosixPath(path), []), query)
