"""The floor for `evaluator.bench`: the same workload with nothing but the essentials.

Only the SDK call, the command in the same sandbox backend, and the answer file write:
no retries, oracles, policy, transcripts or result files. The harness's wall time is
reported as a ratio to this. Run as `python -m evaluator.benchmark.floor ...` (a subprocess,
so its CPU is measured apart).

Exit codes: 0 done; 1 a request or command failed (traceback); 2 usage error.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
from pathlib import Path

import openai

from evaluator.sandbox import SandboxPaths, get_backend
from evaluator.tasks.specs import Limits


async def one_task(client: openai.AsyncOpenAI, backend, base: Path, readme: str, i: int) -> None:  # noqa: ANN001
    root = base / f"t{i}"
    paths = SandboxPaths(work_root=root / "w", tmp_dir=root / "tmp", home_dir=root / "home")
    for d in (paths.work_root, paths.tmp_dir, paths.home_dir):
        d.mkdir(parents=True)
    (paths.work_root / "README.md").write_text(readme)
    sandbox = backend.open(paths, limits=Limits(), env={})
    sandbox.warm_up()  # as the harness does: the sandbox starts while the first request is out
    messages: list[dict] = [{"role": "user", "content": f"Task: floor_{i}"}]
    try:
        while True:
            resp = await client.chat.completions.create(model="bench", messages=messages, tools=[{"type": "function", "function": {"name": "run_command", "parameters": {"type": "object"}}}])
            msg = resp.choices[0].message
            messages.append(msg.model_dump(exclude_none=True))
            if not msg.tool_calls:
                return
            for call in msg.tool_calls:
                args = json.loads(call.function.arguments)
                if call.function.name == "run_command":
                    r = await sandbox.exec(args["command"], cwd=sandbox.root, timeout_s=60)
                    out = json.dumps({"exit_code": r.exit_code, "stdout": r.stdout, "stderr": r.stderr})
                else:
                    target = paths.work_root / args["path"]
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(args["content"])
                    out = "ok"
                messages.append({"role": "tool", "tool_call_id": call.id, "content": out})
    finally:
        await sandbox.close()


async def main_async(ns: argparse.Namespace) -> None:
    backend = get_backend(ns.sandbox)
    client = openai.AsyncOpenAI(base_url=ns.base_url, api_key="EMPTY", max_retries=0)
    slots = asyncio.Semaphore(ns.concurrency)
    readme = Path(ns.readme).read_text()

    async def guarded(i: int) -> None:
        async with slots:
            await one_task(client, backend, Path(ns.workdir), readme, i)

    await asyncio.gather(*(guarded(i) for i in range(ns.tasks)))
    await client.close()


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m evaluator.benchmark.floor", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base-url", required=True, help="The scripted server's URL (required).")
    p.add_argument("--tasks", type=int, required=True, help="Tasks to run (required).")
    p.add_argument("--concurrency", type=int, required=True, help="Tasks in flight at once (required).")
    p.add_argument("--sandbox", choices=["bwrap", "local"], required=True, help="Sandbox backend (required).")
    p.add_argument("--workdir", required=True, help="Scratch folder, removed at the end (required).")
    p.add_argument("--readme", required=True, help="The README whose first line is the answer (required).")
    ns = p.parse_args()
    try:
        asyncio.run(main_async(ns))
    finally:
        shutil.rmtree(ns.workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
