"""Costs of an encounter and its settlement through the care feature's claims calculation.

Money is handled in integer cents here and handed to ``yilian.care.reimbursement`` (the one
claims calculation) as ``Decimal``; fund + patient = total holds by that calculation, and the
cost categories are split so they add up to the total exactly.

**SQLite and the check constraints.**  SQLite stores ``NUMERIC(16,2)`` as binary floating
point, so the checks ``fund_paid + patient_paid = total_cost`` and "categories add up" compare
sums of doubles: about one exact decimal split in five fails them (e.g. 0.1 + 0.2 ≠ 0.3).  Until
the migration compares in cents (reported to the owner), every settlement is drawn so that its
sums are also exact in binary floating point — the category split is nudged by a cent, or the
total by a cent when the fund/patient split is the problem.  The same values are written to
both databases, so the data stays identical on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from yilian.care.config import CareConfig, ReimbursementRules
from yilian.care.reimbursement import Claim, reimburse
from yilian.care.rules import CareGroup, Place, Scheme
from yilian.simulation.presets import PLACES, Preset

# Cost categories in the settlement's column order: drugs, exams, treatment, materials, beds, other.
_SPLIT_INPATIENT = (0.28, 0.22, 0.20, 0.14, 0.08, 0.08)
_SPLIT_OUTPATIENT = (0.52, 0.22, 0.14, 0.05, 0.0, 0.07)
_SPLIT_VILLAGE = (0.70, 0.05, 0.20, 0.03, 0.0, 0.02)
_SCHEMES = (Scheme.SELF_PAY, Scheme.RESIDENT, Scheme.EMPLOYEE)
_PLACE = {p.value: p for p in Place}
_MAX_NUDGES = 200


def care_config(preset: Preset) -> CareConfig:
    """The preset's reimbursement rules as the care feature's configuration (both schemes alike)."""
    m = preset.money
    rules = ReimbursementRules(
        inpatient_ratio=MappingProxyType(m.decimals("inpatient_ratio")),
        inpatient_deductible=MappingProxyType(m.decimals("inpatient_deductible")),
        outpatient_ratio=MappingProxyType(m.decimals("outpatient_ratio")),
        outpatient_deductible=MappingProxyType(m.decimals("outpatient_deductible")),
    )
    return CareConfig(version=f"simulate-{preset.name}",
                      reimbursement=MappingProxyType({"resident": rules, "employee": rules}))


def _exact(parts: list[int], total: int) -> bool:
    """Do the parts, as doubles added left to right (as SQLite does), equal the total as a double?"""
    s = 0.0
    for p in parts:
        s += p / 100
    return s == total / 100


@dataclass(frozen=True)
class Settled:
    total: int
    categories: list[int]
    policy: int
    deductible: int
    ratio: Decimal
    fund: int
    patient: int
    place: str
    scheme: str


class Settler:
    def __init__(self, preset: Preset, money: Callable[[int], Any], ratio: Callable[[Decimal], Any]) -> None:
        self.config = care_config(preset)
        self.policy_share = {
            CareGroup.INPATIENT: dict(zip(PLACES, preset.money.inpatient_policy_share, strict=True)),
            CareGroup.OUTPATIENT: dict(zip(PLACES, preset.money.outpatient_policy_share, strict=True)),
        }
        self.money = money  # cents → the value the database driver takes
        self.ratio = ratio

    def settle(self, rng: random.Random, total: int, inpatient: bool, place: str, scheme: int,
               village: bool = False) -> Settled:
        group = CareGroup.INPATIENT if inpatient else CareGroup.OUTPATIENT
        split = _SPLIT_INPATIENT if inpatient else (_SPLIT_VILLAGE if village else _SPLIT_OUTPATIENT)
        rand = rng.random
        share = self.policy_share[group][place] * (0.97 + 0.06 * rand())
        weights = [s * (0.7 + 0.6 * rand()) for s in split]
        claim_place, claim_scheme = _PLACE[place], _SCHEMES[scheme]
        for _ in range(_MAX_NUDGES):
            policy = min(total, round(total * share))
            r = reimburse(Claim(Decimal(total).scaleb(-2), Decimal(policy).scaleb(-2), claim_place, group,
                                claim_scheme), self.config)
            fund = int(r.fund.scaleb(2))
            patient = total - fund
            if fund / 100 + patient / 100 == total / 100:  # see the module docstring (SQLite)
                split_cents = _split(total, weights)
                cats = split_cents if _exact(split_cents, total) else _nudge(split_cents, total)
                if cats is not None:
                    return Settled(total, cats, policy, int(r.deductible.scaleb(2)), r.ratio, fund, patient,
                                   place, claim_scheme.value)
            total += 1  # a cent more: a different total whose splits are exact in binary too
        raise RuntimeError("no binary-exact settlement found")  # pragma: no cover - never within 200 cents

    def row(self, settled_on: Any, in_county: bool, source: str, s: Settled) -> tuple[Any, ...]:
        """The settlement row without its ``encounter_id`` (the writer puts it first)."""
        m = self.money
        c = s.categories
        return (settled_on, s.scheme, s.place, in_county, source, m(s.total), m(c[0]), m(c[1]), m(c[2]), m(c[3]),
                m(c[4]), m(c[5]), m(s.policy), m(s.deductible), self.ratio(s.ratio), m(s.fund), m(s.patient))


SETTLEMENT_COLS = ("encounter_id", "settled_on", "scheme", "place", "in_county", "source", "total_cost",
                   "cost_drugs", "cost_exams", "cost_treatment", "cost_materials", "cost_beds", "cost_other",
                   "policy_cost", "deductible", "ratio", "fund_paid", "patient_paid")


def _split(total: int, weights: list[float]) -> list[int]:
    """Categories in cents summing to ``total`` exactly: floor each share, the rest to drugs."""
    w = sum(weights)
    cats = [int(total * x / w) for x in weights]
    cats[0] += total - sum(cats)
    return cats


def _nudge(cats: list[int], total: int) -> list[int] | None:
    """Move single cents between non-empty categories until the double sum is exact too."""
    nonzero = [i for i, c in enumerate(cats) if c > 0]
    for step in range(1, 4):
        for i in nonzero:
            for j in nonzero:
                if i == j or cats[i] < step:
                    continue
                trial = cats.copy()
                trial[i] -= step
                trial[j] += step
                if _exact(trial, total):
                    return trial
    return None
