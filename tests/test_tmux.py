"""tools/run_parallel_eval_tmux.py: a real tmux session on a private socket running the demo
with builtin/oracle and builtin/nop, --print-commands, and keeping keys off command lines."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tools" / "run_parallel_eval_tmux.py"
sys.path.insert(0, str(ROOT / "tools"))

import run_parallel_eval_tmux as tool  # noqa: E402

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def write_config(path: Path, **overrides: object) -> Path:
    cfg = {"session_name": f"agt-{uuid.uuid4().hex[:8]}", "repo_root": str(ROOT), "runs_root": str(path.parent / "runs"),
           "repos": ["demo"], "task_set": "l1", "dry_run": False, "extra_args": ["--sandbox", "local", "--tasks", "demo_task_00[1-6]"],
           "models": [{"model_id": "builtin/oracle"}, {"model_id": "builtin/nop"}]}
    cfg.update(overrides)
    path.write_text(json.dumps(cfg), encoding="utf-8")
    return path


def run_tool(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=60)


def kill_server(socket: str, *extra: str) -> None:
    subprocess.run(["tmux", "-L", socket, *extra, "kill-server"], capture_output=True)
    # tmux leaves its socket file behind; remove ours (tmux's default socket directory).
    base = Path(os.environ.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}" / socket
    base.unlink(missing_ok=True)


def windows(socket: str, session: str) -> dict[str, tuple[str, str]]:
    r = subprocess.run(["tmux", "-L", socket, "list-windows", "-t", f"={session}:", "-F",
                        "#{window_name}\t#{pane_dead}\t#{pane_dead_status}"], capture_output=True, text=True)
    return {n: (d, s) for n, d, s in (line.split("\t") for line in r.stdout.splitlines())}


@needs_tmux
def test_session_runs_models_and_compares(tmp_path: Path) -> None:
    cfg_path = write_config(tmp_path / "cfg.json")
    cfg = json.loads(cfg_path.read_text())
    socket = f"agentgym-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        r = run_tool("--config", str(cfg_path), "--socket", socket)
        assert r.returncode == 0, r.stderr
        assert set(windows(socket, cfg["session_name"])) == {"status", "builtin_oracle", "builtin_nop"}

        # A second start without --kill-existing is refused.
        again = run_tool("--config", str(cfg_path), "--socket", socket)
        assert again.returncode == 2 and "already exists" in again.stderr

        # Exit statuses come from the files the windows' shells write, not from tmux, which does not
        # always reap a pane's process (tmux 3.3a); the status window ends by printing the verdict.
        runs = Path(cfg["runs_root"])
        exits = [runs / model / tool.EXIT_FILE for model in ("builtin_oracle", "builtin_nop")]

        def shown() -> str:
            return subprocess.run(["tmux", "-L", socket, "capture-pane", "-p", "-t", f"={cfg['session_name']}:=status"],
                                  capture_output=True, text=True).stdout

        deadline = time.monotonic() + 120  # a bound on waiting, not a timing assertion
        while time.monotonic() < deadline and not (all(f.exists() for f in exits) and "compare exit" in shown()):
            time.sleep(1)
        assert [f.read_text().strip() if f.exists() else None for f in exits] == ["0", "0"], windows(socket, cfg["session_name"])

        for model in ("builtin_oracle", "builtin_nop"):
            (run,) = [d for d in (runs / model).iterdir() if d.is_dir()]
            manifest = json.loads((run / "manifest.json").read_text())
            assert manifest["complete"] and len(manifest["done"]) == manifest["total"] > 0
            assert json.loads((run / "run.json").read_text())["config"]["sandbox"] == "local"
        board = runs / "compare" / "leaderboard.md"
        assert board.is_file() and "builtin/nop" in board.read_text()

        assert "compare exit 1" in shown() and "REGRESSION" in shown()
    finally:
        kill_server(socket)


@needs_tmux
def test_print_commands_hides_key_and_starts_nothing(tmp_path: Path) -> None:
    secret = "sk-test-" + uuid.uuid4().hex
    cfg_path = write_config(tmp_path / "cfg.json", models=[
        {"model_id": "builtin/oracle"},
        {"model_id": "vendor/model-1.5", "api_key": "AGT_TEST_KEY", "base_url": "http://127.0.0.1:9/v1", "temperature": 0.5}])
    socket = f"agentgym-print-{uuid.uuid4().hex[:8]}"
    r = run_tool("--config", str(cfg_path), "--print-commands", "--socket", socket, env={"AGT_TEST_KEY": secret})
    assert r.returncode == 0, r.stderr
    assert secret not in r.stdout + r.stderr
    assert "'OPENAI_API_KEY=${AGT_TEST_KEY}'" in r.stdout
    assert "AGT_TEST_KEY" not in r.stdout.replace("'OPENAI_API_KEY=${AGT_TEST_KEY}'", "")  # name only in -e
    assert "--runs-root" in r.stdout and "vendor_model-1_5" in r.stdout and "--sandbox local" in r.stdout
    assert f"-L {socket}" in r.stdout
    assert subprocess.run(["tmux", "-L", socket, "list-sessions"], capture_output=True).returncode != 0


def test_missing_key_variable_is_a_usage_error(tmp_path: Path) -> None:
    cfg_path = write_config(tmp_path / "cfg.json", models=[{"model_id": "m", "api_key": "AGT_SURELY_UNSET_VAR"}])
    env = {k: v for k, v in os.environ.items() if k != "AGT_SURELY_UNSET_VAR"}
    r = subprocess.run([sys.executable, str(SCRIPT), "--config", str(cfg_path), "--socket", "agt-never"],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 2
    assert "AGT_SURELY_UNSET_VAR" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("body, fragment", [
    ('{"models": []}', "models"),
    ('{"models": [{"model_id": "a", "api_key": "not a var"}]}', "api_key"),
    ('{"models": [{"model_id": "a"}], "sesion_name": "x"}', "sesion_name"),
    ('{"models": [{"model_id": "a/b"}, {"model_id": "a_b"}]}', "a_b"),
    ("not json", "JSON"),
])
def test_bad_config(tmp_path: Path, body: str, fragment: str) -> None:
    (tmp_path / "cfg.json").write_text(body)
    r = run_tool("--config", str(tmp_path / "cfg.json"), "--print-commands")
    assert r.returncode == 2 and fragment in r.stderr and "Traceback" not in r.stderr


def test_key_goes_over_stdin_not_argv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-argv-" + uuid.uuid4().hex
    monkeypatch.setenv("AGT_TEST_KEY", secret)
    cfg = tool.load_config(write_config(tmp_path / "cfg.json", models=[{"model_id": "m", "api_key": "AGT_TEST_KEY"}]))
    calls: list[tuple[list[str], str | None]] = []

    def fake_run(args: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        calls.append((list(args), kw.get("input")))  # type: ignore[arg-type]
        return subprocess.CompletedProcess(args, 1 if "has-session" in args else 0, "", "")

    monkeypatch.setattr(tool.subprocess, "run", fake_run)
    tool.launch(cfg, tool.plan(cfg, tmp_path / "cfg.json", 0), ["tmux", "-L", "x"], kill_existing=False)
    assert all(secret not in " ".join(args) for args, _ in calls)
    (batch,) = [inp for _, inp in calls if inp]
    assert f"'OPENAI_API_KEY={secret}'" in batch and "remain-on-exit" in batch


@needs_tmux
def test_tmux_quote_round_trips_through_tmux_parser() -> None:
    tricky = "a'b\"c$d ~;#{x} \\e"
    socket = f"agentgym-quote-{uuid.uuid4().hex[:8]}"
    tmux = ["tmux", "-L", socket, "-f", "/dev/null"]
    try:
        subprocess.run([*tmux, "new-session", "-d", "-s", "q", "sleep 30"], check=True)
        subprocess.run([*tmux, "source-file", "-"], input=f"set-environment -g AGT_Q {tool.tmux_quote(tricky)}\n",
                       text=True, check=True)
        shown = subprocess.run([*tmux, "show-environment", "-g", "AGT_Q"], capture_output=True, text=True).stdout
        assert shown == f"AGT_Q={tricky}\n"
    finally:
        kill_server(socket, "-f", "/dev/null")


def test_pasted_print_commands_keep_the_key_off_every_command_line(tmp_path: Path) -> None:
    """Issue 20 item 15: the printed lines used to put the key in tmux's argv when pasted."""
    secret = "sk-test-" + uuid.uuid4().hex
    cfg_path = write_config(tmp_path / "cfg.json", repo_root=str(tmp_path / "a $dir `x` \\y"), models=[
        {"model_id": "vendor/model-1.5", "api_key": "AGT_TEST_KEY", "base_url": "http://127.0.0.1:9/v1"}])
    r = run_tool("--config", str(cfg_path), "--print-commands", env={"AGT_TEST_KEY": secret})
    assert r.returncode == 0, r.stderr
    fake = tmp_path / "bin"
    fake.mkdir()
    log = tmp_path / "tmux.log"
    (fake / "tmux").write_text(f"#!/bin/sh\nprintf 'ARGV %s\\n' \"$*\" >> {log}\n"
                               f"if [ \"$1\" = source-file ]; then cat >> {log}; fi\n")
    (fake / "tmux").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}", "AGT_TEST_KEY": secret}
    subprocess.run(["bash", "-c", r.stdout], env=env, check=True, timeout=30)
    recorded = log.read_text().splitlines()
    argv = [line for line in recorded if line.startswith("ARGV ")]
    assert len(argv) == 2 and not any(secret in line for line in argv)
    # What reaches tmux on stdin is byte for byte the batch the real launch sends.
    cfg = tool.load_config(cfg_path.resolve())
    steps = tool.plan(cfg, cfg_path.resolve(), 0)
    sent = [" ".join(tool.tmux_quote(a) for a in tool._with_env(s, {"AGT_TEST_KEY": secret})) for s in steps[1:]]
    batch = [line for line in recorded if not line.startswith("ARGV ")]
    assert [b.split("--launched-at")[0] for b in batch] == [x.split("--launched-at")[0] for x in sent]
