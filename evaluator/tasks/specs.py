"""Typed specs for the two input formats: repo files and task files.

Both are the original AgentGym formats; every field it had keeps its name and meaning.
Fields we added are optional, so the original files load unchanged.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from evaluator.tasks.change_spec import ChangeSpec
from evaluator.tasks.env_spec import EnvRecipe

Difficulty = Literal["easy", "medium", "hard"]
OutputType = Literal["int", "float", "str", "bool", "list", "json", "oracle_bool"]
TaskKind = Literal["answer", "change"]  # L1: answer questions about the code; L2: change it (hidden tests grade)
ComparatorName = Literal["equals", "set_equals", "f1", "numeric", "json_subset", "regex"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RepoSpec(Strict):
    """One entry of the repo registry (`repos/<id>.yaml`)."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="Short id tasks refer to.")
    url: str = Field(description="https URL, local path, or git bundle file.")
    ref: str = Field(description="Commit sha (built-in repos), tag or branch to check out.")
    initial_working_dir: str = Field(".", description="Where the agent starts, relative to the repo root.")
    description: str | None = None
    env: EnvRecipe | None = Field(None, description="The Python environment its code and tests run in (docs/01).")


class OracleCall(Strict):
    """A call of a registered oracle: `fn` is a name or a dotted path `pkg.mod:func`."""

    fn: str
    args: dict[str, Any] = Field(default_factory=dict)


class Distractor(OracleCall):
    """A plausible wrong answer, computed by a (naive) oracle so it stays true at any commit."""

    why: str | None = Field(None, description="Which shortcut produces this answer.")


class OutputSpec(Strict):
    """One key the model must write to `eval_artifacts/answer.json` (or a checker-verified file)."""

    key: str
    type: OutputType = "str"
    oracle: OracleCall
    comparator: ComparatorName = "equals"
    comparator_args: dict[str, Any] = Field(
        default_factory=dict, description="Options such as abs_tol, rel_tol, threshold, flags."
    )
    weight: float = Field(1.0, ge=0)
    distractors: list[Distractor] = Field(default_factory=list)


class CommandPolicy(Strict):
    allowed: list[str] = Field(default_factory=list, description="Command words allowed; empty means any.")
    prohibited: list[str] = Field(default_factory=list, description="Command words refused outright.")
    write_paths_allowed: list[str] = Field(default_factory=lambda: ["eval_artifacts/", "/tmp/"])


class Limits(Strict):
    """Per-command resource limits inside the sandbox; a task may override any of them."""

    cpu_seconds: int = Field(60, gt=0, description="RLIMIT_CPU per command.")
    memory_mb: int = Field(2048, gt=0, description="Memory of all the task's processes together (cgroup), "
                           "and RLIMIT_AS per process.")
    file_size_mb: int = Field(256, gt=0, description="RLIMIT_FSIZE: largest file a command may write.")
    disk_mb: int = Field(1024, gt=0, description="Size of the task's /tmp and HOME together (a tmpfs, where "
                         "the evaluator may mount one).")
    processes: int = Field(256, gt=0, description="Processes of the task at once (pids cgroup, and RLIMIT_NPROC "
                           "for the sandbox uid).")
    output_bytes: int = Field(1_000_000, gt=0, description="Stdout+stderr kept per command.")
    command_timeout_s: float = Field(60, gt=0, description="Default per-command timeout.")


class ReadLimits(Strict):
    """Caps on what the harness reads back from the working copy after the task (never following symlinks)."""

    answer_max_bytes: int = Field(1_000_000, gt=0, description="Largest answer file read; a bigger one is `invalid_answer`.")
    artifacts_max_files: int = Field(200, ge=0, description="Files copied from eval_artifacts/ into the run's artifacts/.")
    artifacts_max_bytes: int = Field(20_000_000, ge=0, description="Total bytes copied from eval_artifacts/.")
    artifact_file_max_bytes: int = Field(1_000_000, gt=0, description="Largest single file copied from eval_artifacts/.")


class TaskSpec(Strict):
    """A task file (`tasks/<task_set>/<repo_id>/*.yaml`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9_.:-]+$")
    repo: str
    kind: TaskKind = Field("answer", description="`answer` (L1, the default) or `change` (L2, see docs/06-change-tasks.md).")
    difficulty: Difficulty = "easy"
    difficulty_reason: str | None = Field(None, description="One line: what the model must do.")
    one_pipeline: bool | None = Field(None, description="Whether one shell pipeline answers it (set by the generator's "
                                      "template); validate caps the labelled share per repo at a third.")
    initial_working_dir: str = "."
    instruction: str = Field(min_length=1)
    command_policy: CommandPolicy = Field(default_factory=CommandPolicy)
    outputs: list[OutputSpec] = Field(default_factory=list, description="L1: what the answer must hold (at least one).")
    change: ChangeSpec | None = Field(None, description="L2: hidden tests and gold patch (required with kind: change).")
    max_commands: int = Field(10, gt=0)
    max_turns: int | None = Field(None, gt=0, description="Default: 2 * max_commands + 4.")
    timeout_seconds: int = Field(120, gt=0)
    token_budget: int | None = Field(None, gt=0, description="Prompt+completion tokens for the task.")
    limits: Limits | None = None
    read_limits: ReadLimits = Field(default_factory=ReadLimits, description="Caps on what the harness reads back.")
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment for commands.")
    tags: list[str] = Field(default_factory=list)
    provenance: dict[str, Any] | None = Field(None, description="Generator template, version, seed, commit.")

    @field_validator("outputs")
    @classmethod
    def _unique_keys(cls, outputs: list[OutputSpec], info: ValidationInfo) -> list[OutputSpec]:
        if not outputs and info.data.get("kind", "answer") == "answer":
            raise ValueError("an answer task needs at least one output")
        keys = [o.key for o in outputs]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise ValueError(f"duplicate output keys: {', '.join(dup)}")
        return outputs

    @model_validator(mode="after")
    def _kind_fields(self) -> "TaskSpec":
        if self.kind == "answer" and self.change is not None:
            raise ValueError("an answer task has `outputs`, not a `change` block (add `kind: change`)")
        if self.kind == "change" and (self.change is None or self.outputs):
            raise ValueError("a change task needs a `change` block and no `outputs`")
        return self

    @property
    def turn_limit(self) -> int:
        return self.max_turns or 2 * self.max_commands + 4
