"""The built-in adapters: one class per agent, each only a command line and an environment.

Every agent is started non-interactively, with permission prompts off (the sandbox is the
permission system), pointed at the harness's model proxy with a placeholder key, and with
its config and state kept in the scratch HOME.
"""
from __future__ import annotations

import json
import platform
import shutil
import subprocess
from pathlib import Path
from typing import ClassVar

from evaluator.coding_agents.base import Launch, LaunchContext, Package, Wire


def _node_major() -> int | None:
    node = shutil.which("node")
    if node is None:
        return None
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
        return int(out.strip().lstrip("v").split(".")[0])
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


# Without it, Node reserves ~10 GB of address space per WebAssembly instance (its fetch uses
# one), which RLIMIT_AS refuses; with it, wasm bounds are checked in code instead.
NODE_ENV = {"NODE_OPTIONS": "--disable-wasm-trap-handler"}


def _platform_tag() -> str:
    return {"x86_64": "x64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


class MiniSweAgent:
    """mini-swe-agent (PyPI): bash-only agent over litellm; Chat Completions with one `bash` tool."""

    name: ClassVar[str] = "mini-swe-agent"
    package: ClassVar[Package] = Package(source="pypi", name="mini-swe-agent", version="2.4.6")
    wire: ClassVar[Wire] = "chat"
    requirement: ClassVar[str | None] = None

    def check_installed(self, install_dir: Path) -> str | None:
        ok = (install_dir / "site" / "minisweagent" / "run" / "mini.py").is_file()
        return None if ok else "minisweagent/run/mini.py is missing from the install"

    def launch(self, ctx: LaunchContext) -> Launch:
        argv = ["python3", "-m", "minisweagent.run.mini", "--yolo", "--exit-immediately",
                "-m", f"openai/{ctx.model}", "-c", "mini.yaml",
                "-c", f"model.model_kwargs.api_base={ctx.base_url}",
                "-c", "agent.cost_limit=0", "-c", f"environment.cwd={ctx.workdir}",
                "-o", f"{ctx.home}/trajectory.json", "-t", ctx.prompt]
        env = {"PYTHONPATH": str(install_dir_site(ctx.install_dir)), "OPENAI_API_KEY": ctx.api_key,
               "MSWEA_CONFIGURED": "true", "MSWEA_SILENT_STARTUP": "1", "MSWEA_COST_TRACKING": "ignore_errors",
               "MSWEA_GLOBAL_CONFIG_DIR": f"{ctx.home}/.config/mini-swe-agent",
               "LITELLM_LOCAL_MODEL_COST_MAP": "True", "PAGER": "cat"}
        return Launch(argv=argv, env=env)


def install_dir_site(install_dir: Path) -> Path:
    return install_dir / "site"


class OpenCode:
    """OpenCode (npm `opencode-ai`): a compiled binary; Chat Completions via its openai-compatible provider."""

    name: ClassVar[str] = "opencode"
    package: ClassVar[Package] = Package(source="npm", name="opencode-ai", version="1.18.33")
    wire: ClassVar[Wire] = "chat"
    requirement: ClassVar[str | None] = "Linux x64 or arm64"
    min_memory_mb: ClassVar[int] = 16384  # Bun reserves far more address space than a 2 GB RLIMIT_AS allows

    def binary(self, install_dir: Path) -> Path:
        return install_dir / "node_modules" / f"opencode-linux-{_platform_tag()}" / "bin" / "opencode"

    def check_installed(self, install_dir: Path) -> str | None:
        return None if self.binary(install_dir).is_file() else f"{self.binary(install_dir).name} binary for this platform is missing"

    def launch(self, ctx: LaunchContext) -> Launch:
        config = {
            "$schema": "https://opencode.ai/config.json", "autoupdate": False, "share": "disabled",
            "permission": {"edit": "allow", "bash": "allow", "webfetch": "deny"},
            "provider": {"agentgym": {"npm": "@ai-sdk/openai-compatible", "name": "AgentGym proxy",
                                      "options": {"baseURL": ctx.base_url, "apiKey": ctx.api_key},
                                      "models": {ctx.model: {"name": ctx.model}}}},
            "model": f"agentgym/{ctx.model}",
        }
        argv = [str(self.binary(ctx.install_dir)), "run", "--model", f"agentgym/{ctx.model}", ctx.prompt]
        env = {"OPENCODE_CONFIG_CONTENT": json.dumps(config), "OPENCODE_DISABLE_AUTOUPDATE": "1",
               "OPENCODE_DISABLE_MODELS_FETCH": "1", "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
               "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1", "XDG_CONFIG_HOME": f"{ctx.home}/.config",
               "XDG_DATA_HOME": f"{ctx.home}/.local/share", "XDG_CACHE_HOME": f"{ctx.home}/.cache",
               "XDG_STATE_HOME": f"{ctx.home}/.local/state"}
        return Launch(argv=argv, env=env)


class CodexCli:
    """Codex CLI (npm `@openai/codex`): a native binary that speaks only the Responses API."""

    name: ClassVar[str] = "codex"
    package: ClassVar[Package] = Package(source="npm", name="@openai/codex", version="0.171.0")
    wire: ClassVar[Wire] = "responses"
    requirement: ClassVar[str | None] = "an endpoint with the OpenAI Responses API"

    def binary(self, install_dir: Path) -> Path:
        return install_dir / "node_modules" / "@openai" / "codex" / "bin" / "codex.js"

    def check_installed(self, install_dir: Path) -> str | None:
        return None if self.binary(install_dir).is_file() else "bin/codex.js is missing"

    def launch(self, ctx: LaunchContext) -> Launch:
        provider = (f'{{name="agentgym", base_url="{ctx.base_url}", env_key="AGENTGYM_PROXY_KEY", '
                    'wire_api="responses"}')
        argv = ["node", str(self.binary(ctx.install_dir)), "exec", "--skip-git-repo-check",
                "--dangerously-bypass-approvals-and-sandbox", "--cd", ctx.workdir, "-m", ctx.model,
                "-c", f"model_providers.agentgym={provider}", "-c", "model_provider=agentgym", ctx.prompt]
        return Launch(argv=argv, env={"AGENTGYM_PROXY_KEY": ctx.api_key, "CODEX_HOME": ctx.home, **NODE_ENV})


class ClaudeCode:
    """Claude Code (npm `@anthropic-ai/claude-code`): Anthropic Messages."""

    name: ClassVar[str] = "claude-code"
    package: ClassVar[Package] = Package(source="npm", name="@anthropic-ai/claude-code", version="2.0.76")
    wire: ClassVar[Wire] = "anthropic"
    requirement: ClassVar[str | None] = "an endpoint with the Anthropic Messages API"

    def binary(self, install_dir: Path) -> Path:
        return install_dir / "node_modules" / "@anthropic-ai" / "claude-code" / "cli.js"

    def check_installed(self, install_dir: Path) -> str | None:
        return None if self.binary(install_dir).is_file() else "cli.js is missing"

    def launch(self, ctx: LaunchContext) -> Launch:
        argv = ["node", str(self.binary(ctx.install_dir)), "-p", "--dangerously-skip-permissions",
                "--model", ctx.model, ctx.prompt]
        base = ctx.base_url.removesuffix("/v1")
        # Its side requests (titles, command checks) would go to other Claude models: pin them all
        # to the run's model, so a run uses one model, as the leaderboard says.
        same = {name: ctx.model for name in ("ANTHROPIC_MODEL", "ANTHROPIC_SMALL_FAST_MODEL", "ANTHROPIC_DEFAULT_HAIKU_MODEL",
                                             "ANTHROPIC_DEFAULT_SONNET_MODEL", "ANTHROPIC_DEFAULT_OPUS_MODEL")}
        env = {**same, "ANTHROPIC_BASE_URL": base, "ANTHROPIC_API_KEY": ctx.api_key, "DISABLE_TELEMETRY": "1",
               "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "DISABLE_AUTOUPDATER": "1", **NODE_ENV}
        return Launch(argv=argv, env=env)


class QwenCode:
    """Qwen Code (npm `@qwen-code/qwen-code`): Chat Completions; needs Node.js 22 or newer."""

    name: ClassVar[str] = "qwen-code"
    package: ClassVar[Package] = Package(source="npm", name="@qwen-code/qwen-code", version="0.24.4")
    wire: ClassVar[Wire] = "chat"
    requirement: ClassVar[str | None] = "Node.js 22 or newer"

    def binary(self, install_dir: Path) -> Path:
        return install_dir / "node_modules" / "@qwen-code" / "qwen-code" / "cli-entry.js"

    def check_installed(self, install_dir: Path) -> str | None:
        major = _node_major()
        if major is None or major < 22:
            return f"it needs Node.js 22 or newer, this machine has {major or 'none'}"
        return None if self.binary(install_dir).is_file() else "cli-entry.js is missing"

    def launch(self, ctx: LaunchContext) -> Launch:
        argv = ["node", str(self.binary(ctx.install_dir)), "--yolo", "-p", ctx.prompt]
        env = {"OPENAI_BASE_URL": ctx.base_url, "OPENAI_API_KEY": ctx.api_key, "OPENAI_MODEL": ctx.model, **NODE_ENV}
        return Launch(argv=argv, env=env)
