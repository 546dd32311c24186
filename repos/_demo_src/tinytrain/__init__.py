"""tinytrain: a tiny training and evaluation toolkit."""
from .registry import DATASETS, HOOKS, METRICS, MODELS, Registry
from .version import __version__

# importing the sub-packages fills the registries
from . import datasets, hooks, metrics, models  # noqa: E402,F401

__all__ = ["__version__", "Registry", "HOOKS", "METRICS", "MODELS", "DATASETS"]
