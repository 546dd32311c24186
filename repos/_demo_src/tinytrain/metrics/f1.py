from ..registry import METRICS
from .base import BaseMetric


@METRICS.register_module()
class F1Score(BaseMetric):
    """Binary F1 of the positive class; ``MacroF1Score`` averages over classes."""

    default_prefix = "f1"

    def __init__(self, positive=1, prefix=None, collect_device="cpu"):
        super().__init__(prefix=prefix, collect_device=collect_device)
        self.positive = positive

    @staticmethod
    def _f1(pairs, label):
        tp = sum(1 for p, t in pairs if p == label and t == label)
        fp = sum(1 for p, t in pairs if p == label and t != label)
        fn = sum(1 for p, t in pairs if p != label and t == label)
        return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)

    def compute(self):
        return {"f1": self._f1(self.results, self.positive)}


@METRICS.register_module()
class MacroF1Score(F1Score):
    def compute(self):
        labels = sorted({t for _, t in self.results} | {p for p, _ in self.results})
        if not labels:
            return {"macro_f1": 0.0}
        return {"macro_f1": sum(self._f1(self.results, c) for c in labels) / len(labels)}
