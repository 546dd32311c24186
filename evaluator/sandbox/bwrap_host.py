"""What the host prepares for bwrap sandboxes: the pool of sandbox uids and the staged /etc."""
from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import weakref
from pathlib import Path

from evaluator.sandbox import SandboxUnavailable
from evaluator.sweep import etc_prefix

HOME = "/home/sandbox"
UID_VAR, GID_VAR, POOL_VAR = "AGENTGYM_SANDBOX_UID", "AGENTGYM_SANDBOX_GID", "AGENTGYM_SANDBOX_UIDS"
LEASE_DIR = Path(tempfile.gettempdir()) / "agentgym-uid-leases"
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
        size = max(1, int(os.environ.get(POOL_VAR, "64")))
    except ValueError:
        raise SandboxUnavailable(f"{POOL_VAR} must be a number.") from None
    fixed_gid = GID_VAR in os.environ
    return [(base[0] + i, base[1] if fixed_gid else base[1] + i) for i in range(size)]


class UidLease:
    """An exclusive (uid, gid) for one sandbox, held by a flock that dies with the process."""

    def __init__(self) -> None:
        self.ids: tuple[int, int] | None = None
        self._fd: int | None = None
        ids = pool_ids()
        if not ids:
            return
        LEASE_DIR.mkdir(mode=0o700, exist_ok=True)
        for uid, gid in ids:
            fd = os.open(LEASE_DIR / f"{uid}.lock", os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.ids, self._fd = (uid, gid), fd
            return
        self.ids = ids[0]  # pool exhausted: share the first uid (limits then add up)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None


class StagedEtc:
    """A private copy of the allow-listed /etc entries (symlinks kept as links), bound as
    /etc in one mount. Removed when the last backend or sandbox holding it is gone."""

    def __init__(self) -> None:
        self.path = stage_etc(Path(tempfile.mkdtemp(prefix=etc_prefix())))  # PID in the name: see evaluator/sweep.py
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
    for i, (uid, gid) in enumerate(pool_ids() or [(os.getuid(), os.getgid())]):
        name = "sandbox" if i == 0 else f"sandbox{i}"
        _ensure_entry(etc / "passwd", 2, uid, f"{name}:x:{uid}:{gid}:sandbox:{HOME}:/bin/bash")
        _ensure_entry(etc / "group", 2, gid, f"{name}:x:{gid}:")
    return etc


def _ensure_entry(db: Path, field: int, ident: int, line: str) -> None:
    """Add `line` unless an entry has this id, so whoami/id/git work for any sandbox uid."""
    text = db.read_text() if db.exists() else ""
    if any(row.split(":")[field:field + 1] == [str(ident)] for row in text.splitlines()):
        return
    db.write_text(text + ("" if text.endswith("\n") or not text else "\n") + line + "\n")
    db.chmod(0o644)
