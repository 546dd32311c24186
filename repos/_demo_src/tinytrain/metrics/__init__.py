from .accuracy import Accuracy, TopKAccuracy
from .base import BaseMetric
from .f1 import F1Score, MacroF1Score

__all__ = ["BaseMetric", "Accuracy", "TopKAccuracy", "F1Score", "MacroF1Score"]
