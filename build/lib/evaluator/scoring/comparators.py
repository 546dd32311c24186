"""Comparators: how a model's value is checked against the oracle's.

Each returns a credit in [0, 1]; an output check is `ok` when credit reaches the
comparator's pass threshold (1.0 except for `f1`, where `threshold` may lower it).
"""
from __future__ import annotations

import json
import math
import re
from typing import Any, Callable

Comparator = Callable[[Any, Any, dict[str, Any]], float]


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def equals(answer: Any, expected: Any, opts: dict[str, Any]) -> float:
    """Exact JSON equality; 1 and 1.0 are equal, True and 1 are not."""
    if isinstance(answer, bool) != isinstance(expected, bool):
        return 0.0
    return 1.0 if answer == expected else 0.0


def _items(value: Any) -> list[str] | None:
    return [_canon(v) for v in value] if isinstance(value, list) else None


def set_equals(answer: Any, expected: Any, opts: dict[str, Any]) -> float:
    """Lists equal as sets (order and duplicates ignored)."""
    a, e = _items(answer), _items(expected)
    return 1.0 if a is not None and e is not None and set(a) == set(e) else 0.0


def f1(answer: Any, expected: Any, opts: dict[str, Any]) -> float:
    """F1 of the answer's items against the expected items, as sets: partial credit for lists."""
    a, e = _items(answer), _items(expected)
    if a is None or e is None:
        return 0.0
    sa, se = set(a), set(e)
    if not sa and not se:
        return 1.0
    hit = len(sa & se)
    if hit == 0:
        return 0.0
    precision, recall = hit / len(sa), hit / len(se)
    return 2 * precision * recall / (precision + recall)


def numeric(answer: Any, expected: Any, opts: dict[str, Any]) -> float:
    """|answer - expected| <= abs_tol, or <= rel_tol * |expected| (both default 0)."""
    if isinstance(answer, bool) or not isinstance(answer, (int, float)) or not isinstance(expected, (int, float)):
        return 0.0
    if not math.isfinite(answer):
        return 0.0
    diff = abs(answer - expected)
    ok = diff <= float(opts.get("abs_tol", 0)) or diff <= float(opts.get("rel_tol", 0)) * abs(expected)
    return 1.0 if ok else 0.0


def _subset(expected: Any, answer: Any) -> bool:
    if isinstance(expected, dict):
        return isinstance(answer, dict) and all(k in answer and _subset(v, answer[k]) for k, v in expected.items())
    return equals(answer, expected, {}) == 1.0


def json_subset(answer: Any, expected: Any, opts: dict[str, Any]) -> float:
    """Every key of the expected object is in the answer with an equal value (recursively)."""
    return 1.0 if _subset(expected, answer) else 0.0


def regex(answer: Any, expected: Any, opts: dict[str, Any]) -> float:
    """The oracle's value is a regular expression the answer string must match in full."""
    if not isinstance(answer, str) or not isinstance(expected, str):
        return 0.0
    flags = re.IGNORECASE if opts.get("ignore_case") else 0
    return 1.0 if re.fullmatch(expected, answer.strip() if opts.get("strip", True) else answer, flags) else 0.0


COMPARATORS: dict[str, Comparator] = {
    "equals": equals,
    "set_equals": set_equals,
    "f1": f1,
    "numeric": numeric,
    "json_subset": json_subset,
    "regex": regex,
}


def compare(name: str, answer: Any, expected: Any, opts: dict[str, Any]) -> tuple[float, bool]:
    """(credit, ok) for one output."""
    credit = COMPARATORS[name](answer, expected, opts)
    threshold = float(opts.get("threshold", 1.0)) if name == "f1" else 1.0
    return credit, credit >= threshold - 1e-12
