"""Sandbox backends a user could write, named by dotted path with `--sandbox package.module:Class`."""
from __future__ import annotations

from typing import Any

from evaluator.sandbox.base import SandboxPaths, SandboxUnavailable
from evaluator.sandbox.local import LocalBackend
from evaluator.tasks.specs import Limits


class TaggedLocal(LocalBackend):
    """The local backend under its own name, so a run shows which backend it used."""

    name = "tagged-local"

    def settings(self) -> dict[str, Any]:
        return {"plugin": "tests.plugins.sandboxes:TaggedLocal"}


class NoSandboxLeft(LocalBackend):
    """Passes preflight, then cannot open a sandbox for any task (as when every uid stays taken)."""

    name = "no-sandbox-left"

    def open(self, paths: SandboxPaths, *, limits: Limits, env: dict[str, str]) -> Any:
        raise SandboxUnavailable("no sandbox could be opened for this task: every sandbox uid stayed taken for 300 s")
