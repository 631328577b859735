"""What a global-budget clearing reads: communities of a county, their townships, insured residents,
the year's fund spending charged to a community, workload and signed residents' spending.

Money is summed in integer cents in SQL (``ROUND(fund_paid * 100)``) so sums are exact on SQLite
too, where NUMERIC values are stored as binary floating point.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Integer, and_, cast, distinct, extract, func, or_, select
from sqlalchemy.orm import Session

from yilian.db.models import (
    Consortium,
    ConsortiumMembership,
    Contract,
    Encounter,
    Institution,
    InsuranceEnrolment,
    Resident,
    Settlement,
)

RESIDENT_SCHEME = "resident"


def _overlaps(start_col: Any, end_col: Any, first: date, last: date) -> ColumnElement[bool]:
    return and_(start_col <= last, or_(end_col.is_(None), end_col >= first))


def county_communities(session: Session, county_code: str, first: date, last: date) -> list[Consortium]:
    """County communities (医共体) of a county in force at some time in the year."""
    return list(session.scalars(select(Consortium).where(
        Consortium.mode == "county_community", Consortium.division_code == county_code,
        Consortium.established_on <= last, or_(Consortium.dissolved_on.is_(None), Consortium.dissolved_on > first))
        .order_by(Consortium.code)))


def served_townships(session: Session, consortium_ids: Sequence[int], first: date, last: date) -> dict[str, str]:
    """Township → code of the community whose member centre (primary care, tier 1) serves it."""
    m = ConsortiumMembership
    rows = session.execute(
        select(Institution.division_code, Consortium.code)
        .join(m, m.institution_id == Institution.id).join(Consortium, Consortium.id == m.consortium_id)
        .where(m.consortium_id.in_(list(consortium_ids)), m.role.in_(("lead", "member")), m.joined_on <= last,
               or_(m.left_on.is_(None), m.left_on > first), Institution.is_primary_care.is_(True),
               Institution.tier == 1, func.length(Institution.division_code) == 9)
        .order_by(Institution.division_code, Consortium.code))
    out: dict[str, str] = {}
    for township, community in rows:
        out.setdefault(township, community)
    return out


def _insured(county_prefix: str, first: date, last: date) -> Any:
    e = InsuranceEnrolment
    return select(e.resident_id).where(e.scheme == RESIDENT_SCHEME, e.insured_division_code.like(f"{county_prefix}%"),
                                       _overlaps(e.start_on, e.end_on, first, last))


def insured_by_township(session: Session, county_prefix: str, first: date, last: date) -> dict[str, int]:
    """Insured residents of the county's resident scheme in the year, by home township ('' unknown)."""
    rows = session.execute(
        select(Resident.address_division_code, func.count(distinct(Resident.id)))
        .where(Resident.id.in_(_insured(county_prefix, first, last)))
        .group_by(Resident.address_division_code))
    return {(t or ""): int(n) for t, n in rows}


def _cents(column: Any) -> Any:
    return func.sum(cast(func.round(column * 100), BigInteger))


def spending(session: Session, county_prefix: str, first: date, last: date, townships: Sequence[str] | None
             ) -> list[tuple[int, int, int, int]]:
    """(month, institution_id, settlements, fund cents) of the resident scheme's fund payments for the
    county's insured residents settled in the year — at any institution, in or out of the network;
    only residents of ``townships`` when given (several communities in one county)."""
    s, e = Settlement, Encounter
    stmt = (select(cast(extract("month", s.settled_on), Integer), e.institution_id, func.count(), _cents(s.fund_paid))
            .join(e, e.id == s.encounter_id)
            .where(s.scheme == RESIDENT_SCHEME, s.settled_on >= first, s.settled_on <= last,
                   e.resident_id.in_(_insured(county_prefix, first, last))))
    if townships is not None:
        stmt = stmt.join(Resident, Resident.id == e.resident_id).where(
            Resident.address_division_code.in_(list(townships)))
    stmt = stmt.group_by(cast(extract("month", s.settled_on), Integer), e.institution_id)
    return [(int(m), int(i), int(n), int(c or 0)) for m, i, n, c in session.execute(stmt)]


def inpatient_claims(session: Session, county_prefix: str, first: date, last: date, townships: Sequence[str] | None
                     ) -> list[Any]:
    """The same residents' inpatient claims, for re-running reimbursement (what-if on ratios):
    (encounter id, month, institution id, referral episode, start date, total, policy cost, place, fund)."""
    s, e = Settlement, Encounter
    stmt = (select(e.id, cast(extract("month", s.settled_on), Integer), e.institution_id, e.referral_episode_id,
                   e.start_date, s.total_cost, s.policy_cost, s.place, s.fund_paid)
            .join(e, e.id == s.encounter_id)
            .where(s.scheme == RESIDENT_SCHEME, e.kind == "inpatient", s.settled_on >= first, s.settled_on <= last,
                   e.resident_id.in_(_insured(county_prefix, first, last))))
    if townships is not None:
        stmt = stmt.join(Resident, Resident.id == e.resident_id).where(
            Resident.address_division_code.in_(list(townships)))
    return list(session.execute(stmt.order_by(e.referral_episode_id, e.start_date, e.id)))


def workload(session: Session, institution_ids: Sequence[int], first: date, last: date) -> dict[int, int]:
    """Encounters (visits and stays) at each institution in the year: the within-tier fallback basis."""
    rows = session.execute(select(Encounter.institution_id, func.count())
                           .where(Encounter.institution_id.in_(list(institution_ids)), Encounter.start_date >= first,
                                  Encounter.start_date <= last)
                           .group_by(Encounter.institution_id))
    return {int(i): int(n) for i, n in rows}


def signed_inpatient_cents(session: Session, institution_ids: Sequence[int], first: date, last: date) -> int:
    """Luohu: fund payments for the inpatient stays (anywhere) of residents with a contract in force in
    the year at one of the institutions, settled in the year."""
    c = Contract
    signed = select(c.resident_id).where(c.institution_id.in_(list(institution_ids)), c.start_on <= last,
                                          c.end_on >= first, or_(c.stop_on.is_(None), c.stop_on > first))
    s, e = Settlement, Encounter
    total = session.scalar(select(_cents(s.fund_paid)).join(e, e.id == s.encounter_id)
                           .where(e.kind == "inpatient", s.settled_on >= first, s.settled_on <= last,
                                  e.resident_id.in_(signed)))
    return int(total or 0)
