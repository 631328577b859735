"""Keyed random streams: every draw comes from a generator seeded by what it is for.

SYNTHETIC.md asks that chunk sizes, streaming and the database never change the data.
So no stage consumes one generator in loop order: each (seed, year, stage, unit) — a
day of care, a block of residents — gets its own ``random.Random`` seeded from a hash
of that key.  Splitting the work differently re-creates the same streams.

Python's ``random`` (Mersenne Twister) is used rather than numpy: numpy is not in the
lock, and the per-draw cost here is dominated by building rows anyway.
"""

from __future__ import annotations

import hashlib
import math
import random
from bisect import bisect_right
from collections.abc import Sequence
from typing import Final, TypeVar

T = TypeVar("T")

#: Residents are generated in logical blocks of this size; each block has its own stream.
#: It is part of the data's identity (changing it changes the data), unlike write batch sizes.
BLOCK: Final = 1000


def stream(seed: int, year: int, stage: str, unit: int | str = 0) -> random.Random:
    """A generator for one unit of one stage; the same key always gives the same draws."""
    key = f"yilian-sim|{seed}|{year}|{stage}|{unit}".encode()
    return random.Random(int.from_bytes(hashlib.blake2b(key, digest_size=16).digest(), "big"))


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson count: exact (Knuth) for small means, rounded normal for large ones."""
    if lam <= 0:
        return 0
    if lam < 30:
        limit, k, p = math.exp(-lam), 0, rng.random()
        while p > limit:
            k += 1
            p *= rng.random()
        return k
    return max(0, round(rng.gauss(lam, math.sqrt(lam))))


def lognormal_mean(rng: random.Random, mean: float, sigma: float) -> float:
    """A log-normal draw with the given arithmetic mean (costs and lengths of stay are skewed)."""
    return rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma)


def weighted_key(rng: random.Random, weight: float) -> float:
    """Efraimidis–Spirakis key: taking the k largest keys samples k items without replacement
    with probability proportional to weight.  Quotas use it to pick which visits go where."""
    if weight <= 0:
        return -1.0
    return math.pow(rng.random(), 1.0 / weight)


def pick(rng: random.Random, items: Sequence[T], cum: Sequence[float]) -> T:
    """One item by cumulative weights — ``rng.choices(items, cum_weights=cum)[0]`` without its
    per-call checks (the hot paths draw millions of times)."""
    return items[min(bisect_right(cum, rng.random() * cum[-1]), len(items) - 1)]
