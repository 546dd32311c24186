"""One task run by an external coding agent: install, proxy, sandbox, then the usual scoring.

The agent process runs inside the task's sandbox with a scratch HOME, the task's ceilings and
no network. Its model traffic goes to 127.0.0.1:PORT, a forwarder started in the same sandbox
command, and on through a bind-mounted Unix socket to the harness's ModelProxy, which holds
the real key and writes the transcript. The result has the same metrics as our own loop's.
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import posixpath
import re
import secrets
import shlex
import shutil
import tempfile
from pathlib import Path
from typing import Any

from jinja2 import Template

from evaluator.agent.loop import LoopOutcome
from evaluator.coding_agents import AGENTS
from evaluator.coding_agents.base import CodingAgent, LaunchContext
from evaluator.coding_agents.install import ensure_installed
from evaluator.coding_agents.proxy import ModelProxy, ProxyBudget
from evaluator.coding_agents.upstream import Upstream
from evaluator.models.endpoint import normalize_base_url
from evaluator.results.records import SafetyEvent
from evaluator.sandbox import SandboxBackend, SandboxPaths
from evaluator.sandbox.policy import rules as policy
from evaluator.tasks.specs import Limits, TaskSpec

PORT = 18080
PROMPT_FILE = Path(__file__).with_name("prompt_v1.j2")
FORWARDER = Path(__file__).with_name("forwarder.py")
GRACE_S = 5.0  # after the task's time is up, before the agent's sandbox is torn down


def agent_limits(agent: CodingAgent, limits: Limits, timeout_s: float) -> Limits:
    """The task's ceilings, with two changes an agent process needs: RLIMIT_CPU counts the whole
    agent run (not one command), so it gets the task's time; and runtimes such as Bun reserve
    more address space at start than RLIMIT_AS allows, so an adapter may ask for more memory
    (its `min_memory_mb`), which is then the task's memory ceiling too."""
    cpu = max(limits.cpu_seconds, int(timeout_s + GRACE_S))
    memory = max(limits.memory_mb, int(getattr(agent, "min_memory_mb", 0) or 0))
    return limits.model_copy(update={"cpu_seconds": cpu, "memory_mb": memory})


def load_agent(name: str) -> CodingAgent:
    cls = AGENTS.get(name)
    return cls() if isinstance(cls, type) else cls


def prompt_template() -> Template:
    return Template(PROMPT_FILE.read_text(encoding="utf-8"), keep_trailing_newline=True)


def prompt_sha256() -> str:
    return hashlib.sha256(PROMPT_FILE.read_bytes()).hexdigest()[:16]


class AgentTools:
    """What the scoring reads from a Toolbox (events, commands), filled from the tool calls the
    proxy saw. Text-level, as for our own loop's `record` policy: nothing is refused here, the
    sandbox is what contains the agent; an external agent's exit codes are not seen, so every
    command counts as valid."""

    def __init__(self, task: TaskSpec, workdir: str, tmp: str = "/tmp") -> None:
        self.task, self.workdir, self.tmp = task, workdir, tmp
        self.events: list[SafetyEvent] = []
        self.commands = self.commands_ok = 0

    def _add(self, finding: policy.PolicyFinding, tool: str, call: str) -> None:
        self.events.append(SafetyEvent(type=finding.type, tool=tool or "tool_call", call=call[:500],
                                       detail=finding.detail, refused=False))

    def command(self, tool: str, text: str) -> None:
        self.commands += 1
        self.commands_ok += 1
        cp = self.task.command_policy
        for f in [*policy.check_command(text, allowed=cp.allowed, prohibited=cp.prohibited), *policy.detect_risky(text)]:
            self._add(f, tool, text)
        for target in _REDIRECT.findall(text):
            self._write(tool, target, text)

    def write(self, tool: str, path: str) -> None:
        self._write(tool, path, path)

    def _write(self, tool: str, path: str, call: str) -> None:
        if path.startswith("/dev/") or "$" in path:  # /dev/null and the like; expansions are not guessed
            return
        full = posixpath.normpath(posixpath.join(self.workdir, path))
        root = "/workspace"
        finding = policy.check_write_path(full, work_root=root, tmp_root=self.tmp,
                                          write_paths_allowed=self.task.command_policy.write_paths_allowed)
        if finding is not None:
            self._add(finding, tool, call)


# `> file`, `>> file`, `>| file` (not 2>&1, not <>) at the text level, like detect_risky.
_REDIRECT = re.compile(r"(?<![<>&0-9])[0-9]?>{1,2}\|?\s*([^\s;&|<>()'\"`]+)")


class AgentRun:
    def __init__(self, agent: CodingAgent, install: Path, *, model: str, upstream: Upstream) -> None:
        self.agent, self.install, self.model, self.upstream = agent, install, model, upstream

    async def run(self, backend: SandboxBackend, task: TaskSpec, paths: SandboxPaths, prompt: str,
                  budget: ProxyBudget, record: Any) -> tuple[LoopOutcome, AgentTools]:
        tools = AgentTools(task, workdir_of(task))
        # The socket is a capability to the real key: its folder cannot be listed (0711) and its
        # name is random, so only the sandbox it is handed to can find it on a shared host.
        bridge = Path(tempfile.mkdtemp(prefix="agentgym-proxy-"))
        bridge.chmod(0o711)
        sock = bridge / f"{secrets.token_hex(16)}.sock"
        proxy = ModelProxy(sock, self.upstream, budget,
                           lambda message, meta: record(message, meta, key="proxy"), tools)
        try:
            shutil.copy(FORWARDER, bridge / "forwarder.py")
            (bridge / "forwarder.py").chmod(0o644)
            (bridge / "prompt.txt").write_text(prompt, encoding="utf-8")
            (bridge / "prompt.txt").chmod(0o644)
            await proxy.start()
            box_paths = paths.model_copy(update={"ro_binds": [*paths.ro_binds, self.install, bridge]})
            limits = agent_limits(self.agent, task.limits or Limits(), budget.timeout_s)
            sandbox = await asyncio.to_thread(backend.open, box_paths, limits=limits, env=task.env)
            try:
                result = await self._drive(sandbox, proxy, bridge, sock, task, prompt, budget.timeout_s)
            finally:
                await sandbox.close()
        finally:
            await proxy.close()
            shutil.rmtree(bridge, ignore_errors=True)
        if result is not None:  # the agent's own output, as the sandbox kept it
            record({"role": "agent_process", "content": f"the agent exited with code {result.exit_code}"},
                   result.model_dump())
            if result.limit:  # the task's ceilings, as for a command of our own loop
                tools.events.append(SafetyEvent(type="resource_limit", tool="agent_process", call=self.agent.name,
                                                detail=f"the agent's processes hit the {result.limit} limit",
                                                refused=False))
        return self._outcome(proxy, result), tools

    def command(self, bridge: Path, sock: Path, workdir: str, home: str, prompt: str) -> str:
        ctx = LaunchContext(install_dir=self.install, base_url=f"http://127.0.0.1:{PORT}/v1", model=self.model,
                            prompt=prompt, prompt_file=str(bridge / "prompt.txt"), workdir=workdir, home=home)
        launch = self.agent.launch(ctx)
        exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in launch.env.items())
        return (f"python3 {shlex.quote(str(bridge / 'forwarder.py'))} {shlex.quote(str(sock))} {PORT}"
                f" || exit 97\n{exports}cd {shlex.quote(workdir)} || exit 98\n"
                f"exec {shlex.join(launch.argv)} </dev/null")

    async def _drive(self, sandbox: Any, proxy: ModelProxy, bridge: Path, sock: Path, task: TaskSpec, prompt: str,
                     timeout_s: float) -> Any:
        workdir = workdir_of(task)
        home = "/home/sandbox"
        run = asyncio.ensure_future(sandbox.exec(self.command(bridge, sock, workdir, home, prompt), cwd=sandbox.root,
                                                 timeout_s=timeout_s + GRACE_S))
        spent = asyncio.ensure_future(proxy.spent.wait())
        await asyncio.wait({run, spent}, return_when=asyncio.FIRST_COMPLETED)
        if not run.done():  # a budget ran out: the agent is stopped with its sandbox
            await sandbox.close()
            run.cancel()
        spent.cancel()
        try:
            return await run
        except asyncio.CancelledError:
            if not run.cancelled():
                raise
            return None

    @staticmethod
    def _outcome(proxy: ModelProxy, result: Any) -> LoopOutcome:
        s = proxy.stats
        if s.stop_reason:
            reason = s.stop_reason
        elif result is not None and result.timed_out:
            reason = "timeout"
        elif result is not None and result.exit_code != 0 and s.error:
            reason = "api_error"
        else:
            reason = "completed"
        out = LoopOutcome(stop_reason=reason, turns=s.turns, tool_calls=len(s.commands),
                          prompt_tokens=s.prompt_tokens, completion_tokens=s.completion_tokens,
                          model_time_s=s.model_time_s, response_models=list(s.response_models))
        if reason == "api_error":
            out.error = s.error
        return out


def agent_run(cfg: Any) -> AgentRun:
    """The agent named by cfg.agent, installed (once, cached), ready to run tasks. Raises ConfigError."""
    agent = load_agent(cfg.agent)
    install = ensure_installed(agent)
    upstream = Upstream(base_url=normalize_base_url(cfg.base_url),
                        api_key=cfg.api_key.get_secret_value() if cfg.api_key else None,
                        request_timeout_s=cfg.request_timeout_s, max_attempts=cfg.max_attempts)
    return AgentRun(agent, install, model=cfg.model, upstream=upstream)


def agent_prompt(task: TaskSpec, commit: str, keys: list[str], backend: str) -> str:
    return prompt_template().render(task=task, commit=commit, keys=keys, workdir=workdir_of(task))


def workdir_of(task: TaskSpec) -> str:
    """The task's working directory as the sandbox shows it (bwrap mounts the copy at /workspace)."""
    rel = os.path.normpath(task.initial_working_dir)
    return "/workspace" if rel == "." else f"/workspace/{rel}"


def agent_identity(name: str) -> dict[str, Any]:
    agent = load_agent(name)
    return {"agent": agent.name, "agent_version": agent.package.version, "agent_prompt_sha256": prompt_sha256()}
