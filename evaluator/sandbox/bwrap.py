"""The bubblewrap backend: each task in its own namespaces, as an unprivileged uid.

Two modes (AGENTGYM_BWRAP_MODE). `resident` (default): one sandbox per task, whose only
process is a small executor (executor.py, resident.py) that forks each command and kills
everything the command started before it answers. `per-command`: a fresh sandbox for
every command; used anyway when the sandbox's python3 cannot host the executor.

Layout inside: read-only /usr (+ /bin, /lib* links) and a few /etc files, the working
copy read-write at /workspace, the task's tmp at /tmp, a scratch HOME at /home/sandbox,
the python3 interpreter prefix and `ro_binds` read-only at their host paths, and the repository's
environment, if it has one, read-only at /opt/agentgym-env (its bin first on PATH). No network.
bwrap reads its options from an fd (--args), so the sandbox's /proc/1/cmdline names no
host path. Per-task ceilings (memory, processes, disk) are set up by ceilings.py.

Two ways to be unprivileged, picked by who runs the evaluator:
- root: bwrap runs as root (so it can bind paths such as /root/.pyenv that the sandbox
  uid could not even look up), and `setpriv` inside drops to an unprivileged uid leased
  for this sandbox alone from a pool (AGENTGYM_SANDBOX_UID, default 400000, and the next
  AGENTGYM_SANDBOX_UIDS - 1, default 4096 in all) with no capabilities and no_new_privs.
  A file lock per uid, in one folder per machine, keeps every open sandbox, of this run
  or another, on a uid of its own (or waits for one), so RLIMIT_NPROC counts only this
  sandbox's processes: a fork bomb in one task cannot starve a concurrent one. A seccomp
  filter (userns_filter.py) stands in for --disable-userns, which needs --unshare-user.
- anyone else: bwrap runs as the evaluator's uid in a new user namespace, where
  RLIMIT_NPROC counts only that sandbox's processes.
Killing bwrap's process group kills its PID namespace (--die-with-parent), so nothing a
command started outlives the sandbox.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path
from typing import Literal

from evaluator.sandbox.base import ENV_MOUNT, ExecResult, SandboxPaths
from evaluator.sandbox.bwrap_host import HOME, StagedEtc, UidLease
from evaluator.sandbox import overlay as ovl, userns_filter
from evaluator.sandbox.ceilings import Support, TaskCeilings, memfd
from evaluator.sandbox.env import scrub
from evaluator.sandbox.process import kill_group, run_capped, to_result, ulimit_line
from evaluator.sandbox.resident import Executor, ExecutorGone
from evaluator.tasks.specs import Limits

ROOT, TMP = "/workspace", "/tmp"
WATCH_S = 0.2  # how often a running command's task counters are read
BwrapMode = Literal["resident", "per-command"]
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"
SHM_BYTES = 64 * 1024 * 1024
SYSTEM_DIRS = ("/usr", "/etc", "/proc", "/dev", "/sys")


def under_any(path: str, roots: tuple[str, ...] | list[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _chown_tree(top: Path, uid: int, gid: int) -> None:
    os.lchown(top, uid, gid)
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), uid, gid)


class BwrapSandbox:
    root = ROOT
    tmp = TMP

    def __init__(
        self,
        paths: SandboxPaths,
        *,
        limits: Limits,
        env: dict[str, str],
        python_prefix: Path | None,
        etc_dir: StagedEtc,
        resident: ResidentPython | None = None,
        support: Support | None = None,
    ) -> None:
        self._etc = etc_dir  # keeps the staged /etc alive as long as this sandbox
        self._limits = limits
        self._lease = UidLease()
        self._ids = self._lease.ids
        self._live: set[int] = set()
        self._closed = False
        self._owners: list[tuple[Path, int, int]] = []
        self._tmp_host = paths.tmp_dir
        self._ceil: TaskCeilings | None = None
        self._overlay_at: Path | None = None
        try:
            # Before the chown below: the scratch tmpfs is what gets handed to the sandbox uid.
            self._ceil = TaskCeilings(support, paths, limits) if support else None
            self._own_dirs(paths)
            if paths.overlay is not None:  # after the chown: its upper dir is changed only while unmounted
                ovl.mount(paths.overlay, paths.work_root)
                self._overlay_at = paths.work_root
        except BaseException:
            if self._ceil is not None:  # no mount or cgroup may outlive a sandbox that never opened
                self._ceil.close()
            self._give_back()
            self._lease.release()
            raise
        filter_on = support is not None and support.userns_filter and self._ids is not None
        self._seccomp = userns_filter.program() if filter_on else None
        path = f"{python_prefix}/bin:{SYSTEM_PATH}" if python_prefix else SYSTEM_PATH
        if paths.env is not None:  # the repository's environment comes first: `python3`, `pytest` are its own
            path = f"{ENV_MOUNT}/bin:{path}"
        self._env = scrub(env, home=HOME, tmp=TMP, path=path)
        if paths.env is not None:
            self._env["VIRTUAL_ENV"] = ENV_MOUNT
        self._head = self._static_args(paths, python_prefix, etc_dir.path)
        self._drop = self._drop_args()
        self._script = f"{ulimit_line(self._ceil.rlimits() if self._ceil else limits)}\n"
        self._resident = resident
        self._executor: Executor | None = None
        self._starting: asyncio.Future[Executor] | None = None

    def _own_dirs(self, paths: SandboxPaths) -> None:
        """As root: hand the sandbox uid the dirs it must write (given back on close)."""
        if self._ids is not None:
            mine = [paths.tmp_dir, paths.home_dir, *paths.writable.values()]
            # An overlay's files are the lower layers' (world-writable) plus its upper dir: only the
            # latter is handed over; a chown through the merged view would copy every file up.
            top = paths.overlay.upper if paths.overlay is not None else paths.work_root
            for p in mine if paths.readonly_root else [top, *mine]:
                st = p.stat()
                self._owners.append((p, st.st_uid, st.st_gid))
                _chown_tree(p, *self._ids)

    def _static_args(self, paths: SandboxPaths, python_prefix: Path | None, etc_dir: Path) -> list[str]:
        """bwrap's options, passed through --args (see _launch), not on its command line."""
        args = ["--unshare-pid", "--unshare-net", "--unshare-ipc",
                "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent", "--new-session",
                "--hostname", "sandbox"]
        if self._ids is None:
            args += ["--unshare-user", "--disable-userns"]
        args += ["--ro-bind", "/usr", "/usr"]
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            host = Path("/", name)
            if host.is_symlink():
                args += ["--symlink", os.readlink(host), f"/{name}"]
            elif host.is_dir():
                args += ["--ro-bind", str(host), f"/{name}"]
        args += ["--ro-bind", str(etc_dir), "/etc"]  # one mount: each bind costs ~0.6 ms per spawn
        args += ["--proc", "/proc", "--dev", "/dev"]
        # A small private /dev/shm (bwrap's --dev leaves it a read-only dir): multiprocessing's locks
        # and queues need it; its pages count against the task's memory like any other.
        args += ["--perms", "1777", "--size", str(SHM_BYTES), "--tmpfs", "/dev/shm"]
        mounts: list[tuple[str, str, str]] = [
            ("--ro-bind" if paths.readonly_root else "--bind", str(paths.work_root), ROOT),
            *(("--bind", str(host), f"{ROOT}/{rel.strip('/')}") for rel, host in paths.writable.items()),
            ("--bind", str(paths.tmp_dir), TMP),
            ("--bind", str(paths.home_dir), HOME),
        ]
        if paths.env is not None:  # read-only: a task cannot change what the next one (or grading) runs with
            mounts.append(("--ro-bind", str(paths.env.host), ENV_MOUNT))
        extra = ([python_prefix] if python_prefix else []) + list(paths.ro_binds)
        extra += paths.env.binds if paths.env is not None else []
        mounts += [("--ro-bind", str(p), str(p)) for p in extra]
        made: set[str] = set()
        bound: list[str] = []
        for flag, src, dest in mounts:
            if under_any(dest, SYSTEM_DIRS) or dest in bound:  # already visible
                continue
            # bwrap makes missing parents 0700 when run as root; the sandbox uid must traverse them.
            parts = Path(dest).parts[1:-1]
            for i in range(len(parts)):
                anc = "/" + "/".join(parts[: i + 1])
                # under a read-only root the mount point already exists (and could not be made)
                if anc not in made and anc not in bound and not (paths.readonly_root and under_any(anc, [ROOT])):
                    args += ["--perms", "0755", "--dir", anc]
                    made.add(anc)
            args += [flag, src, dest]
            bound.append(dest)
        return args

    def _drop_args(self) -> list[str]:
        if self._ids is None:
            return []
        uid, gid = self._ids
        return [setpriv_path(), f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]

    def _launch(self, cwd: str) -> tuple[list[str], list[int]]:
        """argv up to the command (cgroup join, bwrap, the uid drop) and the fds bwrap reads
        its options and seccomp filter from; the caller closes the fds once it has spawned."""
        fds = [memfd(b"".join(a.encode() + b"\0" for a in self._head))]
        head = [shutil.which("bwrap") or "bwrap", "--args", str(fds[0])]
        if self._seccomp is not None:
            fds.append(memfd(self._seccomp))
            head += ["--seccomp", str(fds[1])]
        join = self._ceil.join_argv() if self._ceil else []
        return [*join, *head, "--chdir", cwd, "--", *self._drop], fds

    def argv(self, command: str, cwd: str) -> tuple[list[str], list[int]]:
        head, fds = self._launch(cwd)
        return [*head, _bash(), "-c", self._script + command], fds

    async def exec(self, command: str, *, cwd: str, timeout_s: float) -> ExecResult:
        if self._closed:
            return ExecResult(exit_code=-1, stdout="", stderr="sandbox is closed\n")
        if "\0" in command or "\0" in cwd:
            return ExecResult(exit_code=-1, stdout="", stderr="the command contains a NUL byte, which bash cannot take\n")
        if self._ceil is None:
            return await self._exec(command, cwd, timeout_s)
        before = self._ceil.counters()
        watch = asyncio.ensure_future(self._watch(before))
        try:
            result = await self._exec(command, cwd, timeout_s)
        finally:
            watch.cancel()
        return self._ceil.annotate(result, before, self._tmp_host)

    async def _watch(self, before: tuple[int, int]) -> None:
        """Stop the running command once it hits the task's memory or process ceiling: the
        kernel alone would end one process (OOM) or fail forks while the rest goes on."""
        assert self._ceil is not None
        while self._ceil.counters() == before:
            await asyncio.sleep(WATCH_S)
        if self._executor is not None and self._executor.usable():
            self._executor.interrupt()
        else:  # spawned per command: its sandbox is the command
            for pgid in list(self._live):
                kill_group(pgid)

    async def _exec(self, command: str, cwd: str, timeout_s: float) -> ExecResult:
        for _ in range(2):  # a second try only when the executor was found dead before the command ran
            executor = await self._ready()
            if executor is None:
                break
            try:
                outcome = await executor.run(
                    [_bash(), "-c", self._script + command], cwd=cwd, env=self._env, timeout_s=timeout_s,
                    output_bytes=self._limits.output_bytes,
                )
                return to_result(outcome)
            except ExecutorGone:
                continue
        argv, fds = self.argv(command, cwd)
        try:
            outcome = await run_capped(
                argv, env=self._env, cwd="/", timeout_s=timeout_s, output_bytes=self._limits.output_bytes,
                pass_fds=fds, live=self._live,
            )
        finally:
            _close_all(fds)
        return to_result(outcome)

    def run_sync(self, command: str, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
        """Blocking variant for preflight/toolset (callers that are not in an event loop)."""
        argv, fds = self.argv(command, ROOT)
        try:
            return subprocess.run(argv, env=self._env, cwd="/", capture_output=True, text=True,
                                  timeout=timeout_s, start_new_session=True, pass_fds=fds)
        finally:
            _close_all(fds)

    def warm_up(self) -> None:
        """Start the executor in the background, so its start-up overlaps the first model call."""
        if not self._closed and self._starting is None and self._executor is None and self._python():
            self._starting = asyncio.ensure_future(self._start_executor())

    def _python(self) -> str | None:
        return self._resident.path if self._resident else None

    async def _ready(self) -> Executor | None:
        """The executor for the running loop, started if need be; None: spawn per command."""
        if self._executor is not None and self._executor.usable():
            return self._executor
        start, self._starting = self._starting, None
        if self._executor is not None:
            self._executor.kill()
            self._executor = None
        if start is None or start.get_loop() is not asyncio.get_running_loop():
            if self._python() is None:
                return None
            start = asyncio.ensure_future(self._start_executor())
        try:
            self._executor = await start
        except ExecutorGone:
            return None
        return self._executor

    async def _start_executor(self) -> Executor:
        head, fds = self._launch("/")
        try:
            return await Executor.start(head, self._python() or "python3", env=self._env, live=self._live,
                                        pass_fds=fds)
        except ExecutorGone:
            if self._resident is not None:
                self._resident.path = None  # this python cannot host it: spawn per command from now on
            raise
        finally:
            _close_all(fds)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._starting is not None and self._starting.get_loop() is asyncio.get_running_loop():
            try:
                self._executor = await self._starting
            except ExecutorGone:
                pass
        if self._executor is not None:
            await self._executor.close()
        for pgid in list(self._live):
            kill_group(pgid)
        self._give_back()
        if self._ceil is not None:
            # After the kills above (a cgroup must be empty to go, and its last processes may take
            # some ms to exit); in a thread, as it waits for them and copies the answer folder.
            await asyncio.to_thread(self._ceil.close)
        self._lease.release()

    def _give_back(self) -> None:
        """Unmount the overlay (its processes are gone), then hand the dirs back, so host-side
        git/oracles (running as root) see their own files."""
        if self._overlay_at is not None:
            ovl.unmount(self._overlay_at)
            self._overlay_at = None
        for p, uid, gid in self._owners:
            if p.exists():
                _chown_tree(p, uid, gid)
        self._owners = []


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        os.close(fd)


def _bash() -> str:
    return "/usr/bin/bash" if Path("/usr/bin/bash").exists() else "/bin/bash"


def setpriv_path() -> str:
    found = shutil.which("setpriv", path="/usr/bin:/bin:/usr/sbin:/sbin")
    return found or "/usr/bin/setpriv"


class ResidentPython:
    """The interpreter that hosts each sandbox's resident executor; None spawns per command.

    Shared by a backend's sandboxes, so one failed start (a python3 older than 3.9, say)
    switches them all to spawning bwrap per command instead of each failing in turn.
    """

    def __init__(self, prefix: Path | None, mode: BwrapMode) -> None:
        self.path: str | None = None
        if mode == "per-command":
            return
        exe = prefix / "bin" / "python3" if prefix else Path("/usr/bin/python3")
        self.path = str(exe) if exe.exists() else None
