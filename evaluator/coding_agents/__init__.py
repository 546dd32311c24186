"""External coding agents evaluated on our tasks (`--agent NAME`); `builtin` is our own loop.

Adapters are found by registered name or by a dotted path `package.module:Class`, as sandbox
backends are. Nothing here is imported by a run with the builtin agent."""
from __future__ import annotations

from evaluator.config.registry import Registry

BUILTIN = "builtin"
AGENTS: Registry[type] = Registry("coding agent")
AGENTS.add("mini-swe-agent", "evaluator.coding_agents.adapters:MiniSweAgent")
AGENTS.add("opencode", "evaluator.coding_agents.adapters:OpenCode")
AGENTS.add("codex", "evaluator.coding_agents.adapters:CodexCli")
AGENTS.add("claude-code", "evaluator.coding_agents.adapters:ClaudeCode")
AGENTS.add("qwen-code", "evaluator.coding_agents.adapters:QwenCode")


def agent_names() -> list[str]:
    return [BUILTIN, *AGENTS.names()]
