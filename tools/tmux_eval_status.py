"""The status window of tools/run_parallel_eval_tmux.py: every model's progress from its run folder,
then, once every model window has exited, `python -m evaluator.compare` over the runs."""
from __future__ import annotations

import datetime as dt
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

from pydantic import BaseModel

from tmux_eval_config import EXIT_FILE, Config, ModelEntry, slug


class RunProgress(BaseModel):
    run_dir: Path | None = None
    done: int = 0
    total: int = 0
    passed: int = 0
    complete: bool = False
    partial_reason: str | None = None


def find_run(root: Path, since: int) -> Path | None:
    """The newest run in root started at or after `since` (run.json started_at has 1 s resolution)."""
    best: tuple[str, Path] | None = None
    for meta in root.glob("*/run.json"):
        try:
            started = json.loads(meta.read_text(encoding="utf-8")).get("started_at", "")
            when = dt.datetime.fromisoformat(started).timestamp()
        except (OSError, ValueError, TypeError, AttributeError):
            continue
        if when >= since and (best is None or started > best[0]):
            best = (started, meta.parent)
    return best[1] if best else None


def progress(root: Path, since: int) -> RunProgress:
    run = find_run(root, since)
    if run is None:
        return RunProgress()
    out = RunProgress(run_dir=run)
    try:
        man = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
        out.done, out.total = len(man.get("done", [])), int(man.get("total", 0))
        out.complete, out.partial_reason = bool(man.get("complete")), man.get("partial_reason")
    except (OSError, ValueError, TypeError):
        pass
    for trial in (run / "trials").glob("*/*/epoch-*.json"):
        try:
            out.passed += bool(json.loads(trial.read_text(encoding="utf-8")).get("success"))
        except (OSError, ValueError):
            continue
    return out


def window_state(cfg: Config, window: str, dead: bool | None) -> int | None | str:
    """None while the model's window runs, else the evaluator's exit status (-1: the window died
    without writing one, e.g. its shell was killed); "missing" if the window is gone."""
    try:
        return int((cfg.runs_root / window / EXIT_FILE).read_text().strip())
    except (OSError, ValueError):
        pass
    if dead is None:
        return "missing"
    # The shell writes the file before it exits and holds the pane's pty until then, so a dead
    # pane without the file did not get that far.
    return -1 if dead else None


def dead_panes(session: str) -> dict[str, bool]:
    """window name -> whether its pane has exited (via $TMUX: the status window's own server)."""
    r = subprocess.run(["tmux", "list-windows", "-t", f"={session}:", "-F", "#{window_name}\t#{pane_dead}"],
                       capture_output=True, text=True)
    return {name: dead == "1" for name, _, dead in (line.partition("\t") for line in r.stdout.splitlines())}


def render(cfg: Config, rows: list[tuple[ModelEntry, RunProgress, int | None | str]]) -> str:
    lines = [f"AgentGym parallel eval · session {cfg.session_name} · {time.strftime('%H:%M:%S')}", "",
             f"{'model':<32} {'state':<10} {'done':>9} {'pass rate':>10}  run"]
    for m, p, state in rows:
        st = "running" if state is None else ("missing" if state == "missing" else f"exit {state}")
        if state is not None and p.partial_reason:
            st += " (partial)"
        rate = f"{100 * p.passed / p.done:.1f}%" if p.done else "-"
        run = p.run_dir.name if p.run_dir else ("(dry run)" if cfg.dry_run else "-")
        lines.append(f"{m.model_id:<32} {st:<10} {f'{p.done}/{p.total}':>9} {rate:>10}  {run}")
    return "\n".join(lines)


VERDICT = {0: "no candidate is significantly worse than the baseline",
           1: "REGRESSION: at least one candidate is significantly worse than the baseline",
           2: "compare failed (usage or input error)"}


def status_loop(cfg: Config, since: int, interval: float = 2.0) -> int:
    while True:
        dead = dead_panes(cfg.session_name)
        rows = [(m, progress(cfg.runs_root / slug(m.model_id), since),
                 window_state(cfg, slug(m.model_id), dead.get(slug(m.model_id)))) for m in cfg.models]
        print("\033[H\033[2J" + render(cfg, rows), flush=True)
        if all(state is not None for _, _, state in rows):
            break
        time.sleep(interval)
    runs = [p.run_dir for _, p, _ in rows if p.run_dir is not None and (p.run_dir / "run.json").exists()]
    print()
    if len(runs) < 2:
        print("all model windows have exited; fewer than two runs to compare.", flush=True)
        return 0
    out = cfg.runs_root / "compare"
    cmd = [sys.executable, "-m", "evaluator.compare", *map(str, runs), "--out", str(out)]
    print("$ " + shlex.join(cmd), flush=True)
    rc = subprocess.run(cmd, cwd=cfg.repo_root).returncode
    print(f"\ncompare exit {rc}: {VERDICT.get(rc, 'unexpected exit status')}", flush=True)
    return 0
