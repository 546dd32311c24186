"""`python -m evaluator.bench`: how much the harness adds to the cost of the model.

Against a zero-latency scripted OpenAI-compatible server (its own process, on 127.0.0.1),
the workload is N tasks of 7 model requests each: 5 shell commands, one `write_file` with
the answer, and a final reply. It reports, measured in one run on one machine:
- tasks/s and wall time of the harness, and of the *floor* (evaluator/benchmark/floor.py: SDK
  call + sandboxed command + file write, nothing else), as a ratio;
- harness CPU per tool call, with and without the sandbox spawns, next to the measured
  spawn cost of `bash -c` and of the sandbox in use; marginal (the workload minus a run of
  a few tasks), so fixed per-run costs are left out and reported apart;
- per-task set-up time (working copy + sandbox) on a repo of --setup-files files;
- peak RSS of the largest process in the harness's tree (itself, or a child such as the chart);
- with a simulated model latency, the speed-up at concurrency 1, 8 and 32 against ideal.
The zero-latency workload runs --repeat times (harness and floor interleaved) and medians are
reported, with the range of the harness/floor ratio. It is a benchmark, not a test: nothing
here asserts a time.

Exit codes: 0 done; 2 usage error or the sandbox is unavailable.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evaluator.benchmark.table import table
from evaluator.benchmark.workload import run_bench
from evaluator.cli import common as cli
from evaluator.sandbox import SandboxUnavailable


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evaluator.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", type=int, default=40, help="Tasks in the zero-latency workload (default 40).")
    p.add_argument("--concurrency", type=int, default=8, help="Concurrency of the zero-latency workload (default 8).")
    p.add_argument("--sandbox", choices=["bwrap", "local"], default="bwrap",
                   help="Sandbox of the harness and floor runs (default bwrap).")
    p.add_argument("--latency", type=float, default=1.0, help="Simulated model latency for the scaling run, in seconds (default 1.0).")
    p.add_argument("--scaling", default="1,8,32", help="Concurrency levels for the scaling run (default 1,8,32).")
    p.add_argument("--setup-files", type=int, default=3500, help="Files in the repo for the set-up measure (default 3500).")
    p.add_argument("--spawn-runs", type=int, default=30,
                   help="Commands spawned to measure the cost of one `bash -c` and one sandboxed command (default 30).")
    p.add_argument("--repeat", type=int, default=3, help="Repetitions of the zero-latency workload, harness and "
                   "floor interleaved; medians are reported (default 3).")
    p.add_argument("--small", action="store_true", help="A quick run for tests: 4 tasks, 0.05 s latency, scaling 1,2, one repetition; "
                   "per-call CPU is then mostly noise (default off).")
    p.add_argument("--json", type=Path, help="Also write the results as JSON here (default: none).")
    p.add_argument("--with-inspect", action="store_true", help="Also run the workload through Inspect AI, installed on "
                   "demand in its own virtualenv (see evaluator/benchmark/inspect_ai_run.py), and report the throughput ratio (default off).")
    ns = p.parse_args(argv)
    try:
        ns.scaling = [int(x) for x in ns.scaling.split(",")]
    except ValueError:
        return cli.fail(f"--scaling must be comma-separated integers, got {ns.scaling!r}")
    if ns.small:
        ns.tasks, ns.latency, ns.scaling, ns.setup_files, ns.spawn_runs, ns.repeat = 4, 0.05, [1, 2], 200, 5, 1
    if ns.tasks < 2 or min(ns.concurrency, ns.repeat, *ns.scaling) < 1:
        return cli.fail("--tasks must be at least 2 (per-call figures are marginal over a smaller run); "
                        "--concurrency, --repeat and --scaling levels at least 1")
    try:
        result = run_bench(ns)
    except SandboxUnavailable as exc:
        return cli.fail(str(exc))
    if ns.with_inspect:
        from evaluator.benchmark.inspect_ai_run import run_inspect

        try:
            result["inspect"] = run_inspect(ns.tasks, ns.concurrency)
            i, h, f = result["inspect"], result["harness"], result["floor"]
            result["ratio_throughput_harness_to_inspect"] = round(i["wall_s"] / h["wall_s"], 2)
            result["ratio_throughput_floor_to_inspect"] = round(i["wall_s"] / f["wall_s"], 2)
            result["ratio_marginal_throughput_harness_to_inspect"] = round(h["marginal_tasks_per_s"] / i["marginal_tasks_per_s"], 2)
        except Exception as exc:  # noqa: BLE001 - no network, no venv: report it and keep going
            result["inspect"] = {"error": str(exc)}
    print(table(result))
    if ns.json:
        ns.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
