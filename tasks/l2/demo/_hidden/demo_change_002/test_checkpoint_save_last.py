from types import SimpleNamespace

from tinytrain.hooks import CheckpointHook


def _run(hook, max_epochs):
    runner = SimpleNamespace(epoch=0, cfg=SimpleNamespace(max_epochs=max_epochs, work_dir="wd"))
    hook.before_run(runner)
    for runner.epoch in range(max_epochs):
        hook.after_epoch(runner)
    hook.after_run(runner)
    return [p.split("/")[-1] for p in hook.saved]


def test_interval_saves():
    assert _run(CheckpointHook(interval=2), 4) == ["epoch_2.pth", "epoch_4.pth"]


def test_save_last_when_interval_skips_end():
    assert _run(CheckpointHook(interval=2), 5) == ["epoch_2.pth", "epoch_4.pth", "epoch_5.pth"]


def test_save_last_respects_max_keep():
    assert _run(CheckpointHook(interval=3, max_keep_ckpts=1), 7) == ["epoch_7.pth"]


def test_save_last_false():
    assert _run(CheckpointHook(interval=2, save_last=False), 5) == ["epoch_2.pth", "epoch_4.pth"]
