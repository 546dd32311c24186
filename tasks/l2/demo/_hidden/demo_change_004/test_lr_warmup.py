from types import SimpleNamespace

import pytest

from tinytrain.hooks import LrSchedulerHook, StepLrHook


def _lr(hook, it, epoch=0):
    runner = SimpleNamespace(iter=it, epoch=epoch, outputs={})
    hook.after_train_iter(runner)
    return runner.outputs["lr"]


def test_no_warmup():
    assert _lr(LrSchedulerHook(base_lr=0.1), 0) == pytest.approx(0.1)


def test_after_warmup():
    assert _lr(LrSchedulerHook(base_lr=0.1, warmup_iters=10, warmup_ratio=0.1), 10) == pytest.approx(0.1)


def test_step_lr():
    assert _lr(StepLrHook(base_lr=0.1, step=(2, 4)), 0, epoch=3) == pytest.approx(0.01)


def test_linear_warmup():
    hook = LrSchedulerHook(base_lr=0.01, warmup_iters=10, warmup_ratio=0.1)
    assert [_lr(hook, i) for i in (0, 5, 9)] == pytest.approx([0.001, 0.0055, 0.0091])
