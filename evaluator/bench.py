"""`python -m evaluator.bench`: how much the harness adds to the cost of the model.

Against a zero-latency scripted OpenAI-compatible server (its own process, on 127.0.0.1),
the workload is N tasks of 7 model requests each: 5 shell commands, one `write_file` with
the answer, and a final reply. It reports, measured in one run on one machine:
- tasks/s and wall time of the harness, and of the *floor* (evaluator/bench_floor.py: SDK
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
import asyncio
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

from evaluator import cli
from evaluator.bench_table import table
from evaluator.config import PROJECT_ROOT
from evaluator.sandbox import SandboxPaths, SandboxUnavailable, get_backend
from evaluator.specs import Limits

COMMANDS = ["ls -la", "cat README.md", "grep -c bench README.md", "wc -l README.md", "head -n 3 README.md"]


def _script(delay: float):  # noqa: ANN202
    from evaluator.fake_server import completion, tool_call

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
    from evaluator.fake_server import ScriptedServer

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


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@b"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


def make_repo(path: Path, files: int) -> str:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    (path / "README.md").write_text("# bench\nA repository for the AgentGym benchmark.\n")
    for i in range(files - 1):
        d = path / f"pkg{i % 50}"
        d.mkdir(exist_ok=True)
        (d / f"mod{i}.py").write_text(f"def f{i}(x={i}):\n    return x\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "bench")
    return git(path, "rev-parse", "HEAD")


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


def setup_time(base: Path, files: int, sandbox: str, n: int) -> dict[str, float]:
    """Mean seconds to make one task's working copy and open + close its sandbox: the shared
    read-only checkout most tasks get, and the full copy for tasks that may write elsewhere."""
    from evaluator.specs import RepoSpec
    from evaluator.workspace import RepoCache, checkout

    commit = make_repo(base / "big", files)
    spec = RepoSpec(id="big", url=str(base / "big"), ref=commit)
    cache = RepoCache(base / "setup-cache")
    mirror = cache.mirror(spec)
    backend = get_backend(sandbox)  # type: ignore[arg-type]
    cache.shared_base("big", mirror, commit, "eval_artifacts")  # made once per commit, then reused
    out: dict[str, float] = {}
    for mode in (["shared_readonly"] if backend.readonly_root else []) + ["full_copy"]:
        t0 = time.perf_counter()
        for i in range(n):
            w = base / f"setup-{mode}-{i}"
            common = dict(tmp_dir=w / "tmp", home_dir=w / "home", ro_binds=[mirror])
            if mode == "full_copy":
                paths = SandboxPaths(work_root=w / "repo", **common)
                checkout(mirror, commit, paths.work_root)
            else:
                root = cache.shared_base("big", mirror, commit, "eval_artifacts")
                (w / "answer" / "eval_artifacts").mkdir(parents=True)
                paths = SandboxPaths(work_root=root, readonly_root=True,
                                     writable={"eval_artifacts": w / "answer" / "eval_artifacts"}, **common)
            paths.tmp_dir.mkdir(parents=True)
            paths.home_dir.mkdir()
            asyncio.run(backend.open(paths, limits=Limits(), env={}).close())
        out[mode] = round((time.perf_counter() - t0) / n, 4)
    return out


def run_bench(ns: argparse.Namespace) -> dict[str, Any]:
    from evaluator.sandbox.spawnbench import measure_spawn

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
            floor_argv = [sys.executable, "-m", "evaluator.bench_floor", "--base-url", server.url, "--concurrency",
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
                   "demand in its own virtualenv (see evaluator/bench_inspect.py), and report the throughput ratio (default off).")
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
        from evaluator.bench_inspect import run_inspect

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
