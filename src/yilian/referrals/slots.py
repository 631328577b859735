"""Holds and bookings of a referral on scheduling's slots and appointments.

**Temporary home.**  These belong to scheduling's service (helper-8 is building it);
until it lands, the referral feature writes the same rows the same way scheduling's
model documents: a place is taken by one conditional ``UPDATE slot SET booked_count =
booked_count + 1 WHERE booked_count < capacity`` checked by its row count (a lost race is
Conflict ``slot_taken``), the appointment occupies ``active_place`` (unique per slot),
and a release clears it and gives the place back.  A referral's hold is an appointment
with ``held`` set.  When scheduling's ``do_hold`` / ``do_book`` / ``do_release`` exist,
``execute`` should call them instead and this module shrinks to ``slot_info``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from yilian.core.errors import Conflict, NotFound, ValidationFailed
from yilian.db.models import Appointment, Schedule, Slot, SlotPool
from yilian.referrals import repository
from yilian.scheduling.rules import BookingFlags, Pool, PoolKind, SlotInfo, effective_kind
from yilian.scheduling.states import AppointmentStatus

__all__ = [
    "AvailableSlot", "available_slots", "book", "hold", "open_referral_slots", "release", "set_status", "slot_info",
]


def _pool(pool: SlotPool) -> Pool:
    lead = None if pool.release_before_minutes is None else timedelta(minutes=pool.release_before_minutes)
    return Pool(PoolKind(pool.kind), pool.institution_id, pool.consortium_id, lead)


def slot_info(session: Session, slot_id: int) -> SlotInfo:
    found = repository.slot_with_pool(session, slot_id)
    if found is None:
        raise NotFound("号源不存在。", code="slot_not_found", slot_id=slot_id)
    slot, pool = found
    return SlotInfo(slot.id, slot.institution_id, slot.start_at, slot.booked_count < slot.capacity, _pool(pool))


@dataclass(frozen=True, slots=True)
class AvailableSlot:
    id: int
    institution_id: int
    kind: str
    start_at: datetime
    end_at: datetime
    pool_kind: str
    free: int


def available_slots(
    session: Session, institution_id: int, now: datetime, *, referral_consortia: frozenset[int], hold: bool,
    days: int = 14,
) -> list[AvailableSlot]:
    """Free future slots of the receiver a referral from these consortia may use: for a hold only the
    referral pools open to them; for scheduling also public slots (and released reserved ones)."""
    kinds = ("referral",) if hold else ("referral", "public", "contract")
    out: list[AvailableSlot] = []
    for slot, pool in repository.slots_at(session, institution_id, now, now + timedelta(days=days), kinds):
        p = _pool(pool)
        kind = effective_kind(p, slot.start_at, now)
        if kind == PoolKind.REFERRAL and pool.consortium_id not in referral_consortia:
            continue
        if kind == PoolKind.CONTRACT or (hold and pool.consortium_id not in referral_consortia):
            continue
        out.append(AvailableSlot(slot.id, slot.institution_id, slot.kind, slot.start_at, slot.end_at, kind.value,
                                 slot.capacity - slot.booked_count))
    return out


def _take(session: Session, slot_id: int) -> Slot:
    if not repository.take_place(session, slot_id):
        raise Conflict("该号源已被占用", code="slot_taken", slot_id=slot_id)
    slot = session.get(Slot, slot_id, populate_existing=True)
    assert slot is not None
    return slot


def hold(session: Session, referral_id: int, resident_id: int, slot_id: int, pool_kind: PoolKind,
         user_id: int | None, now: datetime) -> Appointment:
    """Submission (row 1): occupy a place of a referral-pool slot, not yet a booking."""
    slot = _take(session, slot_id)
    place = repository.free_place(session, slot_id, slot.capacity)
    appt = Appointment(
        slot_id=slot_id, place=place, active_place=place, resident_id=resident_id,
        status=AppointmentStatus.BOOKED.value, held=True, channel="referral", pool_kind=pool_kind.value,
        self_booking=False, registration_fee_waived=False, priority=False, referral_episode_id=referral_id,
        booked_by=user_id, booked_at=now, status_changed_at=now, version=1,
    )
    session.add(appt)
    session.flush()
    return appt


def book(session: Session, referral_id: int, resident_id: int, slot_id: int, flags: BookingFlags,
         pool_kind: PoolKind, user_id: int | None, now: datetime) -> Appointment:
    """Rows 5, 7, 8, 18: the episode's hold on this slot becomes a booking, or a new place is booked."""
    appt = repository.episode_appointment(session, referral_id, slot_id)
    if appt is not None and appt.held and appt.active_place is not None:
        appt.held = False
        appt.booked_by = user_id
        appt.booked_at = now
    else:
        slot = _take(session, slot_id)
        place = repository.free_place(session, slot_id, slot.capacity)
        appt = Appointment(
            slot_id=slot_id, place=place, active_place=place, resident_id=resident_id,
            status=AppointmentStatus.BOOKED.value, held=False, channel="referral", pool_kind=pool_kind.value,
            self_booking=False, referral_episode_id=referral_id, booked_by=user_id, booked_at=now, version=1,
        )
        session.add(appt)
    appt.registration_fee_waived = flags.registration_fee_waived
    appt.priority = flags.priority
    appt.status_changed_at = now
    session.flush()
    return appt


def release(session: Session, referral_id: int, slot_id: int, reason: str, now: datetime) -> None:
    """Give back the episode's hold or open booking on the slot (ended, rescheduled, hold expired)."""
    appt = repository.episode_appointment(session, referral_id, slot_id)
    if appt is None or appt.active_place is None:
        return
    if appt.status == AppointmentStatus.BOOKED.value:
        appt.status = AppointmentStatus.CANCELLED.value
        appt.cancelled_at = now
        appt.cancel_reason = reason[:200]
        appt.status_changed_at = now
    appt.active_place = None
    appt.version += 1
    session.flush()
    repository.give_place_back(session, slot_id)


def set_status(session: Session, referral_id: int, slot_id: int, status: AppointmentStatus, now: datetime) -> None:
    """Rows 9 and 10: the booking is marked no-show (feeds the repeated no-show rule) or checked in."""
    appt = repository.episode_appointment(session, referral_id, slot_id)
    if appt is None or appt.status != AppointmentStatus.BOOKED.value:
        return
    appt.status = status.value
    appt.status_changed_at = now
    if status == AppointmentStatus.NO_SHOW:
        appt.no_show_at = now
    elif status == AppointmentStatus.CHECKED_IN:
        appt.checked_in_at = now
    appt.version += 1
    session.flush()


def open_referral_slots(
    session: Session, institution_id: int, consortium_id: int, starts: list[datetime], *, minutes: int = 30,
    name: str = "转诊预留号源", department_id: int | None = None, release_before_minutes: int | None = None,
    fee: str = "0",
) -> list[Slot]:
    """Provision a schedule with a referral pool for one consortium and one-place slots (demo and tests).

    Stand-in for scheduling's schedule / pool service, which is not there yet.
    """
    from decimal import Decimal

    from yilian.core.clock import utcnow

    now = utcnow()
    pool = SlotPool(institution_id=institution_id, kind="referral", consortium_id=consortium_id, name=name,
                    release_before_minutes=release_before_minutes, created_at=now)
    session.add(pool)
    practitioner_id = None
    if department_id is None:
        deps = repository.departments_of(session, institution_id)
        department_id = deps[0].id if deps else None
    if department_id is None:
        practitioner_id = repository.first_practitioner_at(session, institution_id)
    if department_id is None and practitioner_id is None:
        raise ValidationFailed("该机构没有科室或医务人员，无法建立出诊号源。", code="schedule_owner_required")
    schedule = Schedule(institution_id=institution_id, department_id=department_id, practitioner_id=practitioner_id,
                        name=name, registration_fee=Decimal(fee), active=True, created_at=now)
    session.add(schedule)
    session.flush()
    slots = [Slot(institution_id=institution_id, schedule_id=schedule.id, pool_id=pool.id, kind="appointment",
                  start_at=s, end_at=s + timedelta(minutes=minutes), capacity=1, booked_count=0, created_at=now)
             for s in starts]
    session.add_all(slots)
    session.flush()
    return slots
