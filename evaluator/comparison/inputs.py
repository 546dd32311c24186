"""Load run directories for `evaluator.compare` and decide which tasks they share.

Tasks pair by `task_id` only when their `task_hash` is equal in both runs: a task whose
instruction, oracle or repo pin changed is a different task, and comparing it would blame
the model for a change in the benchmark.
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from evaluator.config.model_options import comparable_options
from evaluator.results.records import TaskResult
from evaluator.results.rundir import RunDir


class InputError(Exception):
    """Bad input the user can fix (exit 2): the message is one sentence for stderr."""


class LoadedRun(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    path: Path
    run_id: str
    model: str
    agent: str = "builtin"  # who ran the tasks: our loop, or an external coding agent (--agent)
    label: str  # unique display name: `model` or `agent · model`, disambiguated when two runs share it
    epochs: int
    task_set: str | None
    task_set_hash: str | None
    trials: list[TaskResult]
    options: dict[str, Any] = {}  # how the model was reached (api, tool format, vendor options), from run.json

    def task_hashes(self) -> dict[str, str]:
        """task_id -> hash, from the trials (what actually ran), else from run.json."""
        out: dict[str, str] = {}
        for t in self.trials:
            out.setdefault(t.task_id, t.task_hash)
        return out

    def by_task(self) -> dict[str, list[TaskResult]]:
        out: dict[str, list[TaskResult]] = {}
        for t in sorted(self.trials, key=lambda r: (r.task_id, r.epoch)):
            out.setdefault(t.task_id, []).append(t)
        return out

    def restricted(self, task_ids: set[str]) -> list[TaskResult]:
        return [t for t in self.trials if t.task_id in task_ids]


def load_run(path: Path) -> LoadedRun:
    if not path.exists():
        raise InputError(f"{path} does not exist.")
    if not path.is_dir():
        raise InputError(f"{path} is not a directory.")
    meta_path = path / "run.json"
    if not meta_path.is_file():
        raise InputError(f"{path} is not a run directory (no run.json).")
    try:
        meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{meta_path} is not valid JSON ({e}).") from None
    if not isinstance(meta, dict):
        raise InputError(f"{meta_path} is not a JSON object.")
    try:
        trials = RunDir(path).read_trials()
    except (OSError, UnicodeDecodeError, ValidationError) as e:
        first = str(e).splitlines()[0]
        raise InputError(f"{path} has an unreadable trial file ({first}).") from None
    if not trials:
        raise InputError(f"{path} has no trial results (trials/<repo>/<task>/epoch-<k>.json).")
    repos_of = Counter((t.task_id, t.repo_id) for t in trials)
    dup = Counter(task for task, _ in repos_of)
    ambiguous = sorted(task for task, n in dup.items() if n > 1)
    if ambiguous:
        raise InputError(f"{path}: task id {ambiguous[0]} appears in more than one repo, so tasks cannot be paired by id.")
    # Fill in hashes missing from old trials from run.json's task_hashes.
    hashes = meta.get("task_hashes") or {}
    for t in trials:
        if not t.task_hash and isinstance(hashes, dict) and hashes.get(t.task_id):
            t.task_hash = str(hashes[t.task_id])
    model = str(meta.get("model") or trials[0].model)
    agent = trials[0].agent  # the adapter's own name, also when it was given by dotted path
    epochs = int(meta.get("epochs") or max(t.epoch for t in trials) + 1)
    return LoadedRun(path=path, run_id=str(meta.get("run_id") or path.name), model=model, agent=agent,
                     label=display_name(agent, model),
                     epochs=epochs, task_set=meta.get("task_set"), task_set_hash=meta.get("task_set_hash"),
                     trials=trials, options=comparable_options(meta.get("config") if isinstance(meta.get("config"), dict) else {}))


def display_name(agent: str, model: str) -> str:
    """Rows are keyed by (agent, model): our own loop shows just the model id."""
    return model if agent == "builtin" else f"{agent} · {model}"


def assign_labels(runs: list[LoadedRun]) -> None:
    """Label runs by (agent, model); when a pair appears twice, add the run id (then #n if still equal)."""
    counts = Counter((r.agent, r.model) for r in runs)
    seen: Counter[str] = Counter()
    for r in runs:
        name = display_name(r.agent, r.model)
        label = name if counts[(r.agent, r.model)] == 1 else f"{name} ({r.run_id})"
        seen[label] += 1
        r.label = label if seen[label] == 1 else f"{label} #{seen[label]}"


class Overlap(BaseModel):
    """Tasks a baseline and a candidate can be compared on."""

    shared: list[str]  # same id and same hash in both runs, with results in both
    hash_changed: list[str]  # same id, different hash
    only_baseline: list[str]
    only_candidate: list[str]

    @property
    def dropped(self) -> int:
        return len(self.hash_changed) + len(self.only_baseline) + len(self.only_candidate)


def overlap(a: LoadedRun, b: LoadedRun) -> Overlap:
    ha, hb = a.task_hashes(), b.task_hashes()
    common = set(ha) & set(hb)
    return Overlap(shared=sorted(t for t in common if ha[t] == hb[t]),
                   hash_changed=sorted(t for t in common if ha[t] != hb[t]),
                   only_baseline=sorted(set(ha) - set(hb)), only_candidate=sorted(set(hb) - set(ha)))


def _preview(ids: list[str], n: int = 5) -> str:
    return ", ".join(ids[:n]) + (f", ... (+{len(ids) - n})" if len(ids) > n else "")


def check_task_sets(baseline: LoadedRun, candidates: list[LoadedRun], allow_partial: bool) -> tuple[dict[str, Overlap], list[str]]:
    """Per-candidate overlaps and warnings; raises InputError on a task-set mismatch without the flag.

    Differing task-set hashes are refused unless `allow_partial`. Even with equal task-set
    hashes, tasks missing from one run (an interrupted run) are left out with a warning.
    """
    overlaps: dict[str, Overlap] = {}
    warnings: list[str] = []
    for c in candidates:
        ov = overlap(baseline, c)
        if baseline.task_set_hash != c.task_set_hash:
            if not allow_partial and not ov.shared:  # the flag would not help: say what would
                raise InputError(
                    f"{c.label} shares no task (same id and hash) with {baseline.label}: they ran different task "
                    f"sets ({baseline.task_set} {baseline.task_set_hash} vs {c.task_set} {c.task_set_hash}); "
                    f"rerun both on the same task set, e.g. with the same --tasks-dir, --task-set and --repos.")
            if not allow_partial:
                raise InputError(
                    f"Task sets differ: {baseline.label} ran task set {baseline.task_set} ({baseline.task_set_hash}) "
                    f"but {c.label} ran {c.task_set} ({c.task_set_hash}); rerun on the same task set or pass "
                    f"--allow-partial-overlap to compare only the {len(ov.shared)} shared tasks.")
            warnings.append(
                f"Task sets differ ({baseline.task_set_hash} vs {c.task_set_hash}): comparing {c.label} with "
                f"{baseline.label} on {len(ov.shared)} shared tasks, {ov.dropped} dropped "
                f"({len(ov.hash_changed)} changed hash, {len(ov.only_baseline)} only in baseline, "
                f"{len(ov.only_candidate)} only in candidate).")
        elif ov.dropped:
            warnings.append(f"{c.label} and {baseline.label} have results for different tasks "
                            f"(incomplete run?): comparing {len(ov.shared)} shared tasks, {ov.dropped} dropped.")
        if ov.hash_changed:
            warnings.append(f"Changed task hash, not compared: {_preview(ov.hash_changed)}.")
        if not ov.shared:
            raise InputError(f"{c.label} shares no task (same id and hash) with {baseline.label}; nothing to compare: "
                             f"rerun both on the same task set, e.g. with the same --tasks-dir, --task-set and --repos.")
        overlaps[c.label] = ov
    return overlaps, warnings


def common_tasks(baseline: LoadedRun, overlaps: dict[str, Overlap]) -> set[str]:
    """Tasks every run shares with the baseline: the leaderboard's common ground."""
    tasks = set(baseline.task_hashes())
    for ov in overlaps.values():
        tasks &= set(ov.shared)
    return tasks
