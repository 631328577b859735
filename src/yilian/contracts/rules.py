"""Pure contract rules: terms, one contract at a time, panels, "1+1+1", delivery schedules.

Nothing here reads a database.  The service loads what a rule needs (a
resident's contracts as intervals, a team's panel count), calls the check and
lets the refusal propagate.  ``*_refusal`` functions *return* the refusal (or
``None``) so callers can collect or rank them; ``check_*`` functions raise.

Dates: a contract's term is written as on the paper, first and last day
inclusive ("2025年1月1日至2025年12月31日").  Intervals compared across contracts
are half-open ``[start, stop)`` with ``stop`` the first day *not* covered, so a
contract that ends on the day before another starts never overlaps it, and a
termination dated D leaves the resident free to sign again on D.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from yilian.contracts.config import ContractPolicy, PackageItem, PriorityBenefit
from yilian.core.errors import Conflict, DomainError, ValidationFailed

__all__ = [
    "ContractInterval",
    "DeliveryState",
    "FamilyMember",
    "FamilyPlan",
    "InstitutionRef",
    "Occurrence",
    "TeamPanel",
    "add_months",
    "add_years",
    "check_combination",
    "check_delivery",
    "check_signing",
    "combination_refusal",
    "contract_in_force",
    "delivery_refusal",
    "delivery_schedule",
    "items_owed",
    "occurrences",
    "overlap_refusal",
    "panel_refusal",
    "plan_family_signing",
    "priority_rights",
    "signing_refusal",
    "term_refusal",
]


# --------------------------------------------------------------------------- dates


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months, clamped to the month's last day (31 Jan + 1 → 28/29 Feb)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def add_years(day: date, years: int) -> date:
    return add_months(day, 12 * years)


# --------------------------------------------------------------------------- terms


@dataclass(frozen=True, slots=True)
class ContractInterval:
    """Where a contract is in force: ``[start, stop)``, already cut short by any termination."""

    contract_id: int
    team_id: int
    start: date
    stop: date

    @classmethod
    def for_term(cls, contract_id: int, team_id: int, start: date, end: date) -> ContractInterval:
        """From a term as written (``end`` = last day, inclusive)."""
        return cls(contract_id, team_id, start, end + timedelta(days=1))

    def covers(self, day: date) -> bool:
        return self.start <= day < self.stop

    def overlaps(self, start: date, stop: date) -> bool:
        return self.start < stop and start < self.stop


def term_refusal(start: date, end: date, policy: ContractPolicy) -> ValidationFailed | None:
    """Term ≥ ``min_term_years`` [policy]: 1 Jan 2025 – 31 Dec 2025 is one full year."""
    if end < start:
        return ValidationFailed(
            f"签约截止日（{end}）早于起始日（{start}）", code="term_invalid", start=str(start), end=str(end)
        )
    shortest_end = add_years(start, policy.min_term_years) - timedelta(days=1)
    if end < shortest_end:
        return ValidationFailed(
            f"签约周期不得少于{policy.min_term_years}年：自{start}起至少签至{shortest_end}",
            code="term_too_short",
            start=str(start),
            end=str(end),
            min_end=str(shortest_end),
        )
    return None


def overlap_refusal(
    start: date, end: date, existing: Iterable[ContractInterval], *, exclude: int | None = None
) -> Conflict | None:
    """One family doctor (team) per resident at a time [policy]: no two contracts may overlap.

    ``existing`` are the resident's other contracts (``exclude`` skips the one
    being changed).  Ended contracts are passed with their real stop, so they
    only clash when the new term reaches back into them.
    """
    stop = end + timedelta(days=1)
    clashes = sorted(
        (c for c in existing if c.contract_id != exclude and c.start < c.stop and c.overlaps(start, stop)),
        key=lambda c: c.start,
    )
    if not clashes:
        return None
    first = clashes[0]
    return Conflict(
        f"该居民在{first.start}至{first.stop - timedelta(days=1)}已有签约（合同 {first.contract_id}），"
        "同一时间只能与一个家庭医生团队签约",
        code="contract_overlap",
        contracts=[c.contract_id for c in clashes],
    )


def contract_in_force(day: date, contracts: Iterable[ContractInterval]) -> ContractInterval | None:
    """The resident's contract in force on ``day``, if any."""
    return next((c for c in contracts if c.covers(day)), None)


# --------------------------------------------------------------------------- panels


@dataclass(frozen=True, slots=True)
class TeamPanel:
    """A family-doctor team and how many residents it holds now."""

    team_id: int
    institution_id: int
    contracted: int
    #: The team's own limit; ``None`` uses the policy's.
    limit: int | None = None

    def effective_limit(self, policy: ContractPolicy) -> int:
        return policy.panel_limit if self.limit is None else self.limit


def panel_refusal(team: TeamPanel, adding: int, policy: ContractPolicy) -> Conflict | None:
    limit = team.effective_limit(policy)
    if team.contracted + adding > limit:
        return Conflict(
            f"该团队签约人数已达上限（{team.contracted}/{limit}），无法再签约{adding}人",
            code="panel_full",
            team_id=team.team_id,
            contracted=team.contracted,
            limit=limit,
        )
    return None


def signing_refusal(
    team: TeamPanel, start: date, end: date, existing: Iterable[ContractInterval], policy: ContractPolicy
) -> DomainError | None:
    """Everything a single signing must pass, in the order a person fixes them: term, overlap, panel."""
    return (
        term_refusal(start, end, policy)
        or overlap_refusal(start, end, existing)
        or panel_refusal(team, 1, policy)
    )


def check_signing(
    team: TeamPanel, start: date, end: date, existing: Iterable[ContractInterval], policy: ContractPolicy
) -> None:
    refusal = signing_refusal(team, start, end, existing, policy)
    if refusal is not None:
        raise refusal


# --------------------------------------------------------------------------- family signing


@dataclass(frozen=True, slots=True)
class FamilyMember:
    resident_id: int
    contracts: tuple[ContractInterval, ...] = ()


@dataclass(frozen=True, slots=True)
class FamilyPlan:
    """Who gets a new contract, and who is already with this team for the new term's start."""

    to_sign: tuple[int, ...]
    already_with_team: tuple[int, ...]


def plan_family_signing(
    team: TeamPanel, members: Sequence[FamilyMember], start: date, end: date, policy: ContractPolicy
) -> FamilyPlan:
    """Family-level signing: one contract per member, all members with the same team.

    A household signs together or not at all: a member under contract with
    another team refuses the whole family (the service shows who), so no family
    is left half-signed.  Members already with this team are skipped, not refused.
    """
    if not members:
        raise ValidationFailed("家庭签约须至少包含一名家庭成员", code="family_empty")
    ids = [m.resident_id for m in members]
    if len(set(ids)) != len(ids):
        raise ValidationFailed("家庭成员重复", code="family_duplicate")
    term = term_refusal(start, end, policy)
    if term is not None:
        raise term
    stop = end + timedelta(days=1)
    to_sign: list[int] = []
    with_team: list[int] = []
    elsewhere: list[int] = []
    for member in members:
        clashes = [c for c in member.contracts if c.start < c.stop and c.overlaps(start, stop)]
        if not clashes:
            to_sign.append(member.resident_id)
        elif all(c.team_id == team.team_id for c in clashes):
            with_team.append(member.resident_id)
        else:
            elsewhere.append(member.resident_id)
    if elsewhere:
        raise Conflict(
            f"有{len(elsewhere)}名家庭成员已与其他团队签约，须先解约后再进行家庭签约",
            code="family_member_contracted",
            residents=elsewhere,
        )
    panel = panel_refusal(team, len(to_sign), policy)
    if panel is not None:
        raise panel
    return FamilyPlan(tuple(to_sign), tuple(with_team))


# --------------------------------------------------------------------------- "1+1+1"


@dataclass(frozen=True, slots=True)
class InstitutionRef:
    institution_id: int
    category: str
    tier: int


def combination_refusal(
    chosen: Sequence[InstitutionRef], team_institution_id: int, policy: ContractPolicy
) -> DomainError | None:
    """Combination signing ("1+1+1"): one institution per configured slot, in slot order.

    The first slot is the contracted team's own centre (the resident's first
    contact); the others are where the team refers the resident first.
    """
    slots = policy.combination_slots
    if not policy.combination_enabled:
        return ValidationFailed("本医联体未开展“1+1+1”组合签约", code="combination_disabled")
    if len(chosen) != len(slots):
        names = "+".join(s.name_zh for s in slots)
        return ValidationFailed(
            f"组合签约须选择{len(slots)}家机构（{names}），实际{len(chosen)}家",
            code="combination_incomplete",
            expected=len(slots),
            given=len(chosen),
        )
    if len({c.institution_id for c in chosen}) != len(chosen):
        return ValidationFailed("组合签约的机构不能重复", code="combination_duplicate")
    for slot, inst in zip(slots, chosen, strict=True):
        if (slot.categories and inst.category not in slot.categories) or (
            slot.tiers and inst.tier not in slot.tiers
        ):
            return ValidationFailed(
                f"机构 {inst.institution_id} 不能作为组合签约中的“{slot.name_zh}”",
                code="combination_slot_mismatch",
                slot=slot.code,
                institution_id=inst.institution_id,
            )
    if chosen[0].institution_id != team_institution_id:
        return ValidationFailed(
            f"组合签约的“{slots[0].name_zh}”须为签约团队所在机构", code="combination_not_team_institution"
        )
    return None


def check_combination(
    chosen: Sequence[InstitutionRef], team_institution_id: int, policy: ContractPolicy
) -> None:
    refusal = combination_refusal(chosen, team_institution_id, policy)
    if refusal is not None:
        raise refusal


# --------------------------------------------------------------------------- delivery (履约)


class DeliveryState(StrEnum):
    DELIVERED = "delivered"
    DUE = "due"  # the period is running and nothing is recorded yet
    OVERDUE = "overdue"  # the period ended with nothing recorded
    UPCOMING = "upcoming"  # the period has not begun


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One delivery an item owes: in ``[window_start, due_on]``, both inclusive."""

    item_code: str
    seq: int
    window_start: date
    due_on: date
    state: DeliveryState = DeliveryState.UPCOMING
    delivered_on: date | None = None


def items_owed(package: Iterable[PackageItem], populations: Iterable[str]) -> tuple[PackageItem, ...]:
    """The package items owed to a resident with these key-population codes."""
    mine = frozenset(populations)
    return tuple(i for i in package if not i.populations or i.populations & mine)


def occurrences(item: PackageItem, start: date, end: date) -> tuple[Occurrence, ...]:
    """Periods of the term, counted from its first day; the last one is cut at the term's end.

    Counting from the term's start (not calendar quarters) gives a contract
    signed in February its full first quarter instead of a six-week one.
    """
    months = item.frequency.months
    if months is None:
        return (Occurrence(item.code, 1, start, end),)
    out: list[Occurrence] = []
    seq = 0
    window = start
    while window <= end:
        seq += 1
        nxt = add_months(start, months * seq)
        out.append(Occurrence(item.code, seq, window, min(nxt - timedelta(days=1), end)))
        window = nxt
    return tuple(out)


def delivery_schedule(
    item: PackageItem, start: date, end: date, delivered_on: Iterable[date], today: date
) -> tuple[Occurrence, ...]:
    """Each period with its state on ``today``.

    A delivery counts for the period it falls in; a second one in the same
    period does not carry over to the next (two follow-ups in Q1 leave Q2 owed).
    """
    dates = sorted(delivered_on)
    result: list[Occurrence] = []
    for occ in occurrences(item, start, end):
        hit = next((d for d in dates if occ.window_start <= d <= occ.due_on), None)
        if hit is not None:
            state = DeliveryState.DELIVERED
        elif today > occ.due_on:
            state = DeliveryState.OVERDUE
        elif today >= occ.window_start:
            state = DeliveryState.DUE
        else:
            state = DeliveryState.UPCOMING
        result.append(Occurrence(occ.item_code, occ.seq, occ.window_start, occ.due_on, state, hit))
    return tuple(result)


def delivery_refusal(
    item_code: str, on: date, package: Iterable[PackageItem], contract: ContractInterval, today: date
) -> ValidationFailed | None:
    """A delivery record (履约记录) must name an item of the package, dated in force and not ahead."""
    if item_code not in {i.code for i in package}:
        return ValidationFailed(f"服务项目 {item_code} 不在该签约服务包内", code="item_not_in_package")
    if on > today:
        return ValidationFailed(f"履约日期（{on}）不能晚于今天", code="delivery_in_future")
    if not contract.covers(on):
        return ValidationFailed(f"履约日期（{on}）不在签约有效期内", code="delivery_outside_term")
    return None


def check_delivery(
    item_code: str, on: date, package: Iterable[PackageItem], contract: ContractInterval, today: date
) -> None:
    refusal = delivery_refusal(item_code, on, package, contract, today)
    if refusal is not None:
        raise refusal


# --------------------------------------------------------------------------- priority rights


def priority_rights(
    contracts: Iterable[ContractInterval], on: date, policy: ContractPolicy
) -> frozenset[PriorityBenefit]:
    """The priority rights a resident holds on ``on``: the policy's, while a contract is in force."""
    return policy.priority_rights if contract_in_force(on, contracts) is not None else frozenset()
