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

**Speed.**  A 1 M-resident year settles ≈ 6 M claims (and retries one in five for the binary
check), so the per-claim ``Decimal`` work mattered.  Claims here never carry an episode credit,
so ``reimburse``'s result depends on the place, care group and scheme only through its line and
ratio: those are read from ``reimburse`` itself once per combination, and the claim is then
computed in integer cents the way ``reimburse`` does it (deductible = min(line, policy), fund =
(policy − deductible) × ratio rounded half up to the cent) — identical results, checked against
``reimburse`` in the tests.  Lines or ratios finer than a cent / 0.0001 fall back to ``reimburse``.
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
from yilian.core.errors import ValidationFailed
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


def cents_to_float(cents: int) -> float:
    """Whole cents as float yuan, for both drivers: exact in the database for any amount below 2**53
    cents (the shortest repr of ``c / 100`` is the decimal ``c`` cents, which ``NUMERIC(16,2)`` parses)."""
    return cents / 100


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
        self._fast: dict[tuple[CareGroup, str, int], tuple[int, int, Decimal]] = {}
        for group in CareGroup:
            for place in PLACES:
                for scheme in range(len(_SCHEMES)):
                    fast = self._terms(group, _PLACE[place], _SCHEMES[scheme])
                    if fast is not None:
                        self._fast[(group, place, scheme)] = fast

    def _terms(self, group: CareGroup, place: Place, scheme: Scheme) -> tuple[int, int, Decimal] | None:
        """(deductible line in cents, ratio in 1/10,000, ratio) of a claim kind, as ``reimburse`` applies
        them; None when they are not exact at that scale (then every claim goes through ``reimburse``)."""
        probe = Decimal(10_000_000)
        try:
            r = reimburse(Claim(probe, probe, place, group, scheme), self.config)
        except ValidationFailed:  # rules missing for a scheme: such claims go (and are refused) the slow way
            return None
        line, ratio = r.deductible_line.scaleb(2), r.ratio.scaleb(4)
        if line != line.to_integral_value() or ratio != ratio.to_integral_value() or line < 0 or ratio < 0:
            return None
        return int(line), int(ratio), r.ratio

    def _claim(self, total: int, policy: int, group: CareGroup, place: str, scheme: int) -> tuple[int, int, Decimal]:
        """(fund, deductible, ratio) of a claim without an episode credit: ``reimburse``'s result."""
        fast = self._fast.get((group, place, scheme))
        if fast is not None:
            line, ratio_e4, ratio = fast
            deductible = policy if policy < line else line
            return ((policy - deductible) * ratio_e4 + 5000) // 10_000, deductible, ratio
        r = reimburse(Claim(Decimal(total).scaleb(-2), Decimal(policy).scaleb(-2), _PLACE[place], group,
                            _SCHEMES[scheme]), self.config)
        return int(r.fund.scaleb(2)), int(r.deductible.scaleb(2)), r.ratio

    def settle(self, rng: random.Random, total: int, inpatient: bool, place: str, scheme: int,
               village: bool = False) -> Settled:
        group = CareGroup.INPATIENT if inpatient else CareGroup.OUTPATIENT
        split = _SPLIT_INPATIENT if inpatient else (_SPLIT_VILLAGE if village else _SPLIT_OUTPATIENT)
        rand = rng.random
        share = self.policy_share[group][place] * (0.97 + 0.06 * rand())
        weights = [s * (0.7 + 0.6 * rand()) for s in split]
        scheme_name = _SCHEMES[scheme].value
        for _ in range(_MAX_NUDGES):
            policy = min(total, round(total * share))
            fund, deductible, ratio = self._claim(total, policy, group, place, scheme)
            patient = total - fund
            if fund / 100 + patient / 100 == total / 100:  # see the module docstring (SQLite)
                split_cents = _split(total, weights)
                cats = split_cents if _exact(split_cents, total) else _nudge(split_cents, total)
                if cats is not None:
                    return Settled(total, cats, policy, deductible, ratio, fund, patient, place, scheme_name)
            total += 1  # a cent more: a different total whose splits are exact in binary too
        raise RuntimeError("no binary-exact settlement found")  # pragma: no cover - never within 200 cents

    def row(self, settled_on: Any, in_county: bool, source: str, s: Settled) -> tuple[Any, ...]:
        """The settlement row without its ``encounter_id`` (the writer puts it first)."""
        c = s.categories
        if self.money is cents_to_float:  # the hot path, inlined
            return (settled_on, s.scheme, s.place, in_county, source, s.total / 100, c[0] / 100, c[1] / 100,
                    c[2] / 100, c[3] / 100, c[4] / 100, c[5] / 100, s.policy / 100, s.deductible / 100,
                    self.ratio(s.ratio), s.fund / 100, s.patient / 100)
        m = self.money
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
