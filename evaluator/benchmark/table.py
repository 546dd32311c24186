"""The Markdown table `python -m evaluator.bench` prints from its JSON result."""
from __future__ import annotations

from typing import Any


SETUP_LABELS = {"shared_readonly": "shared read-only checkout", "full_copy": "full working copy",
                "injected_copy": "change task with an injected bug (copy + fresh git)",
                "overlay": "change task, overlay working copy (layers built)",
                "injected_overlay": "change task with an injected bug, overlay (layers built)",
                "overlay_layer_build": "overlay's base layer, built once per commit",
                "injected_layer_build": "injected-bug layer, built once per bug"}
BELOW_NOISE = "n/a (below noise: run more --tasks)"


def _ms(value: float | None) -> str:
    """A marginal CPU figure; None when the run was too small to tell it from noise."""
    return BELOW_NOISE if value is None else str(value)


def table(result: dict[str, Any]) -> str:
    h, f, s = result["harness"], result["floor"], result["spawn"]
    bw, pc = s.get("bwrap") or {}, s.get("bwrap_per_command") or {}
    lo, hi = result["ratio_wall_harness_to_floor_range"]
    lines = ["| measure | value |", "|---|---:|",
             f"| workload | {result['workload']['tasks']} tasks x {result['workload']['requests_per_task']} requests, concurrency {result['workload']['concurrency']}, sandbox {result['workload']['sandbox']}, medians of {result['workload']['repeat']} runs |",
             f"| harness wall (s) | {h['wall_s']} |", f"| floor wall (s) | {f['wall_s']} |",
             f"| harness / floor (range over repetitions) | {result['ratio_wall_harness_to_floor']}x ({lo}x-{hi}x) |",
             f"| tasks/s, harness / floor | {h['tasks_per_s']} / {f['tasks_per_s']} |",
             f"| marginal tasks/s (start-up left out), harness / floor | {h['marginal_tasks_per_s']} / {f['marginal_tasks_per_s']} |",
             f"| harness CPU per tool call (ms) | {_ms(h['cpu_ms_per_tool_call'])} |",
             f"| harness CPU per tool call above sandbox spawns (ms) | {_ms(h['cpu_ms_per_tool_call_above_spawns'])} |",
             f"| floor CPU per tool call (ms) | {_ms(f['cpu_ms_per_tool_call'])} |",
             f"| floor CPU per tool call above sandbox spawns (ms) | {_ms(f['cpu_ms_per_tool_call_above_spawns'])} |",
             f"| fixed CPU per run, harness / floor (s) | {_ms(h['fixed_cpu_s'])} / {_ms(f['fixed_cpu_s'])} |",
             f"| `bash -c` spawn: wall / CPU (ms) | {s['bash']['wall_ms_median']} / {s['bash']['cpu_ms_mean']} |",
             f"| bwrap, resident (per command, the sandbox's start and close spread over a task's 5 commands): wall / CPU (ms) | {bw.get('wall_ms_median', 'n/a')} / {bw.get('cpu_ms_mean', 'n/a')} |",
             f"| bwrap, fresh sandbox per command: wall / CPU (ms) | {pc.get('wall_ms_median', 'n/a')} / {pc.get('cpu_ms_mean', 'n/a')} |",
             *(f"| set-up per task, {result['setup_s_per_task']['files']:,} files, {SETUP_LABELS.get(k, k)} (s) | {v} |"
               for k, v in result['setup_s_per_task']['seconds'].items()),
             f"| harness peak RSS (MB) | {h['peak_rss_mb']} |"]
    sc = result["latency_scaling"]
    for c, row in sc.items():
        if c != "latency_s":
            lines.append(f"| speed-up at concurrency {c} ({sc['latency_s']:g} s latency) | {row['speedup']} (ideal {row['ideal']:g}) |")
    if "inspect" in result:
        i = result["inspect"]
        if "error" in i:
            lines += [f"| Inspect AI | error: {' '.join(i['error'].split())[:300]} |", "| harness / Inspect AI throughput | n/a |"]
        else:
            lines += [f"| Inspect AI {i['version']} ({i['sandbox']} sandbox): wall (s) / tasks/s | {i['wall_s']} / {i['tasks_per_s']} |",
                      f"| harness / Inspect AI throughput | {result['ratio_throughput_harness_to_inspect']}x |",
                      f"| floor / Inspect AI throughput | {result['ratio_throughput_floor_to_inspect']}x |",
                      f"| harness / Inspect AI marginal throughput (start-up left out) | {result['ratio_marginal_throughput_harness_to_inspect']}x |"]
    return "\n".join(lines)
