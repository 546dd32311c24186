"""How a task is scored: the oracle registry, answer reading, comparators, and the 0-100 formula
with its weights (weights.yaml)."""
