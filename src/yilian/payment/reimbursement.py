"""Tiered reimbursement of a claim (差别化报销), with the deductible running on across a referral.

fund    = (policy-range cost − deductible applied) × ratio(place, care), ROUND_HALF_UP to the cent
patient = total cost − fund          (so fund + patient = total, exactly, always)

The deductible applied is the place's deductible line minus what the patient has
already paid towards deductibles in the same referral episode (起付线连续计算: a
patient referred from a township centre to the county hospital pays only the
difference between the two lines), never more than the policy-range cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from yilian.core.errors import ValidationFailed
from yilian.payment.money import CALC_CONTEXT, MONEY_ZERO, ZERO, require_cents, round_cent
from yilian.payment.params import PLACE_NAMES_ZH, PLACES, ReimbursementParams

CARE_INPATIENT: Final = "inpatient"
CARE_OUTPATIENT: Final = "outpatient"
CARE_TYPES: Final = (CARE_INPATIENT, CARE_OUTPATIENT)


def reimbursement_place(*, is_primary_care: bool, in_county: bool, referred: bool) -> str:
    """The place that sets ratio and deductible: primary-care institutions in the county,
    other in-county institutions, out of county with or without an approved referral."""
    if not in_county:
        return "out_of_county" if referred else "out_of_county_unreferred"
    return "primary" if is_primary_care else "county"


@dataclass(frozen=True, slots=True)
class Claim:
    total_cost: Decimal
    policy_cost: Decimal  # 政策范围内费用, part of the total
    place: str
    care: str = CARE_INPATIENT
    # Deductible the patient already paid in this referral episode (0 without an episode).
    episode_deductible_paid: Decimal = MONEY_ZERO


@dataclass(frozen=True, slots=True)
class Reimbursement:
    place: str
    care: str
    ratio: Decimal
    deductible_line: Decimal  # the place's deductible
    deductible_credit: Decimal  # already paid in the episode, counted against the line
    deductible_applied: Decimal  # paid by the patient on this claim
    reimbursable: Decimal  # policy-range cost − deductible applied
    fund: Decimal
    patient: Decimal
    total: Decimal
    episode_deductible_paid: Decimal  # after this claim: carry into the next claim of the episode


def _amount(value: Decimal, what_zh: str) -> Decimal:
    require_cents(value, what_zh, code="claim_bad_amount")
    if value < ZERO:
        raise ValidationFailed(f"{what_zh}不能为负数，收到「{value}」。", code="claim_bad_amount")
    return value


def reimburse(claim: Claim, params: ReimbursementParams) -> Reimbursement:
    """Fund and patient payment of one claim."""
    if claim.place not in PLACES:
        raise ValidationFailed(
            f"未知的就医地点「{claim.place}」，可用：{'、'.join(PLACES)}。", code="claim_bad_place"
        )
    if claim.care not in CARE_TYPES:
        raise ValidationFailed(
            f"未知的就医类型「{claim.care}」，可用：inpatient（住院）、outpatient（门诊）。",
            code="claim_bad_care",
        )
    total = _amount(claim.total_cost, "总费用")
    policy = _amount(claim.policy_cost, "政策范围内费用")
    paid_before = _amount(claim.episode_deductible_paid, "本转诊过程已付起付线")
    if policy > total:
        raise ValidationFailed(
            f"政策范围内费用（{policy}）不能超过总费用（{total}）。", code="claim_policy_exceeds_total"
        )
    inpatient = claim.care == CARE_INPATIENT
    line = (params.inpatient_deductible if inpatient else params.outpatient_deductible)[claim.place]
    ratio = (params.inpatient_ratio if inpatient else params.outpatient_ratio)[claim.place]
    credit = min(paid_before, line)
    applied = min(line - credit, policy)
    reimbursable = policy - applied
    fund = round_cent(CALC_CONTEXT.multiply(reimbursable, ratio))
    return Reimbursement(
        place=claim.place,
        care=claim.care,
        ratio=ratio,
        deductible_line=line,
        deductible_credit=credit,
        deductible_applied=applied,
        reimbursable=reimbursable,
        fund=fund,
        patient=total - fund,
        total=total,
        episode_deductible_paid=paid_before + applied,
    )


def reimburse_episode(claims: Sequence[Claim], params: ReimbursementParams) -> list[Reimbursement]:
    """Claims of one referral episode in order; each claim's deductible counts what the
    earlier claims of the same care type already paid (their ``episode_deductible_paid``
    fields are ignored and recomputed)."""
    paid = {care: MONEY_ZERO for care in CARE_TYPES}
    results: list[Reimbursement] = []
    for claim in claims:
        care = claim.care if claim.care in CARE_TYPES else CARE_INPATIENT  # reimburse() refuses it below
        result = reimburse(
            Claim(claim.total_cost, claim.policy_cost, claim.place, claim.care, paid[care]), params
        )
        paid[care] = result.episode_deductible_paid
        results.append(result)
    return results


def place_name_zh(place: str) -> str:
    return PLACE_NAMES_ZH.get(place, place)
