"""Two-way referral codes (referrals feature's tables; REFERRAL.md time stamps and copied deadlines).

Referrals are dated by submission (the Asia/Shanghai date of ``submitted_at``); outcomes that come later
(acceptance, closure, follow-up) are counted as of the computing moment ``as_of``.

- ``sent``: referrals submitted in the period, attributed to the sending institution.
- ``received``: the same, attributed to the receiving institution.
- ``lead_stays``: lead-hospital stays discharged in the period, with whether they carry a down-referral.
- ``out_of_county``: the county's insured residents' out-of-county stays discharged in the period, with
  whether they are linked to a referral approved or exempt from approval (people by home).
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, String, and_, case, exists, func, literal, literal_column, or_, select
from sqlalchemy.sql import Subquery

from yilian.core.clock import SHANGHAI
from yilian.db.models import Encounter, Institution, ReferralEpisode, ReferralFollowUpTask, Resident
from yilian.indicators.queries.facts import STAY_KIND, insured_on
from yilian.indicators.queries.records import RecordCode, Request, Tally
from yilian.indicators.queries.sql import add_days, local_date, plus_seconds
from yilian.indicators.queries.units import with_home_unit, with_unit

#: "Approved or exempt from approval" (REFERRAL.md): approved, deemed, exempt or not required.
APPROVED: Final = ("approved", "deemed", "exempt", "not_required")


def _utc_bounds(req: Request) -> tuple[datetime, datetime]:
    """The period's local days as a half-open UTC interval."""
    start = datetime.combine(req.start, time(0), SHANGHAI).astimezone(UTC)
    stop = datetime.combine(req.end + timedelta(days=1), time(0), SHANGHAI).astimezone(UTC)
    return start, stop


def _submitted_in(req: Request) -> ColumnElement[bool]:
    start, stop = _utc_bounds(req)
    r = ReferralEpisode
    cond: ColumnElement[bool] = and_(r.submitted_at.is_not(None), r.submitted_at >= start, r.submitted_at < stop)
    return cond


def _flag(cond: Any) -> Any:
    return case((cond, 1), else_=0)


def _base(req: Request, institution: Any) -> Any:
    r = ReferralEpisode
    return select(literal_column("'referral'", String).label("record_kind"), r.id.label("record_id"),
                  r.resident_id.label("resident_id"), local_date(r.submitted_at).label("day"),
                  institution.label("institution_id")).where(_submitted_in(req))


def sent(req: Request) -> Subquery:
    r = ReferralEpisode
    not_cancelled = r.status != "cancelled"
    accepted = or_(r.accepted_at.is_not(None), r.scheduled_at.is_not(None))
    stmt = _base(req, r.sending_institution_id).add_columns(
        _flag(and_(r.direction == "up", not_cancelled)).label("up_counted"),
        _flag(and_(r.direction == "down", not_cancelled)).label("down_counted"),
        _flag(accepted).label("closure_den"),
        _flag(and_(accepted, r.status == "completed")).label("closure_num"),
    )
    return with_unit(stmt, req.cut, r.sending_institution_id, local_date(r.submitted_at)).subquery("sent")


def received(req: Request) -> Subquery:
    r = ReferralEpisode
    f = ReferralFollowUpTask
    as_of = req.as_of
    reached = or_(r.approval.is_(None), r.approval.not_in(("rejected", "pending")))
    reached_at = case((r.approval.in_(("approved", "deemed")), func.coalesce(r.approved_at, r.submitted_at)),
                      else_=r.submitted_at)
    limit_s = r.deadlines["accept_escalate"].as_integer()
    limit_at = plus_seconds(reached_at, limit_s)
    accepted = r.accepted_at.is_not(None)
    declined_by_receiver = r.end_reason == "declined"
    on_time = and_(accepted, or_(limit_s.is_(None), r.accepted_at < limit_at))
    limit_passed = and_(limit_s.is_not(None), limit_at <= func.coalesce(r.cancelled_at, as_of))
    followup_done = f.done_on.is_not(None)
    stmt = (
        _base(req, r.receiving_institution_id).add_columns(
            _flag(and_(reached, or_(accepted, declined_by_receiver, limit_passed))).label("timely_den"),
            _flag(and_(reached, on_time)).label("timely_num"),
            _flag(and_(r.direction == "down", accepted, f.id.is_not(None),
                       or_(followup_done, f.due_at <= as_of))).label("followup_den"),
            _flag(and_(r.direction == "down", accepted, followup_done,
                       f.done_on <= local_date(f.due_at))).label("followup_num"),
        )
        .outerjoin(f, f.referral_id == r.id)
    )
    return with_unit(stmt, req.cut, r.receiving_institution_id, local_date(r.submitted_at)).subquery("received")


def lead_stays(req: Request) -> Subquery:
    e = Encounter
    r = ReferralEpisode
    after = req.policy.down_referral_days_after_discharge
    carries = exists().where(
        r.direction == "down", r.sending_institution_id == e.institution_id, r.resident_id == e.resident_id,
        r.submitted_at.is_not(None), r.status != "cancelled",
        local_date(r.submitted_at) >= e.start_date, local_date(r.submitted_at) <= add_days(e.end_date, literal(after)))
    stmt = (
        select(literal_column("'encounter'", String).label("record_kind"), e.id.label("record_id"),
               e.resident_id.label("resident_id"), e.end_date.label("day"), e.institution_id.label("institution_id"),
               _flag(carries).label("carries"))
        .where(e.kind == STAY_KIND, e.end_date >= req.start, e.end_date <= req.end)
    )
    return with_unit(stmt, req.cut, e.institution_id, e.end_date, leads=True).subquery("lead_stays")


def out_of_county(req: Request) -> Subquery:
    e = Encounter
    r = ReferralEpisode
    orderly = exists().where(r.id == e.referral_episode_id, r.approval.in_(APPROVED))
    stmt = (
        select(literal_column("'encounter'", String).label("record_kind"), e.id.label("record_id"),
               e.resident_id.label("resident_id"), e.end_date.label("day"), e.institution_id.label("institution_id"),
               _flag(and_(e.referral_episode_id.is_not(None), orderly)).label("orderly"))
        .select_from(e)
        .join(Institution, Institution.id == e.institution_id)
        .join(Resident, Resident.id == e.resident_id)
        .where(e.kind == STAY_KIND, e.end_date >= req.start, e.end_date <= req.end,
               Institution.in_county.is_(False), insured_on(e.end_date))
    )
    return with_home_unit(stmt, req.cut, Resident.address_division_code, e.end_date).subquery("out_of_county")


BUILDERS: Final = {"sent": sent, "received": received, "lead_stays": lead_stays, "out_of_county": out_of_county}

CODES: Final[tuple[RecordCode, ...]] = (
    RecordCode("up_referrals", "sent", Tally("up_counted"), None),
    RecordCode("down_referrals", "sent", Tally("down_counted"), None),
    RecordCode("down_up_ratio", "sent", Tally("down_counted"), Tally("up_counted")),
    RecordCode("down_referral_rate", "lead_stays", Tally("carries"), Tally()),
    RecordCode("referral_timely_accept_rate", "received", Tally("timely_num"), Tally("timely_den")),
    RecordCode("referral_closure_rate", "sent", Tally("closure_num"), Tally("closure_den")),
    RecordCode("down_followup_on_time_rate", "received", Tally("followup_num"), Tally("followup_den")),
    RecordCode("orderly_out_of_county_rate", "out_of_county", Tally("orderly"), Tally()),
)
