"""Scheduling codes (scheduling feature's tables): reserved slot use and the appointment rate.

- ``reserved``: the reserved places (referral and contracted-resident pools) of appointment slots dated in
  the period, attributed to the institution offering them, with the places booked from the reserved pool
  (by a referral or a contracted resident; not cancelled, not a mere hold).  A slot released to the public
  counts as offered and unused whoever books it afterwards (such bookings are made from the public pool).
- ``matched_visits``: outpatient (non-emergency) visits at in-county institutions that match a Yilian
  appointment — same resident, institution and day, not cancelled and not a no-show.  The denominator of
  ``appointment_rate`` (all such visits) comes from the care fact rows.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import Integer, String, and_, case, func, literal_column, select
from sqlalchemy.sql import Subquery

from yilian.db.models import Appointment, Encounter, Institution, Slot, SlotPool
from yilian.indicators.queries.records import RecordCode, Request, Tally
from yilian.indicators.queries.sql import local_date
from yilian.indicators.queries.units import with_unit

RESERVED_POOLS: Final = ("referral", "contract")
LIVE_STATUSES: Final = ("booked", "checked_in", "completed")


def reserved(req: Request) -> Subquery:
    s, p, a = Slot, SlotPool, Appointment
    used = (select(func.count()).where(a.slot_id == s.id, a.pool_kind.in_(RESERVED_POOLS),
                                       a.channel.in_(RESERVED_POOLS), a.status != "cancelled",
                                       a.held.is_(False))
            .correlate(s).scalar_subquery())
    day = local_date(s.start_at)
    stmt = (
        select(literal_column("'slot'", String).label("record_kind"), s.id.label("record_id"),
               literal_column("NULL", Integer).label("resident_id"), day.label("day"),
               s.institution_id.label("institution_id"), s.capacity.label("places"),
               case((used > s.capacity, s.capacity), else_=used).label("used"))
        .select_from(s)
        .join(p, p.id == s.pool_id)
        .where(p.kind.in_(RESERVED_POOLS), s.kind == "appointment", day >= req.start, day <= req.end)
    )
    return with_unit(stmt, req.cut, s.institution_id, day).subquery("reserved")


def matched_visits(req: Request) -> Subquery:
    a, s, e = Appointment, Slot, Encounter
    day = local_date(s.start_at)
    stmt = (
        select(literal_column("'encounter'", String).label("record_kind"), e.id.label("record_id"),
               e.resident_id.label("resident_id"), e.start_date.label("day"),
               e.institution_id.label("institution_id"))
        .select_from(a)
        .join(s, s.id == a.slot_id)
        .join(e, and_(e.resident_id == a.resident_id, e.institution_id == s.institution_id, e.start_date == day,
                      e.kind == "outpatient"))
        .join(Institution, Institution.id == e.institution_id)
        .where(a.status.in_(LIVE_STATUSES), a.held.is_(False), s.kind == "appointment",
               day >= req.start, day <= req.end, Institution.in_county.is_(True))
        .distinct()
    )
    return with_unit(stmt, req.cut, e.institution_id, e.start_date).subquery("matched_visits")


BUILDERS: Final = {"reserved": reserved, "matched_visits": matched_visits}

CODES: Final[tuple[RecordCode, ...]] = (
    RecordCode("reserved_slot_use_rate", "reserved", Tally(weight="used"), Tally(weight="places")),
)
