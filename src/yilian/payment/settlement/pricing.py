"""The in-memory middle of a DRG settlement: cases as columns → points → money → statement figures.

Pure (no database): the service reads the discharges (or a base run's cases, for a what-if) into a
:class:`CaseColumns`, and this module prices them with the calculations of ``calc.py``.  Everything
is a column or a dict keyed by institution code, so a million discharges cost a few seconds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from yilian.core.errors import ValidationFailed
from yilian.payment.money import CALC_CONTEXT, MONEY_ZERO, ZERO, calc_context
from yilian.payment.params import PaymentParams
from yilian.payment.settlement.calc import (
    KIND_HIGH,
    KIND_LOW,
    PointScorer,
    ScoredCases,
    Weights,
    YearEndClearing,
    blended_coefficient,
    case_money,
    clear_year,
    cmi_by_institution,
    point_value,
    provisional_month,
)

COEFFICIENT_STRATEGIES: Final = ("level", "blend")
#: The blended coefficient's settings (stored with the run): half level, half own cost ratio, bounded.
BLEND_SETTINGS: Final = {"own_weight": "0.5", "lower": "0.5", "upper": "1.2"}


@dataclass(slots=True)
class CaseColumns:
    """A year's discharges as parallel columns (institution codes, not ids, key the calculations)."""

    encounter_ids: list[int] = field(default_factory=list)
    institutions: list[str] = field(default_factory=list)
    months: list[int] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    drgs: list[str] = field(default_factory=list)
    costs: list[Decimal] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.encounter_ids)

    def append(self, encounter_id: int, institution: str, month: int, status: str, drg: str, cost: Decimal) -> None:
        self.encounter_ids.append(encounter_id)
        self.institutions.append(institution)
        self.months.append(month)
        self.statuses.append(status)
        self.drgs.append(drg)
        self.costs.append(cost)


@dataclass(frozen=True, slots=True)
class InstitutionTotals:
    cases: int
    flagged: int
    high: int
    low: int
    total_cost: Decimal
    case_money: Decimal
    encounter_id_sum: int


@dataclass(frozen=True, slots=True)
class MonthLine:
    institution: str
    month: int
    cases: int
    points: Decimal
    point_value: Decimal
    provisional: Decimal


@dataclass(frozen=True, slots=True)
class Priced:
    scored: ScoredCases
    point_value: Decimal
    point_value_source: str
    money: list[Decimal]
    clearing: YearEndClearing
    totals: dict[str, InstitutionTotals]
    months: list[MonthLine]
    provisional_basis: str
    coefficients: dict[str, Decimal]
    cmi: dict[str, Decimal]
    kind_counts: dict[str, int]


def institution_coefficients(
    cases: CaseColumns, weights: Weights, params: PaymentParams, levels: Mapping[str, str], strategy: str
) -> dict[str, Decimal]:
    """Coefficient of each institution: its level's (``level``) or a bounded blend of the level's and
    its own cost ratio, Σ cost ÷ Σ standard cost of its priced stays (``blend``)."""
    level_coef = {code: params.point_method.coefficients[level] for code, level in levels.items()}
    if strategy == "level":
        return level_coef
    if strategy != "blend":
        raise ValidationFailed(f"未知的差异系数策略「{strategy}」，可用：{'、'.join(COEFFICIENT_STRATEGIES)}。",
                               code="settle_bad_coefficient_strategy")
    cost: dict[str, Decimal] = {}
    standard: dict[str, Decimal] = {}
    rw, city = weights.rw, weights.city_avg_cost
    with calc_context():
        for institution, drg, amount in zip(cases.institutions, cases.drgs, cases.costs, strict=True):
            value = rw.get(drg)
            if value is None:
                continue
            cost[institution] = cost.get(institution, ZERO) + amount
            standard[institution] = standard.get(institution, ZERO) + value * city
    out: dict[str, Decimal] = {}
    settings = {k: Decimal(v) for k, v in BLEND_SETTINGS.items()}
    for code, coef in level_coef.items():
        if code not in standard or standard[code] <= ZERO:
            out[code] = coef
            continue
        ratio = CALC_CONTEXT.divide(cost[code], standard[code])
        out[code] = blended_coefficient(coef, ratio, own_weight=settings["own_weight"], lower=settings["lower"],
                                        upper=settings["upper"])
    return out


def price_cases(
    cases: CaseColumns,
    weights: Weights,
    params: PaymentParams,
    levels: Mapping[str, str],
    *,
    coefficient_strategy: str = "level",
    previous_point_value: Decimal | None = None,
    with_money: bool = True,
) -> Priced:
    """Points, point value, per-case money, monthly provisional and the year-end clearing."""
    coefficients = institution_coefficients(cases, weights, params, levels, coefficient_strategy)
    scorer = PointScorer(weights, params.point_method, levels, coefficients)
    scored = scorer.score(cases.institutions, cases.drgs, cases.costs)
    kind_counts: dict[str, int] = {}
    for kind in scored.kinds:
        kind_counts[kind] = kind_counts.get(kind, 0) + 1
    if not with_money:
        value, source = ZERO, "none"
        money: list[Decimal] = []
    elif params.point_value is not None:
        value, source = params.point_value, "fixed"
    elif params.budget is not None:
        value, source = point_value(params.budget, scored.total_points), "budget"
    else:
        raise ValidationFailed("结算需要预算（--budget）或固定点值。", code="settle_no_budget")
    if with_money:
        money = case_money(scored.points, value)
    totals = _totals(cases, scored, money)
    months, basis, provisional_paid = ([], "none", {}) if not with_money else _months(
        cases, scored, params, previous_point_value)
    if with_money:
        clearing = clear_year(scored.institution_points, budget=params.budget, fixed_point_value=params.point_value,
                              provisional_paid=provisional_paid,
                              case_money_sums={c: t.case_money for c, t in totals.items()})
    else:
        clearing = YearEndClearing(ZERO, "none", scored.total_points, MONEY_ZERO, {})
    cmi = cmi_by_institution(cases.institutions, cases.drgs, weights)
    return Priced(scored, value, source, money, clearing, totals, months, basis, coefficients, cmi, kind_counts)


def _totals(cases: CaseColumns, scored: ScoredCases, money: list[Decimal]) -> dict[str, InstitutionTotals]:
    n = Counter(cases.institutions)
    by_kind = Counter(zip(cases.institutions, scored.kinds, strict=True))
    flagged = Counter(cases.institutions[index] for index in scored.flagged)
    cost: dict[str, Decimal] = {}
    paid: dict[str, Decimal] = {}
    ids: dict[str, int] = {}
    with calc_context():
        for code, amount, enc in zip(cases.institutions, cases.costs, cases.encounter_ids, strict=True):
            cost[code] = cost.get(code, MONEY_ZERO) + amount
            ids[code] = ids.get(code, 0) + enc
        for code, value in zip(cases.institutions, money, strict=False):
            paid[code] = paid.get(code, MONEY_ZERO) + value
    return {code: InstitutionTotals(n[code], flagged[code], by_kind[(code, KIND_HIGH)], by_kind[(code, KIND_LOW)],
                                    cost[code], paid.get(code, MONEY_ZERO), ids[code]) for code in n}


def _months(cases: CaseColumns, scored: ScoredCases, params: PaymentParams, previous: Decimal | None
            ) -> tuple[list[MonthLine], str, dict[str, Decimal]]:
    return monthly_provisional(cases.institutions, cases.months, scored.points, params, previous)


def monthly_provisional(institutions: Sequence[str], months: Sequence[int], points: Sequence[Decimal],
                        params: PaymentParams, previous: Decimal | None
                        ) -> tuple[list[MonthLine], str, dict[str, Decimal]]:
    """Monthly provisional settlement: previous year's final point value, else (first year)
    budget ÷ 12 ÷ the month's points; with a fixed point value and neither, the fixed value.
    Returns the lines, the basis and the provisional money per institution."""
    by_month: dict[int, dict[str, Decimal]] = {}
    count: dict[tuple[int, str], int] = {}
    with calc_context():
        for code, month, pts in zip(institutions, months, points, strict=True):
            bucket = by_month.setdefault(month, {})
            bucket[code] = bucket.get(code, ZERO) + pts
            count[(month, code)] = count.get((month, code), 0) + 1
    lines: list[MonthLine] = []
    paid: dict[str, Decimal] = {}
    basis = "previous_year" if previous is not None else ("first_year" if params.budget is not None else "fixed")
    for month in sorted(by_month):
        month_points = by_month[month]
        if sum(month_points.values(), ZERO) <= ZERO:
            continue
        if previous is not None:
            prov = provisional_month(month_points, previous_point_value=previous)
        elif params.budget is not None:
            prov = provisional_month(month_points, annual_budget=params.budget)
        else:
            assert params.point_value is not None
            prov = provisional_month(month_points, previous_point_value=params.point_value)
        for code in sorted(month_points):
            amount = prov.payments[code]
            paid[code] = paid.get(code, MONEY_ZERO) + amount
            lines.append(MonthLine(code, month, count[(month, code)], month_points[code], prov.point_value, amount))
    return lines, basis, paid
