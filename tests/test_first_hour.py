"""The first hour of a new user (issue 20): every mistake gets a fast, clear answer and nothing
is lost. One test per finding; each failed on the code before its fix."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import sys
from pathlib import Path
from typing import Any

import yaml
from conftest import FACTS, fixture_args, load_results, only_run_dir, run_cli, turn
from evaluator.testing.scripted_server import Reply, ScriptedServer, completion, error, tool_call
from test_reliability import comparable, solver, start_run, wait_done


def undocumented(run: Path) -> list[str]:
    """Files in a run directory that docs/result-schema.md's layout table does not cover."""
    from evaluator.results.schemadoc import FILES

    patterns = [re.compile(re.sub(r"<[^>]+>", "[^/]+", re.escape(path).replace(r"\<", "<").replace(r"\>", ">"))
                           + (".*" if path.endswith("/") else "$")) for path, _, _ in FILES]
    files = [p.relative_to(run).as_posix() for p in run.rglob("*") if p.is_file()]
    return [f for f in files if not any(pat.match(f) for pat in patterns)]


def test_a_second_writer_is_refused_and_kill_resume_stays_exact(workspace: dict[str, Any], tmp_path: Path) -> None:
    """Item 1: two writers on one run directory used to interleave (9/16 results wrong)."""
    answer, gate = solver(), threading.Event()
    gate.set()

    def script(body: dict[str, Any], i: int) -> Reply:
        if "Task: fx_001" not in body["messages"][1]["content"]:
            gate.wait(60)  # holds the first run mid-task until it has been killed
        return answer(body)

    with ScriptedServer(script) as srv:
        ref = run_cli("evaluator.run", "--model", "m", "--base-url", srv.base_url, "--concurrency", "2",
                      *fixture_args(workspace, "--runs-root", str(tmp_path / "reference")))
        assert ref.returncode == 0, ref.stderr
        reference = load_results(only_run_dir(tmp_path / "reference"), "fixture")

        gate.clear()
        child = start_run(workspace, srv.base_url)
        run = wait_done(workspace, 1)
        second = run_cli("evaluator.run", "--resume", str(run), "--quiet")
        merged = run_cli("evaluator.merge", "--out", str(run), str(only_run_dir(tmp_path / "reference")))
        assert child.poll() is None, "the first run must still be going"
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert not undocumented(run) and not (run / "results").exists()  # item 8: as the layout says
        gate.set()
        for proc in (second, merged):
            assert proc.returncode == 2 and f"run {run} is in use by PID {child.pid}" in proc.stderr, proc.stderr
            assert "Traceback" not in proc.stderr
        # The lock dies with its holder: kill -9, then two resumes one after the other.
        first = run_cli("evaluator.run", "--resume", str(run), "--quiet")
        again = run_cli("evaluator.run", "--resume", str(run), "--quiet")
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    assert comparable(load_results(run, "fixture")) == comparable(reference)
    lines = [json.loads(x) for x in (run / "transcripts" / "fixture.jsonl").read_text().splitlines()]
    for r in load_results(run, "fixture").values():
        mine = [x for x in lines if x["attempt"] == r["transcript"]["attempt"]]
        assert len(mine) == r["transcript"]["messages"] > 0
    assert not (run / ".work").exists()  # item 8: no empty .work/ left behind
    assert not undocumented(run) and (run / "results" / "success_by_repo.png").is_file()


def test_clone_failure_shows_gits_reason(workspace: dict[str, Any]) -> None:
    """Item 2: the message used to end in a lone `'`."""
    (workspace["repos"] / "fixture.yaml").write_text(yaml.safe_dump(
        {"id": "fixture", "url": str(workspace["root"] / "nonexistent-repo"), "ref": "main"}))
    proc = run_cli("evaluator.run", "--model", "builtin/oracle", *fixture_args(workspace))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "fatal: repository" in proc.stderr and "does not exist" in proc.stderr, proc.stderr


def test_clone_reasons_of_https_and_ssh_urls() -> None:
    """Item 2, for the URL kinds a test cannot reach offline: GitPython's stderr as it comes."""
    from evaluator.tasks.clone_cache import _short

    https = ("\n  stderr: 'Cloning into bare repository '/c/r.git'...\n"
             "fatal: unable to access 'https://h.invalid/x.git/': Could not resolve host: h.invalid\n'")
    ssh = ("\n  stderr: 'Cloning into bare repository '/c/r.git'...\nssh: Could not resolve hostname h.invalid: "
           "Name or service not known\r\nfatal: Could not read from remote repository.\n\n"
           "Please make sure you have the correct access rights\nand the repository exists.\n'")
    assert _short(https) == "fatal: unable to access 'https://h.invalid/x.git/': Could not resolve host: h.invalid"
    assert _short(ssh) == ("ssh: Could not resolve hostname h.invalid: Name or service not known; "
                           "fatal: Could not read from remote repository.")


def test_bad_endpoint_fails_fast_and_names_the_url(workspace: dict[str, Any]) -> None:
    """Item 3: nothing listening meant minutes of silent retries; no scheme or timeout 0 also."""
    args = fixture_args(workspace)
    # Default --max-attempts (10): the old code retried for about two minutes, past this timeout.
    proc = run_cli("evaluator.run", "--model", "m", "--base-url", "http://127.0.0.1:9", *args, timeout=60)
    assert proc.returncode == 2 and "http://127.0.0.1:9/v1" in proc.stderr and "connection refused" in proc.stderr
    proc = run_cli("evaluator.run", "--model", "m", "--base-url", "http://no-such-host.invalid", *args, timeout=60)
    assert proc.returncode == 2 and "no-such-host.invalid" in proc.stderr, proc.stderr
    proc = run_cli("evaluator.run", "--model", "m", "--base-url", "localhost:18081", *args, timeout=60)
    assert proc.returncode == 2 and "must start with http:// or https://" in proc.stderr
    assert "http://localhost:18081" in proc.stderr
    proc = run_cli("evaluator.run", "--model", "m", "--request-timeout", "0", *args, timeout=60)
    assert proc.returncode == 2 and "--request-timeout: must be greater than 0" in proc.stderr
    assert not workspace["runs"].exists() or not any(workspace["runs"].iterdir())


def test_retries_print_progress_unless_quiet(workspace: dict[str, Any]) -> None:
    """Item 3: a retried request used to be silent."""
    answer = solver()
    with ScriptedServer(lambda b, i: error(503, "busy", retry_after=0.01) if i == 0 else answer(b)) as srv:
        loud = run_cli("evaluator.run", "--model", "m", "--base-url", srv.base_url, "--tasks", "fx_001",
                       *[a for a in fixture_args(workspace) if a != "--quiet"])
    assert loud.returncode == 0, loud.stderr
    assert "attempt 1/10 failed (HTTP 503); next attempt in 0.0s" in loud.stderr, loud.stderr
    with ScriptedServer(lambda b, i: error(503, "busy", retry_after=0.01) if i == 0 else answer(b)) as srv:
        quiet = run_cli("evaluator.run", "--model", "m", "--base-url", srv.base_url, "--tasks", "fx_001",
                        *fixture_args(workspace))
    assert quiet.returncode == 0 and "attempt 1/10" not in quiet.stderr


def test_numeric_flags_are_checked(workspace: dict[str, Any]) -> None:
    """Item 4: these used to give a traceback or silently ruin every task."""
    for flag, value, says in [("--max-inflight", "-3", "at least 1"), ("--max-inflight", "0", "at least 1"),
                              ("--max-format-errors", "0", "at least 1"), ("--max-task-seconds", "0", "at least 1"),
                              ("--max-attempts", "0", "at least 1"), ("--max-attempts", "-1", "at least 1"),
                              ("--temperature", "-5", "at least 0"), ("--concurrency", "x", "whole number")]:
        proc = run_cli("evaluator.run", "--model", "builtin/oracle", flag, value, "--dry-run", *fixture_args(workspace))
        assert proc.returncode == 2, (flag, value)
        assert f"argument {flag}: {'must be ' if 'at' in says else 'expected a '}{says}" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr


def test_report_path_is_not_wrapped_in_a_pipe(workspace: dict[str, Any], tmp_path: Path) -> None:
    """Item 7: the path used to come out in three pieces when stdout is not a terminal."""
    deep = tmp_path / ("a-rather-long-folder-name-for-runs-" * 3) / "runs"
    proc = run_cli("evaluator.run", "--model", "builtin/oracle", "--tasks", "fx_001",
                   *fixture_args(workspace, "--runs-root", str(deep)))
    assert proc.returncode == 0, proc.stderr
    report = only_run_dir(deep) / "results" / "REPORT.md"
    assert f"Report: {report}" in proc.stdout.splitlines()[-1], proc.stdout


def test_stale_staged_etc_is_swept_at_the_next_start(workspace: dict[str, Any], tmp_path: Path) -> None:
    """Item 8: /tmp/agentgym-etc-* of a killed run stayed forever; a live run's must stay."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale, live = tmp / f"agentgym-etc-{dead.pid}-abc", tmp / f"agentgym-etc-{os.getpid()}-def"
    for d in (stale, live):
        (d / "passwd").parent.mkdir()
        (d / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    proc = run_cli("evaluator.run", "--model", "builtin/oracle", "--tasks", "fx_001",
                   *fixture_args(workspace), "--sandbox", "local", env={"TMPDIR": str(tmp)})
    assert proc.returncode == 0, proc.stderr
    assert not stale.exists() and live.exists()


def test_quiet_still_reports_infrastructure_failures(workspace: dict[str, Any]) -> None:
    """Item 9: `--quiet` used to print only `6/6 trials, 0 passed`, exit 1."""
    with ScriptedServer(lambda b, i: error(401, "key revoked")) as srv:
        proc = run_cli("evaluator.run", "--model", "m", "--base-url", srv.base_url, *fixture_args(workspace))
    assert proc.returncode == 1
    run = only_run_dir(workspace["runs"])
    assert "Infrastructure failures: 6 api_error" in proc.stdout, proc.stdout
    assert f"python -m evaluator.run --retry-failed {run}" in proc.stdout


def test_resume_and_merge_messages_say_what_to_do(workspace: dict[str, Any], tmp_path: Path) -> None:
    """Item 16: messages that said what was wrong but not what to do."""
    proc = run_cli("evaluator.run", "--resume", str(tmp_path / "no-such-run"), "--quiet")
    assert proc.returncode == 2 and "does not exist; pass a run directory" in proc.stderr
    (tmp_path / "empty").mkdir()
    proc = run_cli("evaluator.run", "--resume", str(tmp_path / "empty"), "--quiet")
    assert proc.returncode == 2 and "is not a run directory (it has no run.json)" in proc.stderr
    proc = run_cli("evaluator.run", "--model", "builtin/oracle", "--tasks", "fx_001", *fixture_args(workspace))
    run = only_run_dir(workspace["runs"])
    out = tmp_path / "taken"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    proc = run_cli("evaluator.merge", "--out", str(out), str(run))
    assert proc.returncode == 2 and "choose a new --out folder (it is created)" in proc.stderr
    assert (out / "notes.txt").read_text() == "mine" and len(list(out.iterdir())) == 1


def test_score_uses_unrounded_rates(workspace: dict[str, Any]) -> None:
    """Item 17: 10 * round(2/3, 4) gave 96.667 where the formula gives 96.6667."""
    def script(body: dict[str, Any], i: int) -> Reply:
        t = turn(body["messages"])
        cmd = ["ls", "cat no-such-file", "ls src"]
        if t < 3:
            return completion(tool_calls=[tool_call("run_command", {"command": cmd[t]}, f"c{t}")])
        if t == 3:
            return completion(tool_calls=[tool_call("write_file", {"path": "eval_artifacts/answer.json",
                                                                   "content": json.dumps({"py_files": FACTS["py_files"]})}, "w")])
        return completion("done")

    with ScriptedServer(script) as srv:
        proc = run_cli("evaluator.run", "--model", "m", "--base-url", srv.base_url, "--tasks", "fx_001",
                       *fixture_args(workspace))
    assert proc.returncode == 0, proc.stderr
    r = load_results(only_run_dir(workspace["runs"]), "fixture")["fx_001"]
    assert r["success"] and r["metrics"]["commands_used"] == 3 and r["metrics"]["valid_rate"] == 0.6667
    assert r["score"] == round(60 + 20 + 10 * 2 / 3 + 10, 4) == 96.6667
