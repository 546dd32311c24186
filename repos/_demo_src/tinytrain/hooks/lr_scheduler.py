import math

from ..registry import HOOKS
from .base import Hook


@HOOKS.register_module()
class LrSchedulerHook(Hook):
    priority = 10

    def __init__(self, base_lr=0.01, warmup_iters=0, warmup_ratio=0.1):
        self.base_lr = base_lr
        self.warmup_iters = warmup_iters
        self.warmup_ratio = warmup_ratio

    def get_lr(self, runner):
        return self.base_lr

    def after_train_iter(self, runner):
        lr = self.get_lr(runner)
        if runner.iter < self.warmup_iters:
            lr *= self.warmup_ratio
        runner.outputs["lr"] = lr


@HOOKS.register_module()
class StepLrHook(LrSchedulerHook):
    def __init__(self, step=(8, 11), gamma=0.1, **kwargs):
        super().__init__(**kwargs)
        self.step = list(step)
        self.gamma = gamma

    def get_lr(self, runner):
        passed = sum(1 for s in self.step if runner.epoch >= s)
        return self.base_lr * self.gamma ** passed


# Experimental: not registered until it has tests.
# @HOOKS.register_module()
class CosineLrHook(LrSchedulerHook):
    def __init__(self, min_lr=0.0, **kwargs):
        super().__init__(**kwargs)
        self.min_lr = min_lr

    def get_lr(self, runner):
        progress = runner.epoch / max(runner.cfg.max_epochs, 1)
        return self.min_lr + (self.base_lr - self.min_lr) * (1 + math.cos(math.pi * progress)) / 2
