"""Booking use cases: policy, book / hold, cancel, no-show, check-in, release of reserved pools.

**Atomic booking.**  The pure checks (``scheduling.rules.check_booking``: slot in the
future, free, its pool open to this booker, the repeated no-show rule) run first on what
was read; then one conditional ``UPDATE slot SET booked_count = booked_count + 1 WHERE
booked_count < capacity …`` takes the place, checked by its row count, and the appointment
row takes the lowest free place under the unique ``(slot_id, active_place)`` (the
backstop).  Under any concurrency a place is taken at most once: PostgreSQL re-checks the
``WHERE`` of a row another transaction updated, SQLite serialises writers at ``BEGIN
IMMEDIATE``.  Status changes are compare-and-set on the status, so two people cancelling
(or marking a no-show) at once change the row, and give the place back, exactly once.

Who may book: a clinician (or admin) of the slot's institution (front desk), or one
whose institution has the resident in scope (the family doctor; a referral's sender).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yilian.contracts import service as contracts
from yilian.contracts.config import PriorityBenefit
from yilian.core.clock import to_local, utcnow
from yilian.core.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from yilian.core.events import publish
from yilian.db.models import Appointment, Slot, SlotPool
from yilian.identity import audit
from yilian.identity.principal import Principal
from yilian.identity.roles import Perm
from yilian.identity.service import check_resident_access, institution_scope
from yilian.scheduling import events, repository
from yilian.scheduling.config import SchedulingPolicy
from yilian.scheduling.rules import (
    Booker,
    BookingChannel,
    Pool,
    PoolKind,
    SlotInfo,
    booking_flags,
    check_booking,
    effective_kind,
    no_show_blocked_until,
)
from yilian.scheduling.states import (
    TRANSITIONS,
    AppointmentEvent,
    AppointmentSnapshot,
    AppointmentStatus,
    appointment_transition,
)

__all__ = [
    "DEFAULT_CONTRACT_SHARE",
    "DEFAULT_REFERRAL_SHARE",
    "NoShowStatus",
    "ReferralAccount",
    "SchedulingSettings",
    "check_staff",
    "do_book",
    "do_cancel",
    "do_check_in",
    "do_complete",
    "do_confirm_hold",
    "do_hold",
    "do_mark_no_show",
    "do_release",
    "do_release_reserved",
    "episode_appointment",
    "get_appointment",
    "no_show_status",
    "pool_of",
    "settings_for",
    "slot_kind_now",
]

#: [practice] Share of a session's slots reserved for referrals and for contracted residents when
#: slots are generated.  The seeds say only "预留足额" (Fuxing, 002); configurable per institution.
DEFAULT_REFERRAL_SHARE: Final = Decimal("0.20")
DEFAULT_CONTRACT_SHARE: Final = Decimal("0.10")

_MINUTES: Final = {
    "referral_release_minutes": "referral_release_before",
    "contract_release_minutes": "contract_release_before",
    "no_show_grace_minutes": "no_show_grace",
    "cancel_cutoff_minutes": "cancel_cutoff",
    "checkin_opens_minutes": "checkin_opens_before",
}


@dataclass(frozen=True, slots=True)
class SchedulingSettings:
    policy: SchedulingPolicy = field(default_factory=SchedulingPolicy)
    referral_share: Decimal = DEFAULT_REFERRAL_SHARE
    contract_share: Decimal = DEFAULT_CONTRACT_SHARE


def settings_for(session: Session, institution_id: int | None, on: date) -> SchedulingSettings:
    """The institution's rows, then the system rows, then the code's defaults."""
    out = SchedulingSettings()
    for row in reversed(repository.policy_rows(session, institution_id, on)):  # general first, specific wins
        changes: dict[str, Any] = {
            name: timedelta(minutes=getattr(row, col)) for col, name in _MINUTES.items()
            if getattr(row, col) is not None
        }
        for name in ("no_show_limit", "no_show_window_days"):
            if getattr(row, name) is not None:
                changes[name] = getattr(row, name)
        policy = replace(out.policy, **changes)
        out = SchedulingSettings(
            policy,
            row.referral_share if row.referral_share is not None else out.referral_share,
            row.contract_share if row.contract_share is not None else out.contract_share,
        )
    return out


# ---- shared checks ------------------------------------------------------------------------


def check_staff(session: Session, actor: Principal, institution_id: int) -> None:
    """Clinicians (or an admin) of the institution manage its schedules and its front desk."""
    actor.require(Perm.RESIDENT_WRITE)
    scope = institution_scope(session, actor, Perm.RESIDENT_WRITE)
    if scope is not None and institution_id not in scope:
        raise Forbidden("只能管理本机构的号源和预约。", code="institution_out_of_scope", institution_id=institution_id)


def _check_booking_actor(session: Session, actor: Principal, institution_id: int, resident_id: int) -> None:
    actor.require(Perm.RESIDENT_WRITE)
    scope = institution_scope(session, actor, Perm.RESIDENT_WRITE)
    if scope is None or institution_id in scope:
        return
    check_resident_access(session, actor, resident_id)  # the family doctor, a referral's sender


def pool_of(p: SlotPool, slot: Slot | None = None) -> Pool:
    """The rules' view of a pool; a slot the release job opened books as public."""
    if slot is not None and slot.released_at is not None:
        return Pool(PoolKind.PUBLIC, p.institution_id)
    lead = None if p.release_before_minutes is None else timedelta(minutes=p.release_before_minutes)
    return Pool(PoolKind(p.kind), p.institution_id, p.consortium_id, lead)


def slot_kind_now(p: SlotPool, slot: Slot, now: datetime) -> PoolKind:
    return effective_kind(pool_of(p, slot), slot.start_at, now)


def _slot_and_pool(session: Session, slot_id: int) -> tuple[Slot, SlotPool]:
    slot = repository.slot(session, slot_id)
    if slot is None:
        raise NotFound("号源不存在。", code="slot_not_found", slot_id=slot_id)
    p = repository.pool(session, slot.pool_id)
    assert p is not None
    return slot, p


# ---- booking ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReferralAccount:
    """A booking (or hold) on a referral episode's account, from the referral service."""

    episode_id: int
    sending_institution_id: int
    #: The episode's "一免三优先"; empty for a hold (applied when the hold becomes a booking).
    benefits: frozenset[PriorityBenefit] = frozenset()


def do_book(
    session: Session, actor: Principal, slot_id: int, resident_id: int, *, self_booking: bool = False,
    referral: ReferralAccount | None = None, hold: bool = False, now: datetime | None = None,
) -> Appointment:
    """Book one place of a slot, or hold it for a referral (``hold``): at most once, whatever races."""
    now = now or utcnow()
    slot, pool_row = _slot_and_pool(session, slot_id)
    if repository.resident(session, resident_id) is None:
        raise NotFound("居民不存在。", code="resident_not_found", resident_id=resident_id)
    _check_booking_actor(session, actor, slot.institution_id, resident_id)
    if hold and referral is None:
        raise ValidationFailed("只有转诊可以预占号源。", code="hold_requires_referral")
    today = to_local(now).date()
    cfg = settings_for(session, slot.institution_id, today)
    rights = contracts.priority_rights(session, resident_id, today)
    referral_consortia = (
        contracts.network_consortia(session, referral.sending_institution_id, today)
        if referral is not None else frozenset()
    )
    channel = (BookingChannel.REFERRAL if referral is not None
               else BookingChannel.CONTRACT if rights.contract_id is not None else BookingChannel.PUBLIC)
    booker = Booker(channel, self_booking, referral_consortia, rights.institution_id, rights.consortia)
    no_shows = repository.no_show_times(session, resident_id, now - timedelta(days=cfg.policy.no_show_window_days))
    info = SlotInfo(slot.id, slot.institution_id, slot.start_at, slot.booked_count < slot.capacity,
                    pool_of(pool_row, slot))
    kind = check_booking(info, booker, now, cfg.policy, no_shows)
    if repository.active_booking_of(session, slot.id, resident_id) is not None:
        raise Conflict("该居民已预约此号源。", code="already_booked", slot_id=slot.id)
    if not repository.take_place(session, slot.id, slot.pool_id, now):
        raise Conflict("该号源已被占用", code="slot_taken", slot_id=slot.id)
    session.expire(slot, ["booked_count"])  # the UPDATE bypassed the loaded row
    flags = booking_flags(
        episode_benefits=referral.benefits if referral is not None and not hold else frozenset(),
        contract_rights=rights.benefits if not hold else frozenset(),
        referral_episode_id=referral.episode_id if referral is not None else None,
    )
    taken = repository.active_places(session, slot.id)
    place = next(i for i in range(1, slot.capacity + 2) if i not in taken)
    appt = Appointment(
        slot_id=slot.id, place=place, active_place=place, resident_id=resident_id,
        status=AppointmentStatus.BOOKED.value, held=hold, channel=channel.value, pool_kind=kind.value,
        self_booking=self_booking, registration_fee_waived=flags.registration_fee_waived, priority=flags.priority,
        referral_episode_id=flags.referral_episode_id, booked_by=actor.user_id, booked_at=now,
        status_changed_at=now, version=1,
    )
    try:
        with session.begin_nested():  # the unique (slot, active_place) is the backstop
            session.add(appt)
            session.flush()
    except IntegrityError:
        raise Conflict("该号源已被占用", code="slot_taken", slot_id=slot.id) from None
    audit.record(session, actor, "hold" if hold else "book", "appointment", appt.id, after=audit.snapshot(appt),
                 resident_id=resident_id)
    publish(session, events.appointment_booked(appt.id, slot.id, resident_id, slot.institution_id, kind.value,
                                               appt.referral_episode_id))
    return appt


def do_hold(
    session: Session, actor: Principal, slot_id: int, resident_id: int, referral: ReferralAccount,
    now: datetime | None = None,
) -> Appointment:
    """A referral sender holds a slot at submission (REFERRAL.md row 1): a place taken, no flags yet."""
    return do_book(session, actor, slot_id, resident_id, referral=referral, hold=True, now=now)


def episode_appointment(session: Session, episode_id: int, slot_id: int) -> Appointment | None:
    """The episode's hold or booking still occupying a place of the slot (for the referral service)."""
    return repository.episode_appointment(session, episode_id, slot_id)


def do_confirm_hold(
    session: Session, actor: Principal, appointment_id: int, benefits: frozenset[PriorityBenefit],
    now: datetime | None = None,
) -> Appointment:
    """A referral's hold becomes a booking (REFERRAL.md row 5), carrying the episode's flags."""
    now = now or utcnow()
    appt = _appointment_or_404(session, appointment_id)
    if not appt.held or appt.status != AppointmentStatus.BOOKED:
        raise Conflict("该号源不是待确认的转诊预占。", code="not_held", appointment_id=appt.id)
    rights = contracts.priority_rights(session, appt.resident_id, to_local(now).date())
    flags = booking_flags(episode_benefits=benefits, contract_rights=rights.benefits,
                          referral_episode_id=appt.referral_episode_id)
    ok = repository.set_status(session, appt.id, AppointmentStatus.BOOKED.value, {
        "held": False, "registration_fee_waived": flags.registration_fee_waived, "priority": flags.priority,
        "status_changed_at": now,
    })
    if not ok:
        raise Conflict("该预约已被他人更新，请刷新后重试。", code="stale_version", appointment_id=appt.id)
    appt = _appointment_or_404(session, appointment_id)
    audit.record(session, actor, "confirm_hold", "appointment", appt.id, after=audit.snapshot(appt),
                 resident_id=appt.resident_id)
    return appt


# ---- status changes -----------------------------------------------------------------------


def _appointment_or_404(session: Session, appointment_id: int) -> Appointment:
    appt = repository.appointment(session, appointment_id)
    if appt is None:
        raise NotFound("预约不存在。", code="appointment_not_found", appointment_id=appointment_id)
    return appt


_STAMP: Final = {
    AppointmentStatus.CANCELLED: "cancelled_at",
    AppointmentStatus.CHECKED_IN: "checked_in_at",
    AppointmentStatus.NO_SHOW: "no_show_at",
    AppointmentStatus.COMPLETED: "completed_at",
}


def _change(
    session: Session, actor: Principal, appointment_id: int, event: AppointmentEvent, now: datetime, *,
    guarded: bool = True, reason: str | None = None,
) -> Appointment:
    appt = _appointment_or_404(session, appointment_id)
    slot, _pool = _slot_and_pool(session, appt.slot_id)
    _check_booking_actor(session, actor, slot.institution_id, appt.resident_id)
    cfg = settings_for(session, slot.institution_id, to_local(now).date())
    snap = AppointmentSnapshot(appt.id, AppointmentStatus(appt.status), slot.start_at)
    if guarded:
        target = appointment_transition(snap, event, now, cfg.policy)
    else:  # releases by the referral service: the table, without the time rules
        found = TRANSITIONS.get((snap.status, event))
        if found is None:
            raise InvalidTransition(f"预约当前状态（{snap.status.value}）不能释放", code="invalid_transition",
                                    status=snap.status.value, event=event.value)
        target = found
    values: dict[str, Any] = {"status": target.value, "status_changed_at": now, _STAMP[target]: now}
    if target == AppointmentStatus.CANCELLED:
        values.update(active_place=None, cancel_reason=(reason or "").strip()[:200] or None)
    before = audit.snapshot(appt)
    if not repository.set_status(session, appt.id, appt.status, values):
        raise Conflict("该预约已被他人更新，请刷新后重试。", code="stale_version", appointment_id=appt.id)
    if target == AppointmentStatus.CANCELLED:
        repository.give_back_place(session, slot.id)
        session.expire(slot, ["booked_count"])
    appt = _appointment_or_404(session, appointment_id)
    audit.record(session, actor, event.value, "appointment", appt.id, before=before, after=audit.snapshot(appt),
                 resident_id=appt.resident_id)
    publish(session, events.appointment_status(appt.id, appt.resident_id, appt.status, appt.referral_episode_id))
    return appt


def do_cancel(session: Session, actor: Principal, appointment_id: int, reason: str | None = None,
              now: datetime | None = None) -> Appointment:
    return _change(session, actor, appointment_id, AppointmentEvent.CANCEL, now or utcnow(), reason=reason)


def do_release(session: Session, actor: Principal, appointment_id: int, reason: str,
               now: datetime | None = None) -> Appointment:
    """Give back a referral's hold or booking whatever the time (a referral ended, was rescheduled)."""
    return _change(session, actor, appointment_id, AppointmentEvent.CANCEL, now or utcnow(), guarded=False,
                   reason=reason)


def do_mark_no_show(session: Session, actor: Principal, appointment_id: int,
                    now: datetime | None = None) -> Appointment:
    return _change(session, actor, appointment_id, AppointmentEvent.MARK_NO_SHOW, now or utcnow())


def do_check_in(session: Session, actor: Principal, appointment_id: int, now: datetime | None = None) -> Appointment:
    return _change(session, actor, appointment_id, AppointmentEvent.CHECK_IN, now or utcnow())


def do_complete(session: Session, actor: Principal, appointment_id: int, now: datetime | None = None) -> Appointment:
    return _change(session, actor, appointment_id, AppointmentEvent.COMPLETE, now or utcnow())


# ---- release of reserved pools ------------------------------------------------------------


def do_release_reserved(session: Session, actor: Principal, now: datetime | None = None) -> dict[str, int]:
    """Open unused reserved slots to the public once their pool's release time has passed.

    Idempotent: a released slot keeps its ``released_at``; a second run at the same ``now``
    (or later, with no new slot due) changes nothing and reports zeros.
    """
    now = now or utcnow()
    if not actor.is_admin:
        raise Forbidden("只有系统管理员或系统任务可以释放预留号源。", code="permission_denied")
    counts = {PoolKind.REFERRAL.value: 0, PoolKind.CONTRACT.value: 0}
    for p in repository.reserved_pools(session):
        assert p.release_before_minutes is not None
        threshold = now + timedelta(minutes=p.release_before_minutes)
        counts[p.kind] += repository.release_due(session, p.id, now, threshold)
    if any(counts.values()):
        audit.record(session, actor, "release", "slot", detail=f"释放预留号源：{counts}")
        publish(session, events.slots_released(counts))
    return counts


# ---- reads --------------------------------------------------------------------------------


def get_appointment(session: Session, actor: Principal, appointment_id: int) -> Appointment:
    appt = _appointment_or_404(session, appointment_id)
    slot, _pool = _slot_and_pool(session, appt.slot_id)
    _check_booking_actor(session, actor, slot.institution_id, appt.resident_id)
    return appt


@dataclass(frozen=True, slots=True)
class NoShowStatus:
    resident_id: int
    no_shows: int
    blocked_until: datetime | None


def no_show_status(
    session: Session, actor: Principal, resident_id: int, institution_id: int | None = None,
    now: datetime | None = None,
) -> NoShowStatus:
    """Recent no-shows and whether self-booking is blocked (computed, so it lifts on its own)."""
    now = now or utcnow()
    if repository.resident(session, resident_id) is None:
        raise NotFound("居民不存在。", code="resident_not_found", resident_id=resident_id)
    if institution_id is None:
        check_resident_access(session, actor, resident_id)
    else:  # the front desk of the institution asked about may see it, as it may book
        _check_booking_actor(session, actor, institution_id, resident_id)
    policy = settings_for(session, institution_id, to_local(now).date()).policy
    times = repository.no_show_times(session, resident_id, now - timedelta(days=policy.no_show_window_days))
    return NoShowStatus(resident_id, len(times), no_show_blocked_until(times, now, policy))
