"""The training loop: iterate, call hooks, evaluate metrics."""
from .config import TrainConfig
from .hooks import Hook
from .registry import DATASETS, HOOKS, METRICS, MODELS
from .utils import set_random_seed


class Runner:
    def __init__(self, model, cfg: TrainConfig, dataset=None, hooks=None, metrics=None):
        self.model = model
        self.cfg = cfg
        self.dataset = dataset
        self.epoch = 0
        self.iter = 0
        self.outputs = {}
        self._hooks = []
        for hook in hooks or []:
            self.register_hook(hook)
        self.metrics = list(metrics or [])

    @classmethod
    def from_cfg(cls, cfg, raw):
        if cfg.seed is not None:
            set_random_seed(cfg.seed)
        model = MODELS.build(raw["model"])
        dataset = DATASETS.build(raw["dataset"]) if "dataset" in raw else None
        hooks = [HOOKS.build(h) for h in cfg.hooks]
        metrics = [METRICS.build({"type": m}) for m in cfg.metrics]
        return cls(model, cfg, dataset=dataset, hooks=hooks, metrics=metrics)

    def register_hook(self, hook, priority=None):
        if not isinstance(hook, Hook):
            raise TypeError(f"{hook!r} is not a Hook")
        if priority is not None:
            hook.priority = priority
        self._hooks.append(hook)
        self._hooks.sort(key=lambda h: h.priority)

    def call_hook(self, fn_name):
        for hook in self._hooks:
            getattr(hook, fn_name)(self)

    def train(self):
        self.call_hook("before_run")
        for self.epoch in range(self.cfg.max_epochs):
            for batch in self.dataset or []:
                self.outputs = self.model.train_step(batch)
                self.iter += 1
                self.call_hook("after_train_iter")
            self.call_hook("after_epoch")
        self.call_hook("after_run")
