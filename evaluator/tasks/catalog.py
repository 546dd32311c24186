"""Load and validate the repo registry and the task tree.

Every problem is a `ConfigError` whose message names the file and the field, so the CLI
can print one sentence and exit 2.
"""
from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from evaluator.scoring import comparators
from evaluator.scoring import oracle_registry as oracles
from evaluator.config.errors import ConfigError
from evaluator.tasks.change_spec import resolve_files
from evaluator.tasks.specs import RepoSpec, TaskSpec


DEFAULT_TASK_SET = "l1"  # the curated L1 set; `--task-set` selects another folder under --tasks-dir


def _describe(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    return f"field `{where}`: {first['msg']}"


def load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}: invalid YAML{at}: {getattr(exc, 'problem', exc)}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None


def validate_file(model: type[BaseModel], data: Any, path: Path) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_describe(exc)}") from None


def _visible_yaml(root: Path) -> list[Path]:
    """Every *.yaml below root, skipping `_`-prefixed files and folders (shared fragments)."""
    out = []
    for p in sorted(root.rglob("*.yaml")):
        rel = p.relative_to(root).parts
        if not any(part.startswith("_") or part.startswith(".") for part in rel):
            out.append(p)
    return out


def load_repos(repos_dir: Path) -> dict[str, RepoSpec]:
    if not repos_dir.is_dir():
        raise ConfigError(f"repos config folder {repos_dir} does not exist")
    repos: dict[str, RepoSpec] = {}
    for path in sorted(repos_dir.glob("*.yaml")):
        if path.name.startswith("_"):
            continue
        spec: RepoSpec = validate_file(RepoSpec, load_yaml(path), path)
        if spec.id != path.stem:
            raise ConfigError(f"{path}: field `id` is {spec.id!r} but the file is named {path.name}")
        url = spec.url
        if "://" not in url and not url.startswith("git@") and not Path(url).is_absolute():
            url = str((repos_dir / url).resolve())  # relative local paths are relative to the repo file
        env = spec.env.resolved(path.parent) if spec.env else None
        for f in env.files() if env else []:
            if not f.is_file():
                raise ConfigError(f"{path}: env file {f} does not exist (paths are relative to the repo file)")
        repos[spec.id] = spec.model_copy(update={"url": url, "env": env})
    return repos


def check_task_refs(task: TaskSpec, path: Path) -> None:
    """Fail on an unknown oracle or comparator now, not in the middle of a run."""
    for out in task.outputs:
        for call in [out.oracle, *out.distractors]:
            try:
                oracle = oracles.resolve(call.fn)
            except oracles.OracleError as exc:
                raise ConfigError(f"{path}: output `{out.key}`: {exc}") from None
            if (oracle.kind == "checker") != (out.type == "oracle_bool") and call is out.oracle:
                want = "an answer checker" if out.type == "oracle_bool" else "a fact oracle"
                raise ConfigError(f"{path}: output `{out.key}`: {call.fn!r} is not {want} for type {out.type}")
        if out.comparator not in comparators.COMPARATORS:
            raise ConfigError(f"{path}: output `{out.key}`: unknown comparator {out.comparator!r}")


def load_tasks(
    tasks_dir: Path, *, task_set: str | None, repos: list[str] | None, pattern: str | None
) -> list[tuple[TaskSpec, Path]]:
    """Tasks under `tasks_dir[/task_set]`, filtered by repo ids and id globs (comma-separated);
    sorted by (repo, id). Every problem of every file is reported at once (evaluator/tasks/taskcheck.py)."""
    from evaluator.tasks import taskcheck

    root = tasks_dir / task_set if task_set else tasks_dir
    if task_set and not root.is_dir() and tasks_dir.is_dir():
        if task_set != DEFAULT_TASK_SET:  # a mistyped set must not silently run every set in the tree
            raise ConfigError(f"task set {task_set!r} not found: {root} is not a folder")
        root = tasks_dir  # the default on a flat --tasks-dir (docs/01's own tree): every task in it
    if not root.is_dir():
        raise ConfigError(f"tasks folder {root} does not exist")
    found: list[tuple[TaskSpec, Path]] = []
    seen: dict[str, Path] = {}
    problems: list[str] = []
    globs = [g.strip() for g in (pattern or "").split(",") if g.strip()]
    for path in _visible_yaml(root):
        task, errors, lines = taskcheck.load_task_file(path)
        problems += errors
        if task is None:
            continue
        if task.change is not None:  # hidden tests and gold patch read once, into the task itself
            try:
                task = task.model_copy(update={"change": resolve_files(task.change, path)})
            except ValueError as exc:
                problems.append(f"{path}: field `change`: {exc}")
                continue
        if task.id in seen:
            problems.append(f"{path}: duplicate task id {task.id!r} (also in {seen[task.id]})")
            continue
        seen[task.id] = path
        if repos is not None and task.repo not in repos:
            continue
        if globs and not any(fnmatch.fnmatchcase(task.id, g) for g in globs):
            continue
        problems += [taskcheck.where(path, lines, loc, msg) for loc, msg in taskcheck.reference_problems(task)]
        found.append((task, path))
    if problems:
        raise ConfigError(taskcheck.summary(problems))
    return sorted(found, key=lambda tp: (tp[0].repo, tp[0].id))
