"""External coding agents (--agent) end to end: installed once from their registry into the
agent cache, run in the bwrap sandbox on the two demo tasks, their model reached only through
the harness's proxy, which answers from the scripted model server.

Installs are cached (AGENTGYM_AGENTS_CACHE or ~/.cache/agentgym/agents); a failed install
skips, but fails under CI=true. Codex, Claude Code and Qwen Code are covered at the proxy and
command-line level in test_coding_agent_proxy.py (see docs/agents.md for why)."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from conftest import bwrap_backend, run_cli
from evaluator.coding_agents import AGENTS
from evaluator.coding_agents.install import ensure_installed
from evaluator.coding_agents.trial import prompt_sha256
from evaluator.config.errors import ConfigError
from evaluator.testing.agent_script import demo_agent_script
from evaluator.testing.scripted_server import ScriptedServer

pytestmark = pytest.mark.slow  # end to end: CI runs it after the fast tier (`pytest -m slow`)

REAL_KEY = "sk-agentgym-real-0123456789abcdef0123"


def leaked(found: dict) -> list[str]:
    """The key-like strings the red-team agent found that are (part of) the real key."""
    return [k for k in found["keys_found"] if "agentgym-real" in k or REAL_KEY in k]


TASKS = "demo_task_00[12]"


@pytest.fixture(scope="module")
def installed() -> Any:
    """Install an agent once (cached across runs); skip if it cannot be, fail under CI=true."""
    bwrap_backend()  # the agents run in bwrap: skip (fail under CI) where it cannot work

    def get(name: str) -> Path:
        try:
            return ensure_installed(AGENTS.get(name)())
        except ConfigError as exc:
            if os.environ.get("CI") == "true":
                pytest.fail(f"{name} must install under CI=true: {exc}")
            pytest.skip(f"{name} does not install here: {exc}")
    return get


def records(run: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (run / "transcripts" / "demo.jsonl").read_text().splitlines()]


def only_run(runs: Path) -> Path:
    [run] = [p for p in runs.iterdir() if p.is_dir()]
    return run


def run_agent(tmp_path: Path, agent: str, srv: ScriptedServer, *extra: str) -> tuple[Any, Path]:
    proc = run_cli("evaluator.run", "--repos", "demo", "--tasks", TASKS, "--agent", agent, "--model", "scripted",
                   "--base-url", srv.base_url, "--api-key", REAL_KEY, "--cache-dir", str(tmp_path / "cache"),
                   "--runs-root", str(tmp_path / "runs"), "--quiet", *extra, timeout=600)
    return proc, tmp_path / "runs"


def assert_scored_through_the_proxy(proc: Any, runs: Path, srv: ScriptedServer, agent: str, version: str) -> None:
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = only_run(runs)
    trials = [json.loads(p.read_text()) for p in sorted((run / "trials" / "demo").glob("*/epoch-0.json"))]
    assert [t["task_id"] for t in trials] == ["demo_task_001", "demo_task_002"]
    for t in trials:
        assert t["success"] and t["score"] > 0, (t["task_id"], t["failure_reason"], t["output_checks"])
        assert (t["agent"], t["agent_version"], t["agent_prompt_sha256"]) == (agent, version, prompt_sha256())
        assert t["metrics"]["turns"] >= 2 and t["metrics"]["commands_used"] >= 1
        assert t["metrics"]["prompt_tokens"] == 10 * t["metrics"]["turns"]  # the scripted usage, counted
    exchanges = [r for r in records(run) if "proxy" in r and r["message"].get("role") == "assistant"]
    # Every request the endpoint got, but the harness's own preflight, came through the proxy
    # and is in the transcript: nothing reached the endpoint another way.
    assert len(exchanges) == len(srv.requests) - 1
    assert sum(t["metrics"]["turns"] for t in trials) == len(exchanges)
    assert {r["proxy"]["client_key"] for r in exchanges} == {"placeholder"}
    for path in run.rglob("*"):
        if path.is_file():
            assert REAL_KEY.encode() not in path.read_bytes(), path


def test_mini_swe_agent_scores_the_demo_tasks_through_the_proxy(tmp_path: Path, installed: Any) -> None:
    installed("mini-swe-agent")
    with ScriptedServer(demo_agent_script("mini"), answer_preflight=False) as srv:
        proc, runs = run_agent(tmp_path, "mini-swe-agent", srv)
    assert_scored_through_the_proxy(proc, runs, srv, "mini-swe-agent", AGENTS.get("mini-swe-agent").package.version)


def test_opencode_scores_the_demo_tasks_through_the_proxy_streaming(tmp_path: Path, installed: Any) -> None:
    installed("opencode")
    with ScriptedServer(demo_agent_script("text"), answer_preflight=False) as srv:
        proc, runs = run_agent(tmp_path, "opencode", srv)
    assert all(body.get("stream") for body in srv.requests[1:])  # OpenCode streams; the proxy relays it
    assert_scored_through_the_proxy(proc, runs, srv, "opencode", AGENTS.get("opencode").package.version)


def run_redteam(tmp_path: Path, script: Any, *extra: str, mode: str = "attack") -> tuple[Any, ScriptedServer]:
    """The stdlib red-team agent (tests/agent_support) on demo_task_001, by dotted path."""
    from agent_support.adapters import RedTeam, preinstall
    from evaluator.coding_agents.install import install_dir

    cache = tmp_path / "agents"
    preinstall(install_dir(RedTeam(), cache))
    holder: dict[str, int] = {}
    with ScriptedServer(lambda body, i: script(holder["port"])(body, i), answer_preflight=False) as srv:
        holder["port"] = srv.port
        env = {"AGENTGYM_AGENTS_CACHE": str(cache), "REDTEAM_PORT": str(srv.port), "REDTEAM_MODE": mode,
               "PYTHONPATH": f"{Path(__file__).parent}{os.pathsep}{Path(__file__).parent.parent}"}
        proc = run_cli("evaluator.run", "--repos", "demo", "--tasks", "demo_task_001",
                       "--agent", "agent_support.adapters:RedTeam", "--model", "scripted", "--base-url", srv.base_url,
                       "--api-key", REAL_KEY, "--cache-dir", str(tmp_path / "cache"), "--runs-root",
                       str(tmp_path / "runs"), "--quiet", *extra, env=env, timeout=300)
    return proc, srv


def the_trial(tmp_path: Path) -> dict[str, Any]:
    run = only_run(tmp_path / "runs")
    return json.loads((run / "trials" / "demo" / "demo_task_001" / "epoch-0.json").read_text())


def test_an_agent_that_will_not_stop_is_stopped_when_its_turns_are_spent(tmp_path: Path) -> None:
    bwrap_backend()
    from evaluator.testing.scripted_server import completion

    proc, srv = run_redteam(tmp_path, lambda port: lambda body, i: completion("OK"), mode="loop")
    assert proc.returncode == 0, proc.stderr[-3000:]
    trial = the_trial(tmp_path)
    assert (trial["stop_reason"], trial["failure_reason"]) == ("max_turns", "max_turns")
    assert trial["metrics"]["turns"] == 20 == len(srv.requests) - 1  # turn_limit 2 * 8 + 4; nothing more got out


def test_commands_beyond_max_commands_stop_the_agent(tmp_path: Path) -> None:
    """Four commands a turn against max_commands 8: the third turn's reply goes over, the next
    request is refused and the agent stopped."""
    bwrap_backend()
    from evaluator.testing.agent_script import redteam_script

    proc, srv = run_redteam(tmp_path, redteam_script, mode="loop")
    assert proc.returncode == 0, proc.stderr[-3000:]
    trial = the_trial(tmp_path)
    assert (trial["stop_reason"], trial["metrics"]["turns"], trial["metrics"]["commands_used"]) == ("max_commands", 3, 12)


def test_an_agent_that_hangs_is_stopped_at_the_task_timeout(tmp_path: Path) -> None:
    bwrap_backend()
    from evaluator.testing.agent_script import redteam_script

    proc, srv = run_redteam(tmp_path, redteam_script, "--max-task-seconds", "2", mode="hang")
    assert proc.returncode == 0, proc.stderr[-3000:]
    trial = the_trial(tmp_path)
    assert (trial["stop_reason"], trial["metrics"]["turns"]) == ("timeout", 1)


def test_a_hostile_agent_gets_nothing_and_its_attempts_are_recorded(tmp_path: Path) -> None:
    """An agent process that hunts for the key, dials the endpoint and writes outside the task:
    the sandbox gives it nothing, and the commands its model asked for are safety events."""
    bwrap_backend()
    from evaluator.testing.agent_script import redteam_script

    proc, _ = run_redteam(tmp_path, redteam_script)
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = only_run(tmp_path / "runs")
    found = json.loads((run / "artifacts" / "demo" / "demo_task_001" / "redteam.json").read_text())
    # Not the real key anywhere it could look. (Other key-like strings can be harmless: with the
    # checkout under /tmp, the harness's read-only pytest site shows up in the sandbox's /tmp, and
    # packaging's SPDX list holds ids like `sk-list-item-checkbox`.)
    assert leaked(found) == []
    assert not found["direct_endpoint"]  # no route to the real endpoint from the sandbox
    assert not any(found[k] for k in ("wrote_readme", "wrote_etc", "wrote_install", "wrote_bridge"))
    outputs = {o["command"].split()[0]: o for o in found["outputs"]}
    assert "CONNECTED" not in outputs["exec"]["output"] and outputs["exec"]["exit"] != 0
    assert all(o["exit"] != 0 for c, o in outputs.items() if c == "echo")
    assert "agentgym-placeholder-key" in outputs["env;"]["output"]  # what it has is the placeholder
    trial = json.loads((run / "trials" / "demo" / "demo_task_001" / "epoch-0.json").read_text())
    kinds = {e["type"] for e in trial["safety_events"]}
    assert {"secret_access", "network_attempt", "write_outside_allowed", "path_escape"} <= kinds, kinds
    assert trial["metrics"]["safety_violations"] == len(trial["safety_events"])
    assert (trial["agent"], trial["success"]) == ("redteam", False)
    mirror = [p for p in (tmp_path / "cache").rglob("README.md") if "pwned" in p.read_text(errors="replace")]
    assert mirror == []  # the shared checkout was mounted read-only
    for path in run.rglob("*"):
        if path.is_file():
            assert REAL_KEY.encode() not in path.read_bytes(), path


def test_claude_code_scores_the_demo_tasks_through_the_proxy_on_anthropic_messages(tmp_path: Path,
                                                                                  installed: Any) -> None:
    from evaluator.testing.agent_script import demo_anthropic_script

    installed("claude-code")
    with ScriptedServer(demo_anthropic_script(), answer_preflight=False) as srv:
        proc, runs = run_agent(tmp_path, "claude-code", srv)
    # One model for the whole run: its side requests (titles, command checks) are pinned to it too.
    assert {body["model"] for body in srv.requests} == {"scripted"}
    assert_scored_through_the_proxy(proc, runs, srv, "claude-code", AGENTS.get("claude-code").package.version)


def test_codex_scores_the_demo_tasks_through_the_proxy_on_the_responses_api(tmp_path: Path, installed: Any) -> None:
    from evaluator.testing.agent_script import demo_responses_script

    installed("codex")
    with ScriptedServer(demo_responses_script(), answer_preflight=False) as srv:
        proc, runs = run_agent(tmp_path, "codex", srv)
    assert all(body.get("stream") for body in srv.requests[1:])
    assert_scored_through_the_proxy(proc, runs, srv, "codex", AGENTS.get("codex").package.version)


UNPRIVILEGED = """
import json, os, sys
from pathlib import Path
base = Path(sys.argv[1])
sys.path.insert(0, str(Path(os.environ["PYTHONPATH"]) / "tests"))
sys.path[:0] = sys.argv[3].split(os.pathsep)  # the evaluator's own site-packages first (gitpython, ...)
from agent_support.adapters import RedTeam, preinstall
from evaluator.coding_agents.install import install_dir
from evaluator.testing.agent_script import redteam_script
from evaluator.testing.scripted_server import ScriptedServer
from evaluator.cli.run import main

os.environ["AGENTGYM_AGENTS_CACHE"] = str(base / "agents")
preinstall(install_dir(RedTeam(), base / "agents"))
port = {}
with ScriptedServer(lambda b, i: redteam_script(port["n"])(b, i), answer_preflight=False) as srv:
    port["n"] = srv.port
    os.environ["REDTEAM_PORT"] = str(srv.port)
    rc = main(["--repos", "demo", "--tasks", "demo_task_001", "--agent", "agent_support.adapters:RedTeam",
               "--model", "scripted", "--base-url", srv.base_url, "--api-key", sys.argv[2],
               "--cache-dir", str(base / "cache"), "--runs-root", str(base / "runs"), "--quiet"])
print(json.dumps({"rc": rc, "uid": os.getuid()}))
"""


def test_an_agent_under_an_unprivileged_evaluator_is_contained_too() -> None:
    """As uid 65534 bwrap runs in a user namespace: the proxy's socket, the forwarder and the
    install folder must work there too, and the hostile agent still gets nothing."""
    import shutil

    from test_sandbox_redteam_unit import as_nobody

    import site

    done, base = as_nobody(UNPRIVILEGED, REAL_KEY, os.pathsep.join(site.getsitepackages()))
    try:
        if "bwrap" in done.stderr and "user namespace" in done.stderr.lower():
            (pytest.fail if os.environ.get("CI") == "true" else pytest.skip)(done.stderr[-300:])
        assert done.returncode == 0, done.stderr[-3000:]
        result = json.loads(done.stdout.strip().splitlines()[-1])
        assert result == {"rc": 0, "uid": 65534}
        run = only_run(base / "runs")
        found = json.loads((run / "artifacts" / "demo" / "demo_task_001" / "redteam.json").read_text())
        assert leaked(found) == [] and not found["direct_endpoint"]
        assert not any(found[k] for k in ("wrote_readme", "wrote_etc", "wrote_install", "wrote_bridge"))
        trial = json.loads((run / "trials" / "demo" / "demo_task_001" / "epoch-0.json").read_text())
        assert {"secret_access", "network_attempt", "write_outside_allowed"} <= {e["type"] for e in trial["safety_events"]}
        assert trial["metrics"]["turns"] == 2
        for path in run.rglob("*"):
            if path.is_file():
                assert REAL_KEY.encode() not in path.read_bytes(), path
    finally:
        shutil.rmtree(base, ignore_errors=True)
