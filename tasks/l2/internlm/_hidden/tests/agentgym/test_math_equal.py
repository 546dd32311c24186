"""is_digit, math_equal and symbolic_equal (agent/streaming_inference.py): comparing answers."""
import queue

import pytest

import agent.streaming_inference as si


@pytest.mark.parametrize("value", ["3", "-3.5", "1,000", "1e5", " 4 ", "1,2,3", "inf", 3, 2.5])
def test_is_digit_true(value):
    assert si.is_digit(value) is True


@pytest.mark.parametrize("value", ["abc", "", None, True, r"\frac{1}{2}", "1/2"])
def test_is_digit_false(value):
    assert si.is_digit(value) is False


@pytest.mark.parametrize("pred, ref", [
    ("50", "50"), ("7", "7.0"), ("1,000", "1000"), (0, "0"), ("0", "0"),
    ("3.14159", "3.1416"), ("1", "1.00001"),
])
def test_numbers_equal(pred, ref):
    assert si.math_equal(pred, ref) is True


@pytest.mark.parametrize("pred, ref", [("3.14", "3.1416"), ("1", "1.001"), ("2", "3"), ("-1", "1")])
def test_numbers_not_equal(pred, ref):
    assert si.math_equal(pred, ref) is False


@pytest.mark.parametrize("pred, ref", [("50", "0.5"), ("0.5", "50"), ("10", "0.1"), ("5", "500")])
def test_percentages_count_by_default(pred, ref):
    assert si.math_equal(pred, ref) is True
    assert si.math_equal(pred, ref, include_percentage=False) is False


def test_exact_comparison_without_is_close():
    assert si.math_equal("3.14159", "3.1416", is_close=False) is False
    assert si.math_equal("1", "1.00001", is_close=False) is False
    assert si.math_equal("7", "7.0", is_close=False) is True
    assert si.math_equal("50", "0.5", is_close=False) is True


def test_tolerance():
    assert si.math_equal("1", "1.00005", tolerance=1e-6) is False
    assert si.math_equal("1", "1.00005") is True
    assert si.math_equal("3.1", "3.14", tolerance=0.1) is True


@pytest.mark.parametrize("pred, ref", [("", "0"), (False, "0"), (True, "1"), (None, "1")])
def test_empty_and_bool_predictions(pred, ref):
    assert si.math_equal(pred, ref) is False


@pytest.mark.parametrize("pred, ref", [
    ("(1,2)", "(1,2)"), ("[1, 2]", "[1,2]"), ("(0.5, 1)", r"(\frac{1}{2}, 1)"), ("{1,2}", "1,2"),
    ("(1,2)", "1,2"), ("(50, 1)", "(0.5, 1)"),
])
def test_tuples_and_intervals_equal(pred, ref):
    assert si.math_equal(pred, ref) is True


@pytest.mark.parametrize("pred, ref", [
    ("[1,2]", "(1,2)"), ("(1,2)", "[1,2]"), ("(1,2)", "(2,1)"), ("[1,2,3]", "[1,2]"), ("(1,2,3)", "(1,2,4)"),
])
def test_tuples_and_intervals_not_equal(pred, ref):
    assert si.math_equal(pred, ref) is False


@pytest.mark.parametrize("pred, ref", [
    ("0.5", r"\frac{1}{2}"), ("x+1", "1+x"), (r"\frac{1}{2}", r"\frac{2}{4}"), (r"\sqrt{4}", "2"),
    ("2", r"\sqrt{4}"), ("x^2", "x*x"), ("2x", "2*x"), (r"\infty", r"\infty"), ("1/3", "0.3333"),
])
def test_symbolic_equal_through_math_equal(pred, ref):
    assert si.math_equal(pred, ref) is True


@pytest.mark.parametrize("pred, ref", [("a", "b"), ("x+1", "x-1"), (r"\frac{1}{3}", "0.5")])
def test_symbolic_not_equal_through_math_equal(pred, ref):
    assert si.math_equal(pred, ref) is False


def test_math_equal_process_compares_last_two():
    assert si.math_equal_process((0, "0.5", r"\frac{1}{2}")) is True
    assert si.math_equal_process(("x", "y", "0.5", "50")) is True
    assert si.math_equal_process((1, "2", "3")) is False
    assert si.math_equal_process((2, "[1,2]", "1,2")) is True
    assert si.math_equal_process((3, "1,2", "[1,2]")) is False


def test_math_equal_is_not_symmetric_for_brackets():
    assert si.math_equal("[1,2]", "1,2") is True
    assert si.math_equal("1,2", "[1,2]") is False


@pytest.mark.parametrize("a, b", [
    (r"\frac{1}{2}", "0.5"), ("x+1", "1+x"), ("2*x", "x*2"), (r"\sqrt{2}", "1.41421"),
    ("1/3", "0.333"), (r"\frac{x}{2}", "x/2"), ("3", "3"),
])
def test_symbolic_equal_true(a, b):
    assert si.symbolic_equal(a, b) is True


@pytest.mark.parametrize("a, b", [(r"\sqrt{2}", "1.4"), ("a", "b"), ("1", "2"), ("1/3", "0.33")])
def test_symbolic_equal_false(a, b):
    assert si.symbolic_equal(a, b) is False


def test_symbolic_equal_process_puts_result_on_queue():
    q = queue.Queue()
    si.symbolic_equal_process(r"\frac{1}{2}", "0.5", q)
    si.symbolic_equal_process("1", "2", q)
    assert q.get_nowait() is True
    assert q.get_nowait() is False
    assert q.empty()
