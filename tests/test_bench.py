"""The benchmark runs end to end in its small mode (it reports times; nothing here asserts one)."""
import json
from pathlib import Path

import pytest

from conftest import run_cli, sandbox_flag


@pytest.mark.slow
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


def _side(cpu: float | None) -> dict:
    return {"wall_s": 6.0, "tasks_per_s": 6.0, "marginal_tasks_per_s": 12.0, "cpu_ms_per_tool_call": cpu,
            "cpu_ms_per_tool_call_above_spawns": cpu, "fixed_cpu_s": 1.0, "peak_rss_mb": 80.0}


def test_table_labels_match_performance_doc_and_noise_is_not_printed_as_negative() -> None:
    """Issue 20 item 13: --small printed -1.39 ms per call, and docs/performance.md's labels differed."""
    from evaluator.benchmark.workload import _marginal
    from evaluator.benchmark.table import BELOW_NOISE, table

    assert _marginal(-1.39, 2) is None and _marginal(2.345, 2) == 2.35
    spawn = {"wall_ms_median": 13.0, "cpu_ms_mean": 2.1}
    result = {"workload": {"tasks": 40, "requests_per_task": 7, "concurrency": 8, "sandbox": "bwrap", "repeat": 3},
              "harness": _side(None), "floor": _side(11.07), "ratio_wall_harness_to_floor": 1.15,
              "ratio_wall_harness_to_floor_range": [1.1, 1.24],
              "spawn": {"bash": spawn, "bwrap": spawn, "bwrap_per_command": spawn},
              "setup_s_per_task": {"files": 3500, "seconds": {"shared_readonly": 0.08, "full_copy": 1.1}},
              "latency_scaling": {"latency_s": 1.0, "8": {"speedup": 7.85, "ideal": 8}, "32": {"speedup": 30.5, "ideal": 32}},
              "inspect": {"version": "0.3.285", "sandbox": "local", "wall_s": 14.88, "tasks_per_s": 2.69},
              "ratio_throughput_harness_to_inspect": 2.2, "ratio_throughput_floor_to_inspect": 2.54,
              "ratio_marginal_throughput_harness_to_inspect": 2.46}
    printed = table(result)
    assert f"| harness CPU per tool call (ms) | {BELOW_NOISE} |" in printed and "| -" not in printed

    def labels(text: str) -> list[str]:
        rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| measure")]
        return [line.split(" | ")[0] for line in rows]

    doc = (Path(__file__).resolve().parent.parent / "docs" / "performance.md").read_text()
    # The page's first table may show several runs side by side: found by its first column's header.
    first_table = doc.split("\n| measure |", 1)[1].split("\n\n", 1)[0]
    assert labels(printed) == labels(first_table)
