"""Tests for evaluator.reporting.plots: files exist, are real PNGs, and edge inputs don't crash."""
from __future__ import annotations

import struct
from pathlib import Path

import matplotlib
import pytest

from evaluator.reporting.plots import repo_model_heatmap, score_vs_tokens, success_rate_bars

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NAN = float("nan")


def _png_size(path: Path) -> tuple[int, int]:
    """Check PNG magic and size; return (width, height) in pixels from the IHDR chunk."""
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 5_000  # a blank canvas compresses to far less than a real chart
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_agg_backend_forced() -> None:
    assert matplotlib.get_backend().lower() == "agg"


def test_success_rate_bars(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "bars.png"  # parent dir is created
    got = success_rate_bars(
        ["gpt-4o-2024-08-06", "claude-3-5-sonnet-20241022", "baseline"],
        [0.62, 0.71, 0.1], [0.5, 0.6, 0.03], [0.73, 0.8, 0.25], out,
    )
    assert got == out and out.exists()
    w, _ = _png_size(out)
    assert 900 <= w <= 1000  # 8in at 120 dpi, give or take tight_layout


def test_success_rate_bars_single_and_nan(tmp_path: Path) -> None:
    _png_size(success_rate_bars(["only"], [0.5], [0.2], [0.8], tmp_path / "one.png"))
    _png_size(success_rate_bars(["a", "b"], [NAN, 1.0], [NAN, 0.7], [NAN, 1.0],
                                tmp_path / "nan.png", title="Custom"))


def test_success_rate_bars_rejects_mismatch(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        success_rate_bars(["a", "b"], [0.5], [0.1], [0.9], tmp_path / "x.png")
    with pytest.raises(ValueError):
        success_rate_bars([], [], [], [], tmp_path / "x.png")


def test_repo_model_heatmap(tmp_path: Path) -> None:
    repos = ["requests", "flask", "django-rest-framework", "numpy", "click", "attrs", "rich"]
    values = [[(i + j) / 10 for j in range(len(repos))] for i in range(3)]
    values[1][2] = NAN  # model not run on that repo
    out = repo_model_heatmap(["m1", "m2", "m3"], repos, values, tmp_path / "heat.png")
    _png_size(out)


def test_repo_model_heatmap_single_and_all_nan(tmp_path: Path) -> None:
    _png_size(repo_model_heatmap(["m"], ["r"], [[0.4]], tmp_path / "one.png"))
    _png_size(repo_model_heatmap(["m", "n"], ["r", "s"], [[NAN, NAN], [NAN, 1.0]],
                                 tmp_path / "nan.png"))
    with pytest.raises(ValueError):
        repo_model_heatmap(["m"], ["r", "s"], [[0.1]], tmp_path / "bad.png")


def test_score_vs_tokens(tmp_path: Path) -> None:
    # > 100x token range switches the x axis to log scale; just make sure it renders
    out = score_vs_tokens(["small", "big", "huge"], [40.0, 60.0, 75.0],
                          [800.0, 12_000.0, 250_000.0], tmp_path / "scatter.png")
    _png_size(out)
    _png_size(score_vs_tokens(["a", "b"], [40.0, 45.0], [1000.0, 1500.0], tmp_path / "lin.png"))


def test_score_vs_tokens_single_and_nan(tmp_path: Path) -> None:
    _png_size(score_vs_tokens(["only"], [55.0], [3000.0], tmp_path / "one.png"))
    _png_size(score_vs_tokens(["a", "b"], [NAN, 50.0], [100.0, NAN], tmp_path / "nan.png"))
    _png_size(score_vs_tokens(["a", "b"], [50.0, 60.0], [0.0, 5000.0], tmp_path / "zero.png"))


def test_output_is_deterministic(tmp_path: Path) -> None:
    args = (["a", "b"], [0.3, 0.6], [0.1, 0.4], [0.5, 0.8])
    first = success_rate_bars(*args, tmp_path / "1.png").read_bytes()
    second = success_rate_bars(*args, tmp_path / "2.png").read_bytes()
    assert first == second


def _chart_request(out: Path) -> "ChartRequest":
    from evaluator.reporting.chart_worker import ChartRequest

    return ChartRequest(labels=["demo", "mmengine"], rates=[0.5, 1.0], ci_low=[0.2, 0.6], ci_high=[0.8, 1.0],
                        out=out, title="m: success rate by repo (95% CI)")


def test_chart_worker_draws_the_same_png_as_in_process(tmp_path: Path) -> None:
    from evaluator.reporting.chart_worker import ChartWorker, draw

    worker = ChartWorker.start()
    assert worker is not None
    assert worker.draw(_chart_request(tmp_path / "child.png"))
    draw(_chart_request(tmp_path / "here.png"))
    assert (tmp_path / "child.png").read_bytes() == (tmp_path / "here.png").read_bytes()
    _png_size(tmp_path / "child.png")


def test_chart_worker_failures_are_reported_not_raised(tmp_path: Path) -> None:
    from evaluator.reporting.chart_worker import ChartWorker

    idle = ChartWorker.start()  # the run died before sending data: the child just exits
    assert idle is not None
    idle.proc.stdin.close()
    assert idle.proc.wait(timeout=60) == 0
    dead = ChartWorker.start()
    assert dead is not None
    dead.proc.kill()
    dead.proc.wait()
    assert dead.draw(_chart_request(tmp_path / "x.png")) is False  # report.finalize then draws in-process
    assert not (tmp_path / "x.png").exists()
