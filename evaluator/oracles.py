"""The one oracle registry.

Two kinds of oracle:
- fact oracles, `fn(*, repo_root, **args) -> JSON value`, run on the pristine checkout at
  the pinned commit, so their results can be cached by (commit, oracle, args, version);
- answer checkers, `fn(*, repo_root, answer_dir, **args) -> bool`, read what the model
  wrote (paths in args are relative to `answer_dir`, the agent's working directory). They
  are never cached, and each ships a `solve(*, repo_root, **args) -> {path: text}` that
  `builtin/oracle` uses to produce a passing answer.

Oracles register by name with the decorators below; any other function can be named by a
dotted path `package.module:function` and is treated as a fact oracle.
"""
from __future__ import annotations

import hashlib
import importlib
import inspect
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Literal

OracleKind = Literal["fact", "checker"]
BUILTIN_MODULES = (
    "oracles.original", "oracles.answer_checks", "oracles.python_code", "oracles.config_files", "oracles.repo_facts",
)


class OracleError(Exception):
    """An oracle could not be found or could not compute its answer."""


@dataclass(frozen=True)
class Oracle:
    name: str
    fn: Callable[..., Any]
    kind: OracleKind
    version: str
    solve: Callable[..., dict[str, str]] | None = None
    # `ties(*, repo_root, **args) -> [answers]`: every answer as correct as the returned one under
    # the question's criterion (itself included); more than one means a tie-break decided it.
    ties: Callable[..., list[Any]] | None = None

    @property
    def source_hash(self) -> str:
        """Hash of the oracle's source (and its solver's): part of every task hash."""
        parts = [_source(self.fn), _source(self.solve) if self.solve else "", _source(self.ties) if self.ties else ""]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


_REGISTRY: dict[str, Oracle] = {}


def _source(fn: Callable[..., Any]) -> str:
    try:
        return inspect.getsource(inspect.getmodule(fn) or fn)
    except (OSError, TypeError):
        return getattr(fn, "__qualname__", repr(fn))


def fact_oracle(
    name: str | None = None, *, version: str = "1", ties: Callable[..., list[Any]] | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        oracle = Oracle(name or fn.__name__, fn, "fact", version, ties=ties)
        _REGISTRY[oracle.name] = oracle
        fn.__oracle__ = oracle  # type: ignore[attr-defined]
        return fn

    return register


def answer_checker(
    name: str | None = None, *, solve: Callable[..., dict[str, str]], version: str = "1"
) -> Callable[[Callable[..., bool]], Callable[..., bool]]:
    def register(fn: Callable[..., bool]) -> Callable[..., bool]:
        oracle = Oracle(name or fn.__name__, fn, "checker", version, solve)
        _REGISTRY[oracle.name] = oracle
        fn.__oracle__ = oracle  # type: ignore[attr-defined]
        return fn

    return register


def load_builtins() -> None:
    for module in BUILTIN_MODULES:
        importlib.import_module(module)


def resolve(ref: str) -> Oracle:
    """Find an oracle by registered name or by dotted path `package.module:function`."""
    load_builtins()
    if ref in _REGISTRY:
        return _REGISTRY[ref]
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
    return dict(sorted(_REGISTRY.items()))


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
            from evaluator.atomic import write_json_atomic

            write_json_atomic(path, {"oracle": oracle.name, "args": args, "commit": commit, "value": value})
        return value


def fact(ref: str, args: dict[str, Any], *, repo_root: Path, commit: str, cache: FactCache | None = None) -> Any:
    oracle = resolve(ref)
    if oracle.kind != "fact":
        raise OracleError(f"oracle {ref!r} is an answer checker; use output type oracle_bool")
    return (cache or FactCache(None)).compute(oracle, args, repo_root=repo_root, commit=commit)
