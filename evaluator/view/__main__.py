"""`python -m evaluator.view RUN_DIR [RUN_DIR...] [--out FILE]`: write the HTML viewer.

One run: its run page, written to results/index.html inside the run unless --out says
otherwise. Several runs: the compare page, with each run's pages too, written to --out
(default viewer.html in the current directory). The file is self-contained: open it from
disk, an artifact or a PR; it makes no network request.

Exit codes: 0 written; 2 usage error or a directory that is not a run.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evaluator.view.data import RunDirError
from evaluator.view.page import write


def default_out(runs: list[Path]) -> Path:
    return runs[0] / "results" / "index.html" if len(runs) == 1 else Path("viewer.html")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evaluator.view", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", type=Path, metavar="RUN_DIR", help="A run directory (runs/<model>-<timestamp>).")
    p.add_argument("--out", type=Path, help="The HTML file to write.")
    ns = p.parse_args(argv)
    out = ns.out or default_out(ns.runs)
    if out.exists() and out.is_dir():
        print(f"error: --out {out} is a directory; give a file name.", file=sys.stderr)
        return 2
    try:
        write(ns.runs, out)
    except RunDirError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot write {out}: {exc.strerror or exc}.", file=sys.stderr)
        return 2
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
