"""The care fact rows: one row per encounter counted in a date range, with the dimensions and measures
the catalogue needs.  The single definition behind the daily pre-aggregate (``indicator_daily_care``),
the engine's check against records, and the drill-down.

Dating: visits (outpatient, emergency) by visit date, stays by discharge date (a stay still in hospital
has no discharge date and is not counted).  Settlements follow their encounter.  Money is integer cents.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Table,
    case,
    delete,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
)
from sqlalchemy.sql import Subquery

from yilian.db.models import Encounter, InsuranceEnrolment, Resident, Settlement
from yilian.db.models.indicators import IndicatorDailyCare
from yilian.indicators.queries.sql import cents, days_between, month_key
from yilian.indicators.queries.units import county_codes

VISIT_KINDS: Final = ("outpatient", "emergency")
STAY_KIND: Final = "inpatient"
DIMENSIONS: Final = ("day", "institution_id", "kind", "home_division", "county_insured")
MEASURES: Final = ("encounters", "bed_days", "settled", "total_cost_cents", "fund_cents", "drug_cents")
MONEY: Final = frozenset({"total_cost_cents", "fund_cents", "drug_cents"})
DETAIL: Final = ("encounter_id", "resident_id", "start_date", "end_date")

AGGREGATE: Table = IndicatorDailyCare.__table__  # type: ignore[assignment]


def insured_on(day: Any) -> ColumnElement[bool]:
    """The encounter's resident held an insurance enrolment in the county on ``day`` (inclusive periods)."""
    ie = InsuranceEnrolment
    cond: ColumnElement[bool] = exists().where(
        ie.resident_id == Encounter.resident_id,
        ie.insured_division_code.in_(county_codes().scalar_subquery()),
        ie.start_on <= day,
        or_(ie.end_on.is_(None), ie.end_on >= day),
    )
    return cond


def _one(day: Any, kinds: ColumnElement[bool], start: date, end: date, detail: bool) -> Select[Any]:
    e, s = Encounter, Settlement
    stay_days = days_between(e.start_date, e.end_date)
    cols: list[Any] = [
        day.label("day"),
        e.institution_id.label("institution_id"),
        e.kind.label("kind"),
        func.coalesce(Resident.address_division_code, "").label("home_division"),
        case((insured_on(day), 1), else_=0).label("county_insured"),
        literal_column("1", Integer).label("encounters"),
        case((e.kind == STAY_KIND, case((stay_days < 1, 1), else_=stay_days)), else_=0).label("bed_days"),
        case((s.encounter_id.is_not(None), 1), else_=0).label("settled"),
        func.coalesce(cents(s.total_cost), 0).label("total_cost_cents"),
        func.coalesce(cents(s.fund_paid), 0).label("fund_cents"),
        func.coalesce(cents(s.cost_drugs), 0).label("drug_cents"),
    ]
    if detail:
        cols += [e.id.label("encounter_id"), e.resident_id.label("resident_id"), e.start_date.label("start_date"),
                 e.end_date.label("end_date")]
    return (
        select(*cols)
        .select_from(e)
        .join(Resident, Resident.id == e.resident_id)
        .outerjoin(s, s.encounter_id == e.id)
        .where(kinds, day >= start, day <= end)
    )


def fact_rows(start: date, end: date, *, detail: bool = False) -> Subquery:
    """Every visit dated and every stay discharged in [start, end], one row each (columns as the aggregate's,
    plus the encounter's identity when ``detail``)."""
    e = Encounter
    visits = _one(e.start_date, e.kind.in_(VISIT_KINDS), start, end, detail)
    stays = _one(e.end_date, e.kind == STAY_KIND, start, end, detail)
    return visits.union_all(stays).subquery("facts")


def aggregate_select(start: date, end: date) -> Select[Any]:
    """The daily pre-aggregate's rows for [start, end], grouped from the fact rows."""
    f = fact_rows(start, end)
    dims = [f.c[d] for d in DIMENSIONS]
    return select(*dims, *[func.sum(f.c[m]).label(m) for m in MEASURES]).group_by(*dims)


def rebuild_statements(start: date, end: date) -> Sequence[Any]:
    """Delete and re-insert the aggregate for [start, end] (set-based, inside the caller's transaction)."""
    return (
        delete(AGGREGATE).where(AGGREGATE.c.day >= start, AGGREGATE.c.day <= end),
        insert(AGGREGATE).from_select([*DIMENSIONS, *MEASURES], aggregate_select(start, end)),
    )


def fingerprint_selects(start: date, end: date) -> list[Select[Any]]:
    """Cheap per-month counts that change when records of a month are added or removed: visits by visit
    month, stays by discharge month, settlements by settlement month (index-only scans)."""
    e, s = Encounter, Settlement
    visits = (select(month_key(e.start_date).label("m"), func.count().label("n"))
              .where(e.kind.in_(VISIT_KINDS), e.start_date >= start, e.start_date <= end)
              .group_by(month_key(e.start_date)))
    stays = (select(month_key(e.end_date).label("m"), func.count().label("n"))
             .where(e.kind == STAY_KIND, e.end_date >= start, e.end_date <= end)
             .group_by(month_key(e.end_date)))
    settled = (select(month_key(s.settled_on).label("m"), func.count().label("n"))
               .where(s.settled_on >= start, s.settled_on <= end)
               .group_by(month_key(s.settled_on)))
    return [visits, stays, settled]
