"""Comparators at their edges: what passes, what gets partial credit, and the boundaries of
every tolerance (the mutation run of docs/05 uses these to pin evaluator/scoring/comparators.py)."""
from __future__ import annotations

import math

import pytest

from evaluator.scoring.comparators import COMPARATORS, compare, equals, f1, json_subset, numeric, regex, set_equals


@pytest.mark.parametrize(
    ("answer", "expected", "credit"),
    [
        (1, 1.0, 1.0),  # 1 and 1.0 are the same JSON number
        (True, 1, 0.0),  # a bool is not a number
        (1, True, 0.0),
        (False, False, 1.0),
        (True, False, 0.0),
        ("a", "a", 1.0),
        ("a", "b", 0.0),
        ({"x": [1, 2]}, {"x": [1, 2]}, 1.0),
        ({"x": [1, 2]}, {"x": [2, 1]}, 0.0),  # order matters for equals
        (None, 0, 0.0),
    ],
)
def test_equals(answer: object, expected: object, credit: float) -> None:
    assert equals(answer, expected, {}) == credit


@pytest.mark.parametrize(
    ("answer", "expected", "credit"),
    [
        (["b", "a", "a"], ["a", "b"], 1.0),  # order and duplicates ignored
        (["a"], ["a", "b"], 0.0),
        (["a", "b", "c"], ["a", "b"], 0.0),
        ([{"k": 1, "j": 2}], [{"j": 2, "k": 1}], 1.0),  # dict items compare by content, key order aside
        ([True], [1], 0.0),
        ("a", ["a"], 0.0),  # not a list
        (["a"], "a", 0.0),
        ([], [], 1.0),
        (["é"], ["é"], 1.0),
    ],
)
def test_set_equals(answer: object, expected: object, credit: float) -> None:
    assert set_equals(answer, expected, {}) == credit


@pytest.mark.parametrize(
    ("answer", "expected", "credit"),
    [
        ([1, 2, 3], [2, 3, 4], 2 / 3),  # precision 2/3, recall 2/3
        ([1, 2], [1, 2, 3, 4], 2 / 3),  # precision 1, recall 1/2: 2 * 0.5 / 1.5
        ([1, 2, 3, 4], [1], 0.4),  # precision 1/4, recall 1: 2 * 0.25 / 1.25
        ([1, 1, 2], [2, 1], 1.0),  # duplicates ignored
        ([], [], 1.0),
        ([], [1], 0.0),
        ([1], [], 0.0),
        ([5], [1], 0.0),
        ("1", [1], 0.0),
        ([1], {"a": 1}, 0.0),
    ],
)
def test_f1(answer: object, expected: object, credit: float) -> None:
    assert f1(answer, expected, {}) == pytest.approx(credit)


@pytest.mark.parametrize(
    ("answer", "expected", "opts", "credit"),
    [
        (5, 5.0, {}, 1.0),
        (5.0001, 5, {}, 0.0),  # no tolerance by default
        (12, 10, {"abs_tol": 2}, 1.0),  # the bound is inclusive
        (12, 10, {"abs_tol": 1.9}, 0.0),
        (8, 10, {"abs_tol": 2}, 1.0),  # both directions
        (110, 100, {"rel_tol": 0.1}, 1.0),  # 10 % of |expected|, inclusive
        (110.5, 100, {"rel_tol": 0.1}, 0.0),
        (-110, -100, {"rel_tol": 0.1}, 1.0),  # relative to |expected|
        (111, 100, {"abs_tol": 11, "rel_tol": 0.01}, 1.0),  # either tolerance is enough
        (111, 100, {"abs_tol": 1, "rel_tol": 0.11}, 1.0),
        (112, 100, {"abs_tol": 11, "rel_tol": 0.11}, 0.0),
        (True, 1, {"abs_tol": 5}, 0.0),  # a bool is not a number
        ("5", 5, {}, 0.0),
        (5, "5", {}, 0.0),
        (math.inf, 5, {"abs_tol": math.inf}, 0.0),
        (math.nan, 5, {"abs_tol": 100}, 0.0),
        (0, 0, {}, 1.0),
    ],
)
def test_numeric(answer: object, expected: object, opts: dict, credit: float) -> None:
    assert numeric(answer, expected, opts) == credit


@pytest.mark.parametrize(
    ("answer", "expected", "credit"),
    [
        ({"a": 1, "b": 2}, {"a": 1}, 1.0),  # extra keys are fine
        ({"a": {"x": 1, "y": 2}}, {"a": {"x": 1}}, 1.0),  # recursively
        ({"a": {"y": 2}}, {"a": {"x": 1}}, 0.0),
        ({"b": 1}, {"a": 1}, 0.0),  # a missing key
        ({"a": 2}, {"a": 1}, 0.0),
        ({"a": True}, {"a": 1}, 0.0),  # leaves compare like equals
        ({"a": 1.0}, {"a": 1}, 1.0),
        ([1], {"a": 1}, 0.0),
        ({"a": [1, 2]}, {"a": [1, 2]}, 1.0),
        ({}, {}, 1.0),
    ],
)
def test_json_subset(answer: object, expected: object, credit: float) -> None:
    assert json_subset(answer, expected, {}) == credit


@pytest.mark.parametrize(
    ("answer", "pattern", "opts", "credit"),
    [
        ("0.3.1", r"0\.3\.1", {}, 1.0),
        (" 0.3.1\n", r"0\.3\.1", {}, 1.0),  # stripped by default
        (" 0.3.1", r"0\.3\.1", {"strip": False}, 0.0),
        ("v0.3.1", r"0\.3\.1", {}, 0.0),  # a full match, not a search
        ("0.3.10", r"0\.3\.1", {}, 0.0),
        ("ABC", "abc", {}, 0.0),
        ("10.20.3", r"\d+\.\d+\.\d*", {}, 1.0),  # repetition works without flags
        ("ABC", "abc", {"ignore_case": True}, 1.0),
        (3, "3", {}, 0.0),
        ("3", 3, {}, 0.0),
    ],
)
def test_regex(answer: object, pattern: object, opts: dict, credit: float) -> None:
    assert regex(answer, pattern, opts) == credit


def test_compare_thresholds_only_f1() -> None:
    assert compare("f1", [1, 2], [1, 2, 3, 4], {"threshold": 0.6}) == (pytest.approx(2 / 3), True)
    assert compare("f1", [1, 2], [1, 2, 3, 4], {"threshold": 0.7}) == (pytest.approx(2 / 3), False)
    assert compare("f1", [1, 2], [1, 2, 3, 4], {})[1] is False  # default threshold 1.0
    assert compare("f1", [1, 2], [1, 2], {}) == (1.0, True)
    # a credit a rounding error below the threshold still passes
    assert compare("f1", [1, 2, 3], [2, 3, 4], {"threshold": 2 / 3 + 1e-13})[1] is True
    assert compare("f1", [1, 2, 3], [2, 3, 4], {"threshold": 2 / 3 + 1e-9})[1] is False
    # threshold means nothing to the other comparators: their pass mark stays 1.0
    assert compare("equals", 1, 2, {"threshold": 0.0}) == (0.0, False)
    assert compare("numeric", 1, 1, {"threshold": 5}) == (1.0, True)


def test_every_comparator_is_registered_under_its_name() -> None:
    assert {name: fn.__name__ for name, fn in COMPARATORS.items()} == {
        "equals": "equals", "set_equals": "set_equals", "f1": "f1", "numeric": "numeric",
        "json_subset": "json_subset", "regex": "regex",
    }
