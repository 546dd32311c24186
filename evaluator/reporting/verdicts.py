"""Comparing two models on the same trials: McNemar on pass/fail, and the plain-language verdict
that `evaluator.compare` and the regression gate print (built on the estimators in stats.py)."""
from __future__ import annotations

from typing import Literal, Sequence

from pydantic import BaseModel, ConfigDict

from evaluator.reporting.stats import PairedDelta, mcnemar_exact


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class McNemarResult(_Frozen):
    """Paired pass/fail comparison of a baseline (a) and a candidate (b) on the same trials."""

    n: int
    pass_to_fail: int  # a passed, b failed: regressions
    fail_to_pass: int  # a failed, b passed: fixes
    p_value: float
    significant: bool
    direction: Literal["better", "worse", "same"]


class Verdict(_Frozen):
    regression: bool
    improvement: bool
    text: str


def compare_success(a: Sequence[bool], b: Sequence[bool], *, alpha: float = 0.05) -> McNemarResult:
    """McNemar comparison of paired pass/fail outcomes of baseline a and candidate b.

    Counts discordant pairs (pass_to_fail: a passed, b failed; fail_to_pass the reverse),
    p = mcnemar_exact(pass_to_fail, fail_to_pass), significant when p < alpha. direction is
    "better" / "worse" by which discordant count is larger, "same" when they are equal.
    """
    if len(a) != len(b):
        raise ValueError(f"a and b must be paired (same length), got {len(a)} and {len(b)}")
    p2f = sum(1 for x, y in zip(a, b) if x and not y)
    f2p = sum(1 for x, y in zip(a, b) if y and not x)
    p = mcnemar_exact(p2f, f2p)
    direction: Literal["better", "worse", "same"] = (
        "better" if f2p > p2f else "worse" if p2f > f2p else "same"
    )
    return McNemarResult(
        n=len(a), pass_to_fail=p2f, fail_to_pass=f2p, p_value=p,
        significant=p < alpha, direction=direction,
    )


def fmt_p(p: float) -> str:
    """0.0391 -> "0.0391", 1.0 -> "1.0", tiny -> "<0.0001" (4 decimals, trailing zeros cut)."""
    if p < 0.0001:
        return "<0.0001"
    s = f"{p:.4f}".rstrip("0")
    return s + "0" if s.endswith(".") else s


def _pts(x: float, sign: bool = False) -> str:
    x = round(x, 1) + 0.0  # + 0.0 turns -0.0 into 0.0 so we never print "-0.0"
    return f"{x:+.1f}" if sign else f"{x:.1f}"


def verdict(
    baseline_name: str,
    candidate_name: str,
    success: McNemarResult,
    score: PairedDelta,
    alpha: float = 0.05,
) -> Verdict:
    """Plain-language verdict on candidate vs baseline.

    Rule: a *regression* is flagged when McNemar p < alpha with pass_to_fail > fail_to_pass,
    OR the paired-bootstrap CI of the score delta lies entirely below 0 (ci_high < 0). An
    *improvement* is the mirror image (p < alpha with fail_to_pass > pass_to_fail, OR
    ci_low > 0). alpha applies to McNemar only; the score CI uses the confidence it was
    computed with. If both fire (success and score disagree) the text says "Mixed result".
    The text quotes the McNemar p and the score delta with its CI, e.g.
    "B is worse than A: p=0.0391, -12.4 points [-18.9, -6.1]".
    """
    sig = success.p_value < alpha
    regression = (sig and success.pass_to_fail > success.fail_to_pass) or score.ci_high < 0
    improvement = (sig and success.fail_to_pass > success.pass_to_fail) or score.ci_low > 0
    detail = (
        f"p={fmt_p(success.p_value)}, {_pts(score.delta, sign=True)} points "
        f"[{_pts(score.ci_low)}, {_pts(score.ci_high)}]"
    )
    if regression and improvement:
        head = f"Mixed result for {candidate_name} vs {baseline_name}"
    elif regression:
        head = f"{candidate_name} is worse than {baseline_name}"
    elif improvement:
        head = f"{candidate_name} is better than {baseline_name}"
    else:
        head = f"No significant difference between {baseline_name} and {candidate_name}"
    return Verdict(regression=regression, improvement=improvement, text=f"{head}: {detail}")
