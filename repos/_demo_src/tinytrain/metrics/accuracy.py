from ..registry import METRICS
from .base import BaseMetric


@METRICS.register_module()
class Accuracy(BaseMetric):
    default_prefix = "acc"

    def compute(self):
        if not self.results:
            return {"top1": 0.0}
        correct = sum(1 for p, t in self.results if p == t)
        return {"top1": correct / len(self.results)}


@METRICS.register_module(name="TopK")
class TopKAccuracy(Accuracy):
    """``preds`` are ranked lists of labels; a hit is a target among the first ``k``."""

    def __init__(self, k=5, prefix=None, collect_device="cpu"):
        super().__init__(prefix=prefix, collect_device=collect_device)
        self.k = k

    def compute(self):
        if not self.results:
            return {f"top{self.k}": 0.0}
        hits = sum(1 for ranked, t in self.results if t in list(ranked)[: self.k])
        return {f"top{self.k}": hits / len(self.results)}
