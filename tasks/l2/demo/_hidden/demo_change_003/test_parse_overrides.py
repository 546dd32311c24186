import pytest

from tinytrain import utils


def test_literals_and_strings():
    assert utils.parse_overrides(["a=1", "b=0.5", "c=[1, 2]", "d=hello", "e=None"]) == {
        "a": 1, "b": 0.5, "c": [1, 2], "d": "hello", "e": None}


def test_nested_keys():
    assert utils.parse_overrides(["b.c=x", "b.d=2", "e.f.g=True"]) == {"b": {"c": "x", "d": 2}, "e": {"f": {"g": True}}}


def test_later_wins():
    assert utils.parse_overrides(["a=1", "a=2"]) == {"a": 2}


def test_value_with_equals_sign():
    assert utils.parse_overrides(["expr=x=1"]) == {"expr": "x=1"}


@pytest.mark.parametrize("bad", ["novalue", "=3", "a..b=1"])
def test_bad_items(bad):
    with pytest.raises(ValueError):
        utils.parse_overrides([bad])


def test_empty():
    assert utils.parse_overrides([]) == {}
