"""How an oracle declares itself: the decorators, the `Oracle` record and `OracleError`.

The oracle modules (`oracles/*`, a user's own) import only this; the registry that finds and
calls them (`oracle_registry`) imports them, so the two never import each other.
"""
from __future__ import annotations

import hashlib
import inspect
from dataclasses import dataclass
from typing import Any, Callable, Literal

OracleKind = Literal["fact", "checker"]


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


REGISTRY: dict[str, Oracle] = {}


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
        REGISTRY[oracle.name] = oracle
        fn.__oracle__ = oracle  # type: ignore[attr-defined]
        return fn

    return register


def answer_checker(
    name: str | None = None, *, solve: Callable[..., dict[str, str]], version: str = "1"
) -> Callable[[Callable[..., bool]], Callable[..., bool]]:
    def register(fn: Callable[..., bool]) -> Callable[..., bool]:
        oracle = Oracle(name or fn.__name__, fn, "checker", version, solve)
        REGISTRY[oracle.name] = oracle
        fn.__oracle__ = oracle  # type: ignore[attr-defined]
        return fn

    return register


@dataclass(frozen=True)
class Derivation:
    """A second way to the answer of one oracle, sharing no code with it (`derivations/*`).

    `fn` takes the oracle's own arguments: `fn(*, repo_root, **args)` for a fact oracle, and
    `fn(*, repo_root, answer_dir, **args) -> bool` for an answer checker. `method` says in one
    line how it gets there (a real tool, or an independent implementation); docs/03 lists them.
    """

    oracle: str
    fn: Callable[..., Any]
    method: str


DERIVATIONS: dict[str, Derivation] = {}


def second_derivation(oracle: str, *, method: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register `fn` as the second derivation of the oracle named `oracle` (a registered name,
    or the dotted path `package.module:function` a task uses)."""
    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        DERIVATIONS[oracle] = Derivation(oracle, fn, method)
        return fn

    return register
