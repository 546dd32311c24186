"""The run's chart, drawn by a child process that starts with the run.

Importing matplotlib costs about a second of CPU. A child started when the tasks start pays it
beside the run (off the event loop's GIL, on whatever core is free), then waits on stdin for
the chart's data, sent when the run ends. With no data (the run died first) it exits quietly.
Run as `python -m evaluator.reporting.chart_worker`; the parent falls back to drawing in-process if the
child cannot start or fails.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pydantic import BaseModel, Field

from evaluator.config.paths import CHECKOUT as PROJECT_ROOT

DRAW_TIMEOUT_S = 120.0


class ChartRequest(BaseModel):
    """One success-rate bar chart (`evaluator.reporting.plots.success_rate_bars`)."""

    labels: list[str]
    rates: list[float]
    ci_low: list[float]
    ci_high: list[float]
    out: Path = Field(description="Where the PNG goes.")
    title: str


def draw(req: ChartRequest) -> Path:
    from evaluator.reporting import plots

    return plots.success_rate_bars(req.labels, req.rates, req.ci_low, req.ci_high, req.out, title=req.title)


class ChartWorker:
    def __init__(self) -> None:
        # Output is discarded (an undrained pipe could block the child); on failure the parent
        # draws in-process, where any error shows.
        path = os.pathsep.join(p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p)
        self.proc = subprocess.Popen([sys.executable, "-m", "evaluator.reporting.chart_worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env={**os.environ, "PYTHONPATH": path})

    @classmethod
    def start(cls) -> ChartWorker | None:
        try:
            return cls()
        except OSError:
            return None

    def draw(self, req: ChartRequest) -> bool:
        """Hand over the data and wait for the PNG; False if the child failed (caller draws)."""
        try:
            self.proc.communicate(req.model_dump_json().encode(), timeout=DRAW_TIMEOUT_S)
        except (OSError, ValueError, subprocess.TimeoutExpired):  # dead pipe, already closed, stuck
            self.close()
            return False
        return self.proc.returncode == 0 and req.out.is_file()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def main() -> int:
    from evaluator.reporting import plots  # noqa: F401 - the slow import, paid while the run goes on

    data = sys.stdin.buffer.read()
    if not data.strip():
        return 0
    draw(ChartRequest.model_validate_json(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
