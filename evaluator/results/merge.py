"""`python -m evaluator.merge --out RUN_DIR SHARD_RUN_DIR...`: combine shard runs into one run.

The merged directory has the layout, results, REPORT.md and run.json of a single unsharded
run (apart from the fields listed in docs/reliability.md as run-specific: ids and timings).
Shards must agree on model, config (other than --shard and --runs-root) and task set.

Exit codes: 0 merged; 1 merged, but some trial ended with api_error, sandbox_error or harness_error;
2 usage error, or shards that disagree or overlap (nothing is written).
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Any

from evaluator.cli import common as cli
from evaluator.reporting import report
from evaluator.config.errors import ConfigError
from evaluator.results.records import RunManifest, RunMeta
from evaluator.execution.session import exit_code, resume_command
from evaluator.results.rundir import RunDir
from evaluator.results.runlock import RunLock, check_free

RUN_SPECIFIC = {"shard", "runs_root"}


def _meta(path: Path) -> RunMeta:
    try:
        return RunMeta.read(path)
    except (OSError, ValueError):
        raise ConfigError(f"{path} is not a run directory (no readable run.json)") from None


def _comparable(meta: RunMeta) -> dict[str, Any]:
    cfg = {k: v for k, v in meta.config.items() if k not in RUN_SPECIFIC}
    return {"model": meta.model, "config": cfg, "task_set_hash": meta.task_set_hash, "repos": meta.repos}


def merge(out: Path, shards: list[Path]) -> int:
    metas = [_meta(s) for s in shards]
    first = _comparable(metas[0])
    for path, meta in zip(shards[1:], metas[1:]):
        mine = _comparable(meta)
        for key in ("model", "task_set_hash", "repos", "config"):
            if mine[key] != first[key]:
                raise ConfigError(f"{path} disagrees with {shards[0]} on {key}; only shards of one run can be merged")
    check_free(out)  # a run still writing there says so, whatever else is in the folder
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out} already exists and is not empty; choose a new --out folder (it is created)")
    runs = [RunDir(s) for s in shards]
    seen: dict[str, Path] = {}
    for run in runs:
        for t in run.read_trials():
            key = f"{t.repo_id}/{t.task_id}#{t.epoch}"
            if key in seen:
                raise ConfigError(f"{key} is in both {seen[key]} and {run.path}; shards must not overlap")
            seen[key] = run.path
    cli.check_writable(out)
    with RunLock(out):
        return _write(out, shards, metas, runs)


def _write(out: Path, shards: list[Path], metas: list[RunMeta], runs: list[RunDir]) -> int:
    for run in runs:
        for sub in ("trials", "artifacts"):
            if (run.path / sub).is_dir():
                shutil.copytree(run.path / sub, out / sub, dirs_exist_ok=True)
        for jsonl in sorted((run.path / "transcripts").glob("*.jsonl")):
            dest = out / "transcripts" / jsonl.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(dest, "a", encoding="utf-8") as f:
                f.write(jsonl.read_text(encoding="utf-8"))
    manifests = [r.manifest() or RunManifest(run_id=r.path.name, total=0) for r in runs]
    meta = metas[0].model_copy(update=dict(
        run_id=out.name, shard=None, jobs=sum(m.jobs for m in metas), started_at=min(m.started_at for m in metas),
        config={**metas[0].config, "shard": None, "runs_root": str(out.parent)}, merged_from=[str(s) for s in shards]))
    merged = RunDir(out)
    trials = merged.read_trials()
    total = sum(m.total for m in manifests)
    done = sorted(k for m in manifests for k in m.done)
    complete = all(m.complete for m in manifests)
    report.finalize(merged, meta, trials, partial=None if complete else "Some shards were not complete.",
                    total=total, resume_command=" && ".join(resume_command(s) for s, m in zip(shards, manifests) if not m.complete))
    merged.write_manifest(RunManifest(run_id=out.name, total=total, done=done, complete=complete))
    print(f"merged {len(shards)} shards, {len(trials)} trials -> {out}/results/REPORT.md")
    return exit_code(trials)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evaluator.merge", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="The merged run directory to create.")
    p.add_argument("shards", type=Path, nargs="+", help="Shard run directories (from --shard I/N).")
    ns = p.parse_args(argv)
    try:
        return merge(ns.out, ns.shards)
    except ConfigError as exc:
        return cli.fail(str(exc))


if __name__ == "__main__":
    sys.exit(main())
