"""Tiered reimbursement of a claim (差别化报销), the deductible running on across a referral.

    place      = primary | county (in county, by the institution) | out_of_county (with a referral
                 link) | out_of_county_unreferred
    line       = the place's deductible (起付线) for the care group (inpatient / outpatient)
    credit     = min(deductible already paid in the referral episode, line)
    deductible = min(line − credit, policy-range cost)          paid by the patient on this claim
    fund       = (policy-range cost − deductible) × ratio(place, group), ROUND_HALF_UP to the cent
    patient    = total − fund                                    so fund + patient = total, exactly

起付线连续计算: a patient referred from a township centre (line 200) to the county hospital
(line 500) pays only the 300 difference there; referred on out of the county (1,000) pays 500
more.  The episode's earlier claims are the ones already recorded when this one arrives (the order
the bureau settles in), which keeps the total deductible of an episode at its highest line
whatever order the stays arrive in.  Without an episode the credit is zero.

Pure: Decimal in, Decimal out.  ``care`` sits left of ``payment`` in the layers, so this module
is the one claims calculation; ``payment`` reads settlements as recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from yilian.care.config import CareConfig
from yilian.care.rules import SCHEME_NAMES_ZH, CareGroup, Place, Scheme, refuse

__all__ = ["Claim", "Reimbursement", "place_of", "reimburse", "reimburse_episode"]

CENT: Final = Decimal("0.01")
ZERO: Final = Decimal("0.00")


def place_of(*, is_primary_care: bool, in_county: bool, referred: bool) -> Place:
    """Primary-care institutions in the county (township and community health centres, stations,
    village clinics: the registry's ``is_primary_care``), other in-county institutions, and out of
    county with or without an approved referral (the service reads the linked episode's approval:
    approved, deemed, exempt or not required count as approved, REFERRAL.md)."""
    if not in_county:
        return Place.OUT_OF_COUNTY if referred else Place.OUT_OF_COUNTY_UNREFERRED
    return Place.PRIMARY if is_primary_care else Place.COUNTY


@dataclass(frozen=True, slots=True)
class Claim:
    total_cost: Decimal
    policy_cost: Decimal  # 政策范围内费用, part of the total
    place: Place
    group: CareGroup
    scheme: Scheme = Scheme.RESIDENT
    episode_deductible_paid: Decimal = ZERO  # already paid in this referral episode, this care group


@dataclass(frozen=True, slots=True)
class Reimbursement:
    place: Place
    group: CareGroup
    ratio: Decimal
    deductible_line: Decimal
    deductible_credit: Decimal
    deductible: Decimal  # applied on this claim (what the settlement row stores)
    reimbursable: Decimal
    fund: Decimal
    patient: Decimal

    def episode_paid_after(self, before: Decimal) -> Decimal:
        """What the episode has paid towards deductibles once this claim is counted."""
        return before + self.deductible


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def reimburse(claim: Claim, config: CareConfig) -> Reimbursement:
    """Fund and patient payment of one claim under ``config``'s rules for its scheme."""
    total, policy = claim.total_cost, claim.policy_cost
    if total < 0 or policy < 0 or claim.episode_deductible_paid < 0:
        raise refuse("费用和已付起付线不能为负数。", "amount_negative")
    if policy > total:
        raise refuse(f"政策范围内费用（{policy}）不能超过总费用（{total}）。", "policy_cost_exceeds_total")
    if claim.scheme is Scheme.SELF_PAY:
        return Reimbursement(place=claim.place, group=claim.group, ratio=Decimal("0.0000"), deductible_line=ZERO,
                             deductible_credit=ZERO, deductible=ZERO, reimbursable=ZERO, fund=ZERO,
                             patient=_cents(total))
    rules = config.rules_for(claim.scheme)
    if rules is None:
        raise refuse(f"{SCHEME_NAMES_ZH[claim.scheme]}的报销规则尚未配置：请随结算数据提供基金支付、个人支付、"
                     "起付线和报销比例。", "reimbursement_rules_missing", scheme=claim.scheme.value)
    line = rules.deductible(claim.group, claim.place)
    ratio = rules.ratio(claim.group, claim.place)
    credit = min(claim.episode_deductible_paid, line)
    applied = min(line - credit, policy)
    reimbursable = policy - applied
    fund = _cents(reimbursable * ratio)
    return Reimbursement(
        place=claim.place, group=claim.group, ratio=ratio, deductible_line=line, deductible_credit=credit,
        deductible=_cents(applied), reimbursable=_cents(reimbursable), fund=fund, patient=_cents(total - fund),
    )


def reimburse_episode(claims: Sequence[Claim], config: CareConfig) -> list[Reimbursement]:
    """Claims of one referral episode in the order they are settled: each counts the deductibles
    the earlier ones paid in the same care group (their own ``episode_deductible_paid`` is ignored)."""
    paid = {group: ZERO for group in CareGroup}
    out: list[Reimbursement] = []
    for claim in claims:
        result = reimburse(Claim(claim.total_cost, claim.policy_cost, claim.place, claim.group, claim.scheme,
                                 paid[claim.group]), config)
        paid[claim.group] = result.episode_paid_after(paid[claim.group])
        out.append(result)
    return out
