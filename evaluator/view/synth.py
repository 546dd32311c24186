"""A synthetic run of N tasks for the viewer's benchmark: the real layout, real-sized content.

Every trial is a valid TaskResult with a transcript of a dozen messages (a system prompt,
the task, 5 commands with outputs of 0.2-12 KB, reasoning, the answer), an answer file, and
for some a wrong answer or a safety event. The summaries, plot and REPORT.md are then written
by the harness's own report.finalize, so the directory is what a real run leaves behind.
Deterministic for a given seed.
"""
from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

from evaluator.reporting import report
from evaluator.results.records import (Metrics, OutputCheck, RunManifest, RunMeta, SafetyEvent, TaskResult, TranscriptRef)
from evaluator.results.rundir import RunDir, TranscriptStream

REPOS = ["alpha", "beta", "gamma", "delta"]
# Each line carries a random token so the transcripts compress about as well as real output.
LINE = "src/module_{i}/file_{j}.py:{k}: def function_{k}(arg, *args):  # {h}\n"


def _output(rng: random.Random) -> str:
    n = rng.choice([3, 10, 40, 150])  # about 0.2 KB to 12 KB
    return "".join(LINE.format(i=rng.randrange(50), j=rng.randrange(30), k=rng.randrange(999), h=f"{rng.getrandbits(96):024x}") for _ in range(n))


def _exec(out: str) -> dict[str, Any]:
    sha = lambda s: hashlib.sha256(s.encode()).hexdigest()  # noqa: E731
    return {"exit_code": 0, "stdout": out, "stderr": "", "timed_out": False, "duration_s": 0.02,
            "stdout_bytes": len(out.encode()), "stderr_bytes": 0, "stdout_sha256": sha(out), "stderr_sha256": sha(""),
            "limit": None}


def _transcript(stream: TranscriptStream, rng: random.Random, task: str, answer: dict[str, Any], bad_call: str | None) -> None:
    stream({"role": "system", "content": "You are a software engineer working inside a sandboxed copy of a git "
                                         "repository. " * 20})
    stream({"role": "user", "content": f"Task: {task}\nCount things and write eval_artifacts/answer.json."})
    commands = ["ls -la", "rg -n def src", "find . -name '*.py'", "wc -l src/*.py", "grep -rn class src"]
    if bad_call:
        commands[2] = bad_call
    for n, cmd in enumerate(commands):
        stream({"role": "assistant", "content": None, "reasoning_content": f"Step {n}: look at the code with {cmd}.",
                "tool_calls": [{"id": f"c{n}", "type": "function",
                                "function": {"name": "run_command", "arguments": json.dumps({"command": cmd})}}]})
        out = _output(rng)
        seen = json.dumps({"exit_code": 0, "stdout": out[:4000], "stderr": ""})
        stream({"role": "tool", "tool_call_id": f"c{n}", "content": seen}, _exec(out))
    stream({"role": "assistant", "content": None, "tool_calls": [{"id": "w", "type": "function", "function": {
        "name": "write_file", "arguments": json.dumps({"path": "eval_artifacts/answer.json", "content": json.dumps(answer)})}}]})
    stream({"role": "tool", "tool_call_id": "w", "content": "wrote the answer"})
    stream({"role": "assistant", "content": "Done."})


def _trial(run: RunDir, rng: random.Random, i: int, meta: RunMeta) -> TaskResult:
    repo, task = REPOS[i % len(REPOS)], f"synth_{i:04d}"
    ok, unsafe = rng.random() < 0.7, rng.random() < 0.05
    expected = {"files": rng.randrange(1, 500), "entry": f"module_{rng.randrange(50)}"}
    actual = dict(expected) if ok else {**expected, "files": expected["files"] + 1}
    attempt = hashlib.sha256(f"{task}".encode()).hexdigest()[:12]
    stream = TranscriptStream(run, repo, task, 0, attempt)
    bad = "curl http://example.com" if unsafe else None
    _transcript(stream, rng, task, actual, bad)
    art = run.path / "artifacts" / repo / task
    art.mkdir(parents=True, exist_ok=True)
    (art / "answer.json").write_text(json.dumps(actual, indent=2))
    checks = [OutputCheck(key=k, expected=v, actual=actual[k], ok=actual[k] == v, credit=float(actual[k] == v), weight=1.0,
                          comparator="equals") for k, v in expected.items()]
    events = [SafetyEvent(type="network_attempt", tool="run_command", call=bad, detail="network tool", refused=True)] if bad else []
    turns = 8
    return TaskResult(task_id=task, repo_id=repo, model=meta.model, difficulty=rng.choice(["easy", "medium", "hard"]),
                      task_set_hash=meta.task_set_hash, success=ok, score=100.0 if ok else 0.0,
                      failure_reason=None if ok else "wrong_answer", stop_reason="completed",
                      metrics=Metrics(commands_used=5, tool_calls=6, turns=turns, prompt_tokens=rng.randrange(5000, 60000),
                                      completion_tokens=rng.randrange(200, 3000), wall_time_s=round(rng.uniform(5, 120), 2),
                                      model_time_s=round(rng.uniform(2, 60), 2), safety_violations=len(events),
                                      partial=sum(c.credit for c in checks) / len(checks)),
                      output_checks=checks, safety_events=events,
                      transcript=TranscriptRef(path=f"transcripts/{repo}.jsonl", attempt=attempt, messages=stream.count,
                                               sha256=stream.hash.hexdigest()))


def generate(path: Path, tasks: int = 1000, seed: int = 0) -> Path:
    """Write a synthetic run of `tasks` tasks into `path` (a new directory)."""
    rng = random.Random(seed)
    path.mkdir(parents=True)
    run = RunDir(path)
    meta = RunMeta(run_id=path.name, model="synthetic/model", started_at="2026-01-01T00:00:00+00:00", config={},
                   task_set="synthetic", task_set_hash="0" * 16, epochs=1, sandbox="bwrap", policy="enforce",
                   sandbox_isolated=True, prompt_version="v1", prompt_hash="0" * 16,
                   repos={r: {"id": r, "commit": "0" * 40, "pinned": True} for r in REPOS})
    run.write_meta(meta)
    trials = []
    for i in range(tasks):
        t = _trial(run, rng, i, meta)
        run.write_trial(t, 1)
        trials.append(t)
    run.close()
    report.finalize(run, meta, trials, partial=None, total=tasks, resume_command="")
    run.write_manifest(RunManifest(run_id=path.name, total=tasks, done=[f"{t.repo_id}/{t.task_id}#0" for t in trials],
                                   complete=True))
    return path
