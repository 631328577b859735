"""The slots a referral reads: one slot as the pure rules see it, the free slots a referral may hold or
be scheduled into, and a provisioning helper for the demo and tests.

Holds and bookings themselves go through scheduling's service (``execute._slot_effect``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from yilian.core.errors import NotFound, ValidationFailed
from yilian.db.models import Schedule, Slot, SlotPool
from yilian.referrals import repository
from yilian.scheduling import service as scheduling
from yilian.scheduling.rules import PoolKind, SlotInfo, effective_kind

__all__ = ["AvailableSlot", "available_slots", "open_referral_slots", "slot_info"]


def slot_info(session: Session, slot_id: int) -> SlotInfo:
    found = repository.slot_with_pool(session, slot_id)
    if found is None:
        raise NotFound("号源不存在。", code="slot_not_found", slot_id=slot_id)
    slot, pool = found
    return SlotInfo(slot.id, slot.institution_id, slot.start_at, slot.booked_count < slot.capacity,
                    scheduling.pool_of(pool, slot))


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
        p = scheduling.pool_of(pool, slot)
        kind = effective_kind(p, slot.start_at, now)
        if kind == PoolKind.REFERRAL and pool.consortium_id not in referral_consortia:
            continue
        if kind == PoolKind.CONTRACT or (hold and pool.consortium_id not in referral_consortia):
            continue
        out.append(AvailableSlot(slot.id, slot.institution_id, slot.kind, slot.start_at, slot.end_at, kind.value,
                                 slot.capacity - slot.booked_count))
    return out


def open_referral_slots(
    session: Session, institution_id: int, consortium_id: int, starts: list[datetime], *, minutes: int = 30,
    name: str = "转诊预留号源", department_id: int | None = None, release_before_minutes: int | None = None,
    fee: str = "0",
) -> list[Slot]:
    """Provision a schedule with a referral pool for one consortium and one-place slots (demo and tests).

    Written directly, without an actor: scheduling's ``do_create_pool`` / ``do_generate_slots`` want a
    manager of the institution and a weekly session layout, more than a demo or a test world needs.
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
