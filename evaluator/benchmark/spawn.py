"""How much one command spawn costs: plain `bash -c true` vs the sandbox backends.

Wall time is per spawn as the agent loop sees it (through the same asyncio runner);
CPU time is the evaluator's own plus its reaped children's (user + system).
"""
from __future__ import annotations

import asyncio
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from pydantic import BaseModel, Field

from evaluator.sandbox.base import SandboxPaths
from evaluator.sandbox.process import run_capped
from evaluator.tasks.specs import Limits


class SpawnCost(BaseModel):
    label: str
    runs: int
    wall_ms_median: float = Field(description="Median wall time of one spawn, ms.")
    wall_ms_mean: float
    cpu_ms_mean: float = Field(description="Mean CPU (evaluator + children, user + sys) per spawn, ms.")


class SpawnBench(BaseModel):
    bash: SpawnCost
    local: SpawnCost
    bwrap: SpawnCost | None = Field(
        None, description="The default (resident) bwrap mode, per command, counting a sandbox's start and close "
        "spread over COMMANDS_PER_TASK commands, as in the benchmark's workload. None when bwrap is unavailable.")
    bwrap_per_command: SpawnCost | None = Field(None, description="bwrap with a fresh sandbox per command.")
    bwrap_error: str | None = None

    @property
    def bwrap_overhead_ms(self) -> float | None:
        return None if self.bwrap is None else self.bwrap.wall_ms_median - self.bash.wall_ms_median


def _cpu_s() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


COMMANDS_PER_TASK = 5  # the benchmark workload's shell commands per task


async def _measure(label: str, runs: int, spawn: Callable[[], Awaitable[int]], per: int = 1) -> SpawnCost:
    """`runs` calls of `spawn`, each doing `per` commands; figures are per command."""
    await spawn()  # warm caches (page cache, dynamic linker) before timing
    walls: list[float] = []
    cpu0 = _cpu_s()
    for _ in range(runs):
        t0 = time.perf_counter()
        code = await spawn()
        walls.append((time.perf_counter() - t0) * 1000 / per)
        if code != 0:
            raise RuntimeError(f"{label}: `true` exited {code}")
    cpu_ms = (_cpu_s() - cpu0) * 1000 / (runs * per)
    return SpawnCost(
        label=label,
        runs=runs * per,
        wall_ms_median=round(statistics.median(walls), 2),
        wall_ms_mean=round(statistics.fmean(walls), 2),
        cpu_ms_mean=round(cpu_ms, 2),
    )


async def measure_spawn_async(runs: int = 30) -> SpawnBench:
    from evaluator.sandbox.base import SandboxUnavailable
    from evaluator.sandbox.bwrap_backend import BwrapBackend
    from evaluator.sandbox.local import LocalBackend

    bash = shutil.which("bash") or "/bin/bash"
    env = {"PATH": "/usr/bin:/bin"}
    limits = Limits()

    async def plain() -> int:
        o = await run_capped([bash, "-c", "true"], env=env, cwd="/", timeout_s=30, output_bytes=4096)
        return o.exit_code

    with tempfile.TemporaryDirectory(prefix="agentgym-spawnbench-") as d:
        paths = SandboxPaths(work_root=Path(d, "w"), tmp_dir=Path(d, "t"), home_dir=Path(d, "h"))
        for p in (paths.work_root, paths.tmp_dir, paths.home_dir):
            p.mkdir()
        base = await _measure("bash -c true", runs, plain)
        local_box = LocalBackend().open(paths, limits=limits, env={})
        local = await _measure("local backend", runs, lambda: _exec(local_box, local_box.root))
        await local_box.close()
        bwrap = per_command = None
        error: str | None = None
        try:
            BwrapBackend().preflight()
            backend = BwrapBackend("resident")
            bwrap = await _measure("bwrap backend", max(1, runs // COMMANDS_PER_TASK), lambda: _task(backend, paths),
                                   per=COMMANDS_PER_TASK)
            box = BwrapBackend("per-command").open(paths, limits=limits, env={})
            per_command = await _measure("bwrap per command", runs, lambda: _exec(box, box.root))
            await box.close()
        except SandboxUnavailable as exc:
            error = str(exc)
    return SpawnBench(bash=base, local=local, bwrap=bwrap, bwrap_per_command=per_command, bwrap_error=error)


async def _task(backend: object, paths: SandboxPaths) -> int:
    """One task's worth of sandbox: open, COMMANDS_PER_TASK commands, close."""
    box = backend.open(paths, limits=Limits(), env={})  # type: ignore[attr-defined]
    try:
        codes = [await _exec(box, box.root) for _ in range(COMMANDS_PER_TASK)]
    finally:
        await box.close()
    return max(codes, key=abs)


async def _exec(box: object, cwd: str) -> int:
    result = await box.exec("true", cwd=cwd, timeout_s=30)  # type: ignore[attr-defined]
    return int(result.exit_code)


def measure_spawn(runs: int = 30) -> SpawnBench:
    """Blocking entry point for the benchmark command (not for use inside an event loop)."""
    return asyncio.run(measure_spawn_async(runs))
