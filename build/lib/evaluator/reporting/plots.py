"""PNG charts for reports and PR comments: success-rate bars, repo x model heatmap, and
score-vs-cost scatter.

Each function writes one PNG at `out` (parent dirs created) and returns the path. Figures
are 8in wide at 120 dpi with >= 10pt text so they stay legible when GitHub scales them down.
We build `Figure` objects directly instead of using pyplot: no global figure registry to
leak or close, and safe to call from threads. Output is byte-identical for identical input
under the same matplotlib version (Agg PNGs carry no timestamp).
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import matplotlib

matplotlib.use("Agg")  # headless: CI and sandboxes have no display

from matplotlib import colormaps  # noqa: E402
from matplotlib import rc_context  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

__all__ = ["success_rate_bars", "repo_model_heatmap", "score_vs_tokens"]

WIDTH_IN = 8.0
DPI = 120
_RC = {
    "font.size": 11,
    "axes.titlesize": 13,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "svg.hashsalt": "agentgym",  # harmless for PNG; keeps any SVG export deterministic too
}


@contextmanager
def _style() -> Iterator[None]:
    with rc_context(_RC):
        yield


def _save(fig: Figure, out: Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=DPI, format="png", metadata={"Software": None})
    return out


def _check_len(name: str, seq: Sequence[object], n: int) -> None:
    if len(seq) != n:
        raise ValueError(f"{name} has {len(seq)} items, expected {n} (one per model)")


def _isnan(x: float) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def success_rate_bars(
    models: list[str],
    rates: list[float],
    ci_low: list[float],
    ci_high: list[float],
    out: Path,
    title: str = "Success rate (95% CI)",
) -> Path:
    """Horizontal bars of success rate (0..1, shown as %) per model with CI error bars.

    Horizontal so long model ids stay readable; models are listed top-down in input order.
    A NaN rate draws no bar and is labelled "n/a".
    """
    if not models:
        raise ValueError("models must be non-empty")
    for name, seq in (("rates", rates), ("ci_low", ci_low), ("ci_high", ci_high)):
        _check_len(name, seq, len(models))
    with _style():
        fig = Figure(figsize=(WIDTH_IN, max(2.5, 0.55 * len(models) + 1.6)))
        ax = fig.add_subplot()
        ys = list(range(len(models)))
        for y, rate, lo, hi in zip(ys, rates, ci_low, ci_high):
            if _isnan(rate):
                ax.text(0.02, y, "n/a", va="center", ha="left", fontsize=10, color="0.4")
                continue
            err = None
            if not (_isnan(lo) or _isnan(hi)):
                err = [[max(0.0, rate - lo)], [max(0.0, hi - rate)]]
            ax.barh(y, rate, height=0.6, color="#4C72B0", xerr=err,
                    error_kw={"ecolor": "0.2", "capsize": 4, "elinewidth": 1.2})
            label_x = (hi if not _isnan(hi) else rate) + 0.015
            ax.text(min(label_x, 1.0), y, f"{rate:.0%}", va="center", ha="left", fontsize=10)
        ax.set_yticks(ys, labels=models)
        ax.invert_yaxis()  # first model on top
        ax.set_xlim(0.0, 1.12)  # headroom for the value labels right of the CI whisker
        ax.set_xticks([0.0, 0.25, 0.5, 0.75, 1.0])
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_xlabel("Success rate")
        ax.set_ylabel("Model")
        ax.set_title(title)
        ax.grid(axis="x", alpha=0.3)
        ax.set_axisbelow(True)
        return _save(fig, out)


def repo_model_heatmap(
    models: list[str],
    repos: list[str],
    values: list[list[float]],
    out: Path,
    title: str = "Success rate by repo",
) -> Path:
    """Heatmap of values[i][j] (model i, repo j, 0..1) annotated with percentages.

    Red-yellow-green colour scale fixed to [0, 1] so charts of different runs compare;
    NaN cells (model not run on that repo) are left light grey and marked "–".
    """
    if not models or not repos:
        raise ValueError("models and repos must be non-empty")
    _check_len("values", values, len(models))
    for i, row in enumerate(values):
        if len(row) != len(repos):
            raise ValueError(f"values[{i}] has {len(row)} items, expected {len(repos)} (one per repo)")
    grid = [[float("nan") if v is None else float(v) for v in row] for row in values]
    cmap = colormaps["RdYlGn"].with_extremes(bad="#EEEEEE")
    with _style():
        height = max(2.8, 0.5 * len(models) + 2.2)
        fig = Figure(figsize=(WIDTH_IN, height))
        ax = fig.add_subplot()
        im = ax.imshow(grid, cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto",
                       interpolation="nearest")
        for i, row in enumerate(grid):
            for j, v in enumerate(row):
                if math.isnan(v):
                    ax.text(j, i, "–", ha="center", va="center", fontsize=10, color="0.45")
                    continue
                r, g, b, _ = cmap(v)
                dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5  # perceived luminance
                ax.text(j, i, f"{v:.0%}", ha="center", va="center",
                        fontsize=10,
                        color="white" if dark else "black")
        rotate = len(repos) > 6 or max(len(r) for r in repos) > 12
        ax.set_xticks(range(len(repos)), labels=repos,
                      rotation=35 if rotate else 0, ha="right" if rotate else "center",
                      rotation_mode="anchor")
        ax.set_yticks(range(len(models)), labels=models)
        ax.set_xlabel("Repository")
        ax.set_ylabel("Model")
        ax.set_title(title)
        cbar = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
        cbar.ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        return _save(fig, out)


def score_vs_tokens(
    models: list[str],
    scores: list[float],
    tokens: list[float],
    out: Path,
    title: str = "Mean score vs tokens per task",
) -> Path:
    """Scatter of mean score (y) against mean tokens per task (x), one labelled point per model.

    The x axis is log-scale when max(tokens) / min(tokens) > 100 (all positive), so cheap
    and expensive models both stay visible. Points with a NaN coordinate are skipped.
    """
    if not models:
        raise ValueError("models must be non-empty")
    _check_len("scores", scores, len(models))
    _check_len("tokens", tokens, len(models))
    pts = [(m, float(s), float(t)) for m, s, t in zip(models, scores, tokens)
           if not (_isnan(s) or _isnan(t))]
    colors = colormaps["tab10"]
    with _style():
        fig = Figure(figsize=(WIDTH_IN, 5.0))
        ax = fig.add_subplot()
        for k, (name, s, t) in enumerate(pts):
            ax.scatter([t], [s], s=60, color=colors(k % 10), edgecolor="black",
                       linewidth=0.6, zorder=3)
            ax.annotate(name, (t, s), xytext=(6, 6), textcoords="offset points",
                        fontsize=10, zorder=4)
        xs = [t for _, _, t in pts]
        if xs and min(xs) > 0 and max(xs) / min(xs) > 100:
            ax.set_xscale("log")
        if not pts:
            ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center",
                    fontsize=12, color="0.4")
        else:
            ax.margins(x=0.15, y=0.15)  # room for the name labels next to edge points
        ax.set_xlabel("Tokens per task (mean)")
        ax.set_ylabel("Mean score")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.set_axisbelow(True)
        return _save(fig, out)
