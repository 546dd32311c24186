"""The benchmark's workload and measurements: a scripted endpoint, a generated suite, timed runs
of the harness and of the floor. The command is `python -m evaluator.bench` (evaluator/cli/bench.py)."""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from evaluator.benchmark.repo import make_repo
from evaluator.benchmark.setup_time import setup_time
from evaluator.config.paths import CHECKOUT as PROJECT_ROOT
from evaluator.sandbox import get_backend

COMMANDS = ["ls -la", "cat README.md", "grep -c bench README.md", "wc -l README.md", "head -n 3 README.md"]


def _script(delay: float):  # noqa: ANN202
    from evaluator.testing.scripted_server import completion, tool_call

    def script(body: dict[str, Any], _: int):  # noqa: ANN202
        # Whatever shell tool the request offers: our run_command(command), Inspect's bash(command|cmd).
        tools = {t["function"]["name"]: t["function"] for t in body.get("tools", []) if t.get("type") == "function"}
        shell = next((n for n in ("run_command", "bash") if n in tools), "run_command")
        props = list(((tools.get(shell) or {}).get("parameters") or {}).get("properties") or {})
        arg = next((a for a in ("command", "cmd") if a in props), props[0] if props else "command")
        turn = sum(1 for m in body["messages"] if m["role"] == "assistant")
        if turn < len(COMMANDS):
            reply = completion(tool_calls=[tool_call(shell, {arg: COMMANDS[turn]}, f"c{turn}")])
        elif turn == len(COMMANDS):
            reply = completion(tool_calls=[tool_call("write_file", {"path": "eval_artifacts/answer.json",
                                                                    "content": json.dumps({"md_files": 1})}, "w")])
        else:
            reply = completion("done")
        return reply.model_copy(update={"delay_s": delay})
    return script


def _serve(port: Any, delay: float) -> None:
    from evaluator.testing.scripted_server import ScriptedServer

    with ScriptedServer(_script(delay)) as srv:
        port.put(srv.port)
        while True:
            time.sleep(3600)


class Server:
    def __init__(self, delay: float) -> None:
        ctx = multiprocessing.get_context("spawn")
        q = ctx.Queue()
        self.proc = ctx.Process(target=_serve, args=(q, delay), daemon=True)
        self.proc.start()
        self.url = f"http://127.0.0.1:{q.get(timeout=60)}/v1"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.join()


class Measured(BaseModel):
    wall_s: float
    cpu_s: float
    peak_rss_mb: float


def measure(argv: list[str]) -> Measured:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, cwd=PROJECT_ROOT, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])} failed ({proc.returncode}): {proc.stderr[-800:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Measured(wall_s=round(wall, 3), cpu_s=round(cpu, 3), peak_rss_mb=round(after.ru_maxrss / 1024, 1))


def _median(ms: list[Measured]) -> Measured:
    """Median wall and CPU over repetitions (each taken apart); the highest peak RSS."""
    return Measured(wall_s=round(statistics.median(m.wall_s for m in ms), 3),
                    cpu_s=round(statistics.median(m.cpu_s for m in ms), 3),
                    peak_rss_mb=max(m.peak_rss_mb for m in ms))


def make_suite(base: Path, tasks: int, files: int) -> tuple[Path, Path]:
    commit = make_repo(base / "repo", files)
    repos, tdir = base / "repos", base / "tasks" / "l1" / "bench"
    repos.mkdir()
    tdir.mkdir(parents=True)
    (repos / "bench.yaml").write_text(yaml.safe_dump({"id": "bench", "url": str(base / "repo"), "ref": commit}))
    for i in range(tasks):
        (tdir / f"bench_{i:04d}.yaml").write_text(yaml.safe_dump({
            "id": f"bench_{i:04d}", "repo": "bench", "instruction": "Count the Markdown files.",
            "outputs": [{"key": "md_files", "type": "int", "oracle": {"fn": "glob_count", "args": {"glob": "**/*.md"}}}],
            "max_commands": 10, "timeout_seconds": 600}))
    return repos, base / "tasks"


def harness(base: Path, url: str, sandbox: str, concurrency: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "evaluator.run", "--repos-config", str(base / "repos"), "--tasks-dir",
            str(base / "tasks"), "--cache-dir", str(base / "cache"), "--runs-root", str(base / "runs"),
            "--model", "bench", "--base-url", url, "--sandbox", sandbox, "--concurrency", str(concurrency),
            "--max-inflight", str(max(concurrency, 8)), "--quiet", *extra]


def run_bench(ns: argparse.Namespace) -> dict[str, Any]:
    from evaluator.benchmark.spawn import measure_spawn

    backend = get_backend(ns.sandbox)
    backend.preflight()
    spawn = measure_spawn(runs=ns.spawn_runs)
    in_use = spawn.local
    if ns.sandbox == "bwrap" and spawn.bwrap and spawn.bwrap_per_command:  # the mode the harness will use
        in_use = spawn.bwrap_per_command if getattr(backend, "mode", "") == "per-command" else spawn.bwrap
    spawn_cpu_ms = in_use.cpu_ms_mean
    out: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
                           "workload": {"tasks": ns.tasks, "requests_per_task": len(COMMANDS) + 2,
                                        "commands_per_task": len(COMMANDS), "concurrency": ns.concurrency,
                                        "sandbox": ns.sandbox, "repeat": ns.repeat},
                           "spawn": spawn.model_dump()}
    # Per-call CPU is marginal: the workload minus a small run of k tasks, so each process's
    # fixed costs (interpreter, imports, preflight, the report) cancel out.
    k = max(1, min(ns.concurrency, ns.tasks // 4))
    with tempfile.TemporaryDirectory(prefix="agentgym-bench-") as tmp:
        base = Path(tmp)
        make_suite(base, ns.tasks, 20)
        make_suite(base / "small", k, 20)
        server = Server(0.0)
        try:
            for b in (base, base / "small"):
                measure(harness(b, server.url, ns.sandbox, ns.concurrency, "--dry-run"))  # clone into the cache
            floor_argv = [sys.executable, "-m", "evaluator.benchmark.floor", "--base-url", server.url, "--concurrency",
                          str(ns.concurrency), "--sandbox", ns.sandbox, "--workdir", str(base / "floor"),
                          "--readme", str(base / "repo" / "README.md"), "--tasks"]
            runs: dict[str, list[Measured]] = {"h_small": [], "h": [], "f_small": [], "f": []}
            for _ in range(ns.repeat):  # interleaved, so a busy moment on the machine hits both sides
                runs["h_small"].append(measure(harness(base / "small", server.url, ns.sandbox, ns.concurrency)))
                runs["h"].append(measure(harness(base, server.url, ns.sandbox, ns.concurrency)))
                runs["f_small"].append(measure(floor_argv + [str(k)]))
                runs["f"].append(measure(floor_argv + [str(ns.tasks)]))
            h_small, h, f_small, floor = (_median(runs[key]) for key in ("h_small", "h", "f_small", "f"))
        finally:
            server.stop()
        per_task_calls = len(COMMANDS) + 1
        calls, commands = (ns.tasks - k) * per_task_calls, (ns.tasks - k) * len(COMMANDS)

        def summary(m: Measured, small: Measured) -> dict[str, Any]:
            cpu = m.cpu_s - small.cpu_s
            return {**m.model_dump(), "tasks_per_s": round(ns.tasks / m.wall_s, 2),
                    "marginal_tasks_per_s": round((ns.tasks - k) / max(m.wall_s - small.wall_s, 1e-3), 2),
                    "cpu_ms_per_tool_call": _marginal(1000 * cpu / calls, 2),
                    "cpu_ms_per_tool_call_above_spawns": _marginal((1000 * cpu - commands * spawn_cpu_ms) / calls, 2),
                    "fixed_cpu_s": _marginal(small.cpu_s - k * cpu / (ns.tasks - k), 3),
                    "small_run": {"tasks": k, **small.model_dump()}}

        out["harness"], out["floor"] = summary(h, h_small), summary(floor, f_small)
        out["ratio_wall_harness_to_floor"] = round(h.wall_s / floor.wall_s, 2)
        ratios = [a.wall_s / b.wall_s for a, b in zip(runs["h"], runs["f"])]
        out["ratio_wall_harness_to_floor_range"] = [round(min(ratios), 2), round(max(ratios), 2)]
        out["setup_s_per_task"] = {"files": ns.setup_files, "seconds": setup_time(base, ns.setup_files, ns.sandbox, 3)}
        out["latency_scaling"] = scaling(base, ns)
    return out


def _marginal(value: float, digits: int) -> float | None:
    """A difference of two noisy measures: below zero it is noise (e.g. --small), reported as null."""
    return round(value, digits) if value >= 0 else None


def scaling(base: Path, ns: argparse.Namespace) -> dict[str, Any]:
    """Speed-up over concurrency 1 with a simulated model latency (ideal: equal to the concurrency).

    Throughput is marginal: each level runs 2c and 4c tasks and divides the extra tasks by the
    extra wall time, so fixed costs (start-up, preflight, the final report) cancel out."""
    server = Server(ns.latency)
    rows: dict[str, Any] = {"latency_s": ns.latency}
    try:
        throughput: dict[int, float] = {}
        for c in ns.scaling:
            walls = []
            for n in (2 * c, 4 * c):
                sub = base / f"scale{c}-{n}"
                make_suite(sub, n, 5)
                measure(harness(sub, server.url, ns.sandbox, c, "--dry-run"))  # clone into the cache
                walls.append(measure(harness(sub, server.url, ns.sandbox, c)).wall_s)
            throughput[c] = 2 * c / (walls[1] - walls[0])
            base_tp = throughput[ns.scaling[0]]
            rows[str(c)] = {"tasks": [2 * c, 4 * c], "wall_s": walls, "tasks_per_s": round(throughput[c], 3),
                            "speedup": round(throughput[c] / base_tp, 2), "ideal": c / ns.scaling[0],
                            "efficiency": round(throughput[c] / base_tp / (c / ns.scaling[0]), 3)}
    finally:
        server.stop()
    return rows
