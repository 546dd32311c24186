"""What the host prepares for bwrap sandboxes: the pool of sandbox uids and the staged /etc."""
from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
import weakref
from pathlib import Path

from evaluator.sandbox.base import SandboxUnavailable
from evaluator.sandbox.sweep import etc_prefix

HOME = "/home/sandbox"
UID_VAR, GID_VAR, POOL_VAR = "AGENTGYM_SANDBOX_UID", "AGENTGYM_SANDBOX_GID", "AGENTGYM_SANDBOX_UIDS"
WAIT_VAR, LEASE_DIR_VAR = "AGENTGYM_SANDBOX_UID_WAIT_S", "AGENTGYM_UID_LEASE_DIR"
# Far more uids than sandboxes a machine can hold open (two runs at --concurrency 256 use
# 512): the pool never running out is what keeps every sandbox on a uid of its own.
POOL_DEFAULT = 4096
WAIT_DEFAULT_S = 300.0
# /etc entries commands need (dynamic linker, users, alternatives symlinks, python config).
ETC = (
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "passwd", "group", "nsswitch.conf",
    "hosts", "localtime", "timezone", "magic", "magic.mime", "mime.types", "terminfo",
    "python3", "python3.11", "python3.12",
)


def sandbox_ids() -> tuple[int, int] | None:
    """(uid, gid) to drop to when the evaluator is root; None when it is not root."""
    if os.geteuid() != 0:
        return None
    try:
        uid = int(os.environ.get(UID_VAR, "400000"))
        gid = int(os.environ.get(GID_VAR, str(uid)))
    except ValueError:
        raise SandboxUnavailable(f"{UID_VAR}/{GID_VAR} must be numeric ids.") from None
    if uid <= 0 or gid <= 0:
        raise SandboxUnavailable(f"{UID_VAR}/{GID_VAR} must name an unprivileged uid/gid, not 0.")
    return uid, gid


def pool_ids() -> list[tuple[int, int]]:
    """Every (uid, gid) a sandbox may lease; a fixed AGENTGYM_SANDBOX_GID is shared by all."""
    base = sandbox_ids()
    if base is None:
        return []
    try:
        size = max(1, int(os.environ.get(POOL_VAR, str(POOL_DEFAULT))))
    except ValueError:
        raise SandboxUnavailable(f"{POOL_VAR} must be a number.") from None
    fixed_gid = GID_VAR in os.environ
    return [(base[0] + i, base[1] if fixed_gid else base[1] + i) for i in range(size)]


def lease_dir() -> Path:
    """Where leases are held: one place per machine (not per TMPDIR), so two runs side by
    side see each other's leases. Only root leases uids, and /run is root's."""
    if LEASE_DIR_VAR in os.environ:
        return Path(os.environ[LEASE_DIR_VAR])
    run = Path("/run")
    base = run / "agentgym" if run.is_dir() and os.access(run, os.W_OK) else Path(tempfile.gettempdir()) / "agentgym"
    return base / "uid-leases"


class UidLease:
    """An exclusive (uid, gid) for one sandbox, held by a flock that dies with the process.

    Never shared: when every uid in the pool is leased (by this run or another on the
    machine) it waits for one to come free, up to AGENTGYM_SANDBOX_UID_WAIT_S, and then
    raises SandboxUnavailable, an infrastructure error, rather than hand out a uid that
    is in use (sharing would merge RLIMIT_NPROC, so one task's processes would make
    another's honest fork fail and be recorded against the model).
    """

    _next = 0  # where this process starts looking: leases it holds itself are skipped cheaply

    def __init__(self, wait_s: float | None = None) -> None:
        self.ids: tuple[int, int] | None = None
        self._fd: list[int] = []  # a list, so the finalizer and release() never both close it
        ids = pool_ids()
        if not ids:
            return
        folder = lease_dir()
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        deadline = time.monotonic() + (_wait_s() if wait_s is None else wait_s)
        while not self._try(folder, ids):
            if time.monotonic() >= deadline:
                raise SandboxUnavailable(
                    f"all {len(ids)} sandbox uids ({ids[0][0]}..{ids[-1][0]}) stayed in use by open sandboxes on "
                    f"this machine; raise {POOL_VAR} or lower --concurrency."
                )
            time.sleep(0.2)  # open() runs in a worker thread: this wait does not hold up the event loop
        weakref.finalize(self, _close_fd, self._fd)

    def _try(self, folder: Path, ids: list[tuple[int, int]]) -> bool:
        start = UidLease._next % len(ids)
        for i in range(len(ids)):
            k = (start + i) % len(ids)
            uid, gid = ids[k]
            fd = os.open(folder / f"{uid}.lock", os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.ids = (uid, gid)
            self._fd.append(fd)
            UidLease._next = k + 1
            return True
        return False

    def release(self) -> None:
        while self._fd:
            os.close(self._fd.pop())  # closing drops the flock


def _wait_s() -> float:
    try:
        return max(0.0, float(os.environ.get(WAIT_VAR, str(WAIT_DEFAULT_S))))
    except ValueError:
        raise SandboxUnavailable(f"{WAIT_VAR} must be a number of seconds.") from None


def _close_fd(held: list[int]) -> None:
    """A lease dropped without release() (a sandbox never closed) still frees its uid."""
    while held:
        try:
            os.close(held.pop())
        except OSError:
            pass


class StagedEtc:
    """A private copy of the allow-listed /etc entries (symlinks kept as links), bound as
    /etc in one mount. Removed when the last backend or sandbox holding it is gone."""

    def __init__(self) -> None:
        self.path = stage_etc(Path(tempfile.mkdtemp(prefix=etc_prefix())))  # PID in the name: see evaluator/sandbox/sweep.py
        weakref.finalize(self, shutil.rmtree, self.path, True)


def stage_etc(etc: Path) -> Path:
    etc.chmod(0o755)
    for name in ETC:
        src, dst = Path("/etc", name), etc / name
        try:
            if src.is_dir() and not src.is_symlink():
                shutil.copytree(src, dst, symlinks=True)
            elif src.exists() or src.is_symlink():
                shutil.copy2(src, dst, follow_symlinks=False)
        except OSError:
            continue  # unreadable entries stay out
    ids = pool_ids() or [(os.getuid(), os.getgid())]
    names = ["sandbox" if i == 0 else f"sandbox{i}" for i in range(len(ids))]
    _add_entries(etc / "passwd", {uid: f"{n}:x:{uid}:{gid}:sandbox:{HOME}:/bin/bash" for n, (uid, gid) in zip(names, ids)})
    _add_entries(etc / "group", {gid: f"{n}:x:{gid}:" for n, (_, gid) in zip(names, ids)})
    return etc


def _add_entries(db: Path, lines: dict[int, str]) -> None:
    """Add each line whose id (third field) has no entry yet, so whoami/id/git work for
    any sandbox uid. One read and one write: the pool holds thousands of uids."""
    text = db.read_text() if db.exists() else ""
    taken = {row.split(":")[2] for row in text.splitlines() if row.count(":") >= 2}
    new = [line for ident, line in lines.items() if str(ident) not in taken]
    if not new:
        return
    db.write_text(text + ("" if text.endswith("\n") or not text else "\n") + "\n".join(new) + "\n")
    db.chmod(0o644)
