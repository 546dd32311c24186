class BaseMetric:
    """Accumulate (prediction, target) pairs, then ``compute`` a dict of results."""

    default_prefix = None

    def __init__(self, prefix=None, collect_device="cpu"):
        self.prefix = prefix or self.default_prefix
        self.collect_device = collect_device
        self.results = []

    def process(self, preds, targets):
        self.results.extend(zip(preds, targets))

    def compute(self):
        raise NotImplementedError

    def evaluate(self):
        metrics = self.compute()
        self.results = []
        if self.prefix:
            metrics = {f"{self.prefix}/{k}": v for k, v in metrics.items()}
        return metrics
