import pytest

from tinytrain import HOOKS, METRICS, MODELS, Registry
from tinytrain.hooks import CheckpointHook, CosineLrHook, TextLoggerHook


def test_register_and_get():
    things = Registry("thing")

    @things.register_module()
    class Foo:
        pass

    assert things.get("Foo") is Foo
    assert "Foo" in things and len(things) == 1


def test_duplicate_name_raises():
    things = Registry("thing")
    things.register_module(name="A")(type("A", (), {}))
    with pytest.raises(KeyError):
        things.register_module(name="A")(type("B", (), {}))


@pytest.mark.parametrize(
    "registry,name",
    [
        (HOOKS, "CheckpointHook"),
        (HOOKS, "TextLogger"),
        (METRICS, "TopK"),
        (MODELS, "MLP"),
    ],
)
def test_builtin_names(registry, name):
    assert name in registry


def test_cosine_hook_is_not_registered():
    assert "CosineLrHook" not in HOOKS
    assert issubclass(CosineLrHook, object)


@pytest.mark.parametrize("interval", [1, 5])
def test_build_checkpoint_hook(interval):
    hook = HOOKS.build(dict(type="CheckpointHook", interval=interval))
    assert isinstance(hook, CheckpointHook) and hook.interval == interval


def test_build_with_alias():
    assert isinstance(HOOKS.build(dict(type="TextLogger")), TextLoggerHook)
