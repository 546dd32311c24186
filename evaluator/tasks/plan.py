"""From a selection to a plan: repos cloned and pinned, tasks loaded, hashed and sharded."""
from __future__ import annotations

import hashlib
import inspect
import sys
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from evaluator.scoring import comparators, hidden_tests, junit
from evaluator.scoring import oracle_registry as oracles
from evaluator.tasks import injection, mutations
from evaluator.tasks.catalog import load_repos, load_tasks
from evaluator.config.errors import ConfigError
from evaluator.config.paths import PROMPTS_DIR
from evaluator.config.settings import Selection
from evaluator.sandbox.base import EnvMount
from evaluator.tasks.specs import RepoSpec, TaskSpec
from evaluator.tasks.clone_cache import SHA_RE, RepoCache, default_cache_dir


class RepoPin(BaseModel):
    id: str
    url: str
    ref: str
    commit: str
    pinned: bool  # the ref is a full sha (built-in repos always are)


class Job(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    task: TaskSpec
    task_path: Path
    repo: RepoSpec
    commit: str
    mirror: Path
    pristine: Path
    task_hash: str
    epoch: int = 0
    env: EnvMount | None = None  # the repo's built environment (tasks/env_cache.py), set before tasks run
    injected: dict[str, str] = {}  # path -> text with the task's injected bug (tasks/injection.py)

    @property
    def key(self) -> str:
        return f"{self.task.repo}/{self.task.id}#{self.epoch}"


class Plan(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    jobs: list[Job]
    repos: dict[str, RepoPin]
    task_hashes: dict[str, str]
    task_set_hash: str
    prompt_hash: str
    cache_dir: Path


def prompt_files(version: str) -> tuple[Path, Path]:
    base = PROMPTS_DIR
    return base / f"system_{version}.txt", base / f"user_{version}.j2"


def _sha(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


def task_hash(task: TaskSpec, path: Path, commit: str, prompt_hash: str, weights: bytes) -> str:
    """Covers the task file (hidden tests and gold patch included), its oracles' and comparators' source,
    the prompt, the weights and the commit."""
    parts: list[bytes | str] = [path.read_bytes(), commit, prompt_hash, weights]
    if task.change is not None:  # the hidden tests, the gold patch, the change prompts and the grader
        parts.append(task.change.model_dump_json())
        parts += [p.read_bytes() for p in sorted(PROMPTS_DIR.glob("*_change_*"))]
        parts += [inspect.getsource(m) for m in (hidden_tests, junit)] + [hidden_tests.GUARD_SOURCE.read_bytes()]
        if task.change.inject is not None:  # how the recipe turns into an edit
            parts += [inspect.getsource(m) for m in (injection, mutations)]
    for out in task.outputs:
        for call in [out.oracle, *out.distractors]:
            parts.append(oracles.resolve(call.fn).source_hash)
        parts.append(inspect.getsource(comparators.COMPARATORS[out.comparator]))
    return _sha(*parts)[:16]


def shard_of(index: int, n: int) -> int:
    """1-based shard of the index-th task in (repo, id) order: round-robin, so sizes differ by at most one."""
    return index % n + 1


def _inject(task: TaskSpec, path: Path, mirror: Path, commit: str,
            out: dict[str, dict[str, str]]) -> tuple[TaskSpec, Path]:
    """The task with its injected bug's gold patch computed; the files the working copy starts with
    changed (the injected bug, and hidden files marked `visible`) into `out`."""
    if task.change is None:
        return task, path
    shown = {h.path: h.content or "" for h in task.change.hidden_tests if h.visible}
    if shown:
        out[f"{task.repo}/{task.id}"] = shown
    if task.change.inject is None:
        return task, path
    if hidden_tests.protected(task.change.inject.file, {h.path for h in task.change.hidden_tests}):
        raise ConfigError(f"{path}: field `change.inject`: {task.change.inject.file} is a test or test-configuration "
                          "file, which grading puts back; inject the bug into the source")
    try:
        change, files = injection.resolve(task.change, mirror, commit)
        out[f"{task.repo}/{task.id}"] = {**shown, **files}
    except mutations.MutationError as exc:
        raise ConfigError(f"{path}: field `change.inject`: {exc}") from None
    return task.model_copy(update={"change": change}), path


def build_plan(sel: Selection, *, epochs: int, prompt_version: str, weights: Path,
               shard: tuple[int, int] | None = None, clone: bool = True) -> Plan:
    repos = load_repos(sel.repos_config)
    for rid in sel.repos or []:
        if rid not in repos:
            raise ConfigError(f"unknown repo id {rid!r}; known ids in {sel.repos_config}: {', '.join(sorted(repos)) or 'none'}")
    tasks = load_tasks(sel.tasks_dir, task_set=sel.task_set, repos=sel.repos, pattern=sel.tasks)
    # Without --repos, "every registered repo": tasks of repos not in --repos-config are left out, loudly.
    unregistered = sorted({t.repo for t, _ in tasks} - set(repos))
    if unregistered and sel.repos is None:
        tasks = [(t, p) for t, p in tasks if t.repo in repos]
        print(f"note: leaving out the tasks of repos not registered in {sel.repos_config}: {', '.join(unregistered)} "
              f"(add <id>.yaml there, or pass --repos to choose)", file=sys.stderr)
    if not tasks:
        raise ConfigError(f"no tasks match (tasks dir {sel.tasks_dir}, task set {sel.task_set!r}, "
                          f"repos {','.join(sel.repos) if sel.repos else 'every repo in ' + str(sel.repos_config)}, "
                          f"filter {sel.tasks or 'none'}); --tasks takes comma-separated globs such as 'fx_00*,fx_010'")
    system, user = prompt_files(prompt_version)
    if not system.exists() or not user.exists():
        raise ConfigError(f"prompt version {prompt_version!r} not found in {system.parent}")
    prompt_hash = _sha(system.read_bytes(), user.read_bytes())[:16]
    if not weights.exists():
        raise ConfigError(f"weights file {weights} does not exist")
    weights_bytes = weights.read_bytes()
    cache = RepoCache(sel.cache_dir or default_cache_dir())
    pins: dict[str, RepoPin] = {}
    places: dict[str, tuple[Path, Path]] = {}
    for rid in sorted({t.repo for t, _ in tasks}):
        spec = repos[rid]
        if clone:
            mirror = cache.mirror(spec)
            commit = cache.resolve(spec, mirror)
            places[rid] = (mirror, cache.pristine(spec, mirror, commit))
        else:
            commit, places[rid] = spec.ref, (Path(), Path())
        pins[rid] = RepoPin(id=rid, url=spec.url, ref=spec.ref, commit=commit, pinned=bool(SHA_RE.match(spec.ref)))
    hashes = {t.id: task_hash(t, p, pins[t.repo].commit, prompt_hash, weights_bytes) for t, p in tasks}
    if shard:
        tasks = [tp for i, tp in enumerate(tasks) if shard_of(i, shard[1]) == shard[0]]
    injected: dict[str, dict[str, str]] = {}
    if clone:
        tasks = [_inject(t, p, places[t.repo][0], pins[t.repo].commit, injected) for t, p in tasks]
    jobs = [Job(task=t, task_path=p, repo=repos[t.repo], commit=pins[t.repo].commit, mirror=places[t.repo][0],
                pristine=places[t.repo][1], task_hash=hashes[t.id], epoch=e,
                injected=injected.get(f"{t.repo}/{t.id}", {}))
            for t, p in tasks for e in range(epochs)]
    set_hash = _sha(*(f"{k}:{v}" for k, v in sorted(hashes.items())))[:16]
    return Plan(jobs=jobs, repos=pins, task_hashes=hashes, task_set_hash=set_hash, prompt_hash=prompt_hash,
                cache_dir=cache.root)
