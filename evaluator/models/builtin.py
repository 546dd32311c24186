"""Built-in models: `builtin/oracle` solves every task through the tool loop, `builtin/nop` does nothing.

They validate tasks offline: oracle must reach 100% success, nop 0%.
"""
from __future__ import annotations

import json
from typing import Any

from evaluator.scoring import oracle_registry as oracles
from evaluator.models import ModelReply, TaskContext
from evaluator.models.text_tools import render_actions

_PROBES = {"ls": "ls", "pwd": "pwd", "git": "git rev-parse HEAD", "cat": "cat /dev/null", "wc": "wc -l README.md",
           "python3": "python3 -c 'print(1)'", "python": "python -c 'print(1)'", "head": "head -n 1 README.md"}


def _probe_command(allowed: list[str]) -> str:
    """A harmless command the task's policy allows, to prove the sandbox path works."""
    for word, cmd in _PROBES.items():
        if not allowed or word in allowed:
            return cmd
    return f"{allowed[0]} --version"


def _call(n: int, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"call_{n}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}


def solution(ctx: TaskContext) -> tuple[dict[str, Any], dict[str, str]]:
    """The right answer.json content and the files answer checkers want."""
    answer: dict[str, Any] = {}
    files: dict[str, str] = {}
    for out in ctx.task.outputs:
        oracle = oracles.resolve(out.oracle.fn)
        if oracle.kind == "checker":
            assert oracle.solve is not None
            files.update(oracle.solve(repo_root=ctx.repo_root, **out.oracle.args))
        else:
            answer[out.key] = oracles.fact(out.oracle.fn, out.oracle.args, repo_root=ctx.repo_root,
                                           commit=ctx.commit, cache=ctx.cache)
    return answer, files


GOLD_PATH = "/tmp/agentgym-gold.diff"


def change_calls(ctx: TaskContext, turn: int) -> list[dict[str, Any]]:
    """A change task, the way an agent would: write the gold patch to /tmp, `git apply` it, stop."""
    gold = ctx.task.change.gold_patch if ctx.task.change else None
    if gold is None or gold.diff is None or turn > 1:
        return []
    if turn == 0:
        return [_call(0, "write_file", {"path": GOLD_PATH, "content": gold.diff})]
    # write_file's /tmp is the task's private tmp, which commands find as $TMPDIR (/tmp under bwrap)
    return [_call(1, "run_command", {"command": 'git apply --whitespace=nowarn "${TMPDIR:-/tmp}/agentgym-gold.diff"'})]


class OracleModel:
    """Turn 1: one sandboxed command. Turn 2: write the oracle's answers. Turn 3: stop.

    With `text_format` it writes its calls as fenced blocks (--tool-format text), so the
    text parser is exercised by the same tasks as native calls.

    Change tasks: write the gold patch, apply it with git, stop."""

    name = "builtin/oracle"

    def __init__(self, *, text_format: bool = False) -> None:
        self.text_format = text_format

    async def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], ctx: TaskContext) -> ModelReply:
        turn = sum(1 for m in messages if m.get("role") == "assistant")
        if ctx.task.kind == "change":
            calls = change_calls(ctx, turn)
            if not calls:
                return ModelReply(message={"role": "assistant", "content": "Done."}, model=self.name)
            return ModelReply(message={"role": "assistant", "content": None, "tool_calls": calls}, model=self.name)
        answer, files = solution(ctx)
        if ctx.closed_book:
            return ModelReply(message={"role": "assistant", "content": json.dumps(answer)}, model=self.name)
        if turn == 0:
            cmd = _probe_command(ctx.task.command_policy.allowed)
            calls = [_call(0, "run_command", {"command": cmd})]
        elif turn == 1:
            calls = []
            if answer or not files:
                calls.append(_call(1, "write_file", {"path": "eval_artifacts/answer.json", "content": json.dumps(answer, indent=2)}))
            for i, (path, text) in enumerate(sorted(files.items()), start=2):
                calls.append(_call(i, "write_file", {"path": path, "content": text}))
        else:
            return ModelReply(message={"role": "assistant", "content": "Done."}, model=self.name)
        if self.text_format:
            return ModelReply(message={"role": "assistant", "content": render_actions(calls)}, model=self.name)
        return ModelReply(message={"role": "assistant", "content": None, "tool_calls": calls}, model=self.name)

    async def preflight(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class NopModel:
    """Answers at once, with nothing."""

    name = "builtin/nop"

    async def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], ctx: TaskContext) -> ModelReply:
        return ModelReply(message={"role": "assistant", "content": ""}, model=self.name)

    async def preflight(self) -> None:
        return None

    async def aclose(self) -> None:
        return None
