"""Expected answers of task files at a given commit: the basis of the re-pin report."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from evaluator.scoring import oracle_registry as oracles
from evaluator.config.errors import ConfigError
from evaluator.models import TaskContext
from evaluator.models.builtin import solution
from evaluator.tasks.specs import RepoSpec, TaskSpec
from evaluator.tasks.clone_cache import RepoCache


def expected(task: dict[str, Any], root: Path, commit: str, cache: oracles.FactCache) -> Any:
    """What builtin/oracle would write for `task` at `commit`: answer.json plus checker files."""
    spec = TaskSpec.model_validate(task)
    answer, files = solution(TaskContext(task=spec, repo_root=root, commit=commit, cache=cache))
    return {"answer": answer, "files": files}


def old_answers(tasks: dict[str, dict[str, Any]], repo: RepoSpec, repos: RepoCache, mirror: Path,
                cache: oracles.FactCache, recorded: dict[str, Any]) -> dict[str, Any]:
    """Each previous task's answer at the commit its provenance names; a task whose commit or
    oracle is gone falls back to the answer the previous report recorded (if any)."""
    out: dict[str, Any] = {}
    for tid, task in tasks.items():
        commit = str((task.get("provenance") or {}).get("commit", ""))
        try:
            root = repos.pristine(repo, mirror, repos.resolve(repo.model_copy(update={"ref": commit}), mirror))
            out[tid] = expected(task, root, commit, cache)
        except (ConfigError, oracles.OracleError, ValueError, OSError):
            if tid in recorded:
                out[tid] = recorded[tid]
    return out
