import pytest

from tinytrain import Registry


def test_single_name_still_works():
    things = Registry("thing")
    things.register_module(name="A")(type("A", (), {}))
    assert "A" in things and len(things) == 1


def test_list_of_names():
    things = Registry("thing")

    @things.register_module(name=["Foo", "FooAlias"])
    class Foo:
        pass

    assert things.get("Foo") is Foo and things.get("FooAlias") is Foo
    assert len(things) == 2
    assert isinstance(things.build({"type": "FooAlias"}), Foo)


def test_alias_duplicate_raises_and_registers_nothing():
    things = Registry("thing")
    things.register_module(name="B")(type("B", (), {}))
    with pytest.raises(KeyError):
        things.register_module(name=["C", "B"])(type("C", (), {}))
    assert "C" not in things and len(things) == 1
