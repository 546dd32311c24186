"""Per-task ceilings for bwrap sandboxes: what is in force here, and one task's share of it.

`Support.probe()` finds out once per backend which mechanisms this machine allows:
- memory (all the task's processes together) and process count: a cgroup (cgroups.py);
  else only the per-process rlimits (RLIMIT_AS, and RLIMIT_NPROC per sandbox uid);
- disk: one size-limited tmpfs holding the task's /tmp, HOME and, on a shared read-only
  checkout, its answer folder (the `writable` dirs), mounted by the host (root only);
  else only RLIMIT_FSIZE per file. A full working copy stays on the host disk (per file);
- nested user namespaces: refused by a seccomp filter when the evaluator is root (bwrap's
  --disable-userns covers the unprivileged case).
`Support.record()` is what run.json says; `per_task` False is flagged in REPORT.md and at
preflight. `TaskCeilings` applies them to one sandbox and tells a command that hit one
(and only one of its own: the counters are this task's cgroup's and tmpfs's alone).
"""
from __future__ import annotations

import atexit
import ctypes
import json
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from evaluator.sandbox.base import ExecResult, SandboxPaths
from evaluator.sandbox import cgroups, fuse_overlay, userns_filter
from evaluator.sandbox.bwrap_host import lease_dir
from evaluator.tasks.specs import Limits

_MS_BIND, _MNT_DETACH = 4096, 2
# bwrap outside and inside the PID namespace and the resident executor also count in the
# task's cgroup: `processes` stays what the task's own commands may run.
SANDBOX_PROCESSES = 4
_LIBC = ctypes.CDLL(None, use_errno=True)


def host_mount(source: str, target: Path, fstype: str | None, flags: int, data: str | None) -> None:
    if _LIBC.mount(source.encode(), str(target).encode(), fstype.encode() if fstype else None, flags,
                   data.encode() if data else None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {target}: {os.strerror(err)}")


def host_umount(target: Path) -> None:
    _LIBC.umount2(str(target).encode(), _MNT_DETACH)


def memfd(data: bytes) -> int:
    """An fd reading `data` from its start, for bwrap's --args / --seccomp (one per spawn)."""
    fd = os.memfd_create("agentgym", 0)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


@dataclass
class Support:
    cgroup: cgroups.Tree | None
    scratch_tmpfs: bool
    userns_filter: bool
    uid_per_sandbox: bool

    @classmethod
    def probe(cls) -> Support:
        root = os.geteuid() == 0
        sweep_mounts()  # root's mounts, or an unprivileged evaluator's fuse-overlayfs ones
        return cls(cgroups.probe(), root and _can_mount(), root and userns_filter.supported(), root)

    @property
    def per_task(self) -> bool:
        return self.cgroup is not None and self.scratch_tmpfs

    def record(self) -> dict[str, object]:
        """run.json's `ceilings`: which limits were in force, per task or per process."""
        cg = self.cgroup.describe() if self.cgroup else None
        return {
            "per_task": self.per_task,
            "memory": f"{cg} memory limit for all the task's processes" if cg else "RLIMIT_AS per process",
            "processes": f"{cg} pids limit for the task" if cg else (
                "RLIMIT_NPROC of a uid leased to this sandbox alone" if self.uid_per_sandbox
                else "RLIMIT_NPROC in the sandbox's own user namespace"),
            "disk": "one size-limited tmpfs for /tmp, HOME and the answer folder of a shared checkout; "
                    "RLIMIT_FSIZE per file in a full working copy"
            if self.scratch_tmpfs else "RLIMIT_FSIZE per file",
            "nested_user_namespaces": "refused (seccomp)" if self.userns_filter else "refused (bwrap --disable-userns)"
            if not self.uid_per_sandbox else "allowed",
        }

    def warning(self) -> str | None:
        """One sentence for preflight when the ceilings are not per task."""
        if self.per_task:
            return None
        missing = [n for n, ok in (("memory and process ceilings (no writable cgroup)", self.cgroup),
                                   ("a disk ceiling (cannot mount tmpfs; needs root)", self.scratch_tmpfs)) if not ok]
        return ("sandbox limits are per process, not per task: no " + " and no ".join(missing)
                + "; see docs/sandbox.md (ceilings).")


def _journal() -> Path:
    """Where each evaluator notes the scratch mounts it holds ("+path" / "-path" lines), so a
    later one can undo those of an evaluator that was killed outright: a mount left over the
    task's tmp dir would make the runner's rmtree of that dir fail on resume. An unprivileged
    evaluator's (fuse-overlayfs) mounts only it can undo: a folder of its own per uid."""
    uid = os.geteuid()
    if uid == 0:
        return lease_dir().parent / "mounts"
    return Path(tempfile.gettempdir()) / f"agentgym-{uid}" / "mounts"


_HELD: set[str] = set()
_FORGET: list[Path] = []  # the journal _forget is registered for (once per process)


def journal_mount(sign: str, path: Path) -> None:
    folder = _journal()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not _ours(folder):  # another user's, in a shared /tmp: no mount then
        raise OSError(1, f"{folder.parent} belongs to another user")
    mine = folder / f"{os.getpid()}.jsonl"
    with open(mine, "a", encoding="utf-8") as f:
        f.write(json.dumps([sign, str(path)]) + "\n")
    if not _FORGET:
        _FORGET.append(mine)
        atexit.register(_forget, mine)
    (_HELD.add if sign == "+" else _HELD.discard)(str(path))


def _ours(folder: Path) -> bool:
    """An unprivileged evaluator's journal is in the shared /tmp: trust it only if it made it."""
    return os.geteuid() == 0 or folder.parent.lstat().st_uid == folder.lstat().st_uid == os.geteuid()


def _forget(journal: Path) -> None:
    """At a clean exit with every mount undone, the journal has nothing left to tell."""
    if not _HELD:
        journal.unlink(missing_ok=True)


def sweep_mounts() -> None:
    """Unmount what evaluators that are gone left mounted (only paths that are mount points)."""
    folder = _journal()
    for journal in folder.glob("*.jsonl") if folder.is_dir() and _ours(folder) else []:
        if Path("/proc", journal.stem).exists():
            continue  # still running (or its pid reused: then its mounts are left alone)
        held: list[str] = []
        try:
            for line in journal.read_text(encoding="utf-8").splitlines():
                sign, path = json.loads(line)
                if sign == "+":
                    held.append(path)
                elif path in held:
                    held.remove(path)
        except (OSError, ValueError):
            held = []
        for path in reversed(held):
            if fuse_overlay.mounted(path):  # not ismount: a FUSE mount whose daemon died fails stat()
                try:
                    (host_umount if os.geteuid() == 0 else fuse_overlay.unmount)(Path(path))
                except OSError:
                    pass  # e.g. fusermount3 gone since: the mount stays, as before this sweep
        journal.unlink(missing_ok=True)


def _can_mount() -> bool:
    d = Path(tempfile.mkdtemp(prefix="agentgym-probe-"))
    try:
        host_mount("tmpfs", d, "tmpfs", 0, "size=1m")
        host_umount(d)
        return True
    except OSError:
        return False
    finally:
        d.rmdir()


class TaskCeilings:
    """One sandbox's ceilings: its cgroup and its scratch tmpfs, both undone by close()."""

    def __init__(self, support: Support, paths: SandboxPaths, limits: Limits) -> None:
        self._limits = limits
        self._mounted: list[Path] = []
        self._keep: list[Path] = []  # mounted dirs whose files the host reads after close
        self.cgroup = None
        if support.cgroup is not None:
            self.cgroup = cgroups.TaskCgroup(support.cgroup, memory_bytes=limits.memory_mb << 20,
                                             pids=limits.processes + SANDBOX_PROCESSES)
        try:
            if support.scratch_tmpfs:
                self._mount_scratch(paths, limits.disk_mb << 20)
        except OSError:
            self.close()
            raise

    def _mount_scratch(self, paths: SandboxPaths, size: int) -> None:
        """One tmpfs for /tmp and HOME together, bound over their host dirs (so the file tools
        still read them there); the tmpfs's own mount point is detached at once."""
        base = Path(tempfile.mkdtemp(prefix="agentgym-scratch-"))
        areas = [("tmp", paths.tmp_dir), ("home", paths.home_dir)]
        kept = list(paths.writable.values()) if paths.readonly_root else []
        areas += [(f"w{i}", host) for i, host in enumerate(kept)]
        try:
            host_mount("tmpfs", base, "tmpfs", 0, f"size={size},mode=0755")
            try:
                for name, host in areas:
                    shutil.copytree(host, base / name, symlinks=True)  # what was there stays visible
                    journal_mount("+", host)
                    host_mount(str(base / name), host, None, _MS_BIND, None)
                    self._mounted.append(host)
                    if host in kept:
                        self._keep.append(host)
            finally:
                host_umount(base)
        finally:
            base.rmdir()

    def join_argv(self) -> list[str]:
        return self.cgroup.join_argv() if self.cgroup else []

    def rlimits(self) -> Limits:
        """The per-process limits to set. With a pids cgroup, RLIMIT_NPROC (which counts the
        uid's processes only) gets the same headroom, so the cgroup's ceiling, which can be
        seen hit and so stop the command, is the one reached first."""
        if self.cgroup is None:
            return self._limits
        return self._limits.model_copy(update={"processes": self._limits.processes + SANDBOX_PROCESSES})

    def counters(self) -> tuple[int, int]:
        return self.cgroup.counters() if self.cgroup else (0, 0)

    def annotate(self, result: ExecResult, before: tuple[int, int], scratch: Path) -> ExecResult:
        """Name the task ceiling the command hit, from this task's own counters, and say so."""
        oom, forks = (a - b for a, b in zip(self.counters(), before))
        lim = self._limits
        if oom > 0:
            limit, note = "memory", f"the task's memory ceiling ({lim.memory_mb} MB for all its processes together)"
        elif forks > 0:
            limit, note = "processes", f"the task's process ceiling ({lim.processes} at once)"
        elif self._mounted and "No space left on device" in result.stderr and _full(scratch):
            limit, note = "disk", f"the task's disk ceiling ({lim.disk_mb} MB for /tmp, HOME and eval_artifacts together)"
        else:
            return result
        text = f"{result.stderr}\nagentgym: the command hit {note}; the kernel stopped it.\n"
        return result.model_copy(update={"limit": limit, "stderr": text})

    def close(self) -> None:
        """Unmount; the answer folder's files are copied onto the host dir under it first
        (the sandbox's processes are dead by now, so nothing changes while copying)."""
        try:
            while self._mounted:
                host = self._mounted.pop()
                src = os.open(host, os.O_RDONLY | os.O_DIRECTORY) if host in self._keep else None
                host_umount(host)
                journal_mount("-", host)
                if src is not None:
                    try:
                        _copy_out(src, host)
                    finally:
                        os.close(src)
        finally:
            if self.cgroup is not None:
                self.cgroup.close()


def _copy_out(src: int, dst: Path) -> None:
    """Copy the tree at dir fd `src` into `dst`: dirs, regular files and symlinks (as links,
    never followed); fifos and sockets stay out (opening a fifo would block)."""
    for name in os.listdir(src):
        st = os.stat(name, dir_fd=src, follow_symlinks=False)
        target = dst / name
        if stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(name, dir_fd=src), target)
        elif stat.S_ISDIR(st.st_mode):
            target.mkdir()
            sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=src)
            try:
                _copy_out(sub, target)
            finally:
                os.close(sub)
        elif stat.S_ISREG(st.st_mode):
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=src)
            with open(fd, "rb") as r, open(target, "xb") as w:
                shutil.copyfileobj(r, w, 1 << 20)


def _full(path: Path) -> bool:
    try:
        st = os.statvfs(path)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < (1 << 20)
