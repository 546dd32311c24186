"""`python -m evaluator.view.open_time`: how fast the viewer opens a large run in headless Chromium.

Generates a synthetic run of --tasks tasks (evaluator/view/synth.py: real layout, a dozen
messages and ~25 KB of tool output per task), writes its page with `evaluator.view`, then
loads the file --repeat times in Debian's headless Chromium (a fresh page load each time) and
reports medians of:
- open: from navigation start to the first frame after the run page's task table is built
  (the page's own clock: parsing the 12 MB file, the JSON, building and laying out the table);
- task: from clicking a task to its page rendered (its transcript decompressed and drawn);
- the build time and the size of the HTML file.
It is a benchmark, not a test: nothing here asserts a time.

Exit codes: 0 done; 2 usage error or the browser is not installed.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from evaluator.view.browser import Browser, BrowserUnavailable, find
from evaluator.view.page import write
from evaluator.view.synth import generate


def measure(html: Path, repeat: int) -> dict[str, list[float]]:
    opens, tasks = [], []
    with Browser() as b:
        for n in range(repeat):
            b.open(html, f"/run/0?n={n}")  # a new fragment each time: a full load, not a hash change
            b.wait_ready("run", timeout=120)
            opens.append(b.js("return window.__agentgymPainted"))
            b.js("window.__t0 = performance.now(); document.querySelector('#tasks tbody tr:nth-child(%d) a').click()" % (n + 1))
            b.wait_ready("task", timeout=120)
            tasks.append(b.js("return performance.now() - window.__t0"))
            b.driver.get("about:blank")
    return {"open_ms": opens, "task_ms": tasks}


def run(tasks: int, repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="agentgym-viewbench-") as tmp:
        src = generate(Path(tmp) / "synthetic-run", tasks)
        html = Path(tmp) / "index.html"
        t = time.perf_counter()
        write([src], html)
        build_s = time.perf_counter() - t
        raw = sum(p.stat().st_size for p in (src / "transcripts").glob("*.jsonl"))
        times = measure(html, repeat)
        return {"tasks": tasks, "repeat": repeat, "transcripts_mb": round(raw / 1e6, 1),
                "html_mb": round(html.stat().st_size / 1e6, 1), "build_s": round(build_s, 2),
                "open_ms_median": round(statistics.median(times["open_ms"])),
                "open_ms_range": [round(min(times["open_ms"])), round(max(times["open_ms"]))],
                "task_ms_median": round(statistics.median(times["task_ms"])),
                "task_ms_range": [round(min(times["task_ms"])), round(max(times["task_ms"]))]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evaluator.view.open_time", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", type=int, default=1000, help="Tasks in the synthetic run (default 1000).")
    p.add_argument("--repeat", type=int, default=5, help="Page loads to take the median of (default 5).")
    p.add_argument("--json", type=Path, help="Also write the results as JSON here.")
    ns = p.parse_args(argv)
    if ns.tasks < 1 or ns.repeat < 1:
        print("error: --tasks and --repeat must be at least 1.", file=sys.stderr)
        return 2
    try:
        find()
    except BrowserUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    res = run(ns.tasks, min(ns.repeat, ns.tasks))
    print(f"viewer, synthetic run of {res['tasks']} tasks ({res['transcripts_mb']} MB of transcripts): "
          f"HTML {res['html_mb']} MB built in {res['build_s']} s")
    print(f"  open (navigation start to the task table drawn): median {res['open_ms_median']} ms, range {res['open_ms_range']}")
    print(f"  open one task (decode + render transcript): median {res['task_ms_median']} ms, range {res['task_ms_range']}")
    if ns.json:
        ns.json.write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
