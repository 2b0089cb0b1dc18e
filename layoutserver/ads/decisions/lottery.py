"""Weighted random choices, drawn only from the ``random.Random`` they are given (seeded in
tests, so decisions are reproducible)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

MIN_WEIGHT = 1e-9
"""A weight of 0 or less still leaves a line item a (vanishing) chance rather than none."""


def draw(weights: Sequence[float], rng: random.Random) -> int:
    """The index of the winner, with probability proportional to its weight. A single
    contender wins without consuming randomness."""
    if len(weights) == 1:
        return 0
    total = 0.0
    for weight in weights:
        total += max(weight, MIN_WEIGHT)
    point = rng.random() * total
    for index, weight in enumerate(weights):
        point -= max(weight, MIN_WEIGHT)
        if point < 0:
            return index
    return len(weights) - 1


def weighted_order(items: Sequence[T], weights: Sequence[float], rng: random.Random) -> list[T]:
    """``items`` in a random order where heavier ones tend to come first: the order of
    successive weighted draws without replacement (Efraimidis-Spirakis keys)."""
    if len(items) <= 1:
        return list(items)
    keys = [rng.random() ** (1.0 / max(weight, MIN_WEIGHT)) for weight in weights]
    order = sorted(range(len(items)), key=lambda index: keys[index], reverse=True)
    return [items[index] for index in order]
