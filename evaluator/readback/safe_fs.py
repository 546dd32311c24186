"""The only way host code reads or copies anything from a task's working copy.

The model controls every name in its working copy, and the harness reads it as root after
the sandbox has closed, so a plain `open()` would follow a symlink the model planted to any
host file. Here every path is opened relative to a directory fd with no symlink followed
at any component: `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)` where the kernel has it,
otherwise one `openat(O_NOFOLLOW)` per component. Only regular files are read (checked with
fstat on the opened fd, so nothing can be swapped in between), and never past a byte cap.
"""
from __future__ import annotations

import ctypes
import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_SYS_OPENAT2 = {"x86_64": 437, "aarch64": 437, "arm64": 437, "riscv64": 437, "ppc64le": 437, "s390x": 437}
_RESOLVE_NO_MAGICLINKS, _RESOLVE_NO_SYMLINKS, _RESOLVE_BENEATH = 0x02, 0x04, 0x08
# O_NONBLOCK: opening a FIFO the model left must not hang the harness; fstat rejects it after.
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafePath(Exception):
    """The path cannot be read safely; `kind` says why."""

    def __init__(self, kind: str, rel: str, detail: str) -> None:
        super().__init__(f"{rel}: {detail}")
        self.kind, self.rel, self.detail = kind, rel, detail


class Escape(UnsafePath):
    """A symlink (or `..`, or an absolute path) on the way: it could lead out of the workspace."""

    def __init__(self, rel: str, detail: str = "a symlink is on the path; the harness does not follow it") -> None:
        super().__init__("escape", rel, detail)


class NotRegular(UnsafePath):
    def __init__(self, rel: str, what: str) -> None:
        super().__init__("not_regular", rel, f"is a {what}, not a regular file")


class TooLarge(UnsafePath):
    def __init__(self, rel: str, size: int, cap: int) -> None:
        super().__init__("too_large", rel, f"is {size} bytes, over the {cap}-byte limit")
        self.size, self.cap = size, cap


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


_libc = ctypes.CDLL(None, use_errno=True)
_openat2_works: bool | None = None  # decided by the first call: None = not tried yet


def _openat2(dir_fd: int, rel: str, flags: int) -> int | None:
    """openat2 beneath `dir_fd` with no symlinks; None when the kernel (or a seccomp filter) lacks it."""
    global _openat2_works
    nr = _SYS_OPENAT2.get(os.uname().machine)
    if _openat2_works is False or nr is None:
        return None
    how = _OpenHow(flags, 0, _RESOLVE_BENEATH | _RESOLVE_NO_SYMLINKS | _RESOLVE_NO_MAGICLINKS)
    fd = _libc.syscall(ctypes.c_long(nr), ctypes.c_int(dir_fd), os.fsencode(rel), ctypes.byref(how),
                       ctypes.c_size_t(ctypes.sizeof(how)))
    if fd >= 0:
        _openat2_works = True
        return fd
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EPERM) and not _openat2_works:
        _openat2_works = False
        return None
    if err in (errno.ELOOP, errno.EXDEV):
        raise Escape(rel)
    if err == errno.ENOTDIR:
        return None  # a file, or a symlink met with O_DIRECTORY: the walk tells which
    raise OSError(err, os.strerror(err), rel)


def _components(rel: str) -> list[str]:
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if rel.startswith("/") or ".." in parts or not parts:
        raise Escape(rel, "is not a plain relative path inside the workspace")
    return parts


def _open_walk(dir_fd: int, rel: str, last_flags: int) -> int:
    """The fallback: one openat per component, none of them following a symlink."""
    parts = _components(rel)
    fd = os.dup(dir_fd)
    try:
        for i, name in enumerate(parts):
            last = i == len(parts) - 1
            try:
                nxt = os.open(name, last_flags if last else _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                # ELOOP: the final component is a symlink; ENOTDIR: a middle one is (or a file).
                if exc.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(fd, name):
                    raise Escape(rel) from None
                raise
            os.close(fd)
            fd = nxt
        return fd
    except BaseException:
        os.close(fd)
        raise


def _is_link(dir_fd: int, name: str) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def open_beneath(dir_fd: int, rel: str, *, directory: bool = False) -> int:
    """An fd for `rel` under `dir_fd`; raises Escape if any component is a symlink or `..`."""
    _components(rel)
    flags = _DIR_FLAGS if directory else _FILE_FLAGS
    fd = _openat2(dir_fd, rel, flags)
    return fd if fd is not None else _open_walk(dir_fd, rel, flags)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket")):
        if test(mode):
            return name
    return "special file"


def read_fd(fd: int, rel: str, cap: int) -> bytes:
    """All of a regular file's bytes, never more than `cap` (the size is checked before reading)."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise NotRegular(rel, _kind(st.st_mode))
    if st.st_size > cap:
        raise TooLarge(rel, st.st_size, cap)
    chunks, total = [], 0
    while True:  # a file can still grow after fstat: stop at cap + 1 either way
        chunk = os.read(fd, min(1 << 20, cap + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if total > cap:
            raise TooLarge(rel, total, cap)
    return b"".join(chunks)


def open_root(root: Path) -> int:
    """An fd for a directory the harness made. Its last component is not followed either: with
    the unisolated `local` backend, commands could otherwise swap it for a symlink."""
    try:
        return os.open(root, _DIR_FLAGS)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR) and os.path.islink(root):
            raise Escape(root.name, "the task's folder was replaced by a symlink") from None
        raise


def read_file(root: Path, rel: str, cap: int) -> bytes:
    """The bytes of `root/rel`, read without following any symlink below `root`, at most `cap` bytes.

    `root` is a directory the harness made; everything below is not. Raises FileNotFoundError,
    Escape, NotRegular or TooLarge (or OSError)."""
    root_fd = open_root(root)
    try:
        fd = open_beneath(root_fd, rel)
    finally:
        os.close(root_fd)
    try:
        return read_fd(fd, rel, cap)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Entry:
    """One entry met by `walk`: `rel` is relative to the walked directory."""

    rel: str
    kind: str  # "file", "symlink" or another `_kind` name
    size: int = 0
    link_target: str | None = None


def walk(dir_fd: int, limit: int, prefix: str = "") -> Iterator[Entry]:
    """Every entry under `dir_fd`, depth first, sorted by name; symlinks are reported, never followed.

    Stops after `limit` entries so a directory with millions of names cannot stall the harness,
    and does not descend below MAX_DEPTH (each level holds an fd and a stack frame)."""
    budget = [limit]
    yield from _walk(dir_fd, prefix, budget, MAX_DEPTH)


MAX_DEPTH = 32


def _walk(dir_fd: int, prefix: str, budget: list[int], depth: int) -> Iterator[Entry]:
    with os.scandir(dir_fd) as it:
        names = sorted(e.name for e in it)
    for name in names:
        if budget[0] <= 0:
            return
        budget[0] -= 1
        rel = f"{prefix}{name}"
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            continue
        if stat.S_ISLNK(st.st_mode):
            yield Entry(rel, "symlink", link_target=os.readlink(name, dir_fd=dir_fd))
        elif stat.S_ISDIR(st.st_mode) and depth <= 0:
            yield Entry(rel, "directory nested too deep")
        elif stat.S_ISDIR(st.st_mode):
            try:
                sub = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
            except OSError:
                continue  # swapped for a symlink or removed meanwhile: nothing to follow
            try:
                yield from _walk(sub, rel + "/", budget, depth - 1)
            finally:
                os.close(sub)
        elif stat.S_ISREG(st.st_mode):
            yield Entry(rel, "file", size=st.st_size)
        else:
            yield Entry(rel, _kind(st.st_mode))


def leads_out(rel: str, target: str) -> bool:
    """Whether a symlink at `rel` (inside the walked directory) points outside that directory."""
    if target.startswith("/"):
        return True
    depth = 0
    for part in (rel.split("/")[:-1] + target.split("/")):
        depth += -1 if part == ".." else 0 if part in ("", ".") else 1
        if depth < 0:
            return True
    return False


def printable(name: str) -> str:
    """A name as it can be written to JSON/Markdown: bytes that are not UTF-8 shown as \\xNN."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
