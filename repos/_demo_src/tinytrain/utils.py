"""Small helpers shared by the runner and the tools."""
import os
import random

from . import config


def config_stem(path):
    """'configs/mlp_toy.py' -> 'mlp_toy'."""
    return os.path.splitext(os.path.basename(path))[0]


def read_python_config(path):
    """Execute a Python config file and return its public top-level names."""
    scope = {}
    with open(path, encoding="utf-8") as f:
        exec(compile(f.read(), path, "exec"), scope)
    return {k: v for k, v in scope.items() if not k.startswith("_")}


def set_random_seed(seed, deterministic=False):
    random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    return seed


def default_config(name="debug"):
    """A TrainConfig with every default, handy in tests."""
    return config.TrainConfig(experiment_name=name)
