import pytest

from tinytrain.metrics import MacroF1Score


def test_macro_default():
    metric = MacroF1Score()
    metric.process([0, 1, 1, 2], [0, 1, 0, 2])
    assert metric.evaluate()["f1/macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1.0) / 3)


def test_labels_subset():
    metric = MacroF1Score(labels=[1, 2])
    metric.process([0, 1, 1, 2], [0, 1, 0, 2])
    assert metric.evaluate()["f1/macro_f1"] == pytest.approx((2 / 3 + 1.0) / 2)


def test_label_absent_counts_zero():
    metric = MacroF1Score(labels=[0, 5])
    metric.process([0, 0], [0, 0])
    assert metric.evaluate()["f1/macro_f1"] == pytest.approx(0.5)


def test_prefix_keyword_still_works():
    metric = MacroF1Score(labels=[1], prefix="val")
    metric.process([1], [1])
    assert metric.evaluate() == {"val/macro_f1": 1.0}
