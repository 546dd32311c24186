"""Where the model's commands run: the sandbox protocol, the backends (bwrap, local), and the
command policy (`policy/`) that decides what a command line may run.

The agent loop and the file tools see only `Sandbox`; which backend made it is not their
business. A backend is picked by name (`--sandbox bwrap|local`) or by dotted path through
`BACKENDS`.
"""
from __future__ import annotations

from evaluator.config.registry import Registry
from evaluator.sandbox.base import (  # noqa: F401 - the package's public names
    ExecResult, Sandbox, SandboxBackend, SandboxName, SandboxPaths, SandboxUnavailable,
)

BACKENDS: Registry[type[SandboxBackend]] = Registry("sandbox backend")
BACKENDS.add("bwrap", "evaluator.sandbox.bwrap_backend:BwrapBackend")
BACKENDS.add("local", "evaluator.sandbox.local:LocalBackend")


def get_backend(name: str) -> SandboxBackend:
    return BACKENDS.get(name)()
