"""One writer per run directory.

A run, a `--resume`, a `--retry-failed` or a merge holds an exclusive flock on
`<run>/run.lock` for as long as it writes there. A second writer fails at once with the
holder's PID instead of interleaving its results and transcripts with the first one's.
The kernel drops the lock when the holder dies (even by kill -9), so a killed run can
always be resumed; the file itself is left in place and is harmless.
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

from evaluator.config.errors import ConfigError

LOCK_NAME = "run.lock"


class RunLock:
    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        path = self.run_dir / LOCK_NAME
        try:
            fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
        except OSError as exc:
            raise ConfigError(f"cannot lock run {self.run_dir}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise ConfigError(f"run {self.run_dir} is in use by PID {holder}; wait for it to finish "
                              f"or stop that process, then try again") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def check_free(run_dir: Path) -> None:
    """Fail if another process holds `run_dir` (without creating anything there)."""
    if (run_dir / LOCK_NAME).is_file():
        RunLock(run_dir).acquire().release()
