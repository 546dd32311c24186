import json

from ..registry import HOOKS
from .base import Hook


@HOOKS.register_module()
class LoggerHook(Hook):
    priority = 90

    def __init__(self, interval=10, ignore_last=True, reset_flag=False):
        self.interval = interval
        self.ignore_last = ignore_last
        self.reset_flag = reset_flag
        self.records = []

    def after_train_iter(self, runner):
        if self.every_n_iters(runner, self.interval):
            self.records.append({"iter": runner.iter, **runner.outputs})


@HOOKS.register_module(name="TextLogger")
class TextLoggerHook(LoggerHook):
    def __init__(self, interval=10, by_epoch=True, out_file=None, indent=None):
        super().__init__(interval=interval)
        self.by_epoch = by_epoch
        self.out_file = out_file
        self.indent = indent

    def after_run(self, runner):
        if self.out_file:
            with open(self.out_file, "w", encoding="utf-8") as f:
                json.dump(self.records, f, indent=self.indent)
