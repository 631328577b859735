"""Tiered reimbursement: the policy defaults, exact money, and the deductible across a referral."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yilian.care.config import CareConfig, ReimbursementRules, default_config
from yilian.care.reimbursement import Claim, place_of, reimburse, reimburse_episode
from yilian.care.rules import CareGroup, Place, Scheme
from yilian.core.errors import ConfigurationError, ValidationFailed

D = Decimal
CFG = default_config()
cents = st.integers(min_value=0, max_value=5_000_000).map(lambda n: D(n) / 100)
places = st.sampled_from(list(Place))
groups = st.sampled_from(list(CareGroup))


@st.composite
def claims(draw: st.DrawFn, group: CareGroup | None = None) -> Claim:
    total = draw(cents)
    policy = draw(st.integers(min_value=0, max_value=int(total * 100)).map(lambda n: D(n) / 100))
    return Claim(total, policy, draw(places), group or draw(groups))


def test_policy_defaults() -> None:
    """PAYMENT.md: inpatient 90/75/55/45 %, deductible 200/500/1000/1000; outpatient 60/50/0/0 %."""
    inpatient = {p: reimburse(Claim(D("10000.00"), D("10000.00"), p, CareGroup.INPATIENT), CFG) for p in Place}
    assert {p: (r.ratio, r.deductible) for p, r in inpatient.items()} == {
        Place.PRIMARY: (D("0.90"), D("200.00")), Place.COUNTY: (D("0.75"), D("500.00")),
        Place.OUT_OF_COUNTY: (D("0.55"), D("1000.00")), Place.OUT_OF_COUNTY_UNREFERRED: (D("0.45"), D("1000.00")),
    }
    assert inpatient[Place.PRIMARY].fund == D("8820.00")  # (10000 − 200) × 0.9
    assert inpatient[Place.COUNTY].fund == D("7125.00")
    assert inpatient[Place.OUT_OF_COUNTY].fund == D("4950.00")
    assert inpatient[Place.OUT_OF_COUNTY_UNREFERRED].fund == D("4050.00")
    outpatient = {p: reimburse(Claim(D("100.00"), D("100.00"), p, CareGroup.OUTPATIENT), CFG).fund for p in Place}
    assert outpatient == {Place.PRIMARY: D("60.00"), Place.COUNTY: D("50.00"), Place.OUT_OF_COUNTY: D("0.00"),
                          Place.OUT_OF_COUNTY_UNREFERRED: D("0.00")}


def test_place_by_institution_and_referral_link() -> None:
    assert place_of(is_primary_care=True, in_county=True, referred=False) is Place.PRIMARY
    assert place_of(is_primary_care=False, in_county=True, referred=True) is Place.COUNTY
    assert place_of(is_primary_care=False, in_county=False, referred=True) is Place.OUT_OF_COUNTY
    assert place_of(is_primary_care=False, in_county=False, referred=False) is Place.OUT_OF_COUNTY_UNREFERRED


def test_rounding_is_half_up_to_the_cent() -> None:
    r = reimburse(Claim(D("300.05"), D("300.05"), Place.PRIMARY, CareGroup.INPATIENT), CFG)
    assert r.fund == D("90.05")  # (300.05 − 200) × 0.9 = 90.045 → 90.05, not banker's 90.04
    assert r.patient == D("210.00")


def test_self_pay_and_unconfigured_schemes() -> None:
    r = reimburse(Claim(D("500.00"), D("500.00"), Place.PRIMARY, CareGroup.INPATIENT, Scheme.SELF_PAY), CFG)
    assert (r.fund, r.patient, r.deductible) == (D("0.00"), D("500.00"), D("0.00"))
    with pytest.raises(ValidationFailed) as exc:
        reimburse(Claim(D("500.00"), D("500.00"), Place.PRIMARY, CareGroup.INPATIENT, Scheme.EMPLOYEE), CFG)
    assert exc.value.code == "reimbursement_rules_missing"
    with pytest.raises(ValidationFailed) as exc:
        reimburse(Claim(D("100.00"), D("100.01"), Place.PRIMARY, CareGroup.INPATIENT), CFG)
    assert exc.value.code == "policy_cost_exceeds_total"


@given(claims())
def test_fund_plus_patient_is_the_total_exactly(claim: Claim) -> None:
    r = reimburse(claim, CFG)
    assert r.fund + r.patient == claim.total_cost
    assert D(0) <= r.fund <= claim.policy_cost
    assert r.fund == r.fund.quantize(D("0.01")) and r.patient == r.patient.quantize(D("0.01"))


@given(claims())
def test_ratio_and_deductible_follow_the_place(claim: Claim) -> None:
    rules = CFG.rules_for(Scheme.RESIDENT)
    assert rules is not None
    r = reimburse(claim, CFG)
    line = rules.deductible(claim.group, claim.place)
    assert r.ratio == rules.ratio(claim.group, claim.place)
    assert r.deductible == min(line, claim.policy_cost)
    expected = ((claim.policy_cost - r.deductible) * r.ratio).quantize(D("0.01"), rounding=ROUND_HALF_UP)
    assert r.fund == expected


@given(claims(CareGroup.INPATIENT), claims(CareGroup.INPATIENT))
def test_deductible_runs_on_across_a_referral(first: Claim, second: Claim) -> None:
    """The second stay of an episode pays at most its line less what the first paid; zero when the
    first already paid as much as the second's line."""
    a, b = reimburse_episode([first, second], CFG)
    alone = reimburse(second, CFG)
    assert b.deductible <= alone.deductible
    assert b.deductible == min(max(alone.deductible_line - a.deductible, D(0)), second.policy_cost)
    if a.deductible >= b.deductible_line:
        assert b.deductible == 0
    assert b.fund >= alone.fund and b.fund + b.patient == second.total_cost


def test_referral_from_township_to_county_to_city() -> None:
    """200 at the township centre, 300 more at the county hospital, 500 more out of county."""
    stays = [Claim(D("3000.00"), D("3000.00"), p, CareGroup.INPATIENT)
             for p in (Place.PRIMARY, Place.COUNTY, Place.OUT_OF_COUNTY)]
    assert [r.deductible for r in reimburse_episode(stays, CFG)] == [D("200.00"), D("300.00"), D("500.00")]
    # Referred back down: the township line is already covered.
    back = reimburse_episode([*stays, stays[0]], CFG)[-1]
    assert back.deductible == 0 and back.deductible_credit == D("200.00")


def test_outpatient_and_inpatient_deductibles_run_separately() -> None:
    rules = ReimbursementRules(outpatient_deductible=MappingProxyType(
        {"primary": D("50.00"), "county": D("100.00"), "out_of_county": D("0.00"),
         "out_of_county_unreferred": D("0.00")}))
    cfg = CareConfig(reimbursement=MappingProxyType({"resident": rules}))
    visit = Claim(D("300.00"), D("300.00"), Place.PRIMARY, CareGroup.OUTPATIENT)
    stay = Claim(D("3000.00"), D("3000.00"), Place.COUNTY, CareGroup.INPATIENT)
    v, s = reimburse_episode([visit, stay], cfg)
    assert v.deductible == D("50.00") and s.deductible == D("500.00")


def test_configuration_round_trips_and_is_validated() -> None:
    data = CFG.to_dict()
    data["reimbursement"]["resident"]["inpatient_ratio"]["primary"] = "0.95"
    cfg = CareConfig.from_dict(data)
    assert cfg.rules_for(Scheme.RESIDENT).ratio(CareGroup.INPATIENT, Place.PRIMARY) == D("0.95")  # type: ignore[union-attr]
    assert CareConfig.from_dict(cfg.to_dict()) == cfg
    data["reimbursement"]["resident"]["inpatient_ratio"]["primary"] = "1.5"
    with pytest.raises(ConfigurationError):
        CareConfig.from_dict(data)
    with pytest.raises(ConfigurationError):
        CareConfig.from_dict({"reimbursement": {"resident": {"inpatient_ratio": {"primary": "0.9"}}}})
    with pytest.raises(ConfigurationError):
        CareConfig(reimbursement=MappingProxyType({"self_pay": ReimbursementRules()}))
