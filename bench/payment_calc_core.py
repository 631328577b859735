"""Benchmark of the pure point-method core on synthetic discharges (no database, no grouping).

Recipe: ``.venv/bin/python bench/payment_calc_core.py [N]`` (default 1,000,000).  The
data are random but seeded: 200 institutions of random level, 600 DRG codes, 2 %
ungrouped, costs uniform between 100 and 50,000 yuan.  It measures what the batch
settlement spends inside the calculation core: deriving weights, scoring, per-case
money, clearing, CMI.  Reading and writing the rows are the database's share.
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from decimal import Decimal

from yilian.payment.params import PointMethodParams
from yilian.payment.settlement.calc import (
    PointScorer,
    case_money,
    case_money_by_institution,
    clear_year,
    cmi_by_institution,
    derive_weights,
    point_value,
)


def main(n: int) -> None:
    rng = random.Random(20240101)
    codes = [f"{m}{a}{d}{s}" for m in "BCDEFGHIJK" for a in "RQ" for d in "12345" for s in "135"][:600]
    levels = {f"H{i:03d}": rng.choice(["1", "2", "3", "unrated"]) for i in range(200)}
    institutions = [f"H{rng.randrange(200):03d}" for _ in range(n)]
    drgs = [rng.choice(codes) if rng.random() > 0.02 else "0000" for _ in range(n)]
    costs = [Decimal(rng.randrange(10_000, 5_000_000)) / 100 for _ in range(n)]
    budget = Decimal("1000000000.00")

    timings: dict[str, float] = {}
    start = time.perf_counter()
    weights = derive_weights(drgs, costs)
    timings["derive weights"] = time.perf_counter() - start

    start = time.perf_counter()
    scorer = PointScorer(weights, PointMethodParams(), levels)
    scored = scorer.score(institutions, drgs, costs)
    timings["score cases"] = time.perf_counter() - start

    start = time.perf_counter()
    money = case_money(scored.points, point_value(budget, scored.total_points))
    timings["per-case money"] = time.perf_counter() - start

    start = time.perf_counter()
    clearing = clear_year(
        scored.institution_points,
        budget=budget,
        case_money_sums=case_money_by_institution(institutions, money),
    )
    timings["year-end clearing"] = time.perf_counter() - start

    start = time.perf_counter()
    cmi_by_institution(institutions, drgs, weights)
    timings["CMI"] = time.perf_counter() - start

    assert sum(clearing.payments.values()) == budget
    total = sum(timings.values())
    print(f"{n:,} discharges, kinds {dict(Counter(scored.kinds))}")
    for name, seconds in timings.items():
        print(f"  {name:<18} {seconds:6.2f} s  {seconds / n * 1e6:5.2f} µs/case")
    print(f"  {'total':<18} {total:6.2f} s  {total / n * 1e6:5.2f} µs/case")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
