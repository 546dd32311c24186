import pytest

from tinytrain import HOOKS, Registry
from tinytrain.hooks import CheckpointHook


def test_build_still_works():
    assert isinstance(HOOKS.build({"type": "CheckpointHook", "interval": 2}), CheckpointHook)


def test_missing_type_message():
    with pytest.raises(KeyError, match='cfg must contain the key "type"'):
        HOOKS.build({"interval": 2})


def test_not_a_dict():
    with pytest.raises(TypeError, match="cfg must be a dict, got list"):
        Registry("thing").build([("type", "X")])


def test_cfg_not_modified():
    cfg = {"type": "CheckpointHook", "interval": 3}
    HOOKS.build(cfg)
    assert cfg == {"type": "CheckpointHook", "interval": 3}
