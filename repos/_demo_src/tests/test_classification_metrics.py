import pytest

from tinytrain.metrics import Accuracy, F1Score, MacroF1Score, TopKAccuracy


@pytest.mark.parametrize(
    "preds,targets,expected",
    [
        ([0, 1, 1], [0, 1, 0], 2 / 3),
        ([1, 1], [1, 1], 1.0),
        ([0], [1], 0.0),
    ],
)
def test_accuracy(preds, targets, expected):
    metric = Accuracy()
    metric.process(preds, targets)
    assert metric.evaluate() == pytest.approx({"acc/top1": expected})


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("prefix", [None, "val"])
def test_topk_prefix(k, prefix):
    metric = TopKAccuracy(k=k, prefix=prefix)
    metric.process([[2, 1, 0]], [1])
    key = f"{prefix or 'acc'}/top{k}"
    assert metric.evaluate()[key] == (0.0 if k == 1 else 1.0)


def test_f1_perfect():
    metric = F1Score()
    metric.process([1, 0, 1], [1, 0, 1])
    assert metric.evaluate() == {"f1/f1": 1.0}


@pytest.mark.parametrize("cls", [F1Score, MacroF1Score])
def test_empty_results(cls):
    metric = cls(prefix="x")
    assert all(v == 0.0 for v in metric.evaluate().values())
