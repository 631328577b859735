"""Tiered reimbursement (差别化报销) with the deductible running on across a referral."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yilian.core.errors import ValidationFailed
from yilian.payment.money import CENT
from yilian.payment.params import PLACES, ReimbursementParams, apply_overrides, default_params
from yilian.payment.reimbursement import (
    CARE_TYPES,
    Claim,
    reimburse,
    reimburse_episode,
    reimbursement_place,
)

D = Decimal
DEFAULTS = ReimbursementParams()


@pytest.mark.parametrize(
    ("place", "deductible", "ratio", "fund"),
    [
        ("primary", D(200), D("0.90"), D("8820.00")),  # (10,000 − 200) × 90 %
        ("county", D(500), D("0.75"), D("7125.00")),
        ("out_of_county", D(1000), D("0.55"), D("4950.00")),
        ("out_of_county_unreferred", D(1000), D("0.45"), D("4050.00")),
    ],
)
def test_inpatient_ratio_and_deductible_by_place(
    place: str, deductible: Decimal, ratio: Decimal, fund: Decimal
) -> None:
    result = reimburse(Claim(D("12000.00"), D("10000.00"), place), DEFAULTS)
    assert (result.deductible_applied, result.ratio, result.fund) == (deductible, ratio, fund)
    assert result.patient == D("12000.00") - fund


def test_outpatient_cover_by_place() -> None:
    primary = reimburse(Claim(D("100.00"), D("80.00"), "primary", "outpatient"), DEFAULTS)
    county = reimburse(Claim(D("100.00"), D("80.00"), "county", "outpatient"), DEFAULTS)
    outside = reimburse(Claim(D("100.00"), D("80.00"), "out_of_county", "outpatient"), DEFAULTS)
    assert (primary.fund, county.fund, outside.fund) == (D("48.00"), D("40.00"), D("0.00"))
    assert outside.patient == D("100.00")


def test_deductible_runs_on_across_a_referral() -> None:
    claims = [
        Claim(D("3000.00"), D("3000.00"), "primary"),
        Claim(D("10000.00"), D("10000.00"), "county"),
        Claim(D("20000.00"), D("20000.00"), "out_of_county"),
    ]
    results = reimburse_episode(claims, DEFAULTS)
    assert [r.deductible_applied for r in results] == [D(200), D(300), D(500)]
    assert [r.deductible_credit for r in results] == [D(0), D(200), D(500)]
    assert [r.episode_deductible_paid for r in results] == [D(200), D(500), D(1000)]
    assert results[1].fund == D("7275.00")  # (10,000 − 300) × 75 %
    # Going back down the deductible is already covered.
    back = reimburse(
        Claim(D("1000.00"), D("1000.00"), "primary", episode_deductible_paid=D("500.00")), DEFAULTS
    )
    assert back.deductible_applied == 0 and back.fund == D("900.00")


def test_deductible_never_exceeds_the_policy_cost_and_carries_what_was_paid() -> None:
    first, second = reimburse_episode(
        [Claim(D("150.00"), D("100.00"), "primary"), Claim(D("2000.00"), D("2000.00"), "county")], DEFAULTS
    )
    assert (first.deductible_applied, first.fund, first.patient) == (D(100), D(0), D(150))
    assert second.deductible_applied == D(400)


def test_money_rounds_half_up_to_the_cent() -> None:
    result = reimburse(Claim(D("10.01"), D("10.01"), "county", "outpatient"), DEFAULTS)
    assert result.fund == D("5.01")  # 5.005 → 5.01
    assert result.patient == D("5.00")


def test_whatif_reimbursement_and_deductible_keys_apply() -> None:
    params = apply_overrides(default_params(), {"reimbursement.county": "0.8", "deductible.county": "300"})
    result = reimburse(Claim(D("1300.00"), D("1300.00"), "county"), params.reimbursement)
    assert (result.deductible_applied, result.fund) == (D(300), D("800.00"))


def test_place_helper() -> None:
    assert reimbursement_place(is_primary_care=True, in_county=True, referred=False) == "primary"
    assert reimbursement_place(is_primary_care=False, in_county=True, referred=True) == "county"
    assert reimbursement_place(is_primary_care=False, in_county=False, referred=True) == "out_of_county"
    assert (
        reimbursement_place(is_primary_care=True, in_county=False, referred=False)
        == "out_of_county_unreferred"
    )


@pytest.mark.parametrize(
    ("claim", "code"),
    [
        (Claim(D("100.00"), D("100.01"), "primary"), "claim_policy_exceeds_total"),
        (Claim(D("-1.00"), D("0.00"), "primary"), "claim_bad_amount"),
        (Claim(D("1.001"), D("0.00"), "primary"), "claim_bad_amount"),
        (Claim(D("1.00"), D("1.00"), "abroad"), "claim_bad_place"),
        (Claim(D("1.00"), D("1.00"), "primary", "dental"), "claim_bad_care"),
        (Claim(D("1.00"), D("1.00"), "primary", episode_deductible_paid=D("-1.00")), "claim_bad_amount"),
    ],
)
def test_refusals(claim: Claim, code: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        reimburse(claim, DEFAULTS)
    assert info.value.code == code


_cents = st.integers(0, 10**9).map(lambda c: D(c) * CENT)


@settings(max_examples=400, deadline=None)
@given(_cents, st.floats(0, 1), st.sampled_from(PLACES), st.sampled_from(CARE_TYPES), _cents)
def test_fund_plus_patient_is_total(
    total: Decimal, policy_share: float, place: str, care: str, paid_before: Decimal
) -> None:
    policy = (total * D(str(round(policy_share, 4)))).quantize(CENT, rounding="ROUND_DOWN")
    claim = Claim(total, policy, place, care, paid_before)
    result = reimburse(claim, DEFAULTS)
    assert result.fund + result.patient == total
    assert D(0) <= result.fund <= policy
    assert D(0) <= result.deductible_applied <= policy
    assert result.episode_deductible_paid >= paid_before
    assert reimburse(claim, DEFAULTS) == result
