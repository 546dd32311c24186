"""The seeded, hash-seed-independent sampler every template draws entities with."""
from __future__ import annotations

import hashlib
import random
from typing import Callable, Sequence, TypeVar

from evaluator.generate.model import canonical

T = TypeVar("T")


class Sampler:
    """`random.Random` seeded with a *string* (hashed with SHA-512 by CPython, not with
    `hash()`), over candidates sorted first: the draw depends only on (seed, salt, items),
    never on set/dict iteration order or PYTHONHASHSEED."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def rng(self, salt: str) -> random.Random:
        return random.Random(f"agentgym-generate:{self.seed}:{salt}")

    def shuffled(self, salt: str, items: Sequence[T], key: Callable[[T], str] = canonical) -> list[T]:
        ordered = sorted(items, key=key)
        self.rng(salt).shuffle(ordered)
        return ordered

    def ranked(self, salt: str, items: Sequence[T], key: Callable[[T], str] = canonical) -> list[T]:
        """Items ordered by a per-item hash rank: adding or removing one candidate (a re-pin)
        never reorders the others, so task ids survive a new commit where their entity does."""
        def rank(item: T) -> tuple[str, str]:
            k = key(item)
            return hashlib.sha256(f"{self.seed}:{salt}:{k}".encode()).hexdigest(), k
        return sorted(items, key=rank)

    def choice(self, salt: str, items: Sequence[T], key: Callable[[T], str] = canonical) -> T:
        return self.rng(salt).choice(sorted(items, key=key))
