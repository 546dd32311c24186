import os

from ..registry import HOOKS
from .base import Hook


@HOOKS.register_module()
class CheckpointHook(Hook):
    """Save the model every ``interval`` epochs (or iterations)."""

    priority = 70

    def __init__(self, interval=1, by_epoch=True, save_last=True, max_keep_ckpts=-1, out_dir=None):
        self.interval = interval
        self.by_epoch = by_epoch
        self.save_last = save_last
        self.max_keep_ckpts = max_keep_ckpts
        self.out_dir = out_dir
        self.saved = []

    def after_epoch(self, runner):
        if self.by_epoch and (runner.epoch + 1) % self.interval == 0:
            self._save(runner, f"epoch_{runner.epoch + 1}.pth")

    def _save(self, runner, filename):
        out_dir = self.out_dir or runner.cfg.work_dir
        self.saved.append(os.path.join(out_dir, filename))
        if self.max_keep_ckpts > 0:
            self.saved = self.saved[-self.max_keep_ckpts:]
