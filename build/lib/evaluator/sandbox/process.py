"""Run one child process with capped output, a timeout and a process-group kill.

Shared by the sandbox backends. The child is started in a new session, so its process
group (pgid == pid) holds everything it starts unless something calls setsid itself.
Output is read in chunks and only head + tail are kept, so a flood cannot fill memory.
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import resource
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from evaluator.sandbox.base import ExecResult
from evaluator.tasks.specs import Limits

CHUNK = 65536
# Past this many times the cap a stream is not worth producing: the command is killed.
FLOOD_FACTOR = 8
FLOOD_MIN_BYTES = 4 << 20
DRAIN_GRACE_S = 2.0  # how long to wait for pipes after the child is gone


class HeadTail:
    """Keeps the first and last bytes of a stream within `cap`, counting everything."""

    def __init__(self, cap: int) -> None:
        self.head_cap = cap // 2
        self.tail_cap = cap - self.head_cap
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.hash = hashlib.sha256()  # of everything, so a transcript can vouch for what it cut

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        self.hash.update(data)
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            # Trim lazily (amortised) instead of shifting the buffer on every chunk.
            if len(self.tail) > 2 * self.tail_cap + CHUNK:
                del self.tail[: len(self.tail) - self.tail_cap]

    @property
    def truncated(self) -> bool:
        return self.total > self.head_cap + self.tail_cap

    def text(self) -> str:
        tail = bytes(self.tail[-self.tail_cap :]) if self.tail_cap else b""
        if not self.truncated:
            return (bytes(self.head) + bytes(self.tail)).decode("utf-8", errors="replace")
        cut = self.total - len(self.head) - len(tail)
        return (
            self.head.decode("utf-8", errors="replace")
            + f"\n[... {cut} bytes cut ...]\n"
            + tail.decode("utf-8", errors="replace")
        )


@dataclass
class RunOutcome:
    exit_code: int  # 128+N when killed by signal N, -1 if it never started
    stdout: str
    stderr: str
    stdout_bytes: int
    stderr_bytes: int
    stdout_sha256: str
    stderr_sha256: str
    timed_out: bool
    flooded: bool  # killed because output went far past the cap
    truncated: bool  # some output was cut
    duration_s: float


def kill_group(pgid: int) -> None:
    if pgid <= 1:  # not started yet; killpg(-1 or 1) would hit far more than our child
        return
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def signal_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


class _Collector(asyncio.SubprocessProtocol):
    """Feeds pipe data straight into head/tail buffers; tells apart "leader exited" from
    "all pipes closed" (asyncio's Process.wait() waits for both, and a background job
    holding the pipe would make it hang)."""

    def __init__(self, output_bytes: int, on_flood: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        self.out, self.err = HeadTail(output_bytes), HeadTail(output_bytes)
        self.exited: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.flood_at = max(FLOOD_FACTOR * output_bytes, FLOOD_MIN_BYTES)
        self.flooded = False
        self._on_flood = on_flood

    def pipe_data_received(self, fd: int, data: bytes | str) -> None:
        buf = self.out if fd == 1 else self.err
        buf.feed(data if isinstance(data, bytes) else data.encode())
        if buf.total > self.flood_at and not self.flooded:
            self.flooded = True
            self._on_flood()

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


async def run_capped(
    argv: Sequence[str],
    *,
    env: dict[str, str],
    cwd: str | None,
    timeout_s: float,
    output_bytes: int,
    pass_fds: Sequence[int] = (),
    live: set[int] | None = None,
) -> RunOutcome:
    """Run argv to completion; never raises for a failing or unstartable command.

    `live` (if given) holds the process-group ids still running, so an owner can kill
    them on close even while this coroutine is suspended.
    """
    loop = asyncio.get_running_loop()
    start = time.monotonic()
    pgid = -1
    try:
        transport, proto = await loop.subprocess_exec(
            lambda: _Collector(output_bytes, lambda: kill_group(pgid)),
            *argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            start_new_session=True,  # pgid == pid: one killpg reaches the whole tree
            pass_fds=tuple(pass_fds),
        )
    except OSError as exc:
        empty = hashlib.sha256().hexdigest()
        return RunOutcome(-1, "", f"could not start command: {exc}\n", 0, 0, empty, empty, False, False, False, 0.0)

    pgid = transport.get_pid()
    if live is not None:
        live.add(pgid)
    timed_out = False
    try:
        try:
            await asyncio.wait_for(asyncio.shield(proto.exited), timeout=timeout_s)
        except asyncio.TimeoutError:
            timed_out = True
            kill_group(pgid)
            await proto.exited
        # The leader is gone; whatever it left in its group (background jobs) goes too.
        kill_group(pgid)
        try:  # pipes close once the last holder dies; a setsid'd escapee may keep them open
            await asyncio.wait_for(asyncio.shield(proto.closed), timeout=DRAIN_GRACE_S)
        except asyncio.TimeoutError:
            pass
    finally:
        if transport.get_returncode() is None:  # cancelled from outside: leave nothing behind
            kill_group(pgid)
        transport.close()
        if live is not None:
            live.discard(pgid)
    returncode = transport.get_returncode()
    return RunOutcome(
        exit_code=signal_code(returncode if returncode is not None else -signal.SIGKILL),
        stdout=proto.out.text(),
        stderr=proto.err.text(),
        stdout_bytes=proto.out.total,
        stderr_bytes=proto.err.total,
        stdout_sha256=proto.out.hash.hexdigest(),
        stderr_sha256=proto.err.hash.hexdigest(),
        timed_out=timed_out,
        flooded=proto.flooded,
        truncated=proto.out.truncated or proto.err.truncated,
        duration_s=time.monotonic() - start,
    )


def ulimit_line(limits: Limits) -> str:
    """A bash prologue setting the rlimits (soft and hard) for the command and its children.

    Done by the command's own bash rather than a wrapper process, so it costs no extra
    exec. Requests above the evaluator's hard limits are clamped (they could not be set).
    """

    def clamp(res: int, want: int) -> int:
        hard = resource.getrlimit(res)[1]
        return want if hard == resource.RLIM_INFINITY else min(want, hard)

    cpu = clamp(resource.RLIMIT_CPU, limits.cpu_seconds)
    mem_kb = clamp(resource.RLIMIT_AS, limits.memory_mb << 20) >> 10
    fsize_kb = clamp(resource.RLIMIT_FSIZE, limits.file_size_mb << 20) >> 10
    nproc = clamp(resource.RLIMIT_NPROC, limits.processes)
    # bash (not in posix mode) counts -v and -f in KiB; -c 0 keeps core files out of the
    # workspace. The CPU hard limit sits a second above the soft one: at the soft limit the
    # kernel sends SIGXCPU (reported as "cpu"); with soft == hard it would send SIGKILL.
    cpu_hard = clamp(resource.RLIMIT_CPU, limits.cpu_seconds + 1)
    return (
        f"{{ ulimit -c 0 -v {mem_kb} -f {fsize_kb} -u {nproc} && ulimit -S -t {cpu} "
        f"&& ulimit -H -t {cpu_hard}; }} || {{ echo 'agentgym: cannot set resource limits' >&2; exit 125; }}"
    )


_MEMORY_MARKS = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory")


def classify(o: RunOutcome) -> str | None:
    """Best-effort name of the resource limit that stopped the command."""
    err = o.stderr
    if o.exit_code == 128 + signal.SIGXCPU or "CPU time limit exceeded" in err:
        return "cpu"
    if o.exit_code == 128 + signal.SIGXFSZ or "File size limit exceeded" in err:
        return "file_size"
    if o.flooded:
        return "output"
    if o.exit_code != 0 and any(m in err for m in _MEMORY_MARKS):
        return "memory"
    if "Resource temporarily unavailable" in err and "fork" in err:
        return "processes"
    if o.truncated:
        return "output"
    return None


def to_result(o: RunOutcome) -> ExecResult:
    return ExecResult(
        exit_code=o.exit_code,
        stdout=o.stdout,
        stderr=o.stderr,
        timed_out=o.timed_out,
        duration_s=round(o.duration_s, 4),
        stdout_bytes=o.stdout_bytes,
        stderr_bytes=o.stderr_bytes,
        stdout_sha256=o.stdout_sha256,
        stderr_sha256=o.stderr_sha256,
        limit=classify(o),
    )
