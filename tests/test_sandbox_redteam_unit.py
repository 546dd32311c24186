"""Hostile commands at the sandbox level (no model): what they try must stay contained.

Tests that need bwrap skip when it cannot run here, but fail under CI=true. The last
test repeats a few attacks with the evaluator itself running as an unprivileged user.
"""
from __future__ import annotations

import asyncio
import json
import os
import pwd
import random
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from evaluator.sandbox import ExecResult, SandboxPaths, get_backend
from evaluator.tasks.specs import Limits

from conftest import bwrap_backend

REPO = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI") == "true"


def alive(marker: str) -> list[str]:
    """Host processes whose command line contains `marker` (pgrep itself excluded).

    A process that was just sent SIGKILL may take a moment to finish exiting, so this
    polls briefly before reporting survivors.
    """
    for _ in range(40):
        done = subprocess.run(["pgrep", "-af", marker], capture_output=True, text=True)
        left = [line for line in done.stdout.splitlines() if "pgrep" not in line]
        if not left:
            return []
        time.sleep(0.05)
    return left


def unique_sleep() -> str:
    """A sleep duration nobody else uses, so pgrep finds only ours."""
    return f"{random.randint(100000, 999999)}.{random.randint(100000, 999999)}"


class Box:
    def __init__(self, name: str, base: Path, limits: Limits) -> None:
        self.paths = SandboxPaths(work_root=base / "work", tmp_dir=base / "tmp", home_dir=base / "home")
        for p in (self.paths.work_root, self.paths.tmp_dir, self.paths.home_dir):
            p.mkdir(parents=True)
        backend = bwrap_backend() if name == "bwrap" else get_backend("local")
        self.sb = backend.open(self.paths, limits=limits, env={})

    def run(self, command: str, timeout_s: float = 20) -> ExecResult:
        return asyncio.run(self.sb.exec(command, cwd=self.sb.root, timeout_s=timeout_s))


@pytest.fixture
def make_box(tmp_path: Path) -> Iterator:
    boxes: list[Box] = []

    def make(name: str, limits: Limits | None = None) -> Box:
        boxes.append(Box(name, tmp_path / f"{name}{len(boxes)}", limits or Limits()))
        return boxes[-1]

    yield make
    for box in boxes:
        asyncio.run(box.sb.close())


BOTH = pytest.mark.parametrize("name", ["bwrap", "local"])


def test_host_home_is_not_readable(make_box) -> None:
    home = Path(pwd.getpwuid(os.getuid()).pw_dir)
    planted = home / f".agentgym-redteam-{uuid.uuid4().hex}"
    planted.write_text("host-secret-42\n")
    try:
        box = make_box("bwrap")
        r = box.run(f"cat {planted}; ls -a {home}; cat ~/{planted.name}; cat /root/{planted.name}")
        assert "host-secret-42" not in r.stdout
        assert planted.name not in r.stdout
    finally:
        planted.unlink()


def test_network_is_unreachable(make_box) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.setblocking(False)
    port = server.getsockname()[1]
    try:
        box = make_box("bwrap")
        r = box.run(
            f"exec 3<>/dev/tcp/127.0.0.1/{port} && echo CONNECTED; "
            f"python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=3); print('CONNECTED')\""
        )
        assert "CONNECTED" not in r.stdout
        with pytest.raises(BlockingIOError):
            server.accept()  # nobody got through
    finally:
        server.close()


def test_fork_bomb_is_contained(make_box) -> None:
    box = make_box("bwrap", Limits(processes=64))
    marker = f"bomb-{uuid.uuid4().hex}"
    # The sleep keeps the leader (and so the namespace) alive while the bomb grows to the limit.
    r = box.run(f":(){{ :|:& }};:; sleep 30 # {marker}", timeout_s=3)  # forks share the marked command line
    if bwrap_backend().support().cgroup is not None:  # the task's pids ceiling stops it at once
        assert r.limit == "processes" and not r.timed_out, r
    else:  # RLIMIT_NPROC only fails its forks: it runs to its timeout
        assert r.timed_out
    # Nothing of the bomb is left, and both the sandbox and the host can still start processes.
    assert alive(marker) == []
    assert box.run("echo still-fine").stdout == "still-fine\n"
    assert subprocess.run(["true"]).returncode == 0


@BOTH
def test_output_flood_is_capped_and_stopped(make_box, name: str) -> None:
    box = make_box(name, Limits(output_bytes=100_000))
    r = box.run("yes | head -c 2G", timeout_s=60)
    assert not r.timed_out  # stopped long before 2 GB were produced
    assert r.limit == "output"
    assert r.stdout_bytes < 2 << 30 and len(r.stdout) < 101_000
    assert "bytes cut ...]" in r.stdout


@BOTH
def test_timeout_kills_everything(make_box, name: str) -> None:
    box = make_box(name)
    t = unique_sleep()
    r = box.run(f"sleep {t} & sleep {t}", timeout_s=1)
    assert r.timed_out and r.limit is None and r.exit_code == 128 + 9
    assert alive(f"sleep {t}") == []


@BOTH
def test_background_job_does_not_outlive_command(make_box, name: str) -> None:
    box = make_box(name)
    t = unique_sleep()
    r = box.run(f"sleep {t} & echo started")
    assert r.stdout == "started\n" and not r.timed_out
    assert alive(f"sleep {t}") == []


@BOTH
def test_killing_the_parent_does_not_break_the_harness(make_box, name: str) -> None:
    box = make_box(name)
    box.run("kill -9 $PPID; echo done")
    if name == "bwrap":  # on the host (local, maybe root) this would kill every process
        box.run("kill -9 -1; kill -9 1; echo done")
    assert box.run("echo alive").stdout == "alive\n"


@BOTH
def test_huge_file_is_stopped_by_file_size_limit(make_box, name: str) -> None:
    box = make_box(name, Limits(file_size_mb=5))
    r = box.run("head -c 10G /dev/zero > big", timeout_s=60)
    assert r.limit == "file_size"
    assert (box.paths.work_root / "big").stat().st_size == 5 << 20


@BOTH
def test_non_utf8_output_decodes(make_box, name: str) -> None:
    box = make_box(name)
    r = box.run("printf 'a\\xff\\xfeb'; printf '\\xc3' >&2")
    assert r.stdout == "a\ufffd\ufffdb" and r.stderr == "\ufffd"
    assert r.stdout_bytes == 4


def test_setsid_daemon_in_bwrap_dies_with_command(make_box) -> None:
    box = make_box("bwrap")
    t = unique_sleep()
    box.run(f"setsid sleep {t} </dev/null >/dev/null 2>&1 & echo ok")
    assert alive(f"sleep {t}") == []


def test_local_close_finds_setsid_daemons(make_box) -> None:
    """Documented gap: local cannot kill a daemon that left its session per command,
    but close() finds it by the marker in its environment."""
    box = make_box("local")
    t = unique_sleep()
    box.run(f"setsid sleep {t} </dev/null >/dev/null 2>&1 & echo ok")
    asyncio.run(box.sb.close())
    assert alive(f"sleep {t}") == []


UNPRIVILEGED_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, os, socket, sys
    from pathlib import Path
    from evaluator.sandbox import SandboxPaths, SandboxUnavailable
    from evaluator.sandbox.bwrap_backend import BwrapBackend
    from evaluator.tasks.specs import Limits

    base, marker = Path(sys.argv[1]), sys.argv[2]
    backend = BwrapBackend()
    try:
        backend.preflight()
    except SandboxUnavailable as exc:
        print(json.dumps({"unavailable": str(exc)}))
        sys.exit(0)
    paths = SandboxPaths(work_root=base / "w", tmp_dir=base / "t", home_dir=base / "h")
    for p in (paths.work_root, paths.tmp_dir, paths.home_dir):
        p.mkdir()
    (base / "outside.txt").write_text("outside-secret")
    box = backend.open(paths, limits=Limits(processes=64, file_size_mb=5, output_bytes=10000), env={})
    server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(1); server.setblocking(False)
    port = server.getsockname()[1]

    async def main():
        run = lambda c, t=10: box.exec(c, cwd=box.root, timeout_s=t)
        out = {"evaluator_uid": os.getuid()}
        out["uid"] = (await run("id -u")).stdout.strip()
        out["env"] = (await run("env")).stdout
        out["outside"] = (await run(f"cat {base}/outside.txt; ls {base}")).stdout
        out["net"] = (await run(f"exec 3<>/dev/tcp/127.0.0.1/{port} && echo CONNECTED")).stdout
        bomb = await run(":(){ :|:& };:; sleep 30", 3)
        out["bomb_done"] = bomb.timed_out
        out["bomb"] = bomb.model_dump(exclude={"stderr"})
        out["after_bomb"] = (await run("echo fine")).stdout
        out["bg"] = (await run(f"sleep {marker} & echo started")).stdout
        out["timeout"] = (await run(f"sleep {marker}", 1)).timed_out
        out["fsize"] = (await run("head -c 1G /dev/zero > big", 30)).limit
        out["fsize_bytes"] = (paths.work_root / "big").stat().st_size
        out["flood"] = (await run("yes | head -c 2G", 30)).limit
        # The resident executor (one per sandbox, same uid as the commands) must stay out of reach.
        out["ppids"] = [(await run("echo $PPID")).stdout for _ in range(2)]
        out["executor"] = (await run("ls /proc/$PPID/fd || cat /proc/$PPID/environ || head -c1 /proc/$PPID/mem; "
                                     "echo probed")).stdout
        out["executor_killed"] = (await run(f"sleep {marker} & kill -9 $PPID; sleep 1; echo survived")).exit_code
        out["after_executor"] = (await run("echo fine")).stdout
        await box.close()
        return out

    result = asyncio.run(main())
    try:
        server.accept(); result["accepted"] = True
    except BlockingIOError:
        result["accepted"] = False
    print(json.dumps(result))
    """
)


def as_nobody(script: str, *args: str, path: tuple[Path, ...] = (), env: dict[str, str] | None = None,
              prepare: Callable[[Path], None] | None = None, timeout: float = 120,
              setuid: bool = False) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run `script` (python, with this repo and `path` importable) as uid 65534, with a fresh dir
    it owns as argv[1] (`prepare(dir)` fills it first); skips when that cannot be arranged here
    (fails under CI=true). `setuid`: the script may run setuid helpers (fusermount3), so its mount
    namespace is made with unshare(1), not bwrap, which sets no_new_privs for all it starts."""
    if os.geteuid() != 0:
        pytest.skip("needs root to start the evaluator as another user (already unprivileged here)")
    bwrap_backend()  # skip/fail consistently when bwrap itself is missing
    for tool in ("bwrap", "setpriv", *(("unshare",) if setuid else ())):
        if shutil.which(tool) is None:
            (pytest.fail if IN_CI else pytest.skip)(f"{tool} missing")
    prefix = Path(sys.base_prefix).resolve()
    base = Path(tempfile.mkdtemp(prefix="agentgym-unpriv-"))
    if prepare is not None:
        prepare(base)
    for p in [base, *base.rglob("*")]:
        os.chown(p, 65534, 65534, follow_symlinks=False)
    base.chmod(0o700)
    # The interpreter (and maybe this repo) may live under /root, which uid 65534 cannot
    # traverse: show the evaluator a view where /root holds only what it needs.
    keep = [k for k in (prefix, REPO, *path) if str(k).startswith("/root/")]
    outer = ["bwrap", "--dev-bind", "/", "/", "--tmpfs", "/root", "--die-with-parent"]
    for k in keep:
        parts = k.parts[1:-1]
        for i in range(1, len(parts)):
            outer += ["--perms", "0755", "--dir", "/" + "/".join(parts[: i + 1])]
        outer += ["--ro-bind", str(k), str(k)]
    stage = Path(tempfile.mkdtemp(prefix="agentgym-unpriv-stage-")) if setuid else None
    if stage is not None:
        outer = ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                 _unshare_view(keep, stage), "sh"]
    env = {"PATH": f"{prefix}/bin:/usr/bin:/bin", "HOME": str(base), "PYTHONPATH": os.pathsep.join(map(str, (REPO, *path))),
           "OPENAI_API_KEY": "sk-planted-unpriv", "LANG": "C.UTF-8", **(env or {})}
    cmd = outer + ([] if stage is not None else ["--"]) + [  # unshare's script execs its arguments
        "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", f"{prefix}/bin/python3", "-c", script,
        str(base), *args]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd="/")
    finally:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)  # empty mount points, outside the namespace
    return done, base


def _unshare_view(keep: list[Path], stage: Path) -> str:
    """A shell script (run as root in a fresh mount namespace) giving /root the same view as the bwrap
    launcher's: each kept path is parked on a bind in `stage`, /root becomes an empty tmpfs, and
    the kept paths are bound back read-only; then it execs its arguments."""
    q = shlex.quote
    lines = ["set -e", "umask 022"]
    for i, k in enumerate(keep):
        lines += [f"mkdir {stage}/{i}", f"mount --bind {q(str(k))} {stage}/{i}"]
    lines.append("mount -t tmpfs -o mode=0755 tmpfs /root")
    for i, k in enumerate(keep):
        lines += [f"mkdir -p {q(str(k))}", f"mount --bind {stage}/{i} {q(str(k))}",
                  f"mount -o remount,bind,ro {q(str(k))}"]
    return "\n".join([*lines, 'exec "$@"'])


def test_attacks_with_an_unprivileged_evaluator() -> None:
    """Run the evaluator as uid 65534 (bwrap then uses a user namespace) and attack."""
    marker = unique_sleep()
    done, base = as_nobody(UNPRIVILEGED_SCRIPT, marker)
    try:
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout.strip().splitlines()[-1])
        if "unavailable" in result:
            msg = f"unprivileged user namespaces are not usable here: {result['unavailable']}"
            (pytest.fail if IN_CI else pytest.skip)(msg)
        assert result["evaluator_uid"] == 65534 and result["uid"] == "65534"
        assert "sk-planted" not in result["env"] and "OPENAI_API_KEY" not in result["env"]
        assert "outside-secret" not in result["outside"]
        assert "CONNECTED" not in result["net"] and result["accepted"] is False
        assert result["bomb_done"] and result["after_bomb"] == "fine\n", result["bomb"]
        assert result["bg"] == "started\n" and result["timeout"] is True
        assert result["fsize"] == "file_size" and result["fsize_bytes"] == 5 << 20
        assert result["flood"] == "output"
        assert result["ppids"][0] == result["ppids"][1] != "1\n"  # one resident executor served both
        assert result["executor"] == "probed\n"
        assert result["executor_killed"] == 128 + 9 and result["after_executor"] == "fine\n"
        assert alive(f"sleep {marker}") == []
    finally:
        shutil.rmtree(base, ignore_errors=True)
