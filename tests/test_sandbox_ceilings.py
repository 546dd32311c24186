"""Per-task ceilings of the bwrap backend, attacked at the sandbox level (no model).

A task's memory, disk and process count are its own: a flood hits its own ceiling, is
named as such, and a concurrent task carries on; no sandbox shares a uid with another
open one, in this process or another; nested user namespaces are refused; /proc shows
no host path of the run. The per-task mechanisms need root (cgroups, tmpfs mounts):
those tests skip when unprivileged, and fail under CI=true when root cannot set them up.
The last test runs the evaluator as uid 65534, where the rlimits are all there is.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from evaluator.sandbox import SandboxPaths, SandboxUnavailable
from evaluator.sandbox.bwrap_backend import BwrapBackend
from evaluator.tasks.specs import Limits

from conftest import bwrap_backend
from test_sandbox_redteam_unit import IN_CI, REPO, alive, as_nobody, unique_sleep

MEMORY_FLOOD = "for i in 1 2 3 4; do python3 -c 'b = b\"x\" * (150 << 20); import time; time.sleep(3)' & done; wait"
HONEST = "python3 -c 'b = b\"y\" * (60 << 20); print(len(b))' && head -c 20M /dev/zero > /tmp/ok && echo ok"


def need_per_task(backend: BwrapBackend) -> None:
    if os.geteuid() != 0:
        pytest.skip("per-task ceilings need root (cgroups, tmpfs); the unprivileged test covers the fallback")
    if not backend.support().per_task:
        (pytest.fail if IN_CI else pytest.skip)(f"no per-task ceilings here: {backend.ceiling_warning()}")


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> BwrapBackend:
    bwrap_backend()  # skip/fail consistently when bwrap itself is missing
    # Uids of their own, away from sandboxes of other checkouts that may run on this machine.
    monkeypatch.setenv("AGENTGYM_SANDBOX_UID", "600000")
    monkeypatch.setenv("AGENTGYM_BWRAP_MODE", "per-command")  # light: no resident executor per sandbox
    return BwrapBackend()


def paths_in(base: Path, shared: bool = False) -> SandboxPaths:
    """A task's dirs under base/run; with `shared`, a read-only checkout under base/cache
    and a writable eval_artifacts, as the runner lays out a shared-checkout task."""
    run = base / "run"
    work = base / "cache" / "checkout" if shared else run / "repo"
    (work / "eval_artifacts").mkdir(parents=True)
    extra = {"readonly_root": True, "writable": {"eval_artifacts": run / "answer" / "eval_artifacts"}} if shared else {}
    paths = SandboxPaths(work_root=work, tmp_dir=run / "tmp", home_dir=run / "home", **extra)
    for p in (paths.tmp_dir, paths.home_dir, *paths.writable.values()):
        p.mkdir(parents=True, exist_ok=True)
    return paths


def test_floods_hit_the_tasks_own_ceilings_and_a_concurrent_task_carries_on(backend: BwrapBackend,
                                                                           tmp_path: Path) -> None:
    need_per_task(backend)
    flooder = backend.open(paths_in(tmp_path / "a", shared=True), limits=Limits(memory_mb=256, disk_mb=64), env={})
    honest = backend.open(paths_in(tmp_path / "b", shared=True), limits=Limits(memory_mb=256, disk_mb=64), env={})

    async def main():  # noqa: ANN202
        async def flood():  # noqa: ANN202
            mem = await flooder.exec(f"{MEMORY_FLOOD}; echo after-flood", cwd=flooder.root, timeout_s=30)
            disk = await flooder.exec("head -c 200M /dev/zero > /tmp/a; head -c 1M /dev/zero > eval_artifacts/b",
                                      cwd=flooder.root, timeout_s=30)
            after = await flooder.exec("rm -f /tmp/a; echo fine", cwd=flooder.root, timeout_s=30)
            return mem, disk, after

        async def work():  # noqa: ANN202
            return [await honest.exec(HONEST, cwd=honest.root, timeout_s=30) for _ in range(3)]

        try:
            return await asyncio.gather(flood(), work())
        finally:
            await flooder.close()
            await honest.close()

    (mem, disk, after), honest_results = asyncio.run(main())
    assert mem.limit == "memory" and "memory ceiling (256 MB for all its processes together)" in mem.stderr
    assert "after-flood" not in mem.stdout  # the whole command was stopped, not just the process the kernel chose
    assert disk.limit == "disk" and "disk ceiling (64 MB" in disk.stderr
    assert after.stdout == "fine\n" and after.limit is None
    for r in honest_results:
        assert (r.exit_code, r.limit, r.stdout) == (0, None, f"{60 << 20}\nok\n"), r


@pytest.mark.slow
def test_a_fork_of_20_succeeds_while_300_sandboxes_are_open(backend: BwrapBackend, tmp_path: Path) -> None:
    """Before, sandboxes past the 64-uid pool shared one uid and so one RLIMIT_NPROC: an honest
    command's fork failed with EAGAIN and was recorded as the model's resource_limit."""
    t = unique_sleep()
    boxes = []
    for i in range(300):
        boxes.append(backend.open(paths_in(tmp_path / f"s{i}"), limits=Limits(), env={}))
    box = backend.open(paths_in(tmp_path / "forker"), limits=Limits(), env={})

    async def main():  # noqa: ANN202
        sleepers = [asyncio.ensure_future(b.exec(f"sleep {t}", cwd=b.root, timeout_s=120)) for b in boxes]
        try:
            for _ in range(600):  # until every sandbox holds its process
                if len(alive(f"sleep {t}")) >= 300:
                    break
                await asyncio.sleep(0.1)
            held = len(alive(f"sleep {t}"))
            forks = await box.exec("for i in $(seq 20); do sleep 0.5 & done; wait; echo forked",
                                   cwd=box.root, timeout_s=60)
            return held, forks
        finally:
            for s in sleepers:
                s.cancel()
            await asyncio.gather(*sleepers, return_exceptions=True)
            await asyncio.gather(*(b.close() for b in [*boxes, box]))

    held, forks = asyncio.run(main())
    assert held >= 300
    assert (forks.exit_code, forks.limit, forks.stdout) == (0, None, "forked\n"), forks.stderr
    assert alive(f"sleep {t}") == []


LEASER = textwrap.dedent(
    """
    import sys, tempfile
    from pathlib import Path
    from evaluator.sandbox import SandboxPaths
    from evaluator.sandbox.bwrap_backend import BwrapBackend
    from evaluator.tasks.specs import Limits

    backend, boxes = BwrapBackend(), []
    for i in range(int(sys.argv[1])):
        d = Path(tempfile.mkdtemp())
        paths = SandboxPaths(work_root=d / "w", tmp_dir=d / "t", home_dir=d / "h")
        for p in (paths.work_root, paths.tmp_dir, paths.home_dir):
            p.mkdir()
        boxes.append(backend.open(paths, limits=Limits(), env={}))
    print(" ".join(str(b._ids[0]) for b in boxes), flush=True)
    sys.stdin.read()  # hold the sandboxes open until told to go
    """
)


def test_two_runs_side_by_side_never_share_a_uid(backend: BwrapBackend) -> None:
    if os.geteuid() != 0:
        pytest.skip("uids are leased only when the evaluator is root")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    runs = [subprocess.Popen([sys.executable, "-c", LEASER, "80"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, env=env) for _ in range(2)]
    try:
        uids = [set(map(int, r.stdout.readline().split())) for r in runs]
    finally:
        for r in runs:
            r.communicate("", timeout=60)
    assert [len(u) for u in uids] == [80, 80]  # within a run, 80 distinct uids (more than the old pool of 64)
    assert not uids[0] & uids[1]


def test_an_exhausted_pool_waits_then_fails_instead_of_sharing(backend: BwrapBackend, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    if os.geteuid() != 0:
        pytest.skip("uids are leased only when the evaluator is root")
    monkeypatch.setenv("AGENTGYM_SANDBOX_UIDS", "2")
    monkeypatch.setenv("AGENTGYM_SANDBOX_UID_WAIT_S", "0.5")
    monkeypatch.setenv("AGENTGYM_UID_LEASE_DIR", str(tmp_path / "leases"))
    first, second = (backend.open(paths_in(tmp_path / n), limits=Limits(), env={}) for n in "ab")
    with pytest.raises(SandboxUnavailable, match="all 2 sandbox uids .* stayed in use"):
        backend.open(paths_in(tmp_path / "c"), limits=Limits(), env={})
    asyncio.run(first.close())
    third = backend.open(paths_in(tmp_path / "d"), limits=Limits(), env={})
    assert third._ids == first._ids and third._ids != second._ids
    for b in (second, third):
        asyncio.run(b.close())


@pytest.mark.parametrize("mode", ["resident", "per-command"])
def test_no_nested_user_namespace_and_no_host_path_in_proc(backend: BwrapBackend, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    monkeypatch.setenv("AGENTGYM_BWRAP_MODE", mode)
    backend = BwrapBackend()
    if os.geteuid() == 0:
        need_per_task(backend)  # the answer folder leaves the run path only on the task's tmpfs
    box = backend.open(paths_in(tmp_path, shared=True), limits=Limits(), env={})
    nested = ("unshare -Ur true && echo NESTED-ROOT; "
              "python3 -c 'import ctypes; print(\"CLONED\" if ctypes.CDLL(None).unshare(0x10000000) == 0 else \"refused\")'")
    proc = "cat /proc/self/mountinfo; tr '\\0' ' ' </proc/1/cmdline; tr '\\0' ' ' </proc/$$/cmdline"

    async def main():  # noqa: ANN202
        box.warm_up()
        try:
            return [await box.exec(c, cwd=box.root, timeout_s=30) for c in (nested, proc)]
        finally:
            await box.close()

    userns, seen = asyncio.run(main())
    assert userns.stdout == "refused\n", userns
    assert "/workspace/eval_artifacts" in seen.stdout and "bwrap" in seen.stdout  # mount table and pid 1 were read
    assert str(tmp_path / "run") not in seen.stdout, seen.stdout


UNPRIVILEGED = textwrap.dedent(
    """
    import asyncio, json, sys
    from pathlib import Path
    from evaluator.sandbox import SandboxPaths
    from evaluator.sandbox.bwrap_backend import BwrapBackend
    from evaluator.tasks.specs import Limits

    base = Path(sys.argv[1])
    backend = BwrapBackend()
    backend.preflight()
    paths = SandboxPaths(work_root=base / "w", tmp_dir=base / "t", home_dir=base / "h")
    for p in (paths.work_root, paths.tmp_dir, paths.home_dir):
        p.mkdir()
    box = backend.open(paths, limits=Limits(memory_mb=256, processes=64), env={})

    async def main():
        out = {"ceilings": backend.ceilings(), "warning": backend.ceiling_warning()}
        out["unshare"] = (await box.exec("unshare -Ur true && echo NESTED-ROOT; echo probed", cwd=box.root,
                                         timeout_s=20)).stdout
        big = await box.exec("python3 -c 'b = bytearray(300 << 20)'", cwd=box.root, timeout_s=20)
        out["big"] = [big.exit_code, big.limit]
        await box.close()
        return out

    print(json.dumps(asyncio.run(main())))
    """
)


def test_unprivileged_evaluator_falls_back_to_rlimits_and_says_so() -> None:
    done, base = as_nobody(UNPRIVILEGED)
    shutil.rmtree(base, ignore_errors=True)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    ceilings = result["ceilings"]
    assert ceilings["per_task"] is False and ceilings["memory"] == "RLIMIT_AS per process"
    assert ceilings["disk"] == "RLIMIT_FSIZE per file"
    assert ceilings["nested_user_namespaces"] == "refused (bwrap --disable-userns)"
    assert result["warning"].startswith("sandbox limits are per process, not per task")
    assert result["unshare"] == "probed\n"
    assert result["big"] == [1, "memory"]  # the per-process limit still holds


def test_mounts_of_an_evaluator_killed_outright_are_undone_by_the_next(backend: BwrapBackend, tmp_path: Path) -> None:
    """A resumed run first deletes the task dirs a killed run left: a tmpfs still mounted there
    would make that fail, and the task would end as a harness error on every resume."""
    need_per_task(backend)
    env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(tmp_path)}
    killed = subprocess.Popen([sys.executable, "-c", LEASER, "1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, env=env)
    killed.stdout.readline()  # its sandbox is open, /tmp and HOME mounted
    mounted = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()
               if line.split()[4].startswith(str(tmp_path))]
    killed.kill()
    killed.wait()
    assert len(mounted) == 2, mounted
    BwrapBackend().support()  # the next evaluator's probe
    assert not any(os.path.ismount(m) for m in mounted)
    for d in {Path(m).parent for m in mounted}:
        shutil.rmtree(d)  # what the runner does on resume


def test_a_sandbox_that_cannot_open_leaves_no_mount_cgroup_or_lease(backend: BwrapBackend, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    need_per_task(backend)
    monkeypatch.setenv("AGENTGYM_SANDBOX_UIDS", "1")
    monkeypatch.setenv("AGENTGYM_SANDBOX_UID_WAIT_S", "0")
    monkeypatch.setenv("AGENTGYM_UID_LEASE_DIR", str(tmp_path / "leases"))
    paths = paths_in(tmp_path / "a", shared=True)
    next(iter(paths.writable.values())).rmdir()  # the answer folder is gone: its mount fails
    with pytest.raises(OSError):
        backend.open(paths, limits=Limits(), env={})
    assert str(tmp_path) not in Path("/proc/self/mountinfo").read_text()
    assert not list(backend.support().cgroup.memory.glob("task-*"))
    box = backend.open(paths_in(tmp_path / "b"), limits=Limits(), env={})  # the only uid is free again
    asyncio.run(box.close())
