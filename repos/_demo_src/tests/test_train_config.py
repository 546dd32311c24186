import pytest

from tinytrain.config import TrainConfig, load_config
from tinytrain.utils import config_stem, default_config


def test_defaults():
    cfg = default_config()
    assert cfg.max_epochs == 12 and cfg.hooks == [] and cfg.seed is None


@pytest.mark.parametrize(
    "path,stem",
    [("configs/mlp_toy.py", "mlp_toy"), ("configs/resnet_cifar.py", "resnet_cifar")],
)
def test_config_stem(path, stem):
    assert config_stem(path) == stem


def test_load_config_overrides(tmp_path):
    path = tmp_path / "cfg.py"
    path.write_text("train = dict(max_epochs=3, lr=0.5)\n")
    cfg, raw = load_config(str(path), lr=0.1, seed=None)
    assert isinstance(cfg, TrainConfig)
    assert (cfg.max_epochs, cfg.lr, cfg.experiment_name) == (3, 0.1, "cfg")
    assert "train" in raw
