"""The adapter protocol for external coding agents (mini-swe-agent, OpenCode, Codex, ...).

An adapter says three things: how the agent is installed (a pinned package from PyPI or
npm, into a cache outside the sandbox, once), how it is started on one task (command line
and environment, with the task prompt), and which wire protocol it speaks to its model.
The harness does the rest: the sandbox, the model proxy, the transcript and the scoring.
"""
from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal, Protocol

from pydantic import BaseModel, Field

Wire = Literal["chat", "responses", "anthropic"]
PackageSource = Literal["pypi", "npm"]
PLACEHOLDER_KEY = "agentgym-placeholder-key"  # what every agent gets instead of the real key


class Package(BaseModel):
    source: PackageSource
    name: str = Field(description="The package as its registry names it, e.g. `mini-swe-agent` or `@openai/codex`.")
    version: str = Field(description="An exact version: installs are pinned so that runs are comparable.")


class LaunchContext(BaseModel):
    """What an adapter may use to build its command line; every path is as the sandbox sees it."""

    install_dir: Path = Field(description="Where the package was installed (read-only inside the sandbox).")
    base_url: str = Field(description="The model proxy inside the sandbox, e.g. http://127.0.0.1:8765/v1.")
    model: str = Field(description="The model id the run was started with (the proxy passes it on as sent).")
    prompt: str = Field(description="The task prompt, the same text for every agent.")
    prompt_file: str = Field(description="The same prompt in a file, for agents that read it from one.")
    workdir: str = Field(description="The task's working directory.")
    home: str = Field(description="The agent's scratch HOME.")
    api_key: str = PLACEHOLDER_KEY


class Launch(BaseModel):
    argv: list[str]
    env: dict[str, str] = Field(default_factory=dict, description="Added to the sandbox's scrubbed environment.")


class CodingAgent(Protocol):
    name: ClassVar[str]
    package: ClassVar[Package]
    wire: ClassVar[Wire]
    # Why it may not install on a machine, for the docs and the error message (None: no known reason).
    requirement: ClassVar[str | None]
    # Optional: the memory ceiling (MB) the agent's runtime needs to start, when above the task's.
    min_memory_mb: ClassVar[int]

    def launch(self, ctx: LaunchContext) -> Launch:
        """The command line and environment that run the agent once, non-interactively, on `ctx.prompt`."""
        ...

    def check_installed(self, install_dir: Path) -> str | None:
        """None when `install_dir` holds a working install, else one sentence saying what is missing."""
        ...
