"""The agent loop: model <-> tools until the model stops or a limit is reached.

The message history is the transcript: every message is passed to `record` as it is made.
Limits are control flow: `Stop` carries the reason out of the loop. The loop never looks
at the answer, so it can never stop early because the answer is already right.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from pydantic import BaseModel, Field

from evaluator.models import Model, ModelError, ModelReply, TaskContext
from evaluator.results.records import StopReason
from evaluator.agent.toolbox import ToolError, Toolbox
from evaluator.agent.tool_calls import Call, problems_note, split_reply


class Stop(Exception):
    def __init__(self, reason: StopReason, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


class LoopBudget(BaseModel):
    max_commands: int
    max_turns: int
    timeout_s: float
    token_budget: int | None = None
    max_consecutive_format_errors: int = 5


class LoopOutcome(BaseModel):
    stop_reason: StopReason
    error: str | None = None
    turns: int = 0
    tool_calls: int = 0
    format_errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    model_time_s: float = 0.0
    response_models: list[str] = Field(default_factory=list)
    system_fingerprints: list[str] = Field(default_factory=list)
    final_text: str | None = None


class TaskClock:
    """Task time: wall time minus backoff and queueing for the endpoint. Made before the loop and
    its tools, so that both read the one clock (a command's timeout never outlives the task)."""

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s, self.t0, self.waited = timeout_s, time.monotonic(), 0.0

    def elapsed(self) -> float:
        return time.monotonic() - self.t0 - self.waited

    def remaining(self) -> float:
        return self.timeout_s - self.elapsed()


class AgentLoop:
    """The loop, given everything at construction: the model, the tools (None: closed book) and
    the task's clock."""

    def __init__(self, model: Model, tools: Toolbox | None, ctx: TaskContext, budget: LoopBudget,
                 record: Callable[[dict[str, Any], dict[str, Any] | None], None], clock: TaskClock | None = None) -> None:
        self.model, self.tools, self.ctx, self.budget, self.record = model, tools, ctx, budget, record
        self.clock = clock or TaskClock(budget.timeout_s)
        self.out = LoopOutcome(stop_reason="completed")
        self.messages: list[dict[str, Any]] = []
        self.consecutive_format_errors = 0

    def remaining(self) -> float:
        return self.clock.remaining()

    def add(self, message: dict[str, Any], meta: dict[str, Any] | None = None) -> None:
        self.messages.append(message)
        self.record(message, meta)

    async def run(self, system: str, user: str) -> LoopOutcome:
        self.add({"role": "system", "content": system})
        self.add({"role": "user", "content": user})
        try:
            while True:
                await self.step()
        except Stop as stop:
            self.out.stop_reason = stop.reason
            self.out.error = str(stop) if stop.reason in ("api_error", "context_overflow") else None
        return self.out

    def check_limits(self) -> None:
        if self.out.turns >= self.budget.max_turns:
            raise Stop("max_turns")
        if self.remaining() <= 0:
            raise Stop("timeout")
        used = self.out.prompt_tokens + self.out.completion_tokens
        if self.budget.token_budget and used >= self.budget.token_budget:
            raise Stop("token_budget")

    async def ask(self) -> ModelReply:
        self.check_limits()
        t = time.monotonic()
        try:
            reply = await self.model.complete(self.messages, self.tools.schemas() if self.tools else [], self.ctx)
        except ModelError as exc:
            raise Stop(exc.kind, str(exc)) from None
        finally:
            self.out.model_time_s += time.monotonic() - t
        self.clock.waited += reply.wait_s
        self.out.turns += 1
        self.out.prompt_tokens += reply.prompt_tokens
        self.out.completion_tokens += reply.completion_tokens
        self.out.reasoning_tokens += reply.reasoning_tokens
        for value, seen in ((reply.model, self.out.response_models), (reply.system_fingerprint, self.out.system_fingerprints)):
            if value and value not in seen:
                seen.append(value)
        return reply

    def format_error(self) -> None:
        self.out.format_errors += 1
        self.consecutive_format_errors += 1

    async def step(self) -> None:
        reply = await self.ask()
        if reply.message is None:  # empty choices: tell the model, count it, go on
            self.format_error()
            self.add({"role": "user", "content": "Your last reply was empty (no choices). Continue the task."})
            self.check_format_errors()
            return
        message, calls, problems = split_reply(reply.message, self.out.turns)
        # Any other key the adapter returned (an API's opaque output items) is kept as it came:
        # the adapter reads it back on the next turn.
        message.update({k: v for k, v in reply.message.items()
                        if k not in ("role", "content", "tool_calls", "reasoning_content") and v})
        self.add(message)
        if reply.format_error is not None:  # the adapter could not read the reply as tool calls
            self.format_error()
            self.add({"role": "user", "content": reply.format_error})
            self.check_format_errors()
            return
        if self.tools is None or (not calls and not problems):
            self.out.final_text = message.get("content")
            raise Stop("closed_book" if self.tools is None else "completed")
        pending: Stop | None = None
        for call in calls:
            pending = pending or await self.run_call(call)
            if pending:  # every tool_call_id still gets its tool message
                self.add(self.tool_message(call.message, f"not run: the task stopped ({pending.reason})"))
        if pending:
            raise pending
        if problems:  # what could not be answered as a tool message: one note, one format error each
            for _ in problems:
                self.format_error()
            self.add({"role": "user", "content": problems_note(problems)})
        self.check_format_errors()

    def check_format_errors(self) -> None:
        if self.consecutive_format_errors >= self.budget.max_consecutive_format_errors:
            raise Stop("format_errors")

    @staticmethod
    def tool_message(call: dict[str, Any], content: str) -> dict[str, Any]:
        return {"role": "tool", "tool_call_id": call.get("id") or "", "content": content}

    async def run_call(self, call: Call) -> Stop | None:
        """Run one tool call and add its tool message; return a Stop when a limit is hit first."""
        assert self.tools is not None
        try:
            if call.error:
                raise ToolError(call.error)
            args = self.tools.parse(call.name, call.arguments)
        except ToolError as exc:
            self.format_error()
            self.add(self.tool_message(call.message, f"error: {exc}"))
            return None
        self.consecutive_format_errors = 0
        if call.name == "run_command" and self.tools.commands >= self.budget.max_commands:
            return Stop("max_commands")
        if self.remaining() <= 0:
            return Stop("timeout")
        self.out.tool_calls += 1
        try:
            content, full = await self.tools.call(call.name, args)
        except ToolError as exc:
            content, full = f"error: {exc}", None
        # The model sees the output cut to a few KB; the transcript keeps up to the sandbox's
        # cap (head + tail) with the full byte counts and sha256s.
        self.add(self.tool_message(call.message, content), full.model_dump() if full else None)
        return None
