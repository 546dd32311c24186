"""Statistics for comparing models and catching regressions between model versions.

Pure functions over plain Python numbers (stdlib only). Every resampling function takes a
`seed` and uses its own `random.Random(seed)`, so results are reproducible run to run and
never touch the global RNG.

Conventions: success outcomes are bools (or 0/1 floats); scores are on the 0-100 scale of
`evaluator/scoring/weights.yaml`, so a score delta reads as "points". Empty inputs to the mean/CI
functions raise ValueError rather than returning NaN, so a missing-data bug is loud.
"""
from __future__ import annotations

import math
import random
import statistics
from typing import Sequence

from pydantic import BaseModel, ConfigDict

__all__ = [
    "PairedDelta",
    "wilson_interval", "mcnemar_exact", "pass_at_k", "pass_hat_k", "mean_and_stderr",
    "percentile", "bootstrap_mean_ci", "cluster_bootstrap_rate_ci", "paired_bootstrap_delta",
    "min_detectable_difference", "mdd_text",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PairedDelta(_Frozen):
    """Paired comparison of per-task scores: delta = mean(b) - mean(a), with a bootstrap CI."""

    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    confidence: float = 0.95


# --- intervals and estimators ------------------------------------------------------------

def _z(confidence: float) -> float:
    """Two-sided normal quantile z = Phi^-1((1 + confidence) / 2), e.g. 1.95996 for 0.95."""
    _check_confidence(confidence)
    return statistics.NormalDist().inv_cdf((1.0 + confidence) / 2.0)


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion p = successes / n.

    centre = (p + z^2/2n) / (1 + z^2/n), half = z * sqrt(p(1-p)/n + z^2/4n^2) / (1 + z^2/n)
    (Wilson 1927). Unlike the Wald interval it stays inside [0, 1] and is sane at p=0 or 1.
    n = 0 carries no information, so the interval is the whole range (0.0, 1.0).
    """
    if n < 0 or not 0 <= successes <= max(n, 0):
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return (0.0, 1.0)
    z = _z(confidence)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # at p = 0 or 1 the bound is exactly 0 or 1 analytically; avoid round-off like 2.8e-17
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return (lo, hi)


def mcnemar_exact(b: int, c: int) -> float:
    """Exact two-sided McNemar p-value from the discordant-pair counts b and c.

    Under H0 each discordant pair is equally likely to go either way, so
    X ~ Binomial(b + c, 0.5) and p = min(1, 2 * P(X <= min(b, c))). b = c = 0 gives 1.0.
    """
    if b < 0 or c < 0:
        raise ValueError(f"counts must be non-negative, got b={b}, c={c}")
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1))
    return min(1.0, 2 * tail / 2**n)  # exact int arithmetic until this one division


def _check_nck(n: int, c: int, k: int) -> None:
    if not (n >= 1 and 0 <= c <= n and 1 <= k <= n):
        raise ValueError(f"need n >= 1, 0 <= c <= n, 1 <= k <= n; got n={n}, c={c}, k={k}")


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples of which c passed: 1 - C(n-c, k) / C(n, k).

    The probability that at least one of k samples drawn without replacement passes
    (Chen et al. 2021, "Evaluating Large Language Models Trained on Code"). 1.0 if n - c < k.
    """
    _check_nck(n, c, k)
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """pass^k from n samples of which c passed: C(c, k) / C(n, k).

    The probability that k samples drawn without replacement *all* pass: a reliability
    measure (tau-bench, Yao et al. 2024) that falls with k, where pass@k rises. 0.0 if c < k.
    """
    _check_nck(n, c, k)
    return math.comb(c, k) / math.comb(n, k)


def _floats(values: Sequence[float], what: str = "values") -> list[float]:
    xs = [float(v) for v in values]
    if not xs:
        raise ValueError(f"{what} must be non-empty")
    return xs


def mean_and_stderr(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error of the mean: (mean, s / sqrt(n)), s the sample std (n - 1).

    With fewer than two values there is no spread estimate, so the stderr is 0.0.
    """
    xs = _floats(values)
    if len(xs) < 2:
        return (xs[0], 0.0)
    return (statistics.fmean(xs), statistics.stdev(xs) / math.sqrt(len(xs)))


def percentile(values: Sequence[float], q: float) -> float:
    """q-th percentile (q in [0, 100]) with linear interpolation between order statistics.

    Position h = (n - 1) * q / 100 in the sorted values; result = x[floor h] +
    (h - floor h) * (x[floor h + 1] - x[floor h]). Same as numpy's default ("linear").
    """
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"q must be in [0, 100], got {q}")
    xs = sorted(_floats(values))
    h = (len(xs) - 1) * q / 100.0
    lo = math.floor(h)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (h - lo) * (xs[hi] - xs[lo])


# --- bootstrap ---------------------------------------------------------------------------

def _percentile_ci(stats: list[float], confidence: float) -> tuple[float, float]:
    """Percentile-bootstrap interval: the (1-conf)/2 and (1+conf)/2 quantiles of `stats`."""
    tail = 100.0 * (1.0 - confidence) / 2.0
    return (percentile(stats, tail), percentile(stats, 100.0 - tail))


def _check_boot(iterations: int, confidence: float) -> None:
    _check_confidence(confidence)
    if iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}")


def _resampled_means(xs: list[float], iterations: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    n = len(xs)
    return [sum(rng.choices(xs, k=n)) / n for _ in range(iterations)]


def bootstrap_mean_ci(
    values: Sequence[float], *, iterations: int = 2000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean: resample values with replacement `iterations`
    times and take the (1-conf)/2 and (1+conf)/2 quantiles of the resampled means (Efron 1979).
    """
    _check_boot(iterations, confidence)
    return _percentile_ci(_resampled_means(_floats(values), iterations, seed), confidence)


def cluster_bootstrap_rate_ci(
    per_task_outcomes: Sequence[Sequence[bool | float]],
    *,
    iterations: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Cluster (task-level) percentile bootstrap CI of a rate over repeated trials.

    Epochs of one task are correlated, so treating every trial as independent makes the CI
    too narrow. Instead resample *tasks* with replacement, each with all its outcomes, and
    compute sum(outcomes) / count(outcomes) over the resampled tasks' trials. Tasks with no
    outcomes are ignored.
    """
    _check_boot(iterations, confidence)
    clusters = [(math.fsum(float(x) for x in t), len(t)) for t in per_task_outcomes if len(t)]
    if not clusters:
        raise ValueError("per_task_outcomes must contain at least one outcome")
    rng = random.Random(seed)
    k = len(clusters)
    stats: list[float] = []
    for _ in range(iterations):
        sample = rng.choices(clusters, k=k)
        stats.append(sum(s for s, _ in sample) / sum(n for _, n in sample))
    return _percentile_ci(stats, confidence)


def paired_bootstrap_delta(
    a: Sequence[float],
    b: Sequence[float],
    *,
    iterations: int = 5000,
    confidence: float = 0.95,
    seed: int = 0,
) -> PairedDelta:
    """Paired bootstrap of delta = mean(b) - mean(a) over matched items (e.g. tasks).

    Resamples the paired differences d_i = b_i - a_i with replacement; the CI is the
    percentile interval of the resampled means d*. Two-sided bootstrap p-value:
    p = min(1, 2 * min(frac(d* <= 0), frac(d* >= 0))), i.e. how often the resampled delta
    lands on the other side of 0. Its resolution is 1/iterations; 0.0 means "< 1/iterations".
    """
    _check_boot(iterations, confidence)
    if len(a) != len(b):
        raise ValueError(f"a and b must be paired (same length), got {len(a)} and {len(b)}")
    diffs = [float(y) - float(x) for x, y in zip(a, b)]
    _floats(diffs, "a and b")
    means = _resampled_means(diffs, iterations, seed)
    lo, hi = _percentile_ci(means, confidence)
    below = sum(1 for m in means if m <= 0) / iterations
    above = sum(1 for m in means if m >= 0) / iterations
    return PairedDelta(
        delta=statistics.fmean(diffs), ci_low=lo, ci_high=hi,
        p_value=min(1.0, 2 * min(below, above)), n=len(diffs), confidence=confidence,
    )


def min_detectable_difference(
    n: int, sd_diff: float = math.sqrt(0.5), *, alpha: float = 0.05, power: float = 0.8
) -> float:
    """Minimum detectable difference of a paired comparison over n tasks (normal approximation):

        MDD = (z_{1-alpha/2} + z_{power}) * sd_diff / sqrt(n)

    the smallest true mean per-task difference a two-sided paired test at level `alpha`
    finds with probability `power` (1.96 + 0.84 = 2.80 at the defaults). `sd_diff` is the
    standard deviation of the per-task difference; the default sqrt(0.5) is the worst case
    for success rates: two models whose outcomes on a task are independent, each with p = 0.5,
    so var(d) = 0.25 + 0.25. Models that agree on most tasks have a smaller sd_diff and can be
    told apart at smaller differences. On the 0-1 scale of `sd_diff` (x100 for points).
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must be in (0, 1), got {power}")
    z = _z(1.0 - alpha) + statistics.NormalDist().inv_cdf(power)
    return z * sd_diff / math.sqrt(n)


def mdd_text(n: int, alpha: float = 0.05) -> str:
    """One sentence for REPORT.md and `evaluator.compare`: the success-rate difference a paired
    comparison over n tasks detects with 80 % power (`min_detectable_difference`, worst case)."""
    d = 100 * min_detectable_difference(n, alpha=alpha)
    head = f"With {n} task{'s' if n != 1 else ''}, a paired comparison (80 % power, alpha = {alpha:g}) "
    if d >= 100:
        return head + "cannot reliably detect any difference in success rate; run more tasks."
    return (head + f"reliably detects a success-rate difference of {d:.1f} points or more; "
            "smaller differences between two models may go unnoticed.")
