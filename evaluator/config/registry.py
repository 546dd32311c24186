"""Plug-in registries: sandbox backends, tools, agent loops (oracles have their own, richer one).

An entry is found by its registered name or, for a user's own, by a dotted path
`package.module:attribute`. Built-in entries are registered as dotted paths too, so that nothing
is imported before it is used (the bwrap backend is never imported by a `local` run)."""
from __future__ import annotations

import difflib
import importlib
from typing import Any, Generic, TypeVar

from evaluator.config.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, str | T] = {}

    def add(self, name: str, entry: str | T) -> None:
        """Register `entry` (the object, or its dotted path `package.module:attr`) under `name`."""
        self._entries[name] = entry

    def names(self) -> list[str]:
        return sorted(self._entries)

    def get(self, ref: str) -> T:
        entry = self._entries.get(ref)
        if entry is None:
            if ":" not in ref:
                close = difflib.get_close_matches(ref, self.names(), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise ConfigError(f"unknown {self.kind} {ref!r}{hint}; known: {', '.join(self.names())}, "
                                  "or a dotted path 'package.module:attribute'")
            entry = ref
        return _load(entry, self.kind) if isinstance(entry, str) else entry


def _load(path: str, kind: str) -> Any:
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - a user's plug-in failing to import is their input error
        raise ConfigError(f"{kind} {path!r}: cannot import {module_name!r}: {exc} "
                          "(is its folder on PYTHONPATH?)") from None
    obj = getattr(module, attr, None)
    if obj is None:
        raise ConfigError(f"{kind} {path!r}: {module_name!r} has no attribute {attr!r}")
    return obj
