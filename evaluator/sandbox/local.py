"""The local backend: plain `bash -c` on the host, with limits but no isolation.

Commands run as the evaluator's own user, see the real filesystem and network, and
(when the evaluator is root) are not bound by RLIMIT_NPROC. Use it only where bwrap
cannot run; reports flag it through `isolated = False`.

What it cannot catch: a command that leaves its process group (setsid, double fork
into a new session) survives the per-command kill. `close()` hunts those down by a
marker variable in their environment, unless they also cleared their environment.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import uuid
from pathlib import Path
from typing import Any

from evaluator.sandbox.base import ExecResult, SandboxPaths, SandboxUnavailable, SandboxName
from evaluator.sandbox.env import scrub
from evaluator.sandbox.process import kill_group, run_capped, to_result, ulimit_line
from evaluator.tasks.specs import Limits

MARKER = "AGENTGYM_SANDBOX_ID"
TOOLS = {
    "bash": "bash --version",
    "coreutils": "ls --version",
    "grep": "grep --version",
    "rg": "rg --version",
    "sed": "sed --version",
    "find": "find --version",
    "git": "git --version",
    "python3": "python3 --version",
}


def toolset_script() -> str:
    """Prints `name<TAB>first version line` per tool; shared with the bwrap backend."""
    lines = [
        f"printf '%s\\t' {name}; if command -v {cmd.split()[0]} >/dev/null; "
        f"then {cmd} 2>&1 | head -n1; else echo missing; fi"
        for name, cmd in TOOLS.items()
    ]
    return "\n".join(lines)


def parse_toolset(stdout: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in stdout.splitlines():
        name, _, version = line.partition("\t")
        if name in TOOLS:
            found[name] = version.strip() or "missing"
    return {name: found.get(name, "missing") for name in TOOLS}


def _bash() -> str:
    return shutil.which("bash") or "/bin/bash"


class LocalSandbox:
    def __init__(self, paths: SandboxPaths, *, limits: Limits, env: dict[str, str]) -> None:
        self.root = str(paths.work_root)
        self.tmp = str(paths.tmp_dir)
        self._limits = limits
        self._id = uuid.uuid4().hex
        self._env = scrub(env, home=str(paths.home_dir), tmp=self.tmp)
        if paths.env is not None:  # the repository's environment, at its host path (not read-only here)
            self._env["PATH"] = f"{paths.env.host}/bin:{self._env['PATH']}"
            self._env["VIRTUAL_ENV"] = str(paths.env.host)
        self._env[MARKER] = self._id
        self._live: set[int] = set()
        self._closed = False
        bash = _bash()
        # The command runs in a child bash so that its $PPID is that shell, not the
        # evaluator: `kill -9 $PPID` must not take the harness down. `exit $?` stops bash
        # from exec-ing the child in place.
        self._script = f'{ulimit_line(limits)}\n{bash} -c "$1"\nexit $?'
        self._bash = bash

    async def exec(self, command: str, *, cwd: str, timeout_s: float) -> ExecResult:
        if self._closed:
            return ExecResult(exit_code=-1, stdout="", stderr="sandbox is closed\n")
        argv = [self._bash, "-c", self._script, "agentgym", command]
        outcome = await run_capped(
            argv,
            env=self._env,
            cwd=cwd,
            timeout_s=timeout_s,
            output_bytes=self._limits.output_bytes,
            live=self._live,
        )
        return to_result(outcome)

    def warm_up(self) -> None:
        """Nothing to prepare: each command is its own process."""

    async def close(self) -> None:
        self._closed = True
        for pgid in list(self._live):
            kill_group(pgid)
        kill_marked(self._id)


def kill_marked(sandbox_id: str) -> int:
    """SIGKILL every process whose environment carries this sandbox's marker; returns how many."""
    needle = f"{MARKER}={sandbox_id}".encode()
    killed = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            try:
                os.kill(int(entry.name), signal.SIGKILL)
                killed += 1
            except OSError:
                pass
    return killed


class LocalBackend:
    name: SandboxName = "local"
    isolated = False
    readonly_root = False  # no bind mounts: every task gets a full copy

    def __init__(self) -> None:
        self._toolset: dict[str, str] | None = None

    def preflight(self) -> None:
        if shutil.which("bash") is None:
            raise SandboxUnavailable("bash is not on PATH; install bash (`apt-get install bash`).")
        from evaluator.sandbox.overlay import check_choice

        check_choice(overlay_backend=False)

    def overlay_workspace(self) -> bool:
        return False  # no mounts: change tasks get a copy

    def open(self, paths: SandboxPaths, *, limits: Limits, env: dict[str, str]) -> LocalSandbox:
        return LocalSandbox(paths, limits=limits, env=env)

    def settings(self) -> dict[str, Any]:
        return {}

    def ceilings(self) -> dict[str, object]:
        return {
            "per_task": False,
            "memory": "RLIMIT_AS per process",
            "processes": "RLIMIT_NPROC of the evaluator's own user (none when it is root)",
            "disk": "RLIMIT_FSIZE per file",
            "nested_user_namespaces": "allowed",
        }

    def ceiling_warning(self) -> str | None:
        return None  # the whole backend is flagged as not isolated already

    def toolset(self) -> dict[str, str]:
        if self._toolset is None:
            env = scrub({}, home=os.environ.get("HOME", "/"), tmp="/tmp")
            done = subprocess.run(
                [_bash(), "-c", toolset_script()], capture_output=True, text=True, env=env, timeout=60
            )
            self._toolset = parse_toolset(done.stdout)
        return self._toolset
