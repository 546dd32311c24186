"""Run configuration: flags beat the environment, which `.env` may fill; the result is one typed model."""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

from dotenv import load_dotenv
from pydantic import BaseModel, Field, SecretStr

from evaluator.config.errors import ConfigError
from evaluator.config.model_options import model_options_from, redact_headers
from evaluator.config.paths import REPOS_DIR, TASKS_DIR, WEIGHTS_FILE
from evaluator.models.endpoint import OPENAI_URL, EndpointKnobs, needs_key

PROMPT_VERSION = "v1"


class Selection(BaseModel):
    """Which tasks: shared by run, validate and generate."""

    repos: list[str] | None = None
    task_set: str = "l1"
    tasks: str | None = Field(None, description="Comma-separated globs on task ids.")
    tasks_dir: Path = TASKS_DIR
    repos_config: Path = REPOS_DIR
    cache_dir: Path | None = None


class RunConfig(EndpointKnobs):
    selection: Selection
    api_key: SecretStr | None = None
    concurrency: int = 4
    epochs: int = 1
    sandbox: str = Field("bwrap", description="A registered backend (bwrap, local) or a dotted path package.module:Backend.")
    policy: Literal["enforce", "record"] = "enforce"
    closed_book: bool = False
    agent: str = Field("builtin", description="builtin (our loop) or an external coding agent by name or dotted path.")
    extra_tools: list[str] = Field(default_factory=list,
                                   description="Tools beyond the built-in four: registered names or dotted paths to a Tool.")
    max_task_seconds: int = 1800
    max_format_errors: int = 5
    shard: tuple[int, int] | None = None
    runs_root: Path = Path("runs")
    weights: Path = WEIGHTS_FILE
    prompt_version: str = PROMPT_VERSION
    api: Literal["chat", "responses"] = "chat"
    tool_format: Literal["native", "text"] = "native"
    vision: bool = Field(False, description="The model is shown images (--vision or its preset).")
    preset: str | None = Field(None, description="The model presets entry that filled defaults (exact id or pattern).")
    context_window: int | None = Field(None, description="From the preset: tokens the model accepts (informational).")

    def redacted(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        data["api_key"] = "***" if self.api_key else None
        data["headers"] = redact_headers(self.headers)
        return data


def add_selection_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repos", help="Comma-separated repo ids (default: every repo registered in --repos-config; "
                   "tasks of other repos are left out with a note).")
    p.add_argument("--task-set", default="l1",
                   help="Task set folder under --tasks-dir, e.g. l1 (curated) or l1-generated; '.' means every task "
                   "under --tasks-dir; a set that is not there is an error, except the default on a flat "
                   "--tasks-dir (default: l1).")
    p.add_argument("--tasks", metavar="GLOBS", help="Only task ids matching one of these comma-separated globs, "
                   "e.g. 'demo_task_00*,demo_task_010' (default: all).")
    p.add_argument("--tasks-dir", type=Path, default=TASKS_DIR,
                   help="Tree of task YAML files; '_'-prefixed files and folders are skipped (default: built-in tasks/).")
    p.add_argument("--repos-config", type=Path, default=REPOS_DIR,
                   help="Folder of <id>.yaml repo files (default: built-in repos/).")
    p.add_argument("--cache-dir", type=Path, help="Clone and oracle cache (default: $AGENTGYM_CACHE, else $XDG_CACHE_HOME/agentgym or ~/.cache/agentgym).")


def selection_from(ns: argparse.Namespace) -> Selection:
    repos = [r.strip() for r in ns.repos.split(",") if r.strip()] if ns.repos else None
    return Selection(repos=repos, task_set=ns.task_set, tasks=ns.tasks, tasks_dir=ns.tasks_dir,
                     repos_config=ns.repos_config, cache_dir=ns.cache_dir)


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def _number(value: str | None, kind: type, what: str) -> Any:
    if value is None:
        return None
    try:
        return kind(value)
    except ValueError:
        raise ConfigError(f"{what} must be a {kind.__name__}, got {value!r}") from None


def _shard(value: str | None) -> tuple[int, int] | None:
    if not value:
        return None
    try:
        i, n = (int(x) for x in value.split("/"))
    except ValueError:
        raise ConfigError(f"--shard must look like I/N (e.g. 1/4), got {value!r}") from None
    if not 1 <= i <= n:
        raise ConfigError(f"--shard {value}: I must be between 1 and N")
    return i, n


def check_base_url(url: str) -> None:
    """A URL without http(s):// would only fail after minutes of retries; say so now."""
    parts = urlparse(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"the base URL {url!r} (--base-url or BASE_URL) must start with http:// or https:// and name a host, "
                          f"e.g. http://{url.split('://')[-1] or 'localhost:8000'}")


def api_key_from(ns: argparse.Namespace) -> SecretStr | None:
    """--api-key, else OPENAI_API_KEY from the environment or ./.env."""
    load_dotenv(Path.cwd() / ".env", override=False)
    key = ns.api_key or _env("OPENAI_API_KEY")
    return SecretStr(key) if key else None


def run_config_from(ns: argparse.Namespace) -> RunConfig:
    """Resolve flags, then environment (and .env), then defaults. Raises ConfigError."""
    secret = api_key_from(ns)
    model = ns.model or _env("MODEL_NAME", "OPENAI_MODEL")
    if not model:
        raise ConfigError("no model given: pass --model (or set MODEL_NAME), e.g. --model builtin/oracle")
    base_url = ns.base_url or _env("BASE_URL", "OPENAI_BASE_URL") or OPENAI_URL
    check_base_url(base_url)
    builtin = model.startswith("builtin/")
    if not builtin and not secret and needs_key(base_url) and not ns.dry_run:
        raise ConfigError(f"an API key is required for {base_url}: set OPENAI_API_KEY (in the environment or .env) or pass --api-key")
    temperature = ns.temperature if ns.temperature is not None else _number(_env("OPENAI_TEMPERATURE", "TEMPERATURE"), float, "OPENAI_TEMPERATURE")
    max_out = ns.max_output_tokens or _number(_env("OPENAI_MAX_OUTPUT_TOKENS", "MAX_OUTPUT_TOKENS"), int, "OPENAI_MAX_OUTPUT_TOKENS")
    if temperature is not None and not 0 <= temperature <= 2:
        raise ConfigError(f"OPENAI_TEMPERATURE must be between 0 and 2, got {temperature:g}")
    if max_out is not None and max_out < 1:
        raise ConfigError(f"OPENAI_MAX_OUTPUT_TOKENS must be at least 1, got {max_out}")
    try:
        extra = json.loads(ns.extra_body) if ns.extra_body else {}
    except ValueError as exc:
        raise ConfigError(f"--extra-body is not valid JSON: {exc}") from None
    if not isinstance(extra, dict):
        raise ConfigError("--extra-body must be a JSON object")
    for flag, value in (("--concurrency", ns.concurrency), ("--epochs", ns.epochs)):
        if value < 1:
            raise ConfigError(f"{flag} must be at least 1")
    return RunConfig(
        selection=selection_from(ns), model=model, base_url=base_url, api_key=secret,
        temperature=0.0 if temperature is None else temperature, max_output_tokens=max_out or 4096,
        include_reasoning_content=ns.include_reasoning_content, extra_body=extra, concurrency=ns.concurrency,
        max_inflight=ns.max_inflight or max(ns.concurrency, 1), epochs=ns.epochs, sandbox=ns.sandbox,
        policy=ns.policy, closed_book=ns.closed_book, agent=getattr(ns, "agent", None) or "builtin",
        extra_tools=list(getattr(ns, "tool", None) or []), max_task_seconds=ns.max_task_seconds,
        max_format_errors=ns.max_format_errors, shard=_shard(ns.shard), runs_root=ns.runs_root,
        request_timeout_s=ns.request_timeout, max_attempts=ns.max_attempts, **model_options_from(ns, model),
    )
