"""The harness's side of a resident executor: one sandbox process per task, not per command.

Starting fresh namespaces for every command costs ~8 ms of CPU and, when 32 tasks reply
at once, a burst of 32 namespace set-ups. Instead the bwrap backend starts one sandbox per
task whose only process is `executor.py`, and hands it each command together with the two
pipes the command writes to (SCM_RIGHTS). Output is read, capped and hashed here exactly
as for a spawned command; the executor reports the exit status once the command and
everything it started are dead. See executor.py for what keeps commands from reaching it.
"""
from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from evaluator.sandbox.process import DRAIN_GRACE_S, FLOOD_FACTOR, FLOOD_MIN_BYTES, HeadTail, RunOutcome, kill_group

SOURCE = (Path(__file__).parent / "executor.py").read_bytes()
# The source arrives over the socket: a short argv keeps `ps` readable inside the sandbox.
BOOT = "import _socket,sys;s=_socket.socket(fileno=int(sys.argv[1]));exec(s.recv(1<<20))"
START_TIMEOUT_S = 20.0
# The executor enforces the command's timeout; this much later the harness stops waiting
# for it (a stopped or wedged executor) and kills the whole sandbox instead.
BACKSTOP_S = 10.0


class ExecutorGone(Exception):
    """The executor could not start, or died; the caller starts a new one or spawns per command."""


class _Pipe(asyncio.Protocol):
    def __init__(self, buf: HeadTail, on_data) -> None:  # noqa: ANN001
        self.buf = buf
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._on_data = on_data

    def data_received(self, data: bytes) -> None:
        self.buf.feed(data)
        self._on_data()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


class Executor:
    """One running executor. `run` is not re-entrant: commands of one task run one at a time."""

    def __init__(self, proc: asyncio.subprocess.Process, sock: socket.socket, live: set[int]) -> None:
        self._proc = proc
        self._sock = sock
        self._live = live
        self._lock = asyncio.Lock()
        self._loop = asyncio.get_running_loop()
        self.alive = True

    def usable(self) -> bool:
        """Alive and owned by the running event loop (a sandbox may outlive one asyncio.run)."""
        return self.alive and asyncio.get_running_loop() is self._loop

    @classmethod
    async def start(cls, argv_head: Sequence[str], python: str, *, env: dict[str, str], live: set[int],
                    pass_fds: Sequence[int] = ()) -> Executor:
        """Start `python -I -S -c executor.py FD` behind argv_head (the sandbox's bwrap + drop);
        `pass_fds` are what argv_head reads (bwrap's options and filter)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv_head, python, "-I", "-S", "-c", BOOT, str(theirs.fileno()),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                env=env, cwd="/", start_new_session=True, pass_fds=(theirs.fileno(), *pass_fds),
            )
        except OSError as exc:
            ours.close()
            raise ExecutorGone(f"cannot start the sandbox: {exc}") from None
        finally:
            theirs.close()
        live.add(proc.pid)
        self = cls(proc, ours, live)
        try:
            ours.send(SOURCE)
            ours.setblocking(False)
            hello = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(ours, 16), START_TIMEOUT_S)
        except (asyncio.TimeoutError, OSError):
            hello = b""
        if hello != b"R":
            self.kill()
            raise ExecutorGone("the sandbox's python3 could not run the executor")
        return self

    def interrupt(self) -> None:
        """Kill the running command and all it started (ignored by an idle executor)."""
        try:
            self._sock.send(b"K")
        except OSError:
            pass

    def kill(self) -> None:
        self.alive = False
        kill_group(self._proc.pid)  # bwrap and its PID namespace: everything inside dies
        self._live.discard(self._proc.pid)
        if self._sock.fileno() != -1:
            self._sock.close()

    async def close(self) -> None:
        """End the sandbox. Killing is as good as a clean exit for CPU accounting: bwrap exits
        without reaping its namespace's init, so the sandbox's CPU never reaches RUSAGE_CHILDREN."""
        usable = self.usable()
        self.kill()
        if usable:  # else dead already, or its loop is gone and cannot be waited on
            await self._proc.wait()

    async def run(self, argv: list[str], *, cwd: str, env: dict[str, str], timeout_s: float,
                  output_bytes: int) -> RunOutcome:
        async with self._lock:
            return await self._run(argv, cwd=cwd, env=env, timeout_s=timeout_s, output_bytes=output_bytes)

    async def _run(self, argv: list[str], *, cwd: str, env: dict[str, str], timeout_s: float,
                   output_bytes: int) -> RunOutcome:
        loop = asyncio.get_running_loop()
        start = time.monotonic()
        out, err = HeadTail(output_bytes), HeadTail(output_bytes)
        flood_at = max(FLOOD_FACTOR * output_bytes, FLOOD_MIN_BYTES)
        flooded = False

        def check_flood() -> None:
            nonlocal flooded
            if not flooded and max(out.total, err.total) > flood_at:
                flooded = True
                self.interrupt()

        (r_out, w_out), (r_err, w_err) = os.pipe2(os.O_CLOEXEC), os.pipe2(os.O_CLOEXEC)
        fields = [repr(float(timeout_s)), cwd, str(len(argv)), *argv, *(f"{k}={v}" for k, v in env.items())]
        request = b"\0".join(f.encode() for f in fields)  # callers keep NUL out of every field
        try:
            socket.send_fds(self._sock, [request], [w_out, w_err])
        except OSError as exc:
            for fd in (r_out, r_err):
                os.close(fd)
            self.kill()
            raise ExecutorGone(f"the sandbox is gone: {exc}") from None
        finally:
            os.close(w_out)
            os.close(w_err)
        readers: list[tuple[asyncio.BaseTransport, _Pipe]] = []
        for fd, buf in ((r_out, out), (r_err, err)):
            readers.append(await loop.connect_read_pipe(lambda b=buf: _Pipe(b, check_flood), open(fd, "rb", buffering=0)))
        timed_out = False
        try:
            reply = await asyncio.wait_for(loop.sock_recv(self._sock, 4096), timeout_s + BACKSTOP_S)
        except asyncio.TimeoutError:
            reply, timed_out = b"", True
        except OSError:
            reply = b""
        except BaseException:  # cancelled: the command must not outlive its caller
            self.kill()
            raise
        if reply:
            code_text, flag = reply.split()
            code, timed_out = int(code_text), flag == b"1"
        else:  # the executor died (a command killed it) or wedged: the sandbox goes with it
            self.kill()
            code = -9
        try:  # pipes close once the last holder dies, which kill(-1) has made short
            await asyncio.wait_for(asyncio.gather(*(p.closed for _, p in readers)), DRAIN_GRACE_S)
        except asyncio.TimeoutError:
            pass
        finally:
            for transport, _ in readers:
                transport.close()
        return RunOutcome(
            exit_code=128 - code if code < 0 else code,
            stdout=out.text(), stderr=err.text(),
            stdout_bytes=out.total, stderr_bytes=err.total,
            stdout_sha256=out.hash.hexdigest(), stderr_sha256=err.hash.hexdigest(),
            timed_out=timed_out, flooded=flooded,
            truncated=out.truncated or err.truncated,
            duration_s=time.monotonic() - start,
        )
