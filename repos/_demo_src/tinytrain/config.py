"""Typed training settings, filled from a Python config file."""
from dataclasses import asdict, dataclass, field
from typing import List, Optional

from . import utils


@dataclass
class TrainConfig:
    experiment_name: str
    work_dir: str = "./work_dirs"
    max_epochs: int = 12
    batch_size: int = 32
    lr: float = 0.01
    seed: Optional[int] = None
    val_interval: int = 1
    resume: bool = False
    hooks: List[dict] = field(default_factory=list)
    metrics: List[str] = field(default_factory=list)

    def to_dict(self):
        return asdict(self)


def load_config(path, **overrides):
    """Read ``path`` and build a :class:`TrainConfig`; ``overrides`` win over the file."""
    raw = utils.read_python_config(path)
    train = dict(raw.get("train", {}))
    train.update({k: v for k, v in overrides.items() if v is not None})
    train.setdefault("experiment_name", utils.config_stem(path))
    return TrainConfig(**train), raw
