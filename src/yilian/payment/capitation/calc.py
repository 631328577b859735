"""Family-doctor outpatient capitation (按人头付费, Zhejiang).

payment = per-capita × contracted residents × delivery rate
          − deduction share × those residents' outpatient fund spending outside the consortium,
floored at 0.

Each of the two shown components is rounded ROUND_HALF_UP to the cent first, so the
payment is exactly "gross − deduction" as a reader would recompute it from the
statement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from yilian.core.errors import ValidationFailed
from yilian.payment.money import CALC_CONTEXT, MONEY_ZERO, ZERO, require_cents, round_cent
from yilian.payment.params import CapitationParams


@dataclass(frozen=True, slots=True)
class TeamYear:
    """One team's (or institution's) year: contracted residents and package delivery."""

    contracted: int  # contracted residents of the year
    delivered: int  # package items delivered
    due: int  # package items due
    outside_spending: Decimal  # those residents' outpatient fund spending outside the consortium


@dataclass(frozen=True, slots=True)
class CapitationResult:
    delivery_rate: Decimal  # delivered ÷ due, capped at 1 (exact for display to any precision)
    gross: Decimal
    deduction: Decimal
    payment: Decimal
    floored: bool  # the deduction exceeded the gross amount


def _count(value: int, what_zh: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationFailed(f"{what_zh}必须为非负整数，收到「{value}」。", code="capitation_bad_count")
    return value


def delivery_rate(delivered: int, due: int) -> Fraction:
    """delivered ÷ due, capped at 1.  Nothing due counts as fully delivered: the team owed nothing."""
    _count(delivered, "已履约项目数")
    _count(due, "应履约项目数")
    if due == 0:
        return Fraction(1)
    return min(Fraction(delivered, due), Fraction(1))


def capitation_payment(team: TeamYear, params: CapitationParams) -> CapitationResult:
    contracted = _count(team.contracted, "签约居民数")
    outside = require_cents(team.outside_spending, "外部门诊基金支出")
    if outside < ZERO:
        raise ValidationFailed("外部门诊基金支出不能为负数。", code="capitation_negative_spending")
    rate = delivery_rate(team.delivered, team.due)
    # Exact rational arithmetic up to the single rounding: a rate like 2/3 must not be truncated first.
    gross = round_cent(_to_decimal(Fraction(params.per_capita) * contracted * rate))
    deduction = round_cent(CALC_CONTEXT.multiply(outside, params.outside_deduction))
    payment = max(gross - deduction, MONEY_ZERO)
    return CapitationResult(
        delivery_rate=CALC_CONTEXT.divide(Decimal(rate.numerator), Decimal(rate.denominator)),
        gross=gross,
        deduction=deduction,
        payment=payment,
        floored=deduction > gross,
    )


def capitation_payments(
    teams: Mapping[str, TeamYear], params: CapitationParams
) -> dict[str, CapitationResult]:
    """Capitation of several teams (or institutions), keyed as given."""
    return {code: capitation_payment(team, params) for code, team in teams.items()}


def _to_decimal(value: Fraction) -> Decimal:
    # Rounded to cents right after; 40 digits keep every half-cent tie intact for any real amount.
    return CALC_CONTEXT.divide(Decimal(value.numerator), Decimal(value.denominator))
