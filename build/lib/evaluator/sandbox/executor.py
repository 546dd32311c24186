"""The command executor that lives inside one task's bwrap sandbox (stdlib only).

Run by the sandbox's own python3 as `python3 -I -S -c <boot> FD`, where the boot line
reads this source as the first datagram on FD (a SOCK_SEQPACKET socket to the harness),
so nothing in the task's files or environment can change it. Then, one datagram each:
  executor -> harness  b"R"                                  ready
  harness  -> executor timeout NUL cwd NUL argc NUL argv... NUL env(K=V)...
                       with SCM_RIGHTS [stdout fd, stderr fd]
  harness  -> executor b"K"                                  kill the running command (output flood)
  executor -> harness  b"<exit code> <timed out 0|1>"        the command and all it started are dead
EOF on FD ends the executor, and with it (bwrap's init exits) the whole sandbox.

The executor runs as the same uid as the commands. It makes itself non-dumpable, so a
command can neither ptrace it nor open its memory or fds through /proc; and after each
command it sends SIGKILL to every process it can signal (kill(-1)), so nothing a command
started outlives it, setsid'd daemons included. A command that kills the executor ends
the sandbox; the harness then starts a fresh one. Imports are kept to cheap modules
(no json, socket or enum): the executor's start-up is paid once per task.
"""
import _socket
import ctypes
import os
import select
import signal
import sys
import time

PR_SET_DUMPABLE = 4
FDS_LEN = _socket.CMSG_LEN(8)  # two ints of SCM_RIGHTS


def _kill_all() -> None:
    try:
        os.kill(-1, signal.SIGKILL)  # all but ourselves and the namespace's init
    except ProcessLookupError:
        pass


def _child(fields: list, fds: list) -> None:
    try:
        os.setsid()
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(fds[0], 1)
        os.dup2(fds[1], 2)
        for fd in {null, *fds} - {0, 1, 2}:
            os.close(fd)
        # Python ignores these at start-up and ignored signals survive exec: give them back.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
        argc = int(fields[2])
        argv, env = fields[3:3 + argc], fields[3 + argc:]
        os.chdir(fields[1])
        os.execve(argv[0], argv, dict(e.split(b"=", 1) for e in env))
    except BaseException as exc:  # noqa: BLE001 - report and leave; never return into the loop
        os.write(2, f"agentgym: cannot start command: {exc}\n".encode())
    os._exit(126)


def _fork(err_fd: int) -> int:
    """fork(), retried while the last command's processes are still being reaped (EAGAIN
    under RLIMIT_NPROC); -1 after two seconds, with the reason on the command's stderr."""
    for _ in range(40):
        try:
            return os.fork()
        except BlockingIOError:
            time.sleep(0.05)
        except OSError as exc:
            os.write(err_fd, f"agentgym: cannot start command: {exc}\n".encode())
            return -1
    os.write(err_fd, b"agentgym: cannot start command: too many processes\n")
    return -1


def _wait(ctl, pid: int, timeout: float) -> tuple:  # noqa: ANN001
    pidfd = os.pidfd_open(pid)
    deadline = time.monotonic() + timeout
    timed_out = False
    try:
        while True:
            ready, _, _ = select.select([pidfd, ctl], [], [], max(0.0, deadline - time.monotonic()))
            if pidfd in ready:
                break
            if not ready:
                timed_out = True
                _kill_all()
                break
            if ctl.recv(16) != b"K":  # EOF: the harness is gone
                _kill_all()
                os._exit(0)
            _kill_all()
    finally:
        os.close(pidfd)
    _, status = os.waitpid(pid, 0)
    _kill_all()  # what the command left behind
    return os.waitstatus_to_exitcode(status), timed_out


def _receive(ctl) -> tuple:  # noqa: ANN001
    """(message, fds) of one datagram; (b"", []) at EOF."""
    msg, ancdata, _, _ = ctl.recvmsg(1 << 20, FDS_LEN)
    fds = []
    for level, kind, data in ancdata:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            fds += [int.from_bytes(data[i:i + 4], sys.byteorder) for i in range(0, len(data) - len(data) % 4, 4)]
    return msg, fds


def main() -> None:
    ctl = _socket.socket(fileno=int(sys.argv[1]))  # the boot line's socket object shares this fd
    os.set_inheritable(ctl.fileno(), False)
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        sys.exit(1)  # without it a command could take the executor over: refuse to serve
    ctl.sendall(b"R")
    while True:
        msg, fds = _receive(ctl)
        if not msg:
            return
        if msg == b"K" or len(fds) != 2:  # a stray kill after the command ended
            for fd in fds:
                os.close(fd)
            continue
        fields = msg.split(b"\0")
        pid = _fork(fds[1])
        if pid == 0:
            _child(fields, fds)
        for fd in fds:
            os.close(fd)
        code, timed_out = _wait(ctl, pid, float(fields[0])) if pid > 0 else (126, False)
        ctl.sendall(b"%d %d" % (code, timed_out))


if __name__ == "__main__":
    main()
