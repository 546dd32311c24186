"""The one oracle registry.

Two kinds of oracle:
- fact oracles, `fn(*, repo_root, **args) -> JSON value`, run on the pristine checkout at
  the pinned commit, so their results can be cached by (commit, oracle, args, version);
- answer checkers, `fn(*, repo_root, answer_dir, **args) -> bool`, read what the model
  wrote (paths in args are relative to `answer_dir`, the agent's working directory). They
  are never cached, and each ships a `solve(*, repo_root, **args) -> {path: text}` that
  `builtin/oracle` uses to produce a passing answer.

Oracles register by name with the decorators of `oracle_api`; any other function can be named by a
dotted path `package.module:function` and is treated as a fact oracle.
"""
from __future__ import annotations

import hashlib
import importlib
import json
from pathlib import Path
from typing import Any

from evaluator.scoring.oracle_api import (  # noqa: F401 - re-exported
    DERIVATIONS, REGISTRY, Derivation, Oracle, OracleError, answer_checker, fact_oracle, second_derivation)

BUILTIN_MODULES = (
    "oracles.original", "oracles.answer_checks", "oracles.python_code", "oracles.config_files", "oracles.repo_facts",
    "oracles.markdown_tables", "oracles.images", "oracles.cross_file", "oracles.cross_file_configs",
)

# Second derivations of the built-in oracles: a separate package that never imports `oracles`.
DERIVATION_MODULES = (
    "derivations.files", "derivations.images", "derivations.configs", "derivations.python_source", "derivations.import_graph",
    "derivations.python_semantics", "derivations.cross_file", "derivations.cross_file_configs",
)


def load_builtins() -> None:
    for module in BUILTIN_MODULES:
        importlib.import_module(module)


def derivation_for(oracle: Oracle) -> Derivation | None:
    """The registered second derivation of `oracle`, if any."""
    for module in DERIVATION_MODULES:
        importlib.import_module(module)
    # a task names a user's decorated oracle by dotted path, while it registers under its own name
    dotted = f"{getattr(oracle.fn, '__module__', '')}:{getattr(oracle.fn, '__name__', '')}"
    return DERIVATIONS.get(oracle.name) or DERIVATIONS.get(dotted)


def resolve(ref: str) -> Oracle:
    """Find an oracle by registered name or by dotted path `package.module:function`."""
    load_builtins()
    if ref in REGISTRY:
        return REGISTRY[ref]
    if ":" not in ref:
        raise OracleError(f"unknown oracle {ref!r} (not registered, and not a dotted path 'package.module:function')")
    module_name, _, attr = ref.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any import failure is the user's to fix
        raise OracleError(f"oracle {ref!r}: cannot import {module_name!r}: {exc}") from exc
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise OracleError(f"oracle {ref!r}: {module_name!r} has no function {attr!r}")
    return getattr(fn, "__oracle__", None) or Oracle(ref, fn, "fact", "0")


def registered() -> dict[str, Oracle]:
    load_builtins()
    return dict(sorted(REGISTRY.items()))


def call(oracle: Oracle, **kwargs: Any) -> Any:
    try:
        return oracle.fn(**kwargs)
    except TypeError as exc:
        raise OracleError(f"oracle {oracle.name!r}: bad arguments: {exc}") from exc
    except OracleError:
        raise
    except Exception as exc:  # noqa: BLE001 - reported as a task-level harness error
        raise OracleError(f"oracle {oracle.name!r} failed: {type(exc).__name__}: {exc}") from exc


class FactCache:
    """On-disk cache of fact-oracle results, keyed by (commit, oracle, args, version, source)."""

    def __init__(self, root: Path | None) -> None:
        self.root = root
        self.hits = 0
        self.misses = 0

    def _path(self, commit: str, oracle: Oracle, args: dict[str, Any]) -> Path | None:
        if self.root is None:
            return None
        key = json.dumps([commit, oracle.name, args, oracle.version, oracle.source_hash], sort_keys=True)
        return self.root / f"{hashlib.sha256(key.encode()).hexdigest()}.json"

    def compute(self, oracle: Oracle, args: dict[str, Any], *, repo_root: Path, commit: str) -> Any:
        path = self._path(commit, oracle, args)
        if path is not None and path.exists():
            try:
                value = json.loads(path.read_text(encoding="utf-8"))["value"]
                self.hits += 1
                return value
            except (OSError, ValueError, KeyError):
                pass  # a damaged entry is recomputed
        self.misses += 1
        value = call(oracle, repo_root=repo_root, **args)
        try:
            json.dumps(value)
        except TypeError as exc:
            raise OracleError(f"oracle {oracle.name!r} returned a value that is not JSON: {exc}") from exc
        if path is not None:
            from evaluator.results.atomic import write_json_atomic

            write_json_atomic(path, {"oracle": oracle.name, "args": args, "commit": commit, "value": value})
        return value


def fact(ref: str, args: dict[str, Any], *, repo_root: Path, commit: str, cache: FactCache | None = None) -> Any:
    oracle = resolve(ref)
    if oracle.kind != "fact":
        raise OracleError(f"oracle {ref!r} is an answer checker; use output type oracle_bool")
    return (cache or FactCache(None)).compute(oracle, args, repo_root=repo_root, commit=commit)
