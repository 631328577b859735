"""Scheduling queries: the only SQL of the feature.

The two writes that must be atomic under concurrency are single statements here:
``take_place`` (a conditional ``UPDATE … booked_count + 1 WHERE booked_count < capacity``,
checked by its row count) and ``set_status`` (a compare-and-set on the appointment's
status), so two bookers of the last place, or two people cancelling one booking, cannot
both succeed on either database.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from yilian.db.models import (
    Appointment,
    Department,
    Institution,
    Practitioner,
    Resident,
    Schedule,
    SchedulingPolicySetting,
    Slot,
    SlotPool,
    Ward,
)

# ---- facts from other features ------------------------------------------------------------


def institution(session: Session, institution_id: int) -> Institution | None:
    return session.get(Institution, institution_id)


def institution_by_code(session: Session, code: str) -> Institution | None:
    return session.scalar(select(Institution).where(Institution.code == code))


def department(session: Session, department_id: int) -> Department | None:
    return session.get(Department, department_id)


def departments_at(session: Session, institution_ids: set[int] | None) -> list[Department]:
    stmt = select(Department).order_by(Department.institution_id, Department.code)
    if institution_ids is not None:
        stmt = stmt.where(Department.institution_id.in_(institution_ids))
    return list(session.scalars(stmt))


def practitioner(session: Session, practitioner_id: int) -> Practitioner | None:
    return session.get(Practitioner, practitioner_id)


def resident(session: Session, resident_id: int) -> Resident | None:
    return session.get(Resident, resident_id)


def resident_names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.execute(select(Resident.id, Resident.name).where(Resident.id.in_(wanted))).tuples()
    return {rid: name for rid, name in rows}


# ---- policy -------------------------------------------------------------------------------


def policy_rows(session: Session, institution_id: int | None, on: date) -> list[SchedulingPolicySetting]:
    """Rows in force on ``on``: the institution's (first) and the system-wide ones, newest first."""
    levels: list[ColumnElement[bool]] = [SchedulingPolicySetting.institution_id.is_(None)]
    if institution_id is not None:
        levels.append(SchedulingPolicySetting.institution_id == institution_id)
    stmt = select(SchedulingPolicySetting).where(or_(*levels), SchedulingPolicySetting.valid_from <= on)
    rows = list(session.scalars(stmt.order_by(SchedulingPolicySetting.valid_from.desc())))
    return sorted(rows, key=lambda r: r.institution_id is None)


# ---- pools, schedules, wards --------------------------------------------------------------


def pool(session: Session, pool_id: int) -> SlotPool | None:
    return session.get(SlotPool, pool_id)


def pools_of(session: Session, institution_id: int) -> list[SlotPool]:
    stmt = select(SlotPool).where(SlotPool.institution_id == institution_id).order_by(SlotPool.kind, SlotPool.id)
    return list(session.scalars(stmt))


def public_pool(session: Session, institution_id: int) -> SlotPool | None:
    stmt = select(SlotPool).where(SlotPool.institution_id == institution_id, SlotPool.kind == "public")
    return session.scalars(stmt.order_by(SlotPool.id).limit(1)).first()


def reserved_pools(session: Session) -> list[SlotPool]:
    stmt = select(SlotPool).where(SlotPool.kind != "public", SlotPool.release_before_minutes.is_not(None))
    return list(session.scalars(stmt.order_by(SlotPool.id)))


def schedule(session: Session, schedule_id: int) -> Schedule | None:
    return session.get(Schedule, schedule_id)


def schedules_of_department(session: Session, department_id: int) -> list[Schedule]:
    stmt = select(Schedule).where(Schedule.department_id == department_id, Schedule.active.is_(True))
    return list(session.scalars(stmt.order_by(Schedule.id)))


def ward(session: Session, ward_id: int) -> Ward | None:
    return session.get(Ward, ward_id)


def ward_by_code(session: Session, institution_id: int, code: str) -> Ward | None:
    return session.scalar(select(Ward).where(Ward.institution_id == institution_id, Ward.code == code))


# ---- slots --------------------------------------------------------------------------------


def slot(session: Session, slot_id: int) -> Slot | None:
    return session.get(Slot, slot_id, populate_existing=True)


def slot_exists(session: Session, *, schedule_id: int | None, ward_id: int | None, pool_id: int,
                start: datetime) -> bool:
    stmt = select(Slot.id).where(
        Slot.schedule_id == schedule_id if schedule_id is not None else Slot.schedule_id.is_(None),
        Slot.ward_id == ward_id if ward_id is not None else Slot.ward_id.is_(None),
        Slot.pool_id == pool_id, Slot.start_at == start,
    )
    return session.scalar(stmt.limit(1)) is not None


def slots(
    session: Session, *, schedule_ids: Iterable[int] | None = None, ward_id: int | None = None,
    institution_id: int | None = None, start: datetime, stop: datetime,
) -> list[tuple[Slot, SlotPool]]:
    stmt = (
        select(Slot, SlotPool).join(SlotPool, SlotPool.id == Slot.pool_id)
        .where(Slot.start_at >= start, Slot.start_at < stop)
    )
    if schedule_ids is not None:
        stmt = stmt.where(Slot.schedule_id.in_(set(schedule_ids)))
    if ward_id is not None:
        stmt = stmt.where(Slot.ward_id == ward_id)
    if institution_id is not None:
        stmt = stmt.where(Slot.institution_id == institution_id)
    return [(s, p) for s, p in session.execute(stmt.order_by(Slot.start_at, SlotPool.kind, Slot.id)).tuples()]


def take_place(session: Session, slot_id: int, pool_id: int, now: datetime) -> bool:
    """Atomically take one place of a slot still in the future and in the pool the checks saw."""
    stmt = (
        update(Slot)
        .where(Slot.id == slot_id, Slot.pool_id == pool_id, Slot.booked_count < Slot.capacity, Slot.start_at > now)
        .values(booked_count=Slot.booked_count + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(session.execute(stmt).rowcount == 1)  # type: ignore[attr-defined]


def give_back_place(session: Session, slot_id: int) -> None:
    stmt = (
        update(Slot).where(Slot.id == slot_id, Slot.booked_count > 0)
        .values(booked_count=Slot.booked_count - 1).execution_options(synchronize_session=False)
    )
    session.execute(stmt)


def active_places(session: Session, slot_id: int) -> set[int]:
    stmt = select(Appointment.active_place).where(Appointment.slot_id == slot_id, Appointment.active_place.is_not(None))
    return {p for p in session.scalars(stmt) if p is not None}


def release_due(session: Session, pool_id: int, now: datetime, threshold: datetime) -> int:
    """Open a reserved pool's unused slots starting by ``threshold`` (and still ahead) to the public."""
    stmt = (
        update(Slot)
        .where(Slot.pool_id == pool_id, Slot.released_at.is_(None), Slot.start_at <= threshold, Slot.start_at > now,
               Slot.booked_count < Slot.capacity)
        .values(released_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(session.execute(stmt).rowcount or 0)  # type: ignore[attr-defined]


# ---- appointments -------------------------------------------------------------------------


def appointment(session: Session, appointment_id: int) -> Appointment | None:
    return session.get(Appointment, appointment_id, populate_existing=True)


def active_booking_of(session: Session, slot_id: int, resident_id: int) -> Appointment | None:
    stmt = select(Appointment).where(
        Appointment.slot_id == slot_id, Appointment.resident_id == resident_id, Appointment.active_place.is_not(None)
    )
    return session.scalars(stmt.limit(1)).first()


def appointments_of_slots(session: Session, slot_ids: Iterable[int]) -> dict[int, list[Appointment]]:
    ids = set(slot_ids)
    out: dict[int, list[Appointment]] = {i: [] for i in ids}
    if not ids:
        return out
    stmt = select(Appointment).where(Appointment.slot_id.in_(ids)).order_by(Appointment.slot_id, Appointment.place)
    for a in session.scalars(stmt):
        out[a.slot_id].append(a)
    return out


def set_status(session: Session, appointment_id: int, from_status: str, values: dict[str, Any]) -> bool:
    """Compare-and-set: only the writer that still finds ``from_status`` changes the row."""
    stmt = (
        update(Appointment)
        .where(Appointment.id == appointment_id, Appointment.status == from_status)
        .values(version=Appointment.version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(session.execute(stmt).rowcount == 1)  # type: ignore[attr-defined]


def no_show_times(session: Session, resident_id: int, since: datetime) -> list[datetime]:
    stmt = select(Appointment.no_show_at).where(
        Appointment.resident_id == resident_id, Appointment.status == "no_show", Appointment.no_show_at > since
    )
    return [t for t in session.scalars(stmt) if t is not None]


def appointments_of_resident(session: Session, resident_id: int, since: datetime) -> list[tuple[Appointment, Slot]]:
    stmt = (
        select(Appointment, Slot).join(Slot, Slot.id == Appointment.slot_id)
        .where(Appointment.resident_id == resident_id, Slot.start_at >= since)
        .order_by(Slot.start_at)
    )
    return [(a, s) for a, s in session.execute(stmt).tuples()]


def departments_with_schedules(session: Session, institution_id: int | None) -> list[tuple[Department, Institution]]:
    stmt = (
        select(Department, Institution)
        .join(Institution, Institution.id == Department.institution_id)
        .where(Department.id.in_(select(Schedule.department_id).where(Schedule.active.is_(True))))
        .order_by(Institution.name, Department.name)
    )
    if institution_id is not None:
        stmt = stmt.where(Department.institution_id == institution_id)
    return [(d, i) for d, i in session.execute(stmt).tuples()]


def episode_appointment(session: Session, episode_id: int, slot_id: int) -> Appointment | None:
    """The referral episode's hold or booking that still occupies a place of the slot."""
    stmt = select(Appointment).where(
        Appointment.referral_episode_id == episode_id, Appointment.slot_id == slot_id,
        Appointment.active_place.is_not(None),
    )
    return session.scalars(stmt.order_by(Appointment.id.desc()).limit(1)).first()
