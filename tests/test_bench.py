"""The benchmark runs end to end in its small mode (it reports times; nothing here asserts one)."""
import json
from pathlib import Path

from conftest import run_cli, sandbox_flag


def test_bench_small_mode_reports_every_measure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = run_cli("evaluator.bench", "--small", "--sandbox", sandbox_flag(), "--json", str(out), timeout=600)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    for key in ("harness", "floor", "spawn", "setup_s_per_task", "latency_scaling", "ratio_wall_harness_to_floor",
                "ratio_wall_harness_to_floor_range"):
        assert key in data
    assert data["harness"]["peak_rss_mb"] > 0 and data["workload"]["tasks"] == 4
    for side in ("harness", "floor"):  # per-call CPU is marginal over a smaller run, reported beside it
        assert data[side]["small_run"]["tasks"] < 4 and data[side]["marginal_tasks_per_s"] > 0
    assert "harness / floor" in proc.stdout
