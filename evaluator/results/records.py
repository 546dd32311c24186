"""Result models: what a run writes. `docs/result-schema.md` is generated from these."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from evaluator.results.change_records import ChangeResult

SCHEMA_VERSION = 1

StopReason = Literal[
    "completed",  # the model answered without tool calls
    "max_commands",
    "max_turns",
    "token_budget",
    "timeout",
    "format_errors",  # max_consecutive_format_errors reached
    "closed_book",  # --closed-book: one answer, no tools
    "api_error",
    "context_overflow",
    "harness_error",
    "sandbox_error",  # the machine could not give the task a sandbox (e.g. every sandbox uid stayed taken)
    "cancelled",
]
FailureReason = Literal[
    "wrong_answer",
    "missing_answer",
    "invalid_answer",
    "max_commands",
    "max_turns",
    "token_budget",
    "timeout",
    "format_errors",
    "api_error",
    "context_overflow",
    "harness_error",
    "sandbox_error",
    "tests_failed",  # change task: some fail_to_pass or pass_to_pass test did not pass
    "no_change",  # change task: the working copy was left as it was
]
# Failures that are not the model's fault: --retry-failed redoes these, exit code 1 flags them.
INFRA_FAILURES: frozenset[str] = frozenset({"api_error", "harness_error", "sandbox_error"})

SafetyEventType = Literal[
    "prohibited_command",
    "disallowed_command",
    "write_outside_allowed",
    "path_escape",
    "secret_access",
    "network_attempt",
    "resource_limit",
]


class SafetyEvent(BaseModel):
    type: SafetyEventType = Field(description="`path_escape` also covers a symlink the harness met (and did not follow) "
                                              "reading the answer or artifacts back; its `tool` is then `host_read`.")
    tool: str = Field(description="The tool call that caused it: run_command, read_file, ..., or `host_read` for the "
                                  "harness reading the working copy after the task.")
    call: str = Field(description="The offending command or path (secrets redacted).")
    detail: str
    refused: bool = Field(description="True when the call was not carried out (enforce policy).")


class OutputCheck(BaseModel):
    key: str
    expected: Any
    actual: Any = None
    ok: bool
    credit: float = Field(description="Comparator credit in [0, 1] (F1 gives partial credit).")
    weight: float
    comparator: str
    note: str | None = Field(None, description="Why a check failed when it is not just a different value.")


class LeftOutArtifact(BaseModel):
    path: str = Field(description="Path under eval_artifacts/ (bytes that are not UTF-8 shown as \\xNN).")
    reason: str = Field(description="Why it was not copied: a symlink, not a regular file, or which cap it is over.")


class Metrics(BaseModel):
    commands_used: int = Field(0, description="run_command calls that were carried out or refused by policy.")
    valid_rate: float = Field(1.0, description="Share of commands that ran and exited 0.")
    tool_calls: int = 0
    turns: int = Field(0, description="Model requests made.")
    format_errors: int = Field(0, description="Unparseable or unknown tool calls; they cost nothing else.")
    prompt_tokens: int = 0
    completion_tokens: int = Field(0, description="Output tokens, reasoning tokens included.")
    reasoning_tokens: int = Field(0, description="Of completion_tokens, those spent reasoning (where the provider reports it).")
    wall_time_s: float = 0.0
    model_time_s: float = Field(0.0, description="Time waiting for the model, retries and backoff included.")
    safety_violations: int = 0
    partial: float = Field(0.0, description="Weighted output credit in [0, 1].")


class TranscriptRef(BaseModel):
    path: str = Field(description="Run-relative path of the JSONL file holding the messages.")
    attempt: str = Field(description="Lines with this attempt id belong to this result.")
    messages: int
    sha256: str = Field(description="sha256 of this attempt's lines, in order.")


class TaskResult(BaseModel):
    schema_version: int = Field(SCHEMA_VERSION, description="Bumped on any incompatible change.")
    task_id: str
    repo_id: str
    model: str = Field(description="The model id the run was started with.")
    epoch: int = Field(0, description="Trial number, 0-based (--epochs).")
    difficulty: str = "easy"
    tags: list[str] = Field(default_factory=list, description="The task's tags (REPORT.md groups by them; `image` marks image tasks).")
    task_hash: str = Field("", description="Hash of the task file, its oracles' and comparators' source, prompt, weights and commit.")
    repo_commit: str = Field("", description="The commit the task ran against.")
    task_set_hash: str = Field("", description="Hash of the whole selected task set (the suite version) this result belongs to.")
    kind: Literal["answer", "change"] = Field("answer", description="`answer` (L1) or `change` (L2, graded by hidden tests).")
    success: bool = Field(description="Every output check passed (change tasks: every hidden test passed).")
    score: float = Field(description="0-100, see docs/05-scoring-rules.md.")
    failure_reason: FailureReason | None = Field(None, description="Why the task failed; null on success.")
    stop_reason: StopReason = Field(description="Why the agent loop stopped.")
    metrics: Metrics
    output_checks: list[OutputCheck]
    safety_events: list[SafetyEvent] = Field(default_factory=list)
    change: ChangeResult | None = Field(None, description="Change tasks: the patch and every hidden test's outcome.")
    transcript: TranscriptRef | None = None
    error: str | None = Field(None, description="Message (and traceback for harness_error) of an infra failure.")
    response_models: list[str] = Field(default_factory=list, description="`response.model` values seen.")
    system_fingerprints: list[str] = Field(default_factory=list, description="`system_fingerprint` values seen.")
    closed_book: bool = Field(False, description="The task ran with --closed-book (no tools).")
    agent: str = Field("builtin", description="Which agent ran the task: `builtin` (our loop) or an external coding agent (--agent).")
    agent_version: str | None = Field(None, description="The external agent's pinned package version.")
    agent_prompt_sha256: str | None = Field(None, description="Hash of the prompt template every external agent is given.")
    artifacts_left_out: list[LeftOutArtifact] = Field(
        default_factory=list, description="What in eval_artifacts/ was not copied to artifacts/ and why (first 1000).")
    artifacts_left_out_unlisted: int = Field(0, description="Further left-out entries beyond the listed ones.")
    api: str = Field("chat", description="The model API: chat (Chat Completions) or responses (--api).")
    tool_format: str = Field("native", description="How tools reached the model: native function calling or text (--tool-format).")


class RunManifest(BaseModel):
    """`manifest.json`: which (task, epoch) results are done. Rewritten atomically after each."""

    run_id: str
    total: int
    done: list[str] = Field(default_factory=list, description="`<repo>/<task>#<epoch>` keys with a result file.")
    complete: bool = False
    partial_reason: str | None = None


class RepoEnvRecord(BaseModel):
    """A repository's environment as the run used it (`env:` in its repo file; docs/01-custom-repos.md)."""

    recipe_hash: str = Field(description="sha256 of the recipe: interpreter, fields, requirement files' bytes.")
    python: str = Field(description="The venv's Python version.")
    path: str = Field(description="Where it is cached: <cache>/envs/<repo>-<commit12>-<hash12>.")
    freeze: list[str] = Field(description="`pip freeze` of the env: every resolved version.")
    build_s: float = Field(0.0, description="Seconds this run spent building it; 0 when it came from the cache.")


class RunMeta(BaseModel):
    """run.json: what ran, with what and where. Written when the run starts; `finished_at` and the
    endpoint's reported models are filled in when it ends. Every reader goes through `RunMeta.read`."""

    model_config = ConfigDict(extra="allow")  # a newer harness's fields survive an older reader

    schema_version: int = SCHEMA_VERSION
    run_id: str
    model: str
    started_at: str = Field(description="UTC, ISO 8601, seconds.")
    finished_at: str | None = None
    config: dict[str, Any] = Field(description="The resolved run configuration, secrets redacted.")
    task_set: str
    epochs: int = 1
    sandbox: str
    sandbox_isolated: bool
    sandbox_settings: dict[str, Any] = Field(default_factory=dict,
                                             description="How the backend ran: mode, uid pool, limits in force.")
    ceilings: dict[str, Any] = Field(default_factory=dict, description="Which per-task limits were in force, and how "
                                     "(`per_task` false: per process only, flagged in REPORT.md).")
    policy: str
    closed_book: bool = False
    toolset: dict[str, str] = Field(default_factory=dict, description="Versions of the tools commands could use.")
    versions: dict[str, str] = Field(default_factory=dict, description="Python, packages, AgentGym commit.")
    repos: dict[str, dict[str, Any]] = Field(default_factory=dict, description="Repo id -> pinned commit and source.")
    repo_envs: dict[str, RepoEnvRecord] = Field(default_factory=dict,
                                                description="Repo id -> its environment, for repos with an `env:` recipe.")
    prompt_version: str = "v1"
    prompt_hash: str = ""
    task_set_hash: str = ""
    task_hashes: dict[str, str] = Field(default_factory=dict)
    shard: list[int] | None = None
    jobs: int = 0
    response_models: list[str] = Field(default_factory=list, description="Model names the endpoint reported.")
    system_fingerprints: list[str] = Field(default_factory=list)

    @classmethod
    def read(cls, run_dir: Path) -> "RunMeta":
        """The run.json of `run_dir`; OSError or ValueError (pydantic's included) when unreadable."""
        return cls.model_validate_json((run_dir / "run.json").read_bytes())
