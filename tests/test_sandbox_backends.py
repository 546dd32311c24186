"""The sandbox backends from a command's point of view: paths, env, tools, limits, output.

Tests that need bwrap skip when it cannot run here, but fail under CI=true.
"""
from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from evaluator.sandbox import ExecResult, SandboxPaths, SandboxUnavailable, get_backend
from evaluator.sandbox.bwrap_backend import BwrapBackend
from evaluator.sandbox.env import looks_secret, scrub
from evaluator.sandbox.process import HeadTail
from evaluator.benchmark.spawn import measure_spawn_async
from evaluator.tasks.specs import Limits

from conftest import bwrap_backend



class Box:
    """A sandbox plus a blocking `run` for tests."""

    def __init__(self, name: str, tmp_path: Path, limits: Limits, env: dict[str, str], ro: list[Path]) -> None:
        self.name = name
        self.paths = SandboxPaths(
            work_root=tmp_path / "work", tmp_dir=tmp_path / "tmp", home_dir=tmp_path / "home", ro_binds=ro
        )
        for p in (self.paths.work_root, self.paths.tmp_dir, self.paths.home_dir):
            p.mkdir(parents=True, exist_ok=True)
        backend = bwrap_backend() if name == "bwrap" else get_backend("local")
        self.sb = backend.open(self.paths, limits=limits, env=env)

    def run(self, command: str, timeout_s: float = 20, cwd: str | None = None) -> ExecResult:
        return asyncio.run(self.sb.exec(command, cwd=cwd or self.sb.root, timeout_s=timeout_s))

    def close(self) -> None:
        asyncio.run(self.sb.close())


@pytest.fixture
def make_box(tmp_path: Path) -> Iterator:
    boxes: list[Box] = []

    def make(name: str, limits: Limits | None = None, env: dict[str, str] | None = None,
             ro: list[Path] | None = None) -> Box:
        box = Box(name, tmp_path / f"{name}{len(boxes)}", limits or Limits(), env or {}, ro or [])
        boxes.append(box)
        return box

    yield make
    for box in boxes:
        box.close()


BOTH = pytest.mark.parametrize("name", ["bwrap", "local"])


@BOTH
def test_commands_see_root_and_can_write_it_and_tmp(make_box, name: str) -> None:
    box = make_box(name)
    r = box.run('pwd; echo hello > made.txt; echo scratch > "$TMPDIR/t.txt"; echo h > "$HOME/h.txt"')
    assert r.exit_code == 0, r.stderr
    assert r.stdout.strip() == box.sb.root
    assert (box.paths.work_root / "made.txt").read_text() == "hello\n"
    assert (box.paths.tmp_dir / "t.txt").read_text() == "scratch\n"
    assert (box.paths.home_dir / "h.txt").exists()
    if name == "bwrap":
        assert (box.sb.root, box.sb.tmp) == ("/workspace", "/tmp")
        assert box.run("echo x > /tmp/y && cat /tmp/y && echo $HOME").stdout == "x\n/home/sandbox\n"
    else:
        assert box.sb.tmp == str(box.paths.tmp_dir)


@BOTH
def test_cwd_subdirectory(make_box, name: str) -> None:
    box = make_box(name)
    (box.paths.work_root / "sub").mkdir()
    assert box.run("pwd", cwd=f"{box.sb.root}/sub").stdout.strip() == f"{box.sb.root}/sub"


def test_bwrap_system_dirs_are_read_only(make_box) -> None:
    box = make_box("bwrap")
    r = box.run("touch /usr/agentgym-probe; echo rc=$?; touch /etc/agentgym-probe; echo rc=$?")
    assert "rc=0" not in r.stdout
    assert not Path("/usr/agentgym-probe").exists()
    assert box.run("id -u").stdout.strip() != "0"
    # /etc is a minimal copy: enough for users and the dynamic linker, no host secrets.
    assert box.run("test -e /etc/shadow || echo no-shadow; ls /etc").stdout.startswith("no-shadow\n")
    assert box.run("whoami && awk 'BEGIN{print 1}'").exit_code == 0


def test_bwrap_has_a_small_writable_dev_shm_for_multiprocessing(make_box) -> None:
    box = make_box("bwrap")
    r = box.run("python3 -c 'import multiprocessing as m; q = m.Queue(); q.put(7); print(q.get(), m.Lock())'")
    assert r.exit_code == 0 and r.stdout.startswith("7 <Lock("), r.stderr
    r = box.run("head -c 80M /dev/zero > /dev/shm/big; echo rc=$?; stat -c %s /dev/shm/big")
    assert "rc=1" in r.stdout and int(r.stdout.split()[-1]) <= 64 * 1024 * 1024  # capped, not host memory


def test_bwrap_ro_binds_are_visible_but_read_only(make_box, tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "repo.git"
    cache.mkdir(parents=True)
    (cache / "objects").write_text("packed\n")
    cache.chmod(0o755)
    (tmp_path / "cache").chmod(0o755)
    box = make_box("bwrap", ro=[cache])
    r = box.run(f"cat {cache}/objects; touch {cache}/new; echo rc=$?")
    assert r.stdout.startswith("packed\n")
    assert "rc=0" not in r.stdout
    assert not (cache / "new").exists()


@BOTH
def test_git_and_python3_work(make_box, name: str) -> None:
    box = make_box(name)
    r = box.run(
        "git init -q . && git -c user.email=a@b.c -c user.name=n commit -q --allow-empty -m first"
        " && git log --oneline | wc -l && python3 -c 'print(6 * 7)'"
    )
    assert r.exit_code == 0, r.stderr
    assert r.stdout.split() == ["1", "42"]


@BOTH
def test_toolset_reports_versions(name: str) -> None:
    backend = bwrap_backend() if name == "bwrap" else get_backend("local")
    tools = backend.toolset()
    assert set(tools) == {"bash", "coreutils", "grep", "rg", "sed", "find", "git", "python3"}
    assert "bash" in tools["bash"] and tools["git"].startswith("git version")
    assert tools["python3"].startswith("Python 3")
    assert backend.toolset() is tools  # cached


@BOTH
def test_environment_is_scrubbed(make_box, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-planted-openai")
    monkeypatch.setenv("MY_SECRET_TOKEN", "planted-token")
    box = make_box(name, env={"FOO": "bar", "MY_SECRET_TOKEN": "declared-token", "DB_PASSWORD": "pw"})
    r = box.run("env; echo ---; tr '\\0' '\\n' < /proc/self/environ")
    for leaked in ("sk-planted", "planted-token", "declared-token", "MY_SECRET_TOKEN", "DB_PASSWORD", "OPENAI"):
        assert leaked not in r.stdout
    assert "FOO=bar" in r.stdout and "LANG=C.UTF-8" in r.stdout and "TERM=dumb" in r.stdout


def test_scrub_and_looks_secret() -> None:
    for name in ("OPENAI_API_KEY", "GITHUB_TOKEN", "aws_secret_access_key", "DB_PASSWORD", "PGPASS",
                 "GOOGLE_APPLICATION_CREDENTIALS", "NPM_AUTH", "SSH_PRIVATE_KEY", "apikey"):
        assert looks_secret(name), name
    for name in ("PATH", "HOME", "LANG", "FOO", "GIT_AUTHOR_NAME", "PYTHONPATH", "PWD"):
        assert not looks_secret(name), name
    env = scrub({"FOO": "1", "API_TOKEN": "x", "bad name": "y"}, home="/h", tmp="/t", path="/bin")
    assert env["FOO"] == "1" and "API_TOKEN" not in env and "bad name" not in env
    assert (env["PATH"], env["HOME"], env["TMPDIR"], env["LC_ALL"]) == ("/bin", "/h", "/t", "C.UTF-8")


@BOTH
def test_exit_codes_and_signals(make_box, name: str) -> None:
    box = make_box(name)
    assert box.run("exit 3").exit_code == 3
    assert box.run("kill -TERM $$").exit_code == 128 + 15
    r = box.run("echo out; echo err >&2")
    assert (r.stdout, r.stderr, r.timed_out, r.limit) == ("out\n", "err\n", False, None)


@BOTH
def test_output_is_capped_head_and_tail(make_box, name: str) -> None:
    box = make_box(name, limits=Limits(output_bytes=1000))
    r = box.run("seq 1 100000; seq 1 3000 >&2")
    full = "".join(f"{i}\n" for i in range(1, 100001))
    assert r.stdout_bytes == len(full)
    assert r.stdout.startswith("1\n2\n3\n") and r.stdout.endswith("99999\n100000\n")
    assert "bytes cut ...]" in r.stdout and len(r.stdout) < 1200
    assert r.stderr.endswith("3000\n") and r.stderr_bytes > 1000
    assert r.limit == "output"


def test_head_tail_buffer() -> None:
    buf = HeadTail(10)
    for chunk in (b"abc", b"defgh", b"ijklmnop", b"qrstuvwxyz"):
        buf.feed(chunk)
    assert buf.total == 26 and buf.truncated
    assert buf.text() == "abcde\n[... 16 bytes cut ...]\nvwxyz"
    small = HeadTail(100)
    small.feed(b"\xff\xfeok")
    assert small.text() == "\ufffd\ufffdok" and not small.truncated


@BOTH
def test_cpu_limit(make_box, name: str) -> None:
    box = make_box(name, limits=Limits(cpu_seconds=1))
    r = box.run("while :; do :; done", timeout_s=30)
    assert r.limit == "cpu" and not r.timed_out


@BOTH
def test_memory_limit(make_box, name: str) -> None:
    box = make_box(name, limits=Limits(memory_mb=200))
    r = box.run("python3 -c 'x = bytearray(1 << 30)'")
    assert r.exit_code != 0 and r.limit == "memory"


@BOTH
def test_closed_sandbox_refuses(make_box, name: str) -> None:
    box = make_box(name)
    box.close()
    assert box.run("true").exit_code == -1


def test_bwrap_hands_ownership_back_on_close(make_box) -> None:
    if os.geteuid() != 0:
        pytest.skip("ownership is only changed when the evaluator is root")
    box = make_box("bwrap")
    before = os.geteuid()  # the test created the dirs
    box.run("mkdir -p d && echo x > d/f")
    assert (box.paths.work_root / "d" / "f").stat().st_uid != 0  # written as the sandbox uid
    box.close()
    assert (box.paths.work_root / "d" / "f").stat().st_uid == before
    assert box.paths.work_root.stat().st_uid == before


def test_preflight_explains_missing_bwrap(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
        BwrapBackend().preflight()


def test_preflight_refuses_an_unknown_bwrap_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTGYM_BWRAP_MODE", "per_command")
    with pytest.raises(SandboxUnavailable, match="must be `resident` or `per-command`, not 'per_command'"):
        BwrapBackend().preflight()


def test_spawnbench_reports_costs() -> None:
    bwrap_backend()
    bench = asyncio.run(measure_spawn_async(runs=3))
    assert bench.bash.wall_ms_median > 0 and bench.local.runs == 3
    assert bench.bwrap is not None and bench.bwrap.wall_ms_median > 0
    assert bench.bwrap_overhead_ms is not None
