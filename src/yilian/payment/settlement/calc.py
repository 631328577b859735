"""DRG point method (按病组点数法): weights, case points, point value, clearing.

Pure functions over column arrays (parallel sequences of institution codes, DRG
codes and costs) so that a year of a million discharges is scored without an
object per case: everything that depends only on the DRG and the institution's
profile (coefficient, K) is computed once into a :class:`DrgPrice`, and the per-case
work is two comparisons and, for outliers only, one division.

Numbers: points and point values are unrounded ``Decimal`` computed at 40
significant digits (see :mod:`yilian.payment.money` for why Decimal and not
Fraction); money is rounded ROUND_HALF_UP to the cent per case, and the year-end
clearing apportions the budget by largest remainder so institution payments add up
to it exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Final

from yilian.core.errors import ValidationFailed
from yilian.payment.money import (
    CALC_CONTEXT,
    HUNDRED,
    INFINITY,
    ZERO,
    apportion,
    calc_context,
    require_cents,
    round_cent,
)
from yilian.payment.params import LEVELS, OUTLIER_STRATEGIES, PointMethodParams
from yilian.payment.settlement.weights import (
    CITY_ROW,
    UNGROUPED_CODE,
    Weights,
    derive_weights,
    is_ungrouped,
    mean_grouped_cost,
    weights_from_rows,
)

# Weights live in weights.py (file size); re-exported so callers need one import for the method.
__all__ = [
    "CITY_ROW",
    "FLAGGED_KINDS",
    "KIND_HIGH",
    "KIND_LOW",
    "KIND_NORMAL",
    "KIND_NO_WEIGHT",
    "KIND_UNGROUPED",
    "OUTLIER_STRATEGY_REGISTRY",
    "UNGROUPED_CODE",
    "DrgPrice",
    "OutlierStrategy",
    "PointScorer",
    "ProvisionalSettlement",
    "ScoredCases",
    "Weights",
    "YearEndClearing",
    "blended_coefficient",
    "case_money",
    "case_money_by_institution",
    "clear_year",
    "cmi_by_institution",
    "derive_weights",
    "is_ungrouped",
    "mean_grouped_cost",
    "point_value",
    "price_table",
    "provisional_month",
    "score_cases",
    "sum_institution_points",
    "weights_from_rows",
]

KIND_NORMAL: Final = "normal"
KIND_HIGH: Final = "high"
KIND_LOW: Final = "low"
KIND_UNGROUPED: Final = "ungrouped"
# Grouped into a DRG the weights table does not price: paid like an ungrouped stay and flagged.
KIND_NO_WEIGHT: Final = "no_weight"
FLAGGED_KINDS: Final = frozenset({KIND_UNGROUPED, KIND_NO_WEIGHT})

MONTHS_PER_YEAR: Final = Decimal(12)


# --- prices and outlier strategies ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DrgPrice:
    """Everything about one DRG at one institution profile (coefficient, K), computed once."""

    drg: str
    rw: Decimal
    base_points: Decimal  # RW × 100
    coefficient: Decimal
    case_points: Decimal  # base points × coefficient: the points of a normal stay
    standard_cost: Decimal  # RW × city_avg_cost
    mean_cost: Decimal
    high_threshold: Decimal  # +Infinity when the strategy has no high outliers
    low_threshold: Decimal  # -Infinity when the strategy has no low outliers


PointsFn = Callable[[Decimal, DrgPrice, Decimal], Decimal]
"""(cost, price, city_avg_cost) → points of an outlier stay."""


@dataclass(frozen=True, slots=True)
class OutlierStrategy:
    name: str
    label_zh: str
    has_outliers: bool
    high_points: PointsFn
    low_points: PointsFn


def _high_beyond_threshold(cost: Decimal, price: DrgPrice, city: Decimal) -> Decimal:
    # The part above the threshold is paid at actual cost, so it carries no coefficient.
    return price.case_points + (cost - price.high_threshold) * HUNDRED / city


def _low_actual_cost(cost: Decimal, price: DrgPrice, city: Decimal) -> Decimal:
    return cost * HUNDRED / city


def _low_proportional(cost: Decimal, price: DrgPrice, city: Decimal) -> Decimal:
    return price.case_points * cost / price.mean_cost


def _never(cost: Decimal, price: DrgPrice, city: Decimal) -> Decimal:
    raise AssertionError("strategy without outliers was asked for outlier points")


OUTLIER_STRATEGY_REGISTRY: Final[Mapping[str, OutlierStrategy]] = MappingProxyType(
    {
        "default": OutlierStrategy(
            "default",
            "高倍率：基准点数×系数＋超出阈值部分÷地区次均费用×100；低倍率：费用÷地区次均费用×100",
            True,
            _high_beyond_threshold,
            _low_actual_cost,
        ),
        "proportional": OutlierStrategy(
            "proportional",
            "高倍率同默认；低倍率：基准点数×系数×费用÷该病组次均费用",
            True,
            _high_beyond_threshold,
            _low_proportional,
        ),
        "none": OutlierStrategy("none", "不设高低倍率，所有入组病例按基准点数×系数", False, _never, _never),
    }
)
assert tuple(OUTLIER_STRATEGY_REGISTRY) == OUTLIER_STRATEGIES


def blended_coefficient(
    level_coefficient: Decimal,
    own_cost_ratio: Decimal,
    *,
    own_weight: Decimal,
    lower: Decimal,
    upper: Decimal,
) -> Decimal:
    """Alternative coefficient: a blend of the level's and the hospital's own cost ratio, bounded."""
    if not (ZERO <= own_weight <= 1 and ZERO < lower <= upper):
        raise ValidationFailed(
            "混合系数的权重须在 0 到 1 之间，且 0 < 下限 ≤ 上限。", code="settle_bad_blend"
        )
    with calc_context():
        blended = own_weight * own_cost_ratio + (1 - own_weight) * level_coefficient
    return min(max(blended, lower), upper)


def price_table(
    weights: Weights, coefficient: Decimal, k: Decimal, params: PointMethodParams
) -> dict[str, DrgPrice]:
    """Prices of every DRG of ``weights`` for one (coefficient, K) profile."""
    has_outliers = OUTLIER_STRATEGY_REGISTRY[params.outlier_strategy].has_outliers
    city = weights.city_avg_cost
    table: dict[str, DrgPrice] = {}
    with calc_context():
        for drg, rw in weights.rw.items():
            standard = rw * city
            mean = weights.mean_cost[drg]
            base = rw * HUNDRED
            table[drg] = DrgPrice(
                drg=drg,
                rw=rw,
                base_points=base,
                coefficient=coefficient,
                case_points=base * coefficient,
                standard_cost=standard,
                mean_cost=mean,
                high_threshold=k * standard if has_outliers else INFINITY,
                low_threshold=params.outlier_low_ratio * mean if has_outliers else -INFINITY,
            )
    return table


# --- scoring -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScoredCases:
    """Points of a chunk of stays, as columns parallel to the input, plus per-institution sums."""

    points: list[Decimal]
    kinds: list[str]
    flagged: list[int]  # indices of stays for review (ungrouped, DRG without weight)
    institution_points: dict[str, Decimal]
    institution_cases: dict[str, int]
    total_points: Decimal


def _unknown_institution(institution: str) -> ValidationFailed:
    return ValidationFailed(
        f"未知的结算机构「{institution}」：未给出其级别。",
        code="settle_unknown_institution",
        institution=institution,
    )


class PointScorer:
    """Scores stays of one region and year; build once, call :meth:`score` per chunk.

    ``institution_levels`` maps institution code → level (``1|2|3|unrated``);
    ``coefficients`` optionally overrides the level's coefficient per institution
    (e.g. from :func:`blended_coefficient`).  K always follows the level.
    """

    def __init__(
        self,
        weights: Weights,
        params: PointMethodParams,
        institution_levels: Mapping[str, str],
        coefficients: Mapping[str, Decimal] | None = None,
    ) -> None:
        self.weights = weights
        self.params = params
        self.strategy = OUTLIER_STRATEGY_REGISTRY[params.outlier_strategy]
        overrides = coefficients or {}
        profiles: dict[tuple[Decimal, Decimal], dict[str, DrgPrice]] = {}
        self._tables: dict[str, dict[str, DrgPrice]] = {}
        for institution, level in institution_levels.items():
            if level not in LEVELS:
                raise ValidationFailed(
                    f"机构「{institution}」的级别「{level}」无效，应为：{'、'.join(LEVELS)}。",
                    code="settle_bad_level",
                )
            coefficient = overrides.get(institution, params.coefficients[level])
            if not (coefficient.is_finite() and coefficient > ZERO):
                raise ValidationFailed(
                    f"机构「{institution}」的差异系数必须为正数。", code="settle_bad_coefficient"
                )
            key = (coefficient, params.outlier_high_k[level])
            if key not in profiles:
                profiles[key] = price_table(weights, key[0], key[1], params)
            self._tables[institution] = profiles[key]

    def price(self, institution: str, drg: str) -> DrgPrice | None:
        """The precomputed price of ``drg`` at ``institution`` (None when the DRG has no weight)."""
        return self._table(institution).get(drg)

    def _table(self, institution: str) -> dict[str, DrgPrice]:
        table = self._tables.get(institution)
        if table is None:
            raise _unknown_institution(institution)
        return table

    def score(
        self, institutions: Sequence[str], drgs: Sequence[str], costs: Sequence[Decimal]
    ) -> ScoredCases:
        """Points of each stay.  Normal stays: base points × coefficient; outliers per the strategy;
        ungrouped stays and DRGs without a weight: cost ÷ city_avg_cost × 100, flagged."""
        if not len(institutions) == len(drgs) == len(costs):
            raise ValidationFailed("机构、病组与费用的条数不一致。", code="settle_length_mismatch")
        city = self.weights.city_avg_cost
        high_points, low_points = self.strategy.high_points, self.strategy.low_points
        tables = self._tables
        points: list[Decimal] = []
        kinds: list[str] = []
        flagged: list[int] = []
        by_institution: dict[str, Decimal] = {}
        cases: dict[str, int] = {}
        add_points, add_kind = points.append, kinds.append
        index = -1
        try:
            with calc_context():
                for index, (institution, drg, cost) in enumerate(zip(institutions, drgs, costs, strict=True)):
                    table = tables.get(institution)
                    if table is None:
                        raise _unknown_institution(institution)
                    if not ZERO <= cost < INFINITY:
                        raise ValidationFailed(
                            f"第 {index + 1} 条病例的费用「{cost}」无效。", code="settle_bad_cost"
                        )
                    price = table.get(drg)
                    if price is None:
                        value = cost * HUNDRED / city
                        add_kind(KIND_UNGROUPED if is_ungrouped(drg) else KIND_NO_WEIGHT)
                        flagged.append(index)
                    elif cost > price.high_threshold:
                        value = high_points(cost, price, city)
                        add_kind(KIND_HIGH)
                    elif cost < price.low_threshold:
                        value = low_points(cost, price, city)
                        add_kind(KIND_LOW)
                    else:
                        value = price.case_points
                        add_kind(KIND_NORMAL)
                    add_points(value)
                    by_institution[institution] = by_institution.get(institution, ZERO) + value
                    cases[institution] = cases.get(institution, 0) + 1
                total = sum(by_institution.values(), ZERO)
        except InvalidOperation:  # a NaN cost: comparisons with NaN signal under our traps
            raise ValidationFailed(f"第 {index + 1} 条病例的费用无效。", code="settle_bad_cost") from None
        return ScoredCases(points, kinds, flagged, by_institution, cases, total)


def score_cases(
    institutions: Sequence[str],
    drgs: Sequence[str],
    costs: Sequence[Decimal],
    *,
    weights: Weights,
    params: PointMethodParams,
    institution_levels: Mapping[str, str],
    coefficients: Mapping[str, Decimal] | None = None,
) -> ScoredCases:
    """One-shot form of :class:`PointScorer` for a batch that fits in memory."""
    scorer = PointScorer(weights, params, institution_levels, coefficients)
    return scorer.score(institutions, drgs, costs)


def sum_institution_points(chunks: Iterable[Mapping[str, Decimal]]) -> dict[str, Decimal]:
    """Add up per-institution points of several chunks (streamed settlement)."""
    result: dict[str, Decimal] = {}
    with calc_context():
        for chunk in chunks:
            for institution, value in chunk.items():
                result[institution] = result.get(institution, ZERO) + value
    return result


# --- point value and money ------------------------------------------------------------------


def point_value(budget: Decimal, total_points: Decimal) -> Decimal:
    """Point value = the year's fund budget ÷ total points of the region (unrounded)."""
    require_cents(budget, "预算")
    if budget <= ZERO:
        raise ValidationFailed(f"预算必须为正数，收到「{budget}」。", code="settle_bad_budget")
    if not (total_points.is_finite() and total_points > ZERO):
        raise ValidationFailed("地区总点数为 0，无法计算点值。", code="settle_no_points")
    return CALC_CONTEXT.divide(budget, total_points)


def case_money(points: Iterable[Decimal], value: Decimal) -> list[Decimal]:
    """Money of each stay: points × point value, ROUND_HALF_UP to the cent."""
    with calc_context():
        return [round_cent(p * value) for p in points]


def case_money_by_institution(institutions: Sequence[str], money: Sequence[Decimal]) -> dict[str, Decimal]:
    result: dict[str, Decimal] = {}
    for institution, amount in zip(institutions, money, strict=True):
        result[institution] = result.get(institution, ZERO) + amount
    return result


@dataclass(frozen=True, slots=True)
class YearEndClearing:
    """Year-end clearing (年终清算): final point value and exact institution payments.

    ``payments`` sum exactly to ``total_payment`` (the budget, or Σ points × a fixed
    point value rounded to the cent).  ``balances`` = payment − provisional paid
    (positive: still to pay; negative: to recover); ``rounding`` = payment − the sum
    of the institution's per-case money, when that sum was given.
    """

    point_value: Decimal
    point_value_source: str  # "budget" | "fixed"
    total_points: Decimal
    total_payment: Decimal
    payments: Mapping[str, Decimal]
    balances: Mapping[str, Decimal] = field(default_factory=dict)
    rounding: Mapping[str, Decimal] = field(default_factory=dict)


def clear_year(
    institution_points: Mapping[str, Decimal],
    *,
    budget: Decimal | None = None,
    fixed_point_value: Decimal | None = None,
    provisional_paid: Mapping[str, Decimal] | None = None,
    case_money_sums: Mapping[str, Decimal] | None = None,
) -> YearEndClearing:
    """Clear the year: point value from the budget (or a fixed one, as the what-if key
    ``point_value`` does; it then wins over the budget), payments apportioned by
    largest remainder so they sum exactly to the total."""
    with calc_context():
        total_points = sum(institution_points.values(), ZERO)
    if fixed_point_value is not None:
        if not (fixed_point_value.is_finite() and fixed_point_value > ZERO):
            raise ValidationFailed("点值必须为正数。", code="settle_bad_point_value")
        value, source = fixed_point_value, "fixed"
        total = round_cent(CALC_CONTEXT.multiply(total_points, value))
    elif budget is not None:
        value, source, total = point_value(budget, total_points), "budget", budget
    else:
        raise ValidationFailed("年终清算需要预算或点值。", code="settle_no_budget")
    payments = apportion(total, institution_points)
    paid = provisional_paid or {}
    balances = {code: amount - paid.get(code, ZERO) for code, amount in payments.items()} if paid else {}
    rounding = (
        {code: amount - case_money_sums.get(code, ZERO) for code, amount in payments.items()}
        if case_money_sums
        else {}
    )
    return YearEndClearing(value, source, total_points, total, payments, balances, rounding)


@dataclass(frozen=True, slots=True)
class ProvisionalSettlement:
    """One month's provisional settlement (月度预结算, accounting only)."""

    point_value: Decimal
    basis: str  # "previous_year" | "first_year"
    payments: Mapping[str, Decimal]


def provisional_month(
    institution_points: Mapping[str, Decimal],
    *,
    previous_point_value: Decimal | None = None,
    annual_budget: Decimal | None = None,
) -> ProvisionalSettlement:
    """Provisional money of a month: the month's points × the previous year's final point
    value; in the first year, budget ÷ 12 ÷ the month's points.  Each institution's amount
    is rounded ROUND_HALF_UP to the cent; the year-end clearing corrects everything."""
    if previous_point_value is not None:
        if not (previous_point_value.is_finite() and previous_point_value > ZERO):
            raise ValidationFailed("上年点值必须为正数。", code="settle_bad_point_value")
        value, basis = previous_point_value, "previous_year"
    elif annual_budget is not None:
        with calc_context():
            month_points = sum(institution_points.values(), ZERO)
        value = CALC_CONTEXT.divide(point_value(annual_budget, month_points), MONTHS_PER_YEAR)
        basis = "first_year"
    else:
        raise ValidationFailed("月度预结算需要上年点值或年度预算。", code="settle_no_budget")
    payments = {
        code: round_cent(CALC_CONTEXT.multiply(pts, value)) for code, pts in institution_points.items()
    }
    return ProvisionalSettlement(value, basis, payments)


# --- case mix -------------------------------------------------------------------------------


def cmi_by_institution(
    institutions: Sequence[str], drgs: Sequence[str], weights: Weights
) -> dict[str, Decimal]:
    """CMI = Σ RW of an institution's grouped stays ÷ their number (unrounded).

    Stays that are ungrouped or whose DRG has no weight do not count; an institution
    with no such stays is absent from the result.
    """
    sums: dict[str, Decimal] = {}
    counts: dict[str, int] = {}
    rw = weights.rw
    with calc_context():
        for institution, drg in zip(institutions, drgs, strict=True):
            value = rw.get(drg)
            if value is None:
                continue
            sums[institution] = sums.get(institution, ZERO) + value
            counts[institution] = counts.get(institution, 0) + 1
        return {code: sums[code] / counts[code] for code in sums}
