"""The config of tools/run_parallel_eval_tmux.py: which models, where their runs go, and the names
every window and run folder is derived from (shared by the launcher and the status window)."""
from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

BUILTIN = {"builtin/oracle", "builtin/nop"}
STATUS_WINDOW = "status"
DEFAULT_KEY_VAR = "OPENAI_API_KEY"


class UsageError(Exception):
    """Reported as one sentence on stderr, exit 2."""


def slug(model_id: str) -> str:
    # Same rule as evaluator.execution.session.new_run_dir; tmux window names also must not contain '.' or ':'.
    return re.sub(r"[^A-Za-z0-9_-]+", "_", model_id).strip("_") or "model"


class ModelEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_id: str = Field(min_length=1)
    api_key: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                                description="Name of the environment variable holding the key.")
    base_url: str | None = None
    temperature: float | None = None
    max_output_tokens: int | None = Field(None, gt=0)
    include_reasoning_content: bool = False


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    session_name: str = Field("agentgym", pattern=r"^[A-Za-z0-9_-]+$")
    repo_root: Path = Path(".")
    runs_root: Path = Path("runs")
    repos: list[str] | None = None
    task_set: str = "l1"
    dry_run: bool = False
    extra_args: list[str] = Field(default_factory=list)
    models: list[ModelEntry] = Field(min_length=1)

    @field_validator("repos", mode="before")
    @classmethod
    def _csv(cls, v: object) -> object:
        return [x.strip() for x in v.split(",") if x.strip()] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _unique(self) -> Config:
        slugs = [slug(m.model_id) for m in self.models]
        dupes = sorted({s for s in slugs if slugs.count(s) > 1})
        if dupes:
            raise ValueError(f"model ids must differ after slugging (they name windows and run folders): {', '.join(dupes)}")
        if STATUS_WINDOW in slugs:
            raise ValueError(f"a model may not be called {STATUS_WINDOW!r}")
        return self

    def resolved(self) -> Config:
        return self.model_copy(update={"repo_root": self.repo_root.expanduser().resolve(),
                                       "runs_root": self.runs_root.expanduser().resolve()})


def load_config(path: Path) -> Config:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read config {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"config {path} is not valid JSON: {exc}") from None
    try:
        return Config.model_validate(data).resolved()
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise UsageError(f"config {path}: {where}: {err['msg']}") from None


# Each model window's shell writes the evaluator's exit status here (under <runs_root>/<slug>/):
# tmux 3.3a sometimes never records a pane's exit status.
EXIT_FILE = "window-exit-status"
