"""`python -m evaluator.bench --with-inspect`: the benchmark's workload through Inspect AI.

Inspect AI is never a dependency of the project: it is installed on demand, once, into its own
virtualenv at `$AGENTGYM_INSPECT_VENV` (default `~/.cache/agentgym/inspect-venv`) with
`pip install inspect-ai openai`, and run there as `inspect eval` in a subprocess.

The workload is the same as the harness's: N samples, each of 7 model requests against the
scripted server (its own process, on 127.0.0.1) — 5 shell commands through Inspect's own `bash()`
tool, one `write_file` (a small custom `@tool` writing through the sandbox API) of the answer, and
a final reply — in Inspect's `local` sandbox, with `use_tools(...)` + `generate()` (Inspect's
built-in tool loop, which ends on a reply without tool calls, so no `submit` tool is needed), a
scorer that reads the answer back, and max connections / samples / subprocesses equal to the
concurrency. Like the harness's sandboxes, it gets an empty scratch HOME (Inspect's `bash()` runs
`bash --login`, which would otherwise source the user's profile on every command). The model is `openai-api/scripted/bench` (Inspect's OpenAI-compatible provider,
`SCRIPTED_BASE_URL` / `SCRIPTED_API_KEY`), without streaming.

After the measured run, the eval log is read back (not timed) to check that every sample ran its
5 commands and its write and was scored correct.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from evaluator.benchmark.workload import COMMANDS, Measured, Server, measure

README = "# bench\nA repository for the AgentGym benchmark.\n"
VENV_ENV = "AGENTGYM_INSPECT_VENV"

TASK_FILE = '''
import json

from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.scorer import CORRECT, INCORRECT, Score, Target, accuracy, scorer
from inspect_ai.solver import TaskState, generate, use_tools
from inspect_ai.tool import Tool, bash, tool
from inspect_ai.util import sandbox

README = {readme!r}


@tool
def write_file() -> Tool:
    async def execute(path: str, content: str) -> str:
        """Write a file in the working directory.

        Args:
          path: Path of the file, relative to the working directory.
          content: The file's content.

        Returns:
          "ok".
        """
        await sandbox().write_file(path, content)
        return "ok"

    return execute


@scorer(metrics=[accuracy()])
def answer_file():
    async def score(state: TaskState, target: Target) -> Score:
        try:
            answer = json.loads(await sandbox().read_file("eval_artifacts/answer.json"))
        except Exception as exc:  # noqa: BLE001
            return Score(value=INCORRECT, explanation=repr(exc))
        return Score(value=CORRECT if answer.get("md_files") == int(target.text) else INCORRECT)

    return score


@task
def agentgym_bench(samples: int = 1) -> Task:
    return Task(
        dataset=[Sample(id=f"bench_{{i:04d}}", input=f"Task: bench_{{i:04d}}. Count the Markdown files.",
                        target="1", files={{"README.md": README}}) for i in range(samples)],
        solver=[use_tools([bash(timeout=60), write_file()]), generate()],
        scorer=answer_file(),
        sandbox="local",
    )
'''

VERIFY = r'''
import json, sys
from inspect_ai.log import read_eval_log
from inspect_ai.event import ToolEvent

log = read_eval_log(sys.argv[1])
out = {"status": log.status, "samples": 0, "bash_calls": 0, "bash_errors": 0, "write_calls": 0,
       "model_requests": 0, "correct": 0, "sample_errors": 0, "per_sample_bash": set()}
for s in log.samples or []:
    out["samples"] += 1
    out["sample_errors"] += 1 if s.error else 0
    n = 0
    for ev in s.events:
        if isinstance(ev, ToolEvent):
            if ev.function == "bash":
                n += 1
                out["bash_errors"] += 1 if ev.error else 0
            elif ev.function == "write_file":
                out["write_calls"] += 1
        elif getattr(ev, "event", "") == "model":
            out["model_requests"] += 1
    out["bash_calls"] += n
    out["per_sample_bash"].add(n)
    score = next(iter((s.scores or {}).values()), None)
    out["correct"] += 1 if score is not None and score.value == "C" else 0
out["per_sample_bash"] = sorted(out["per_sample_bash"])
print(json.dumps(out))
'''


def venv_dir() -> Path:
    return Path(os.environ.get(VENV_ENV) or Path.home() / ".cache" / "agentgym" / "inspect-venv")


def ensure_venv() -> Path:
    """The venv's `bin/` with `inspect` in it, creating the venv and installing Inspect once."""
    venv = venv_dir()
    bindir = venv / "bin"
    if (bindir / "inspect").exists() and (bindir / "python").exists():
        return bindir
    venv.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([sys.executable, "-m", "venv", str(venv)], check=False, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"creating the virtualenv {venv} failed: {(proc.stderr or proc.stdout)[-500:]}")
    proc = subprocess.run([str(bindir / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                           "inspect-ai", "openai"], check=False, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0 or not (bindir / "inspect").exists():
        lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if not ln.startswith("WARNING: Location")]
        raise RuntimeError(f"pip install inspect-ai openai into {venv} failed ({proc.returncode}): "
                           + "\n".join(lines)[-800:])
    return bindir


def inspect_version(bindir: Path) -> str:
    return subprocess.run([str(bindir / "python"), "-c", "import inspect_ai; print(inspect_ai.__version__)"],
                          capture_output=True, text=True, check=True).stdout.strip()


def _eval_argv(bindir: Path, task_file: Path, samples: int, concurrency: int, log_dir: Path) -> list[str]:
    c = str(concurrency)
    return [str(bindir / "inspect"), "eval", f"{task_file}@agentgym_bench", "-T", f"samples={samples}",
            "--model", "openai-api/scripted/bench", "-M", "stream=false",
            "--max-connections", c, "--max-samples", c, "--max-subprocesses", c, "--max-sandboxes", c,
            "--max-retries", "0", "--log-dir", str(log_dir), "--display", "none", "--log-level", "warning"]


def verify(bindir: Path, log_dir: Path) -> dict[str, Any]:
    logs = sorted(log_dir.glob("*.eval")) + sorted(log_dir.glob("*.json"))
    if len(logs) != 1:
        raise RuntimeError(f"expected one Inspect log in {log_dir}, found {len(logs)}")
    proc = subprocess.run([str(bindir / "python"), "-c", VERIFY, str(logs[0])], check=False, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"reading the Inspect log failed: {proc.stderr[-800:]}")
    return json.loads(proc.stdout)


def run_inspect(tasks: int, concurrency: int, latency: float = 0.0) -> dict[str, Any]:
    """Install (once) and run the workload through Inspect: wall, CPU, tasks/s, version, log check."""
    bindir = ensure_venv()
    version = inspect_version(bindir)
    with tempfile.TemporaryDirectory(prefix="agentgym-bench-inspect-") as tmp:
        base = Path(tmp)
        task_file = base / "agentgym_bench.py"
        task_file.write_text(TASK_FILE.format(readme=README))
        server = Server(latency)
        # An empty scratch HOME, as the harness's sandboxes have: Inspect's bash() runs `bash --login`,
        # which would otherwise source the user's ~/.profile on every command.
        (base / "home").mkdir()
        saved = {k: os.environ.get(k) for k in ("SCRIPTED_BASE_URL", "SCRIPTED_API_KEY", "HOME")}
        os.environ.update(SCRIPTED_BASE_URL=server.url, SCRIPTED_API_KEY="x", HOME=str(base / "home"))
        try:
            # Warm-up (bytecode compilation of a fresh venv), like the harness's cache-filling dry run.
            one = measure(_eval_argv(bindir, task_file, 1, concurrency, base / "warmup-logs"))
            m: Measured = measure(_eval_argv(bindir, task_file, tasks, concurrency, base / "logs"))
        finally:
            server.stop()
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        check = verify(bindir, base / "logs")
    expected = {"samples": tasks, "bash_calls": tasks * len(COMMANDS), "write_calls": tasks, "correct": tasks,
                "bash_errors": 0, "sample_errors": 0, "model_requests": tasks * (len(COMMANDS) + 2)}
    bad = {k: (check.get(k), v) for k, v in expected.items() if check.get(k) != v}
    return {"version": version, "wall_s": m.wall_s, "cpu_s": m.cpu_s, "peak_rss_mb": m.peak_rss_mb,
            "tasks_per_s": round(tasks / m.wall_s, 2), "sandbox": "local",
            # Start-up left out: the one-sample run is nearly all start-up.
            "marginal_tasks_per_s": round((tasks - 1) / max(m.wall_s - one.wall_s, 1e-3), 2),
            "one_sample_wall_s": one.wall_s,  # the warm-up run: mostly Inspect's start-up
            "verified": not bad,
            "log_check": check, **({"log_mismatch": bad} if bad else {})}


if __name__ == "__main__":  # a quick manual run: python -m evaluator.benchmark.inspect_ai_run [tasks] [concurrency]
    print(json.dumps(run_inspect(int(sys.argv[1]) if len(sys.argv) > 1 else 4,
                                 int(sys.argv[2]) if len(sys.argv) > 2 else 8), indent=2))
