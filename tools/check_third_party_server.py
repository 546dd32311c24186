#!/usr/bin/env python3
"""End-to-end check of AgentGym against OpenAI-compatible servers that this project did NOT write.

What it does (see docs/third-party-server-check.md):
  1. builds a small fixture git repo whose facts are known, a repos-config folder
     (`<tmp>/repos/fixture.yaml`) and a tasks folder (`<tmp>/tasks/l1/fixture/*.yaml`) in the
     original AgentGym formats;
  2. starts a third-party mock server on 127.0.0.1, configured so that for each task it plays a
     scripted agent: a tool call that inspects the repo, a `write_file` tool call with
     eval_artifacts/answer.json, then a plain message (the answers are right for some tasks and
     wrong for others, and one task never writes an answer);
  3. runs `python -m evaluator.run --base-url http://127.0.0.1:PORT/v1 ... --sandbox local`;
  4. checks every `results/fixture/<task>.json` against what it must be, prints PASS/FAIL.

Servers (install them outside the project, e.g. in /tmp):
  fakellm   PyPI `fakellm` (FastAPI/uvicorn; multi-turn rules keyed on conversation turn)
            python3 -m venv /tmp/tps && /tmp/tps/bin/pip install fakellm==0.3.5
  mock-llm  npm `@dwmkerr/mock-llm` (Express; stateless JMESPath rules on the request body)
            mkdir -p /tmp/mockllm && cd /tmp/mockllm && npm install @dwmkerr/mock-llm@0.1.29
  litellm   PyPI `litellm[proxy]` (the LiteLLM proxy; `mock_response` per model alias). It cannot
            script a sequence, so each task gets its own model alias that always returns the same
            reply (the task's write_file call, or its final text), and the evaluator runs once per
            task; a write_file task then loops until max_turns, with the answer already written.
            python3 -m venv /tmp/tps-litellm && /tmp/tps-litellm/bin/pip install 'litellm[proxy]==1.106.12'

Usage:
  python3 tools/check_third_party_server.py [--server fakellm|mock-llm|litellm|all]
      [--fakellm-bin /tmp/tps/bin/fakellm] [--mock-llm-bin /tmp/mockllm/node_modules/.bin/mock-llm]
      [--litellm-bin /tmp/tps-litellm/bin/litellm] [--keep]

Exit codes: 0 when every selected server's results are scored as expected; 1 otherwise; 2 when
a server is not installed or a flag is wrong. Lives in tools/, so pytest does not collect it.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROJECT = Path(__file__).resolve().parent.parent
MODEL = "tp-scripted-agent"
POLICY = {"allowed": ["ls", "pwd", "cat", "head", "tail", "wc", "grep", "find", "python3"],
          "prohibited": ["rm", "sudo", "curl", "wget", "ssh"],
          "write_paths_allowed": ["eval_artifacts/", "/tmp/"]}

# --- the fixture repo: facts known by construction ------------------------------------------
FIXTURE_FILES = {
    "README.md": "\n# Fixture Project\n\nA tiny repo for the third-party server check.\n",
    "LICENSE": "MIT License\n",
    "main.py": "print('hello')\n",
    "pkg/__init__.py": "",
    "pkg/util.py": "def add(a, b):\n    return a + b\n",
    "docs/guide.md": "# Guide\n",
    "data/values.txt": "1\n2\n3\n",
}
FACTS = {"py_files": 3, "md_files": 2, "title": "# Fixture Project", "has_license": True, "top_level": 6}


# --- the scripted agent ---------------------------------------------------------------------
@dataclass
class Step:
    tool: str | None = None  # None: a plain assistant message (ends the task)
    args: dict[str, Any] = field(default_factory=dict)
    text: str = "Done: the answer is in eval_artifacts/answer.json."


def answer(obj: dict[str, Any]) -> Step:
    return Step("write_file", {"path": "eval_artifacts/answer.json", "content": json.dumps(obj)})


@dataclass
class Case:
    id: str  # no id may be a prefix of another: servers match on "Task: <id>" in the prompt
    instruction: str
    output: dict[str, Any]  # one OutputSpec (key, type, oracle, comparator...)
    steps: list[Step]
    expect_success: bool
    expect_failure: str | None
    expect_actual: Any = None


CASES = [
    Case("py_files_right", "How many .py files does the repository contain (ignore .git)? "
         'Write {"py_files": <int>} to eval_artifacts/answer.json.',
         {"key": "py_files", "type": "int",
          "oracle": {"fn": "glob_count", "args": {"glob": "**/*.py", "exclude_dirs": [".git"]}}},
         [Step("run_command", {"command": "find . -name '*.py' -not -path './.git/*' | wc -l"}),
          answer({"py_files": 3}), Step()],
         True, None, 3),
    Case("md_files_wrong", "How many Markdown (.md) files does the repository contain (ignore .git)? "
         'Write {"md_files": <int>} to eval_artifacts/answer.json.',
         {"key": "md_files", "type": "int",
          "oracle": {"fn": "glob_count", "args": {"glob": "**/*.md", "exclude_dirs": [".git"]}}},
         [Step("run_command", {"command": "ls"}), answer({"md_files": 5}), Step()],
         False, "wrong_answer", 5),
    Case("readme_title_right", "What is the first non-empty line of README.md, exactly? "
         'Write {"title": <string>} to eval_artifacts/answer.json.',
         {"key": "title", "type": "str", "oracle": {"fn": "readme_first_nonempty_line", "args": {"path": "README.md"}}},
         [Step("read_file", {"path": "README.md"}), answer({"title": "# Fixture Project"}), Step()],
         True, None, "# Fixture Project"),
    Case("license_wrong", "Does the repository have a LICENSE file at its root? "
         'Write {"has_license": <true|false>} to eval_artifacts/answer.json.',
         {"key": "has_license", "type": "bool", "oracle": {"fn": "has_license_file", "args": {"paths": ["LICENSE"]}}},
         [Step("list_dir", {"path": "."}), answer({"has_license": False}), Step()],
         False, "wrong_answer", False),
    Case("top_level_no_answer", "How many visible top-level entries (files and directories, not hidden) "
         'does the repository have? Write {"top_level": <int>} to eval_artifacts/answer.json.',
         {"key": "top_level", "type": "int", "oracle": {"fn": "top_level_entry_count", "args": {}}},
         [Step("run_command", {"command": "ls | wc -l"}), Step(text="There are 6 entries.")],
         False, "missing_answer", None),
]
ORACLE_TRUTH = {"py_files_right": FACTS["py_files"], "md_files_wrong": FACTS["md_files"],
                "readme_title_right": FACTS["title"], "license_wrong": FACTS["has_license"],
                "top_level_no_answer": FACTS["top_level"]}


# --- fixture, repos-config, tasks -----------------------------------------------------------
def git(*args: str, cwd: Path) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "fx", "GIT_AUTHOR_EMAIL": "fx@example.invalid",
           "GIT_COMMITTER_NAME": "fx", "GIT_COMMITTER_EMAIL": "fx@example.invalid",
           "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


def build_inputs(root: Path) -> tuple[Path, Path]:
    repo = root / "fixture-src"
    for rel, text in FIXTURE_FILES.items():
        p = repo / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    git("init", "-q", "-b", "main", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "fixture", cwd=repo)
    sha = git("rev-parse", "HEAD", cwd=repo)
    repos = root / "repos"
    repos.mkdir()
    (repos / "fixture.yaml").write_text(yaml.safe_dump({"id": "fixture", "url": str(repo), "ref": sha}), encoding="utf-8")
    tasks = root / "tasks"
    tdir = tasks / "l1" / "fixture"
    tdir.mkdir(parents=True)
    for c in CASES:
        spec = {"id": c.id, "repo": "fixture", "difficulty": "easy", "initial_working_dir": ".",
                "instruction": c.instruction, "command_policy": POLICY, "outputs": [c.output],
                "max_commands": 4, "timeout_seconds": 60}
        (tdir / f"{c.id}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return repos, tasks


# --- server configs -------------------------------------------------------------------------
def marker(case: Case) -> str:
    return f"Task: {case.id}"  # the harness's user prompt (evaluator/agent/prompts/user_v1.j2) names the task this way


def fakellm_config() -> dict[str, Any]:
    """fakellm: first match wins; `turn` counts requests per conversation (keyed by the first user message)."""
    rules: list[dict[str, Any]] = []
    for c in CASES:
        for turn, step in enumerate(c.steps, start=1):
            respond = ({"tool_calls": [{"name": step.tool, "arguments": step.args}]} if step.tool
                       else {"content": step.text})
            rules.append({"name": f"{c.id}-turn{turn}", "when": {"turn": turn, "messages_contain": marker(c)},
                          "respond": respond})
    rules.append({"name": "preflight", "when": {"messages_contain": "Reply with OK."}, "respond": {"content": "OK"}})
    rules.append({"name": "unscripted", "respond": {"content": "UNSCRIPTED REQUEST"}})
    return {"version": 1, "rules": rules}


def _completion(step: Step, call_id: str, model: str) -> dict[str, Any]:
    if step.tool:
        message = {"role": "assistant", "content": None, "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": step.tool, "arguments": json.dumps(step.args)}}]}
        finish = "tool_calls"
    else:
        message = {"role": "assistant", "content": step.text}
        finish = "stop"
    return {"id": f"chatcmpl-{call_id}", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}


def _completion_json(step: Step, call_id: str) -> str:
    """mock-llm renders {{timestamp}} and {{jmes request ...}} in its response templates."""
    body = _completion(step, call_id, "{{jmes request body.model}}")
    body["id"] = "chatcmpl-{{timestamp}}"
    return json.dumps(body)


def mock_llm_config() -> dict[str, Any]:
    """mock-llm: LAST match wins; stateless rules on the request body (which task, how many messages so far)."""
    path = "/v1/chat/completions"
    rules: list[dict[str, Any]] = [
        {"path": path, "method": "POST", "match": "@", "response": {"status": 200, "content": _completion_json(Step(text="UNSCRIPTED REQUEST"), "x")}},
        {"path": path, "method": "POST", "match": "length(body.messages) == `1`",  # the harness's preflight
         "response": {"status": 200, "content": _completion_json(Step(text="OK"), "x")}},
    ]
    for c in CASES:
        for turn, step in enumerate(c.steps, start=1):
            n_messages = 2 * turn  # system+user, then one assistant tool call + one tool result per turn
            rules.append({"path": path, "method": "POST",
                          "match": f"length(body.messages) == `{n_messages}` && contains(to_string(body.messages[1].content), '{marker(c)}')",
                          "response": {"status": 200, "content": _completion_json(step, f"call_{c.id}_{turn}")}})
    rules.append({"path": "/v1/models", "method": "GET",
                  "response": {"status": 200, "content": json.dumps({"object": "list", "data": [{"id": MODEL, "object": "model"}]})}})
    return {"rules": rules}



def litellm_model(case: Case) -> str:
    return f"fx-{case.id}"


def litellm_step(case: Case) -> Step:
    """The one reply LiteLLM repeats for a task: its write_file call, or its final text when it writes none."""
    return next((st for st in case.steps if st.tool == "write_file"), case.steps[-1])


def litellm_config() -> dict[str, Any]:
    """LiteLLM proxy: one model alias per task, each with a fixed `mock_response` (a full completion object)."""
    models = [{"model_name": litellm_model(c),
               "litellm_params": {"model": f"openai/{litellm_model(c)}", "api_key": "not-used",
                                  "mock_response": _completion(litellm_step(c), f"call_{c.id}", litellm_model(c))}}
              for c in CASES]
    return {"model_list": models, "litellm_settings": {"telemetry": False}}


# --- running a server -----------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"server did not answer {url} within {seconds}s")


def start_server(name: str, work: Path, args: argparse.Namespace) -> tuple[subprocess.Popen, int, Any]:
    port = free_port()
    log = open(work / f"{name}.log", "w")  # noqa: SIM115 - closed by the caller
    if name == "fakellm":
        cfg = work / "fakellm.yaml"
        cfg.write_text(yaml.safe_dump(fakellm_config(), sort_keys=False), encoding="utf-8")
        cmd = [args.fakellm_bin, "serve", "--host", "127.0.0.1", "--port", str(port), "--config", str(cfg)]
        env, probe = dict(os.environ), f"http://127.0.0.1:{port}/_fakellm/stats"
    elif name == "litellm":
        cfg = work / "litellm.yaml"
        cfg.write_text(yaml.safe_dump(litellm_config(), sort_keys=False), encoding="utf-8")
        cmd = [args.litellm_bin, "--config", str(cfg), "--host", "127.0.0.1", "--port", str(port)]
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env.update({"LITELLM_MASTER_KEY": args.litellm_key, "LITELLM_LOCAL_MODEL_COST_MAP": "True",
                    "LITELLM_TELEMETRY": "False"})
        probe = f"http://127.0.0.1:{port}/health/liveliness"
    else:
        cfg = work / "mock-llm.yaml"
        cfg.write_text(yaml.safe_dump(mock_llm_config(), sort_keys=False, width=10_000), encoding="utf-8")
        cmd = [args.mock_llm_bin, "--config", str(cfg)]
        env, probe = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port)}, f"http://127.0.0.1:{port}/health"
    proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_http(probe, proc, 120)
    except Exception:
        stop_server(proc)
        log.close()
        raise
    return proc, port, log


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- checking -------------------------------------------------------------------------------
@dataclass
class Expect:
    success: bool
    failure: str | None
    stop: str
    turns: int


def expectation(case: Case, server: str) -> Expect:
    if server != "litellm":  # the whole scripted sequence is played, ending with a plain message
        return Expect(case.expect_success, case.expect_failure, "completed", len(case.steps))
    if litellm_step(case).tool is None:  # the fixed reply is the final text: one turn, no answer
        return Expect(case.expect_success, case.expect_failure, "completed", 1)
    # the fixed reply is the write_file call, repeated until the turn limit (2 * max_commands + 4)
    return Expect(case.expect_success, None if case.expect_success else "max_turns", "max_turns", 2 * 4 + 4)


def check_result(case: Case, server: str, run_dir: Path) -> list[str]:
    """Problems found with one task's result; empty means it was scored as it must be."""
    path = run_dir / "results" / "fixture" / f"{case.id}.json"
    if not path.is_file():
        print(f"  [BAD] {case.id:22s} no result file")
        return [f"{case.id}: no result file {path}"]
    r = json.loads(path.read_text(encoding="utf-8"))
    check = (r.get("output_checks") or [{}])[0]
    m = r.get("metrics", {})
    exp = expectation(case, server)
    got = (f"success={r.get('success')} failure_reason={r.get('failure_reason')} stop_reason={r.get('stop_reason')} "
           f"turns={m.get('turns')} tool_calls={m.get('tool_calls')} expected={check.get('expected')!r} "
           f"actual={check.get('actual')!r}")
    bad = []
    if r.get("success") is not exp.success:
        bad.append(f"success should be {exp.success}")
    if r.get("failure_reason") != exp.failure:
        bad.append(f"failure_reason should be {exp.failure}")
    if r.get("stop_reason") != exp.stop:
        bad.append(f"stop_reason should be {exp.stop}")
    if m.get("turns") != exp.turns:
        bad.append(f"turns should be {exp.turns}")
    if check.get("expected") != ORACLE_TRUTH[case.id]:
        bad.append(f"oracle expected should be {ORACLE_TRUTH[case.id]!r}")
    if case.expect_actual is not None and check.get("actual") != case.expect_actual:
        bad.append(f"actual should be {case.expect_actual!r}")
    print(f"  [{'ok ' if not bad else 'BAD'}] {case.id:22s} {got}")
    return [f"{case.id}: {b} ({got})" for b in bad]


def evaluate(port: int, model: str, api_key: str, repos: Path, tasks: Path, cache: Path, runs_root: Path,
             only: str | None = None) -> tuple[int, Path | None]:
    """One `python -m evaluator.run` against the server; its exit code and run dir."""
    cmd = [sys.executable, "-m", "evaluator.run", "--base-url", f"http://127.0.0.1:{port}/v1", "--model", model,
           "--api-key", api_key, "--repos-config", str(repos), "--tasks-dir", str(tasks),
           "--cache-dir", str(cache), "--sandbox", "local", "--quiet", "--runs-root", str(runs_root)]
    if only:
        cmd += ["--tasks", only]
    shown = ["***" if i and cmd[i - 1] == "--api-key" else a for i, a in enumerate(cmd)]
    print("   $ " + " ".join(shown))
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "BASE_URL", "MODEL_NAME", "OPENAI_MODEL")}
    before = set(runs_root.glob("*")) if runs_root.is_dir() else set()
    t0 = time.monotonic()
    res = subprocess.run(cmd, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600)
    print(f"   exit code {res.returncode} after {time.monotonic() - t0:.1f}s")
    for label, text in (("stdout", res.stdout), ("stderr", res.stderr)):
        if text.strip():
            print(f"   {label}: " + text.strip()[-3000:].replace("\n", "\n           "))
    new = sorted(p for p in set(runs_root.glob("*")) - before if (p / "results").is_dir())
    return res.returncode, (new[-1] if new else None)


def run_one(name: str, root: Path, repos: Path, tasks: Path, args: argparse.Namespace) -> bool:
    work = root / name
    work.mkdir()
    runs_root, cache = work / "runs", root / "cache"
    print(f"== {name}: starting the server on 127.0.0.1")
    proc, port, log = start_server(name, work, args)
    problems: list[str] = []
    try:
        if name == "litellm":  # one model alias, and so one evaluator run, per task
            jobs = [(litellm_model(c), c.id, [c]) for c in CASES]
            key = args.litellm_key
        else:
            jobs = [(MODEL, None, CASES)]
            key = "not-used"
        for model, only, cases in jobs:
            rc, run_dir = evaluate(port, model, key, repos, tasks, cache, runs_root, only)
            if rc != 0 or run_dir is None:
                problems.append(f"evaluator exit {rc} for model {model} (run dir {run_dir})")
                continue
            print(f"   run dir {run_dir}")
            for c in cases:
                problems += check_result(c, name, run_dir)
    finally:
        stop_server(proc)
        log.close()
    for p in problems:
        print(f"   problem: {p}")
    print(f"== {name}: {'PASS' if not problems else 'FAIL'}" + (f" (server log: {work / (name + '.log')})" if problems else ""))
    return not problems


def main() -> int:
    p = argparse.ArgumentParser(prog="python3 tools/check_third_party_server.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--server", choices=["fakellm", "mock-llm", "litellm", "all"], default="all",
                   help="Which third-party server to check (default: all three).")
    p.add_argument("--fakellm-bin", default=os.environ.get("FAKELLM_BIN", "/tmp/tps/bin/fakellm"),
                   help="The fakellm executable (default: $FAKELLM_BIN or /tmp/tps/bin/fakellm).")
    p.add_argument("--mock-llm-bin", default=os.environ.get("MOCK_LLM_BIN", "/tmp/mockllm/node_modules/.bin/mock-llm"),
                   help="The mock-llm executable (default: $MOCK_LLM_BIN or /tmp/mockllm/node_modules/.bin/mock-llm).")
    p.add_argument("--litellm-bin", default=os.environ.get("LITELLM_BIN", "/tmp/tps-litellm/bin/litellm"),
                   help="The litellm executable (default: $LITELLM_BIN or /tmp/tps-litellm/bin/litellm).")
    p.add_argument("--keep", action="store_true", help="Keep the temp dir (fixture, configs, server logs, runs) (default off: removed).")
    args = p.parse_args()
    names = ["fakellm", "mock-llm", "litellm"] if args.server == "all" else [args.server]
    bins = {"fakellm": args.fakellm_bin, "mock-llm": args.mock_llm_bin, "litellm": args.litellm_bin}
    missing = [n for n in names if not shutil.which(bins[n])]
    args.litellm_key = "sk-" + secrets.token_hex(24)  # the proxy refuses to start without a strong master key
    if missing:
        print(f"not installed: {', '.join(missing)} (see the install commands at the top of this file)", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="agentgym-tps-"))
    try:
        repos, tasks = build_inputs(root)
        print(f"fixture, repos-config and tasks under {root}")
        results = {n: run_one(n, root, repos, tasks, args) for n in names}
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    print("SUMMARY: " + ", ".join(f"{n} {'PASS' if ok else 'FAIL'}" for n, ok in results.items()))
    ok = all(results.values())
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
