"""Pure scheduling rules: pools, their release, who may book which pool, no-shows, booking flags.

Pools (号源池) partition an institution's slots:

- ``public``: anyone may book;
- ``referral``: reserved for referrals from the institutions of one consortium's
  network (Fuxing: "为社区预留足额的门诊号源、病床等资源", 002);
- ``contract``: reserved for contracted residents ("签约优先", 000 三(三)).

A reserved slot still free shortly before it starts is released to the public
(``SchedulingPolicy.*_release_before``), so reserved capacity is not wasted.
The release is computed, not stored: the same slot at the same time always has
the same effective pool, and a booking records the pool it was made from (the
reserved-slot indicator counts a released slot as offered and unused).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from yilian.contracts.config import PriorityBenefit
from yilian.core.errors import Conflict, DomainError, Forbidden, ValidationFailed
from yilian.scheduling.config import SchedulingPolicy

__all__ = [
    "Booker",
    "BookingChannel",
    "BookingFlags",
    "Pool",
    "PoolKind",
    "SlotInfo",
    "booking_flags",
    "booking_refusal",
    "check_booking",
    "effective_kind",
    "make_pool",
    "no_show_blocked_until",
    "pool_access_refusal",
    "released_at",
    "slot_access_refusal",
]


class PoolKind(StrEnum):
    PUBLIC = "public"
    REFERRAL = "referral"
    CONTRACT = "contract"


class BookingChannel(StrEnum):
    """On whose account a booking is made."""

    PUBLIC = "public"  # the resident (phone / web / front desk) with no reservation right
    REFERRAL = "referral"  # a referral episode: sender's hold or receiver's scheduling
    CONTRACT = "contract"  # a contracted resident, booked by the team or themself


@dataclass(frozen=True, slots=True)
class Pool:
    kind: PoolKind
    institution_id: int
    #: Referral pool: the consortium whose network it is open to (required).
    #: Contract pool: ``None`` = residents of this institution's own teams; else
    #: residents of teams anywhere in that consortium's network.
    consortium_id: int | None = None
    #: How long before the slot an unused reserved slot opens to the public;
    #: ``None`` = never (public pools, or a reservation held to the end).
    release_before: timedelta | None = None


def make_pool(
    kind: PoolKind, institution_id: int, policy: SchedulingPolicy, consortium_id: int | None = None
) -> Pool:
    """A pool with the policy's release lead for its kind."""
    if kind == PoolKind.REFERRAL and consortium_id is None:
        raise ValidationFailed("转诊预留号源池须指定开放的医联体", code="pool_consortium_required")
    lead = {
        PoolKind.PUBLIC: None,
        PoolKind.REFERRAL: policy.referral_release_before,
        PoolKind.CONTRACT: policy.contract_release_before,
    }[kind]
    return Pool(kind, institution_id, consortium_id, lead)


def released_at(pool: Pool, slot_start: datetime) -> datetime | None:
    """When a reserved slot of ``pool`` opens to the public; ``None`` if it never does."""
    if pool.kind == PoolKind.PUBLIC or pool.release_before is None:
        return None
    return slot_start - pool.release_before


def effective_kind(pool: Pool, slot_start: datetime, now: datetime) -> PoolKind:
    release = released_at(pool, slot_start)
    return PoolKind.PUBLIC if release is not None and now >= release else pool.kind


@dataclass(frozen=True, slots=True)
class Booker:
    """The facts about a booking's account that decide which pools it may use."""

    channel: BookingChannel
    #: The resident books for themself: the repeated no-show rule applies.
    self_booking: bool = False
    #: Referral channel: consortia whose network holds the sending institution
    #: (direct lead or member, or member of a county community that joined as a whole).
    referral_consortia: frozenset[int] = frozenset()
    #: Institution of the resident's contracted team, while a contract is in force.
    contract_institution_id: int | None = None
    #: Consortia whose network holds that institution.
    contract_consortia: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class SlotInfo:
    slot_id: int
    institution_id: int
    start: datetime
    free: bool
    pool: Pool


def _contract_pool_open(pool: Pool, booker: Booker) -> bool:
    if booker.contract_institution_id is None:
        return False
    if pool.consortium_id is None:
        return booker.contract_institution_id == pool.institution_id
    return pool.consortium_id in booker.contract_consortia


def pool_access_refusal(pool: Pool, slot_start: datetime, booker: Booker, now: datetime) -> Forbidden | None:
    """Who may book which pool, at ``now`` (a released slot is public)."""
    kind = effective_kind(pool, slot_start, now)
    if kind == PoolKind.PUBLIC:
        return None
    if kind == PoolKind.REFERRAL:
        if booker.channel == BookingChannel.REFERRAL and pool.consortium_id in booker.referral_consortia:
            return None
        return Forbidden(
            "该号源为转诊预留号源，仅向指定医联体成员单位的转诊开放",
            code="pool_not_open",
            pool_kind=kind.value,
            consortium_id=pool.consortium_id,
        )
    # Contract pool: the right comes from the contract, whatever the channel
    # (a contracted resident who is also referred may still use it).
    if _contract_pool_open(pool, booker):
        return None
    return Forbidden("该号源为签约居民预留号源，仅向签约居民开放", code="pool_not_open", pool_kind=kind.value)


def no_show_blocked_until(
    no_shows: Iterable[datetime], now: datetime, policy: SchedulingPolicy
) -> datetime | None:
    """Repeated no-show rule: with ``limit`` no-shows in the trailing window, self-booking is blocked.

    The block lifts when enough of them leave the window, i.e. at the
    ``limit``-th most recent no-show + window.  Computed, not stored, so it
    lifts on its own and an erased no-show lifts it too.
    """
    window = timedelta(days=policy.no_show_window_days)
    recent = sorted((t for t in no_shows if now - window < t <= now), reverse=True)
    if policy.no_show_limit <= 0 or len(recent) < policy.no_show_limit:
        return None
    return recent[policy.no_show_limit - 1] + window


def slot_access_refusal(slot: SlotInfo, booker: Booker, now: datetime) -> DomainError | None:
    """What any booking or hold of a slot must pass: in the future, free, its pool open to the booker."""
    if slot.start <= now:
        return ValidationFailed("该号源时间已过", code="slot_in_past", slot_id=slot.slot_id)
    if not slot.free:
        return Conflict("该号源已被占用", code="slot_taken", slot_id=slot.slot_id)
    return pool_access_refusal(slot.pool, slot.start, booker, now)


def booking_refusal(
    slot: SlotInfo,
    booker: Booker,
    now: datetime,
    policy: SchedulingPolicy,
    no_shows: Iterable[datetime] = (),
) -> DomainError | None:
    """Everything a booking must pass: the slot rules, then the repeated no-show rule for self-booking."""
    refusal = slot_access_refusal(slot, booker, now)
    if refusal is not None:
        return refusal
    if booker.self_booking:
        until = no_show_blocked_until(no_shows, now, policy)
        if until is not None:
            return Forbidden(
                f"近{policy.no_show_window_days}天内爽约{policy.no_show_limit}次及以上，暂停自助预约，"
                "可由医生或窗口代为预约",
                code="no_show_blocked",
                blocked_until=until.isoformat(),
            )
    return None


def check_booking(
    slot: SlotInfo,
    booker: Booker,
    now: datetime,
    policy: SchedulingPolicy,
    no_shows: Iterable[datetime] = (),
) -> PoolKind:
    """Raise the first refusal, else return the pool the booking is made from (store it)."""
    refusal = booking_refusal(slot, booker, now, policy, no_shows)
    if refusal is not None:
        raise refusal
    return effective_kind(slot.pool, slot.start, now)


@dataclass(frozen=True, slots=True)
class BookingFlags:
    """What a booking carries to the front desk: fee waived, priority, the referral episode."""

    registration_fee_waived: bool = False
    priority: bool = False
    referral_episode_id: int | None = None


def booking_flags(
    *,
    episode_benefits: frozenset[PriorityBenefit] = frozenset(),
    contract_rights: frozenset[PriorityBenefit] = frozenset(),
    referral_episode_id: int | None = None,
) -> BookingFlags:
    """Flags from a referral episode's "一免三优先" and/or a contract's priority rights."""
    rights = episode_benefits | contract_rights
    return BookingFlags(
        registration_fee_waived=PriorityBenefit.REGISTRATION_FEE_WAIVER in rights,
        priority=PriorityBenefit.PRIORITY_APPOINTMENT in rights,
        referral_episode_id=referral_episode_id,
    )
