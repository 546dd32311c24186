"""last_boxed_only_string and extract_answer (agent/streaming_inference.py): finding the final answer."""
import pytest

import agent.streaming_inference as si


@pytest.mark.parametrize("text, expected", [
    (r"\boxed{5}", r"\boxed{5}"),
    (r"a \boxed{1} b \boxed{2} c", r"\boxed{2}"),
    (r"\boxed{\frac{1}{2}}", r"\boxed{\frac{1}{2}}"),
    (r"\boxed{a{b}c}d", r"\boxed{a{b}c}"),
    (r"\boxed{}", r"\boxed{}"),
    (r"x}\boxed{7}", r"\boxed{7}"),
    (r"\fbox{3}", r"\fbox{3}"),
    (r"\boxed{1} \fbox{2}", r"\boxed{1}"),
    (r"\fbox{1} and \boxed{2}", r"\boxed{2}"),
])
def test_last_boxed_found(text, expected):
    assert si.last_boxed_only_string(text) == expected


@pytest.mark.parametrize("text", [r"\boxed{3", "no box here", r"\boxed 5", ""])
def test_last_boxed_none(text):
    assert si.last_boxed_only_string(text) is None


@pytest.mark.parametrize("text, expected", [
    (r"The answer is \boxed{5}.", "5"),
    (r"\boxed{\frac{1}{2}}", r"\frac{1}{2}"),
    (r"\boxed{\dfrac{3}{4}}", r"\frac{3}{4}"),
    (r"\boxed{a{b}c}", "a{b}c"),
    (r"\boxed{a}{b}", "a"),
    (r"\boxed{1} and \boxed{2}", "2"),
    (r"\boxed{10\%}", "10"),
    (r"\boxed{\text{(B)}}", "{(B)}"),
    ("\\boxed{2}\n more", "2"),
    (r"$\boxed 7$", "7"),
    ("so boxed{3}", "3"),
    ("boxed", ""),
])
def test_boxed_answers(text, expected):
    assert si.extract_answer(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("The answer is 42.", "42"),
    ("the answer is 1,000", "1,000"),
    ("The final answer is: $x = 3$.", "3"),
    ("The answer is\n7\nbecause", "7"),
    ("The answer is :5", "5"),
    ("The answer is 3/", "3"),
    ("The answer is 1/2", r"\frac{1}{2}"),
])
def test_the_answer_is(text, expected):
    assert si.extract_answer(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("I got 3 apples and 4.5 pears", "4.5"),
    ("total is 1,234.5", "1234.5"),
    ("Answer: -3", "-3"),
    ("x=.5 then 0.25", "0.25"),
    ("value -.5", "-.5"),
    ("no numbers", ""),
    (r"\fbox{4}", "4"),
])
def test_last_number_fallback(text, expected):
    assert si.extract_answer(text) == expected


def test_code_is_not_executed_by_default():
    assert si.extract_answer("```python\nprint(1)\n```") == "1"
