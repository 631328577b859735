"""Consortium global budget (总额预算、结余留用、合理超支分担): clearing and distribution.

Every amount here is money in cents.  Splits that must add up (retained vs
returned, consortium vs fund overspend, tier and member shares of the surplus)
are computed so the parts sum to the whole exactly: one part is rounded
ROUND_HALF_UP and the other is the difference, or the whole is apportioned by
largest remainder (:func:`yilian.payment.money.apportion`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from yilian.core.errors import ValidationFailed
from yilian.payment.money import (
    CALC_CONTEXT,
    MONEY_ZERO,
    ZERO,
    apportion,
    require_cents,
    round_cent,
)
from yilian.payment.params import WITHIN_TIER_BASES, GlobalBudgetParams

CARE_INPATIENT: Final = "inpatient"


def _money_in(amount: Decimal, what_zh: str, *, allow_negative: bool = False) -> Decimal:
    require_cents(amount, what_zh)
    if amount < ZERO and not allow_negative:
        raise ValidationFailed(f"{what_zh}不能为负数，收到「{amount}」。", code="budget_negative_amount")
    return amount


def per_capita_budget(per_capita: Decimal, insured: int) -> Decimal:
    """Budget for the year = per-capita amount × insured residents."""
    _money_in(per_capita, "人均预算")
    if isinstance(insured, bool) or not isinstance(insured, int) or insured < 0:
        raise ValidationFailed(f"参保人数必须为非负整数，收到「{insured}」。", code="budget_bad_insured")
    return CALC_CONTEXT.multiply(per_capita, Decimal(insured))


@dataclass(frozen=True, slots=True)
class ChargedSpending:
    member: Decimal
    out_of_network: Decimal
    total: Decimal


def charged_spending(
    member_fund_payments: Iterable[Decimal], out_of_network_fund_payments: Iterable[Decimal]
) -> ChargedSpending:
    """Spending charged to the budget: fund payments for the insured at member institutions
    and at out-of-network institutions (the community pays for care it sends out — Tianchang).
    Refunds may appear as negative payments; each must still be whole cents."""
    member = sum((_money_in(x, "基金支付", allow_negative=True) for x in member_fund_payments), MONEY_ZERO)
    outside = sum(
        (_money_in(x, "网外基金支付", allow_negative=True) for x in out_of_network_fund_payments), MONEY_ZERO
    )
    return ChargedSpending(member, outside, member + outside)


@dataclass(frozen=True, slots=True)
class OverspendBand:
    lower: Decimal  # money bounds of the band (consortium bears ``consortium`` of it)
    upper: Decimal | None
    amount: Decimal
    consortium: Decimal
    fund: Decimal


@dataclass(frozen=True, slots=True)
class BudgetClearing:
    """Year-end clearing of a global budget.

    Surplus side: ``retained`` (kept by the consortium, then distributed) +
    ``returned_to_fund`` = ``surplus``.  Overspend side: ``consortium_overspend``
    (borne by the lead hospital, which manages the consortium's fund) +
    ``fund_overspend`` = ``overspend``.
    """

    budget: Decimal
    spending: Decimal
    balance: Decimal  # budget − spending
    surplus: Decimal
    retained: Decimal
    returned_to_fund: Decimal
    overspend: Decimal
    consortium_overspend: Decimal
    fund_overspend: Decimal
    bands: tuple[OverspendBand, ...]


def clear_budget(budget: Decimal, spending: Decimal, params: GlobalBudgetParams) -> BudgetClearing:
    """Surplus or overspend of the year, with the retained share and the overspend bands applied."""
    _money_in(budget, "预算")
    if budget <= ZERO:
        raise ValidationFailed(f"预算必须为正数，收到「{budget}」。", code="budget_bad_budget")
    _money_in(spending, "支出", allow_negative=True)
    balance = budget - spending
    surplus = max(balance, MONEY_ZERO)
    overspend = max(-balance, MONEY_ZERO)
    retained = round_cent(CALC_CONTEXT.multiply(surplus, params.surplus_retained))
    bands: list[OverspendBand] = []
    lower = MONEY_ZERO
    for tier in params.overspend_tiers:
        upper = None if tier.up_to is None else round_cent(CALC_CONTEXT.multiply(budget, tier.up_to))
        top = overspend if upper is None else min(overspend, upper)
        amount = max(top - lower, MONEY_ZERO)
        consortium = round_cent(CALC_CONTEXT.multiply(amount, tier.consortium_share))
        bands.append(OverspendBand(lower, upper, amount, consortium, amount - consortium))
        if upper is None or upper >= overspend:
            break
        lower = upper
    consortium_total = sum((band.consortium for band in bands), MONEY_ZERO)
    return BudgetClearing(
        budget=budget,
        spending=spending,
        balance=balance,
        surplus=surplus,
        retained=retained,
        returned_to_fund=surplus - retained,
        overspend=overspend,
        consortium_overspend=consortium_total,
        fund_overspend=overspend - consortium_total,
        bands=tuple(bands),
    )


# --- surplus distribution -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Member:
    """A consortium member taking part in the surplus split.

    ``score`` comes from the frozen performance-score snapshot, ``workload`` from
    the year's activity (e.g. weighted visits); only the one the basis uses is needed.
    """

    code: str
    tier: str
    score: Decimal | None = None
    workload: Decimal | None = None


@dataclass(frozen=True, slots=True)
class SurplusDistribution:
    amount: Decimal
    basis: str
    by_tier: Mapping[str, Decimal]
    by_member: Mapping[str, Decimal]


def distribute_surplus(
    amount: Decimal, members: Sequence[Member], params: GlobalBudgetParams, *, within: str | None = None
) -> SurplusDistribution:
    """Split the retained surplus among tiers by ``params.surplus_split`` (default 6:3:1),
    then within each tier by score or workload; both steps by largest remainder, so the
    member shares sum exactly to ``amount``.

    A tier without members takes no share: the ratio is applied among the tiers that
    have members.  A tier whose members all weigh 0 is refused rather than guessed at.
    """
    _money_in(amount, "结余")
    basis = within or params.surplus_within
    if basis not in WITHIN_TIER_BASES:
        raise ValidationFailed(
            f"未知的层级内分配依据「{basis}」，可用：score、workload。", code="surplus_bad_basis"
        )
    if not members:
        raise ValidationFailed("没有参与结余分配的成员单位。", code="surplus_no_members")
    ratio_of = dict(zip(params.surplus_tiers, params.surplus_split, strict=True))
    tier_members: dict[str, dict[str, Decimal]] = {}
    seen: set[str] = set()
    for member in members:
        if member.tier not in ratio_of:
            raise ValidationFailed(
                f"成员单位「{member.code}」的层级「{member.tier}」无效，可用：{'、'.join(params.surplus_tiers)}。",
                code="surplus_bad_tier",
            )
        if member.code in seen:
            raise ValidationFailed(f"成员单位「{member.code}」重复。", code="surplus_duplicate_member")
        seen.add(member.code)
        weight = member.score if basis == "score" else member.workload
        label = "绩效得分" if basis == "score" else "工作量"
        if weight is None or not weight.is_finite() or weight < ZERO:
            raise ValidationFailed(
                f"成员单位「{member.code}」缺少有效的{label}（须为非负数）。", code="surplus_bad_weight"
            )
        tier_members.setdefault(member.tier, {})[member.code] = weight
    present = {tier: ratio_of[tier] for tier in params.surplus_tiers if tier in tier_members}
    if sum(present.values(), ZERO) <= ZERO:
        raise ValidationFailed("有成员的层级分配比例均为 0，结余无法分配。", code="surplus_zero_split")
    by_tier = apportion(amount, present)
    by_member: dict[str, Decimal] = {}
    for tier, share in by_tier.items():
        weights = tier_members[tier]
        if share == ZERO:
            by_member.update(dict.fromkeys(weights, MONEY_ZERO))
            continue
        if sum(weights.values(), ZERO) <= ZERO:
            raise ValidationFailed(
                f"层级「{tier}」内所有成员的分配依据均为 0，无法按比例分配 {share} 元。",
                code="surplus_zero_weights",
            )
        by_member.update(apportion(share, weights))
    return SurplusDistribution(amount, basis, by_tier, by_member)


# --- Luohu variant --------------------------------------------------------------------------


def signed_inpatient_spending(
    signed: Sequence[bool], care_types: Sequence[str], fund_payments: Sequence[Decimal]
) -> Decimal:
    """Fund spending on signed residents' inpatient care (all places, cash claims included)."""
    total = MONEY_ZERO
    for is_signed, care, amount in zip(signed, care_types, fund_payments, strict=True):
        if is_signed and care == CARE_INPATIENT:
            total += _money_in(amount, "基金支付", allow_negative=True)
    return total


@dataclass(frozen=True, slots=True)
class LuohuClearing:
    previous: Decimal
    current: Decimal
    saving: Decimal  # previous − current when positive: kept by the group
    excess: Decimal  # current − previous when positive: reported; PAYMENT.md sets no sharing for it


def luohu_clearing(current_spending: Decimal, previous_spending: Decimal) -> LuohuClearing:
    """Luohu: this year's signed residents' inpatient fund spending vs last year's; the saving stays."""
    _money_in(current_spending, "本年度支出")
    _money_in(previous_spending, "上年度支出")
    difference = previous_spending - current_spending
    return LuohuClearing(
        previous=previous_spending,
        current=current_spending,
        saving=max(difference, MONEY_ZERO),
        excess=max(-difference, MONEY_ZERO),
    )


# --- several communities in one county ------------------------------------------------------


def _community(township: str, community_of_township: Mapping[str, str]) -> str:
    community = community_of_township.get(township)
    if community is None:
        raise ValidationFailed(
            f"乡镇（街道）「{township}」没有归属的医共体：请先指定为其服务的成员中心。",
            code="budget_township_unattributed",
            township=township,
        )
    return community


def insured_by_community(
    insured_by_township: Mapping[str, int], community_of_township: Mapping[str, str]
) -> dict[str, int]:
    """Insured residents attributed to each community (a resident belongs to the community
    whose member centre serves their township).  Every community of the mapping appears."""
    result = dict.fromkeys(sorted(set(community_of_township.values())), 0)
    for township, insured in insured_by_township.items():
        if isinstance(insured, bool) or not isinstance(insured, int) or insured < 0:
            raise ValidationFailed(f"乡镇「{township}」的参保人数无效。", code="budget_bad_insured")
        result[_community(township, community_of_township)] += insured
    return result


def community_budgets(
    per_capita: Decimal, insured_by_township: Mapping[str, int], community_of_township: Mapping[str, str]
) -> dict[str, Decimal]:
    """Each community's budget = per-capita amount × its attributed insured residents."""
    return {
        community: per_capita_budget(per_capita, insured)
        for community, insured in insured_by_community(insured_by_township, community_of_township).items()
    }


def charge_by_community(
    townships: Sequence[str], fund_payments: Sequence[Decimal], community_of_township: Mapping[str, str]
) -> dict[str, Decimal]:
    """Charge (e.g. out-of-network) fund payments to the community of each resident's township."""
    result = dict.fromkeys(sorted(set(community_of_township.values())), MONEY_ZERO)
    for township, amount in zip(townships, fund_payments, strict=True):
        result[_community(township, community_of_township)] += _money_in(
            amount, "基金支付", allow_negative=True
        )
    return result
