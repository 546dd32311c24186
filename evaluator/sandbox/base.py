"""The sandbox protocol: what a backend and one task's sandbox must do, and what a command returns."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, Field, field_validator

from evaluator.tasks.specs import Limits

SandboxName = str  # a registered name (bwrap, local) or a dotted path to a user backend


class SandboxUnavailable(Exception):
    """The backend cannot run here; the message says how to fix it (exit 2)."""


class ExecResult(BaseModel):
    """What one command did. Output is already capped (head + tail) while it was read."""

    exit_code: int = Field(description="Exit status; 128+N when killed by signal N; -1 if it never started.")
    stdout: str
    stderr: str
    timed_out: bool = False
    duration_s: float = 0.0
    stdout_bytes: int = Field(0, description="Bytes the command wrote to stdout, before capping.")
    stderr_bytes: int = 0
    stdout_sha256: str = Field("", description="sha256 of the whole stdout, cut or not.")
    stderr_sha256: str = ""
    limit: str | None = Field(None, description="Resource limit that stopped it: cpu, memory, file_size, processes, disk, output.")


ENV_MOUNT = "/opt/agentgym-env"  # where an isolating backend mounts a repository's environment


class EnvMount(BaseModel):
    """A built repository environment (a venv) that commands run with: read-only, its bin first on PATH."""

    host: Path = Field(description="Host folder of the venv.")
    binds: list[Path] = Field(default_factory=list, description="Host folders its python needs too (the base "
                                                                "interpreter's prefix), visible read-only.")
    has_pytest: bool = Field(False, description="pytest is installed in it (else the hidden test run adds the harness's).")


class Overlay(BaseModel):
    """A writable working copy as an overlay: read-only `lowers` (topmost first), the task's own
    empty `upper` and `work` dirs. The backend mounts it at `work_root` while a sandbox is open."""

    lowers: list[Path] = Field(description="Read-only layers, topmost first (never written).")
    upper: Path = Field(description="Host dir that receives everything the model changes (whiteouts included).")
    work: Path = Field(description="overlayfs's scratch dir, on the same filesystem as `upper`.")


class SandboxPaths(BaseModel):
    """Host paths a task sandbox is built from, and how commands inside see them."""

    work_root: Path = Field(description="Host path of the task's working copy (the only writable project path).")
    tmp_dir: Path = Field(description="Host path of the task's private /tmp.")
    home_dir: Path = Field(description="Host path of the empty scratch HOME.")
    ro_binds: list[Path] = Field(default_factory=list, description="Extra host paths visible read-only (git alternates).")
    readonly_root: bool = Field(False, description="work_root is a shared checkout, mounted read-only; only `writable` is not.")
    writable: dict[str, Path] = Field(default_factory=dict,
                                      description="With readonly_root: path inside the root -> host dir mounted writable there.")
    overlay: Overlay | None = Field(None, description="Mount this overlay at work_root while the sandbox is open "
                                                      "(only for a backend whose overlay_workspace() said yes).")
    env: EnvMount | None = Field(None, description="The repository's environment, mounted read-only "
                                                   f"(at {ENV_MOUNT} under bwrap).")

    @field_validator("work_root", "tmp_dir", "home_dir")
    @classmethod
    def _absolute(cls, p: Path) -> Path:
        return p.absolute()  # backends start commands from /, so relative paths would break

    def mounts(self, root: str, tmp: str) -> list[tuple[str, Path]]:
        """(path as commands see it, host path), most specific first: how file tools map paths."""
        pairs = [(f"{root.rstrip('/')}/{rel.strip('/')}", host) for rel, host in self.writable.items()]
        return sorted(pairs, key=lambda p: -len(p[0])) + [(root, self.work_root), (tmp, self.tmp_dir), ("/tmp", self.tmp_dir)]


class Sandbox(Protocol):
    """One task's sandbox. Paths are as commands see them."""

    root: str  # the working copy, as commands inside see it
    tmp: str  # the private tmp, as commands inside see it

    async def exec(self, command: str, *, cwd: str, timeout_s: float) -> ExecResult:
        """Run `bash -c command` in `cwd`; never raises for a failing command."""
        ...

    def warm_up(self) -> None:
        """Start getting ready in the background (called in the event loop right after open)."""
        ...

    async def close(self) -> None:
        """Kill anything the task left running."""
        ...


class SandboxBackend(Protocol):
    name: SandboxName
    isolated: bool  # False for backends that do not isolate the host (flagged in reports)
    readonly_root: bool  # can mount a shared checkout read-only (SandboxPaths.readonly_root)

    def preflight(self) -> None:
        """Raise SandboxUnavailable, with the fix, when the backend cannot work here."""
        ...

    def open(self, paths: SandboxPaths, *, limits: Limits, env: dict[str, str]) -> Sandbox:
        ...

    def settings(self) -> dict[str, Any]:
        """How the backend runs (mode, uid pool, limits in force), recorded in run.json."""
        ...

    def toolset(self) -> dict[str, str]:
        """Versions of the tools commands can use (bash, coreutils, grep, rg, sed, find, git, python3)."""
        ...

    def ceilings(self) -> dict[str, object]:
        """Which limits are in force (run.json); `per_task` False when they are per process only."""
        ...

    def ceiling_warning(self) -> str | None:
        """One sentence for preflight when the ceilings are weaker than per task (None: nothing to say)."""
        ...
