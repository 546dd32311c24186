"""Writing the task files and the report; comparing against a previous generation (re-pin)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from evaluator.results.atomic import write_json_atomic
from evaluator.generate.model import canonical
from evaluator.generate.pipeline import Result

REPORT = "_generation_report.json"


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # a shared list (e.g. exclude_dirs) must not become a YAML anchor


def dump_task(task: dict[str, Any]) -> str:
    return yaml.dump(task, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110, default_flow_style=False)


def existing_tasks(out: Path, repo_id: str) -> dict[str, dict[str, Any]]:
    """Previously generated task files of this repo in `out` (by id)."""
    found: dict[str, dict[str, Any]] = {}
    if out.is_dir():
        for p in sorted(out.glob(f"{repo_id}_gen_*.yaml")):
            try:
                data = yaml.safe_load(p.read_text(encoding="utf-8"))
            except (yaml.YAMLError, OSError):
                continue
            if isinstance(data, dict) and isinstance(data.get("id"), str):
                found[data["id"]] = data
    return found


def write_tasks(out: Path, repo_id: str, res: Result) -> list[Path]:
    """One `<task_id>.yaml` per task; stale generated files of this repo are removed so the
    folder is exactly this generation."""
    out.mkdir(parents=True, exist_ok=True)
    keep = {f"{a.task_id}.yaml" for a in res.accepted}
    for p in out.glob(f"{repo_id}_gen_*.yaml"):
        if p.name not in keep:
            p.unlink()
    paths = []
    for a in sorted(res.accepted, key=lambda a: a.task_id):
        path = out / f"{a.task_id}.yaml"
        path.write_text(dump_task(a.task), encoding="utf-8")
        paths.append(path)
    return paths


def drop_summary(res: Result) -> dict[str, int]:
    return dict(sorted(Counter(d.reason for d in res.drops).items()))


def repin_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[str]]:
    """Task ids by fate; `old`/`new` map id -> expected answer at the old/new commit."""
    both = sorted(set(old) & set(new))
    return {
        "survived": [i for i in both if canonical(old[i]) == canonical(new[i])],
        "changed": [i for i in both if canonical(old[i]) != canonical(new[i])],
        "disappeared": sorted(set(old) - set(new)),
        "new": sorted(set(new) - set(old)),
    }


def write_report(out: Path, meta: dict[str, Any], res: Result, answers: dict[str, Any],
                 repin: dict[str, list[str]] | None) -> Path:
    per_template = Counter(a.candidate.template for a in res.accepted)
    report = {
        **meta,
        "tasks": len(res.accepted),
        "per_template": dict(sorted(per_template.items())),
        "offered": res.offered,
        "one_pipeline": sum(1 for a in res.accepted if a.candidate.one_pipeline),
        "dropped_templates": res.dropped_templates,
        "drops_by_reason": drop_summary(res),
        "answers": answers,  # what builtin/oracle writes per task: the re-pin baseline
        "repin": repin,
        "drops": [d.model_dump() for d in res.drops],
    }
    path = out / REPORT
    write_json_atomic(path, report)
    return path

