"""Family-doctor capitation: rate × contracted × delivery − outside spending deduction, floored at 0."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yilian.core.errors import ValidationFailed
from yilian.payment.capitation.calc import TeamYear, capitation_payment, capitation_payments, delivery_rate
from yilian.payment.money import CENT
from yilian.payment.params import CapitationParams

D = Decimal
DEFAULTS = CapitationParams()


def test_default_formula() -> None:
    result = capitation_payment(
        TeamYear(contracted=100, delivered=80, due=100, outside_spending=D("1000.00")), DEFAULTS
    )
    assert result.delivery_rate == D("0.8")
    assert (result.gross, result.deduction, result.payment) == (D("9600.00"), D("500.00"), D("9100.00"))
    assert not result.floored


def test_delivery_rate_is_capped_at_one_and_nothing_due_counts_as_delivered() -> None:
    assert delivery_rate(12, 10) == 1
    assert delivery_rate(0, 0) == 1
    assert delivery_rate(2, 3) == Fraction(2, 3)
    over = capitation_payment(TeamYear(10, 15, 10, D("0.00")), DEFAULTS)
    assert over.gross == D("1200.00")


def test_rate_is_not_truncated_before_rounding() -> None:
    # 120 × 1 × 2/3 = 80 exactly; a rate cut to 0.6666… first would give 79.99.
    assert capitation_payment(TeamYear(1, 2, 3, D("0.00")), DEFAULTS).gross == D("80.00")
    assert capitation_payment(TeamYear(1, 1, 7, D("0.00")), DEFAULTS).gross == D("17.14")


def test_floored_at_zero() -> None:
    result = capitation_payment(TeamYear(1, 1, 1, D("500.00")), DEFAULTS)
    assert (result.gross, result.deduction, result.payment, result.floored) == (D(120), D(250), D(0), True)


def test_several_teams_and_configured_rates() -> None:
    params = CapitationParams(per_capita=D("150.00"), outside_deduction=D("0.3"))
    results = capitation_payments(
        {"t1": TeamYear(2, 1, 1, D("100.00")), "t2": TeamYear(0, 0, 0, D("0.00"))}, params
    )
    assert results["t1"].payment == D("270.00")
    assert results["t2"].payment == D("0.00")


@pytest.mark.parametrize(
    ("team", "code"),
    [
        (TeamYear(-1, 1, 1, D("0.00")), "capitation_bad_count"),
        (TeamYear(1, -1, 1, D("0.00")), "capitation_bad_count"),
        (TeamYear(1, 1, -1, D("0.00")), "capitation_bad_count"),
        (TeamYear(1, 1, 1, D("-1.00")), "capitation_negative_spending"),
        (TeamYear(1, 1, 1, D("0.001")), "money_not_cents"),
    ],
)
def test_refusals(team: TeamYear, code: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        capitation_payment(team, DEFAULTS)
    assert info.value.code == code


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 100_000),
    st.integers(0, 10_000),
    st.integers(0, 10_000),
    st.integers(0, 10**10).map(lambda c: D(c) * CENT),
    st.integers(0, 100),
)
def test_never_negative_never_above_gross_and_deterministic(
    contracted: int, delivered: int, due: int, outside: Decimal, deduction_pct: int
) -> None:
    params = CapitationParams(outside_deduction=D(deduction_pct) / 100)
    team = TeamYear(contracted, delivered, due, outside)
    result = capitation_payment(team, params)
    assert D(0) <= result.payment <= result.gross
    assert result.payment == max(result.gross - result.deduction, D(0))
    assert result.gross <= params.per_capita * contracted
    assert capitation_payment(team, params) == result
