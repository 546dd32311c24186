"""The bwrap backend's resident executor: one sandbox per task, attacked from inside.

Every command of a task runs in one event loop here, as in a real run, so they share one
executor; the other sandbox suites start a new loop (and so a new executor) per command.
Tests skip when bwrap cannot run, but fail under CI=true.
"""
from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from evaluator.sandbox import ExecResult, SandboxPaths
from evaluator.sandbox import resident
from evaluator.sandbox.bwrap_backend import BwrapBackend
from evaluator.tasks.specs import Limits

from conftest import bwrap_backend
from test_sandbox_redteam_unit import alive, unique_sleep


def session(tmp_path: Path, script, backend: BwrapBackend | None = None):  # noqa: ANN001, ANN201
    """Run `script(run)` against one sandbox in one event loop; returns what it returns."""
    paths = SandboxPaths(work_root=tmp_path / "w", tmp_dir=tmp_path / "t", home_dir=tmp_path / "h")
    for p in (paths.work_root, paths.tmp_dir, paths.home_dir):
        p.mkdir()
    box = (backend or bwrap_backend()).open(paths, limits=Limits(processes=64), env={})

    async def main():  # noqa: ANN202
        async def run(command: str, timeout_s: float = 20) -> ExecResult:
            return await box.exec(command, cwd=box.root, timeout_s=timeout_s)

        try:
            return await script(run)
        finally:
            await box.close()

    return asyncio.run(main())


def test_commands_of_a_task_share_one_executor_and_leave_nothing_behind(tmp_path: Path) -> None:
    t = unique_sleep()

    async def script(run):  # noqa: ANN001, ANN202
        first = await run(f"setsid sleep {t} </dev/null >/dev/null 2>&1 & sleep {t} & echo $PPID")
        second = await run(f"echo $PPID; pgrep -f 'slee[p] {t}' || echo none-left")
        return first, second

    first, second = session(tmp_path, script)
    ppid, after = first.stdout.strip(), second.stdout.split()
    assert ppid != "1" and after[0] == ppid  # the same executor (in per-command mode bwrap's init is the parent)
    assert after[1] == "none-left"  # background jobs and setsid'd daemons died with their command
    assert alive(f"sleep {t}") == []


def test_per_command_mode_spawns_a_sandbox_per_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTGYM_BWRAP_MODE", "per-command")
    backend = BwrapBackend()

    async def script(run):  # noqa: ANN001, ANN202
        return [(await run("echo $PPID")).stdout for _ in range(2)]

    assert session(tmp_path, script, backend) == ["1\n", "1\n"]


def test_a_command_cannot_read_or_trace_its_executor(tmp_path: Path) -> None:
    probe = (
        "ls /proc/$PPID/fd >/dev/null 2>&1 && echo FD-LISTED; "
        "cat /proc/$PPID/environ >/dev/null 2>&1 && echo ENV-READ; "
        "head -c1 /proc/$PPID/mem >/dev/null 2>&1 && echo MEM-READ; "
        "EXECUTOR=$PPID python3 -c \"import ctypes,os,sys; l=ctypes.CDLL(None); "
        "sys.exit(0 if l.ptrace(16, int(os.environ['EXECUTOR']), 0, 0) == 0 else 1)\" && echo TRACED; "
        "echo probed"
    )

    async def script(run):  # noqa: ANN001, ANN202
        return await run(probe)

    r = session(tmp_path, script)
    assert r.stdout == "probed\n", r.stdout


def test_a_command_that_kills_its_executor_ends_only_itself(tmp_path: Path) -> None:
    t = unique_sleep()

    async def script(run):  # noqa: ANN001, ANN202
        before = (await run("echo $PPID")).stdout
        killed = await run(f"sleep {t} & kill -9 $PPID; sleep 1; echo survived")
        gone = alive(f"sleep {t}")
        after = await run("echo alive")
        return before, killed, gone, after

    before, killed, gone, after = session(tmp_path, script)
    assert killed.exit_code == 128 + 9 and not killed.timed_out
    assert gone == []  # the sandbox's PID namespace went with its executor
    assert after.stdout == "alive\n" and after.exit_code == 0  # a fresh sandbox took over


def test_a_stopped_executor_is_replaced_after_the_backstop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resident, "BACKSTOP_S", 1.0)
    t = unique_sleep()

    async def script(run):  # noqa: ANN001, ANN202
        start = time.monotonic()
        stopped = await run(f"kill -STOP $PPID; sleep {t}", timeout_s=1)
        took = time.monotonic() - start
        return stopped, took, await run("echo alive")

    stopped, took, after = session(tmp_path, script)
    assert stopped.timed_out and stopped.exit_code == 128 + 9
    assert took < 10
    assert after.stdout == "alive\n"
    assert alive(f"sleep {t}") == []


def test_a_python_that_cannot_host_the_executor_falls_back_to_per_command(tmp_path: Path) -> None:
    backend = BwrapBackend("resident")
    backend.preflight()
    paths = SandboxPaths(work_root=tmp_path / "w", tmp_dir=tmp_path / "t", home_dir=tmp_path / "h")
    for p in (paths.work_root, paths.tmp_dir, paths.home_dir):
        p.mkdir()
    box = backend.open(paths, limits=Limits(), env={})
    box._resident.path = "/usr/bin/true"  # exits at once: never says it is ready

    async def main() -> list[str]:
        try:
            return [(await box.exec("echo $PPID", cwd=box.root, timeout_s=20)).stdout for _ in range(2)]
        finally:
            await box.close()

    assert asyncio.run(main()) == ["1\n", "1\n"]  # both ran, each in a fresh sandbox
    assert box._resident.path is None  # the backend's other sandboxes go straight to per-command
