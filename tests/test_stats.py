"""Tests for evaluator.reporting.stats: pinned reference values plus properties."""
from __future__ import annotations

import math
import random

import pytest

from evaluator.reporting.stats import (
    PairedDelta,
    bootstrap_mean_ci,
    cluster_bootstrap_rate_ci,
    mcnemar_exact,
    mean_and_stderr,
    mdd_text,
    min_detectable_difference,
    paired_bootstrap_delta,
    pass_at_k,
    pass_hat_k,
    percentile,
    wilson_interval,
)
from evaluator.reporting.verdicts import McNemarResult, compare_success, verdict


# --- pins ---------------------------------------------------------------------------------

def test_wilson_pin() -> None:
    lo, hi = wilson_interval(7, 10)
    assert (round(lo, 4), round(hi, 4)) == (0.3968, 0.8922)


def test_wilson_edges() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and 0 < hi < 0.35
    lo, hi = wilson_interval(10, 10)
    assert hi == 1.0 and 0.65 < lo < 1
    # wider at higher confidence
    assert wilson_interval(7, 10, 0.99)[0] < wilson_interval(7, 10, 0.9)[0]
    with pytest.raises(ValueError):
        wilson_interval(11, 10)
    with pytest.raises(ValueError):
        wilson_interval(1, 10, confidence=1.0)


@pytest.mark.parametrize("s,n", [(0, 1), (1, 3), (7, 10), (50, 100), (99, 100)])
def test_wilson_contains_point_estimate(s: int, n: int) -> None:
    lo, hi = wilson_interval(s, n)
    assert 0.0 <= lo <= s / n <= hi <= 1.0


def test_mcnemar_pins() -> None:
    assert round(mcnemar_exact(1, 8), 4) == 0.0391
    assert round(mcnemar_exact(8, 1), 4) == 0.0391  # symmetric
    assert mcnemar_exact(1, 2) == 1.0
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 5) == 1.0
    assert mcnemar_exact(0, 10) == pytest.approx(2 / 1024)
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 2)


def test_pass_at_k_pins() -> None:
    assert pass_at_k(5, 2, 3) == pytest.approx(0.9)
    assert pass_at_k(5, 4, 2) == 1.0  # n - c < k
    assert pass_at_k(5, 0, 3) == 0.0
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)  # pass@1 is the plain rate
    with pytest.raises(ValueError):
        pass_at_k(5, 2, 6)
    with pytest.raises(ValueError):
        pass_at_k(5, 6, 1)


def test_pass_at_k_monotone_in_k() -> None:
    for n, c in [(10, 1), (10, 3), (20, 7), (5, 5)]:
        vals = [pass_at_k(n, c, k) for k in range(1, n + 1)]
        assert all(x <= y + 1e-12 for x, y in zip(vals, vals[1:]))


def test_pass_hat_k() -> None:
    assert pass_hat_k(5, 2, 1) == pytest.approx(0.4)
    assert pass_hat_k(5, 2, 2) == pytest.approx(0.1)  # C(2,2)/C(5,2)
    assert pass_hat_k(5, 2, 3) == 0.0
    assert pass_hat_k(4, 4, 4) == 1.0
    vals = [pass_hat_k(10, 6, k) for k in range(1, 11)]
    assert all(x >= y for x, y in zip(vals, vals[1:]))  # decreasing in k
    assert all(pass_hat_k(10, 6, k) <= pass_at_k(10, 6, k) for k in range(1, 11))


def test_mean_and_stderr() -> None:
    assert mean_and_stderr([3.0]) == (3.0, 0.0)
    m, se = mean_and_stderr([1.0, 2.0, 3.0, 4.0])
    assert m == 2.5
    assert se == pytest.approx(math.sqrt(5 / 3) / 2)  # sample var 5/3, sqrt(n)=2
    assert mean_and_stderr([True, False, True, True]) == pytest.approx((0.75, 0.25))
    with pytest.raises(ValueError):
        mean_and_stderr([])


def test_percentile_linear() -> None:
    xs = [4.0, 1.0, 3.0, 2.0]
    assert percentile(xs, 0) == 1.0
    assert percentile(xs, 100) == 4.0
    assert percentile(xs, 50) == 2.5
    assert percentile(list(range(11)), 90) == pytest.approx(9.0)
    assert percentile([1.0, 2.0], 25) == pytest.approx(1.25)
    assert percentile([7.0], 90) == 7.0
    with pytest.raises(ValueError):
        percentile(xs, 101)


# --- bootstrap properties -----------------------------------------------------------------

def _sample(seed: int, n: int, mu: float = 50.0, sd: float = 10.0) -> list[float]:
    rng = random.Random(seed)
    return [rng.gauss(mu, sd) for _ in range(n)]


def test_bootstrap_mean_ci_contains_mean_and_is_deterministic() -> None:
    xs = _sample(1, 40)
    lo, hi = bootstrap_mean_ci(xs, seed=3)
    assert lo < sum(xs) / len(xs) < hi
    assert bootstrap_mean_ci(xs, seed=3) == (lo, hi)
    assert bootstrap_mean_ci(xs, seed=4) != (lo, hi)
    # narrower at lower confidence
    lo90, hi90 = bootstrap_mean_ci(xs, seed=3, confidence=0.9)
    assert lo <= lo90 and hi90 <= hi
    assert bootstrap_mean_ci([2.0] * 5) == (2.0, 2.0)
    with pytest.raises(ValueError):
        bootstrap_mean_ci([])


def test_cluster_bootstrap() -> None:
    rng = random.Random(7)
    tasks = [[rng.random() < p for _ in range(5)] for p in [0.1, 0.3, 0.5, 0.7, 0.9] * 4]
    rate = sum(map(sum, tasks)) / sum(map(len, tasks))
    lo, hi = cluster_bootstrap_rate_ci(tasks, seed=1)
    assert 0.0 <= lo < rate < hi <= 1.0
    assert cluster_bootstrap_rate_ci(tasks, seed=1) == (lo, hi)
    # resampling trials as if independent gives a narrower CI than resampling tasks
    flat = [float(x) for t in tasks for x in t]
    flo, fhi = bootstrap_mean_ci(flat, seed=1)
    assert (fhi - flo) < (hi - lo)
    # empty tasks are ignored; all-empty is an error
    assert cluster_bootstrap_rate_ci(tasks + [[]], seed=1) == (lo, hi)
    with pytest.raises(ValueError):
        cluster_bootstrap_rate_ci([[], []])


def test_cluster_bootstrap_weights_by_trials() -> None:
    # a single task: the only resample is itself, so the CI collapses to its rate
    assert cluster_bootstrap_rate_ci([[True, False, True, True]]) == (0.75, 0.75)


def test_paired_bootstrap_delta_sign_and_determinism() -> None:
    a = _sample(2, 30)
    b = [x + 5.0 + d for x, d in zip(a, _sample(3, 30, 0.0, 2.0))]
    res = paired_bootstrap_delta(a, b, seed=0)
    assert isinstance(res, PairedDelta)
    assert res.n == 30
    assert res.delta == pytest.approx(sum(b) / 30 - sum(a) / 30)
    assert 0 < res.ci_low < res.delta < res.ci_high
    assert res.p_value < 0.01
    assert paired_bootstrap_delta(a, b, seed=0) == res
    rev = paired_bootstrap_delta(b, a, seed=0)
    assert rev.delta == pytest.approx(-res.delta)
    assert rev.ci_high < 0
    with pytest.raises(ValueError):
        paired_bootstrap_delta([1.0], [1.0, 2.0])


def test_paired_bootstrap_no_difference() -> None:
    a = _sample(5, 25)
    res = paired_bootstrap_delta(a, list(a))
    assert (res.delta, res.ci_low, res.ci_high, res.p_value) == (0.0, 0.0, 0.0, 1.0)
    noisy = paired_bootstrap_delta(a, [x + d for x, d in zip(a, _sample(6, 25, 0.0, 5.0))])
    assert noisy.ci_low < 0 < noisy.ci_high
    assert noisy.p_value > 0.05


# --- comparison and verdict ---------------------------------------------------------------

def _pairs(both: int, p2f: int, f2p: int, neither: int) -> tuple[list[bool], list[bool]]:
    a = [True] * both + [True] * p2f + [False] * f2p + [False] * neither
    b = [True] * both + [False] * p2f + [True] * f2p + [False] * neither
    return a, b


def test_compare_success() -> None:
    a, b = _pairs(10, 8, 1, 5)
    res = compare_success(a, b)
    assert isinstance(res, McNemarResult)
    assert (res.n, res.pass_to_fail, res.fail_to_pass) == (24, 8, 1)
    assert round(res.p_value, 4) == 0.0391
    assert res.significant and res.direction == "worse"
    flip = compare_success(b, a)
    assert flip.direction == "better" and flip.significant
    same = compare_success(*_pairs(3, 2, 2, 1))
    assert same.direction == "same" and same.p_value == 1.0 and not same.significant
    with pytest.raises(ValueError):
        compare_success([True], [True, False])


def _delta(d: float, lo: float, hi: float) -> PairedDelta:
    return PairedDelta(delta=d, ci_low=lo, ci_high=hi, p_value=0.5, n=20)


def test_verdict_regression_text() -> None:
    success = compare_success(*_pairs(10, 8, 1, 5))
    v = verdict("A", "B", success, _delta(-12.4, -18.9, -6.1))
    assert v.regression and not v.improvement
    assert v.text == "B is worse than A: p=0.0391, -12.4 points [-18.9, -6.1]"


def test_verdict_no_difference_text() -> None:
    success = compare_success(*_pairs(10, 1, 2, 5))
    v = verdict("A", "B", success, _delta(1.2, -3.0, 5.1))
    assert not v.regression and not v.improvement
    assert v.text == "No significant difference between A and B: p=1.0, +1.2 points [-3.0, 5.1]"


def test_verdict_rules() -> None:
    flat = compare_success(*_pairs(10, 1, 1, 5))
    # score CI entirely below / above zero is enough on its own
    assert verdict("A", "B", flat, _delta(-2.0, -3.0, -0.5)).regression
    up = verdict("A", "B", flat, _delta(2.0, 0.5, 3.0))
    assert up.improvement and not up.regression and up.text.startswith("B is better than A")
    # significant McNemar alone is enough too
    better = compare_success(*_pairs(10, 1, 8, 5))
    assert verdict("A", "B", better, _delta(0.0, -1.0, 1.0)).improvement
    # ...but not at a stricter alpha
    strict = verdict("A", "B", better, _delta(0.0, -1.0, 1.0), alpha=0.01)
    assert not strict.improvement and not strict.regression
    # conflicting signals are reported as mixed, never "-0.0"
    worse = compare_success(*_pairs(10, 8, 1, 5))
    mixed = verdict("A", "B", worse, _delta(-0.04, 0.01, 0.2))
    assert mixed.regression and mixed.improvement
    assert mixed.text == "Mixed result for B vs A: p=0.0391, +0.0 points [0.0, 0.2]"


def test_min_detectable_difference_by_hand() -> None:
    # z_0.975 = 1.959964, z_0.8 = 0.841621, sum 2.801585.
    # 66 tasks (the curated suites), sd_diff = sqrt(0.5): 2.801585 * 0.707107 = 1.981020, / 8.124038 = 0.243847
    assert min_detectable_difference(66) == pytest.approx(0.243847, abs=1e-6)
    # 25 tasks, sd_diff 1: 2.801585 / 5
    assert min_detectable_difference(25, 1.0) == pytest.approx(0.560317, abs=1e-6)
    # 90 % power: z_0.9 = 1.281552; (1.959964 + 1.281552) * 0.5 / 10
    assert min_detectable_difference(100, 0.5, power=0.9) == pytest.approx(0.162076, abs=1e-6)
    # alpha 0.01: z_0.995 = 2.575829; (2.575829 + 0.841621) / 2
    assert min_detectable_difference(4, 1.0, alpha=0.01) == pytest.approx(1.708725, abs=1e-6)
    # four times the tasks halve it
    assert min_detectable_difference(264) == pytest.approx(min_detectable_difference(66) / 2)
    for bad in ({"n": 0}, {"n": 5, "power": 1.0}, {"n": 5, "power": 0.0}, {"n": 5, "alpha": 0.0}):
        with pytest.raises(ValueError):
            min_detectable_difference(**bad)


def test_mdd_text_states_the_difference_in_points() -> None:
    assert mdd_text(66) == ("With 66 tasks, a paired comparison (80 % power, alpha = 0.05) reliably detects a "
                            "success-rate difference of 24.4 points or more; smaller differences between two models "
                            "may go unnoticed.")
    assert "difference of 74.9 points" in mdd_text(7)  # 2.801585 * 0.707107 / sqrt(7) = 0.7487
    assert "difference of 99.1 points" in mdd_text(4)  # 1.981020 / 2 = 0.99051
    assert mdd_text(3).endswith("cannot reliably detect any difference in success rate; run more tasks.")  # 1.1437
    assert mdd_text(1).startswith("With 1 task, ")
    # alpha 0.045, 4 tasks: (2.004654 + 0.841621) * 0.707107 / 2 = 1.00631, just over 100 points
    assert "cannot reliably detect any difference" in mdd_text(4, 0.045)
    assert "(80 % power, alpha = 0.01)" in mdd_text(100, 0.01) and "24.2 points" in mdd_text(100, 0.01)  # 3.417450 * 0.0707107


# --- edges the mutation run (docs/05) showed were not pinned -------------------------------

def test_wilson_bounds_are_exact_at_the_edges_and_errors_say_why() -> None:
    assert wilson_interval(13, 13)[1] == 1.0  # centre + half is 0.9999999999999999 here
    assert wilson_interval(0, 13)[0] == 0.0
    for s, n in ((11, 10), (1, 0), (-1, 5)):
        with pytest.raises(ValueError, match="need 0 <= successes <= n"):
            wilson_interval(s, n)
    with pytest.raises(ValueError, match="confidence must be in"):
        wilson_interval(1, 2, confidence=0.0)


def test_small_n_edges_of_the_counting_functions() -> None:
    assert pass_at_k(1, 1, 1) == 1.0 and pass_at_k(1, 0, 1) == 0.0  # one sample is enough
    assert pass_hat_k(1, 1, 1) == 1.0 and pass_hat_k(1, 0, 1) == 0.0
    with pytest.raises(ValueError, match="need n >= 1, 0 <= c <= n, 1 <= k <= n"):
        pass_hat_k(0, 0, 1)
    with pytest.raises(ValueError, match="counts must be non-negative"):
        mcnemar_exact(2, -1)
    assert mean_and_stderr([1.0, 3.0]) == (2.0, 1.0)  # stdev sqrt(2) / sqrt(2)
    assert mean_and_stderr([4.0]) == (4.0, 0.0)
    assert min_detectable_difference(1) == pytest.approx(1.981020, abs=1e-6)  # one task is a valid (useless) n
    with pytest.raises(ValueError, match="n must be >= 1"):
        min_detectable_difference(0)
    for power in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="power must be in"):
            min_detectable_difference(10, power=power)


def test_significance_is_strictly_below_alpha() -> None:
    p = mcnemar_exact(1, 8)  # 0.0390625
    assert not compare_success([True] + [False] * 8, [False] + [True] * 8, alpha=p).significant
    assert compare_success([True] + [False] * 8, [False] + [True] * 8, alpha=p + 1e-9).significant
    with pytest.raises(ValueError, match="must be paired"):
        compare_success([True], [True, False])
    with pytest.raises(ValueError, match="must be paired"):
        paired_bootstrap_delta([1.0], [1.0, 2.0])


def test_fmt_p_edges() -> None:
    from evaluator.reporting.verdicts import fmt_p

    assert fmt_p(0.0001) == "0.0001" and fmt_p(0.00009) == "<0.0001" and fmt_p(0.5) == "0.5" and fmt_p(1.0) == "1.0"


def _edge_mc(p: float, p2f: int, f2p: int) -> McNemarResult:
    direction = "worse" if p2f > f2p else "better" if f2p > p2f else "same"
    return McNemarResult(n=20, pass_to_fail=p2f, fail_to_pass=f2p, p_value=p, significant=p < 0.05, direction=direction)


def _edge_ci(lo: float, hi: float) -> PairedDelta:
    return PairedDelta(delta=(lo + hi) / 2, ci_low=lo, ci_high=hi, p_value=0.5, n=20)


@pytest.mark.parametrize(
    ("mc", "score", "regression", "improvement"),
    [
        (_edge_mc(0.05, 6, 0), _edge_ci(-1.0, 2.0), False, False),  # p == alpha is not significant
        (_edge_mc(0.2, 6, 1), _edge_ci(-1.0, 2.0), False, False),  # more regressions, but not significant
        (_edge_mc(0.2, 1, 6), _edge_ci(-1.0, 2.0), False, False),
        (_edge_mc(0.5, 2, 1), _edge_ci(-3.0, 0.0), False, False),  # a CI touching 0 is not below it
        (_edge_mc(0.5, 2, 1), _edge_ci(-3.0, 0.5), False, False),
        (_edge_mc(0.5, 1, 2), _edge_ci(0.0, 3.0), False, False),  # nor above it
        (_edge_mc(0.5, 1, 2), _edge_ci(-0.5, 3.0), False, False),
        (_edge_mc(0.5, 2, 1), _edge_ci(-3.0, -0.1), True, False),
        (_edge_mc(0.5, 1, 2), _edge_ci(0.1, 3.0), False, True),
        (_edge_mc(0.01, 8, 1), _edge_ci(-1.0, 1.0), True, False),
        (_edge_mc(0.01, 1, 8), _edge_ci(-1.0, 1.0), False, True),
    ],
)
def test_verdict_boundaries(mc: McNemarResult, score: PairedDelta, regression: bool, improvement: bool) -> None:
    v = verdict("A", "B", mc, score, alpha=0.05)
    assert (v.regression, v.improvement) == (regression, improvement)


# An independent restatement of the documented bootstrap (resample with random.Random(seed),
# percentile interval with linear interpolation), so the defaults, the tails and the p-value
# are pinned without reading evaluator/reporting/stats.py.
def _ref_means(xs: list[float], iterations: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [sum(rng.choices(xs, k=len(xs))) / len(xs) for _ in range(iterations)]


def _ref_pct(values: list[float], q: float) -> float:
    s = sorted(values)
    h = (len(s) - 1) * q / 100
    lo = math.floor(h)
    return s[lo] + (h - lo) * (s[min(lo + 1, len(s) - 1)] - s[lo])


def test_bootstrap_mean_ci_matches_the_documented_procedure() -> None:
    xs = [0.13, 1.71, 4.2, 9.93, 16.3, 25.87, 3.31, 7.09]  # irregular, so the resampled means rarely tie
    means = _ref_means(xs, 2000, 0)  # the defaults: 2000 iterations, seed 0, 95 %
    assert bootstrap_mean_ci(xs) == pytest.approx((_ref_pct(means, 2.5), _ref_pct(means, 97.5)))
    means = _ref_means(xs, 300, 7)
    assert bootstrap_mean_ci(xs, iterations=300, confidence=0.8, seed=7) == pytest.approx(
        (_ref_pct(means, 10), _ref_pct(means, 90)))
    assert bootstrap_mean_ci([2.0, 4.0], iterations=1, seed=1)[0] in (2.0, 3.0, 4.0)  # one iteration is allowed
    with pytest.raises(ValueError, match="iterations must be >= 1"):
        bootstrap_mean_ci(xs, iterations=0)
    for confidence in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match="confidence must be in"):
            bootstrap_mean_ci(xs, confidence=confidence)


def test_cluster_bootstrap_matches_the_documented_procedure() -> None:
    gen = random.Random(11)  # 15 tasks of 1-4 float outcomes: enough resampling combinations that quantiles rarely tie
    tasks = [[round(gen.random(), 3) for _ in range(gen.randint(1, 4))] for _ in range(15)]
    clusters = [(sum(map(float, t)), len(t)) for t in tasks]

    def ref(iterations: int, seed: int) -> list[float]:
        rng = random.Random(seed)
        out = []
        for _ in range(iterations):
            sample = rng.choices(clusters, k=len(clusters))
            out.append(sum(s for s, _ in sample) / sum(n for _, n in sample))
        return out

    stats_ = ref(2000, 0)
    assert cluster_bootstrap_rate_ci(tasks) == pytest.approx((_ref_pct(stats_, 2.5), _ref_pct(stats_, 97.5)))
    with pytest.raises(ValueError, match="^per_task_outcomes must contain at least one outcome$"):
        cluster_bootstrap_rate_ci([[], []])


def test_paired_bootstrap_matches_the_documented_procedure() -> None:
    a = [10.0, 50.0, 20.0, 60.0, 30.0, 70.0, 0.0]
    b = [11.0, 48.0, 23.0, 60.0, 32.0, 69.0, 4.0]  # diffs 1, -2, 3, 0, 2, -1, 4: both signs
    diffs = [y - x for x, y in zip(a, b)]
    cases = (({}, 5000, 0, 0.95), ({"iterations": 400, "seed": 3, "confidence": 0.9}, 400, 3, 0.9))
    for (kwargs, iterations, seed, conf), flip in [(c, f) for c in cases for f in (False, True)]:
        if flip:  # b worse than a: now `above` is the smaller tail
            a, b = b, a
            diffs = [-d for d in diffs]
        means = _ref_means(diffs, iterations, seed)
        tail = 100 * (1 - conf) / 2
        below = sum(m <= 0 for m in means) / iterations
        above = sum(m >= 0 for m in means) / iterations
        r = paired_bootstrap_delta(a, b, **kwargs)
        assert (r.ci_low, r.ci_high) == pytest.approx((_ref_pct(means, tail), _ref_pct(means, 100 - tail)))
        assert r.p_value == pytest.approx(min(1.0, 2 * min(below, above)))
        assert 0 < r.p_value < 1 and r.confidence == conf and r.n == 7 and abs(r.delta) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="^a and b must be non-empty$"):
        paired_bootstrap_delta([], [])
    with pytest.raises(ValueError, match="^values must be non-empty$"):
        mean_and_stderr([])
    with pytest.raises(ValueError, match="q must be in"):
        percentile([1.0], 101)
