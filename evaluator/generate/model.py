"""Typed records passed between templates, checks and the writer."""
from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from evaluator.tasks.specs import ComparatorName, Difficulty, OutputType


def canonical(value: Any) -> str:
    """Canonical JSON: the only form ever hashed or compared, so dict order never matters."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class DistractorDraft(BaseModel):
    model_config = ConfigDict(frozen=True)

    fn: str
    args: dict[str, Any] = Field(default_factory=dict)
    why: str
    # Optional distractors (naive shortcuts) are pruned when they happen to equal the truth;
    # required ones (chosen neighbours) stay, so a coincidence fails validation instead.
    optional: bool = True


class Candidate(BaseModel):
    """One question a template proposes; becomes a TaskSpec once its answer is known."""

    model_config = ConfigDict(frozen=True)

    template: str
    params: dict[str, Any] = Field(description="What identifies the question; hashed into the task id.")
    key: str
    type: OutputType
    fn: str
    args: dict[str, Any] = Field(default_factory=dict)
    comparator: ComparatorName = "equals"
    instruction: str
    distractors: list[DistractorDraft] = Field(default_factory=list)
    difficulty: Difficulty = "easy"
    reason: str = Field(description="One line: what the model must do.")
    max_commands: int = 12
    timeout_seconds: int = 180
    tags: list[str] = Field(default_factory=list, description="Extra task tags, e.g. `image`.")
    one_pipeline: bool | None = Field(None, description="Set by the pipeline from the template's `one_pipeline` when "
                                      "the set rules apply; None (no label written) with --no-set-rules.")

    def task_id(self, repo_id: str) -> str:
        digest = hashlib.sha256(f"{self.template}\n{canonical(self.params)}".encode()).hexdigest()[:10]
        return f"{repo_id}_gen_{digest}"

    @property
    def oracle_key(self) -> str:
        return f"{self.fn} {canonical(self.args)}"


class Drop(BaseModel):
    template: str
    task_id: str
    reason: str = Field(description="One of the DROP_* reasons in checks.py.")
    detail: str = ""


class Accepted(BaseModel):
    candidate: Candidate
    task_id: str
    task: dict[str, Any] = Field(description="The task file's content, keys in file order.")
    answer: Any
