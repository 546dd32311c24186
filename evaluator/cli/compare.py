"""`python -m evaluator.compare`: leaderboard and regression check of runs against a baseline.

    python -m evaluator.compare BASELINE_RUN_DIR RUN_DIR [RUN_DIR ...] [--out DIR]
        [--prices FILE] [--alpha 0.05] [--allow-partial-overlap]

Writes leaderboard.md, leaderboard.csv, leaderboard.json and success_rate.png,
repo_heatmap.png, score_vs_tokens.png to --out (default: compare-<UTC timestamp> next to the
last RUN_DIR, i.e. in the runs root). docs/compare.md describes the statistics.

Exit codes:
  0    no candidate is significantly worse than the baseline
  1    at least one candidate is significantly worse (a regression, see the verdict rule)
  2    usage or input error: missing or non-run directory, unreadable trials or price table,
       task sets that differ (without --allow-partial-overlap); nothing is written
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from evaluator.comparison.options import option_warnings
from evaluator.comparison.inputs import InputError, LoadedRun, assign_labels, check_task_sets, common_tasks, load_run
from evaluator.comparison.outputs import CompareReport, write_all
from evaluator.comparison.leaderboard import ModelRow, fmt_cost, fmt_pct, load_prices, model_row
from evaluator.comparison.regression import compare
from evaluator.reporting.stats import mdd_text


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse's usage dump is noisy; one sentence and exit 2 like every other input error
        self.exit(2, f"{self.prog}: {message} (see --help).\n")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m evaluator.compare", description=__doc__,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("baseline", type=Path, metavar="BASELINE_RUN_DIR", help="The run the others are compared against.")
    p.add_argument("runs", type=Path, nargs="+", metavar="RUN_DIR", help="Candidate runs.")
    p.add_argument("--out", type=Path, help="Output directory (default: <last RUN_DIR>/../compare-<timestamp>).")
    p.add_argument("--prices", type=Path, help="Price table YAML (default: the model presets, evaluator/models/presets.yaml, "
                        "with $AGENTGYM_MODEL_PRESETS over them).")
    p.add_argument("--alpha", type=float, default=0.05,
                   help="Significance level for McNemar; the score-delta CI is (1 - alpha) (default 0.05).")
    p.add_argument("--allow-partial-overlap", action="store_true",
                   help="Compare runs with different task sets on their shared tasks (same id and hash) (default off: exit 2).")
    return p


def build(ns: argparse.Namespace, now: dt.datetime) -> tuple[CompareReport, Path]:
    if not 0.0 < ns.alpha < 1.0:
        raise InputError(f"--alpha must be between 0 and 1, got {ns.alpha}.")
    prices = load_prices(ns.prices)
    # shown in the report: what the user passed, not an absolute path of this checkout
    prices_shown = str(ns.prices) if ns.prices else "evaluator/models/presets.yaml"
    runs: list[LoadedRun] = [load_run(p) for p in (ns.baseline, *ns.runs)]
    assign_labels(runs)
    baseline, candidates = runs[0], runs[1:]
    overlaps, warnings = check_task_sets(baseline, candidates, ns.allow_partial_overlap)
    warnings += option_warnings(baseline, candidates)
    common = common_tasks(baseline, overlaps)
    if not common:
        raise InputError("No task is shared by all runs, so there is no common ground for a leaderboard.")
    if len(common) < len(baseline.task_hashes()):
        warnings.append(f"The leaderboard uses the {len(common)} tasks all runs share "
                        f"(of {len(baseline.task_hashes())} in the baseline).")
    rows: list[ModelRow] = [model_row(r, r.restricted(common), prices) for r in runs]
    comparisons = [compare(baseline, c, overlaps[c.label], alpha=ns.alpha) for c in candidates]
    report = CompareReport(
        generated_at=now.isoformat(timespec="seconds"), alpha=ns.alpha, baseline=baseline.label,
        task_set=baseline.task_set, task_set_hash=baseline.task_set_hash, common_tasks=len(common),
        prices_file=prices_shown,
        warnings=warnings, models=rows, comparisons=comparisons,
        regression=any(c.verdict.regression for c in comparisons))
    out = ns.out or ns.runs[-1].resolve().parent / f"compare-{now.strftime('%Y%m%d-%H%M%S')}"
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a directory.")
    return report, out


def print_leaderboard(r: CompareReport, console: Console) -> None:
    t = Table(title=escape(f"AgentGym leaderboard (baseline: {r.baseline}, {r.common_tasks} tasks)"))
    for col, just in (("model", "left"), ("ep", "right"), ("tasks", "right"), ("success", "right"),
                      ("95% CI", "left"), ("score", "right"), ("95% CI", "left"), ("safety/task", "right"),
                      ("tokens/task", "right"), ("cost", "right")):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for m in r.models:
        t.add_row(escape(m.label), str(m.epochs), str(m.tasks), fmt_pct(m.success_rate),
                  escape(f"[{fmt_pct(m.success_ci_low)}, {fmt_pct(m.success_ci_high)}]"), f"{m.mean_score:.1f}",
                  escape(f"[{m.score_ci_low:.1f}, {m.score_ci_high:.1f}]"), f"{m.safety_per_task:.2f}",
                  f"{m.tokens_per_task:.0f}", fmt_cost(m.cost_usd))
    console.print(t)


def main(argv: list[str] | None = None) -> int:
    ns = parser().parse_args(argv)
    try:
        report, out = build(ns, dt.datetime.now(dt.timezone.utc))
        files = write_all(report, out)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: cannot write the comparison to {ns.out or 'the output directory'}: {e.strerror or e}.",
              file=sys.stderr)
        return 2
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    # Not a terminal (CI logs, tests): a wide fixed width so rows are not folded.
    console = Console() if sys.stdout.isatty() else Console(width=160)
    print_leaderboard(report, console)
    for c in report.comparisons:
        print(("REGRESSION: " if c.verdict.regression else "") + c.verdict.text)  # plain print: one greppable line
    print(f"Minimum detectable difference: {mdd_text(report.common_tasks, report.alpha)}")
    print(f"Wrote {files[0]} (+ .csv, .json and {len(files) - 3} plots)")
    return 1 if report.regression else 0


if __name__ == "__main__":
    sys.exit(main())
