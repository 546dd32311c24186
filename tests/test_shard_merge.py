"""Sharded-then-merged equals unsharded, for the demo suite at N = 1, 2 and 3."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import only_run_dir, run_cli, sandbox_flag

pytestmark = pytest.mark.slow  # end to end: CI runs it after the fast tier (`pytest -m slow`)

RUN_SPECIFIC_META = {"run_id", "started_at", "finished_at", "merged_from", "config"}
RUN_SPECIFIC_CONFIG = {"shard", "runs_root"}


def run_demo(runs: Path, cache: Path, *extra: str) -> Path:
    proc = run_cli("evaluator.run", "--repos", "demo", "--model", "builtin/oracle", "--runs-root", str(runs),
                   "--cache-dir", str(cache), "--sandbox", sandbox_flag(), "--quiet", *extra)
    assert proc.returncode == 0, proc.stderr
    return only_run_dir(runs)


def strip_result(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    data["metrics"] = {k: v for k, v in data["metrics"].items() if k not in ("wall_time_s", "model_time_s")}
    data.pop("transcript")
    return data


def snapshot(run: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in sorted((run / "results").rglob("*.json")):
        data = json.loads(p.read_text())
        out[str(p.relative_to(run))] = data if p.name == "index.json" else strip_result(data)
    meta = json.loads((run / "run.json").read_text())
    out["run.json"] = {k: v for k, v in meta.items() if k not in RUN_SPECIFIC_META}
    out["run.json/config"] = {k: v for k, v in meta["config"].items() if k not in RUN_SPECIFIC_CONFIG}
    report = (run / "results" / "REPORT.md").read_text().splitlines()
    out["REPORT.md"] = [line for line in report if not line.startswith("- **run**")]
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    base = tmp_path_factory.mktemp("ref")
    return snapshot(run_demo(base / "runs", base / "cache")), base / "cache"


@pytest.mark.parametrize("n", [1, 2, 3])
def test_sharded_then_merged_equals_unsharded(n: int, tmp_path: Path, reference: tuple[dict[str, Any], Path]) -> None:
    expected, cache = reference
    shards = [run_demo(tmp_path / f"shard{i}", cache, "--shard", f"{i}/{n}") for i in range(1, n + 1)]
    sizes = [len(list((s / "trials" / "demo").iterdir())) for s in shards]
    assert max(sizes) - min(sizes) <= 1  # balanced
    proc = run_cli("evaluator.merge", "--out", str(tmp_path / "merged"), *map(str, shards))
    assert proc.returncode == 0, proc.stderr
    assert snapshot(tmp_path / "merged") == expected


def test_merge_refuses_shards_of_different_runs(tmp_path: Path, reference: tuple[dict[str, Any], Path]) -> None:
    _, cache = reference
    a = run_demo(tmp_path / "a", cache, "--shard", "1/2")
    b = run_demo(tmp_path / "b", cache, "--shard", "2/2", "--epochs", "2")
    proc = run_cli("evaluator.merge", "--out", str(tmp_path / "merged"), str(a), str(b))
    assert proc.returncode == 2 and "disagrees" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "merged").exists()
    proc = run_cli("evaluator.merge", "--out", str(tmp_path / "merged"), str(a), str(a))
    assert proc.returncode == 2 and "must not overlap" in proc.stderr
