"""The model protocol. The agent loop talks to any model through `Model.complete`.

`builtin/oracle` and `builtin/nop` are ordinary implementations; everything else is an
OpenAI-compatible endpoint.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from evaluator.scoring.oracle_registry import FactCache
from evaluator.tasks.specs import TaskSpec

ModelErrorKind = Literal["api_error", "context_overflow"]


class ModelError(Exception):
    """The model could not answer; `kind` becomes the task's stop and failure reason."""

    def __init__(self, kind: ModelErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class PreflightError(Exception):
    """The endpoint, key or model is unusable; the run stops before any task (exit 2)."""


class ModelReply(BaseModel):
    message: dict[str, Any] | None = Field(description="The assistant message, OpenAI-shaped; None when choices were empty.")
    prompt_tokens: int = 0
    completion_tokens: int = Field(0, description="Output tokens, reasoning tokens included (as providers count them).")
    reasoning_tokens: int = Field(0, description="Of completion_tokens, those spent reasoning, where the provider reports it.")
    format_error: str | None = Field(None, description="The reply could not be read as tool calls; this message goes back to the model.")
    model: str | None = Field(None, description="`response.model` as the provider reported it.")
    system_fingerprint: str | None = None
    finish_reason: str | None = None
    wait_s: float = Field(0.0, description="Time spent in backoff or queued for a slot; not charged to the task.")


class TaskContext(BaseModel):
    """What a model implementation may know about the task. Endpoints ignore it."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    task: TaskSpec
    repo_root: Path = Field(description="Pristine checkout at the pinned commit.")
    commit: str
    cache: FactCache
    closed_book: bool = False


class Model(Protocol):
    name: str

    async def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], ctx: TaskContext) -> ModelReply:
        ...

    async def preflight(self) -> None:
        ...

    async def aclose(self) -> None:
        ...


BUILTIN_MODELS = ("builtin/oracle", "builtin/nop")
