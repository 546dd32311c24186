"""Datasets small enough to live in memory."""
import csv

from .registry import DATASETS


@DATASETS.register_module()
class ToyDataset:
    """``num_samples`` points of a two-class toy problem."""

    def __init__(self, num_samples=128, num_features=4, seed=0):
        self.num_samples = num_samples
        self.num_features = num_features
        self.seed = seed

    def __len__(self):
        return self.num_samples

    def __iter__(self):
        for i in range(self.num_samples):
            yield [float((i * 7 + j) % 5) for j in range(self.num_features)], i % 2


@DATASETS.register_module()
class CSVDataset:
    def __init__(self, path, label_column="label"):
        self.path = path
        self.label_column = label_column

    def __iter__(self):
        with open(self.path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                label = int(row.pop(self.label_column))
                yield [float(v) for v in row.values()], label
