"""Quotas from running totals: how the generated year lands on its targets by construction.

Each day's items (visits, stays) are split over categories (village clinic / township centre /
hospital; in / out of county; primary / county level) so that the running counts stay within
one item of ``share × running total``.  *Which* items go where is left to propensities
(age, condition, bypass habit), by weighted sampling without replacement — so the pattern is
plausible and the totals are exact, against the indicators' own definitions.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import TypeVar

from yilian.simulation.rng import weighted_key

T = TypeVar("T")


class Quota:
    """Apportion each batch so that cumulative counts track ``shares`` (largest remainder)."""

    def __init__(self, shares: Sequence[float]) -> None:
        total = sum(shares)
        if total <= 0 or any(s < 0 for s in shares):
            raise ValueError("shares must be non-negative and not all zero")
        self.shares = [s / total for s in shares]
        self.given = [0] * len(shares)
        self.total = 0

    def split(self, m: int) -> list[int]:
        self.total += m
        want = [s * self.total - g for s, g in zip(self.shares, self.given, strict=True)]
        alloc = [max(0, math.floor(w)) for w in want]
        # Never more than m: take back from the categories furthest above their due.
        while sum(alloc) > m:
            j = max(range(len(alloc)), key=lambda k: (alloc[k] - want[k], -k))
            alloc[j] -= 1
        # Hand out the rest by largest remaining due (ties to the first category: deterministic).
        for _ in range(m - sum(alloc)):
            j = max(range(len(alloc)), key=lambda k: (want[k] - alloc[k], -k))
            alloc[j] += 1
        for k, a in enumerate(alloc):
            self.given[k] += a
        return alloc


def assign(rng: random.Random, items: Sequence[T], counts: Sequence[int],
           weight: Callable[[T, int], float]) -> list[int]:
    """Category of each item, ``counts[c]`` items in category c.  Categories are filled in order
    from the last to the first: the last takes the items with the largest keys for ``weight(item, c)``
    (weighted sampling without replacement), and so on; the first takes what is left."""
    cat = [0] * len(items)
    free = list(range(len(items)))
    for c in range(len(counts) - 1, 0, -1):
        k = counts[c]
        if k <= 0:
            continue
        keyed = sorted(free, key=lambda i: weighted_key(rng, weight(items[i], c)), reverse=True)
        chosen = keyed[:k]
        for i in chosen:
            cat[i] = c
        taken = set(chosen)
        free = [i for i in free if i not in taken]
    return cat
