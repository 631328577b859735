"""The discharges a settlement reads: one streamed query, no ORM object per row.

A discharge is an inpatient encounter whose discharge date (``end_date``) falls in the year, at an
institution of the region (in county, within the division when one is given), with an insured
settlement (scheme ``resident`` or ``employee``; self-pay stays are not the fund's to pay).  Rows
come in encounter-id order so that every run sums in the same order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from sqlalchemy import BigInteger, Select, cast, func, select, text
from sqlalchemy.orm import Session

from yilian.db.models import Encounter, Institution, Resident, Settlement
from yilian.payment.repository import region_condition

INSURED_SCHEMES = ("resident", "employee")


def year_bounds(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year + 1, 1, 1)


def _filtered(stmt: Select[Any], year: int, division_prefix: str | None) -> Select[Any]:
    start, end = year_bounds(year)
    e, s = Encounter, Settlement
    return (stmt.join(s, s.encounter_id == e.id)
            .join(Institution, Institution.id == e.institution_id)
            .where(e.kind == "inpatient", e.end_date >= start, e.end_date < end, s.scheme.in_(INSURED_SCHEMES),
                   region_condition(division_prefix)))


def discharges_query(year: int, division_prefix: str | None) -> Select[Any]:
    """(id, institution_id, end_date, sex, age_years, age_days, birth_weight_g, diagnoses, procedures,
    total_cost) of the year's insured discharges in the region."""
    e = Encounter
    stmt = select(e.id, e.institution_id, e.end_date, Resident.sex, e.age_years, e.age_days, e.birth_weight_g,
                  e.diagnoses, e.procedures, Settlement.total_cost)
    return _filtered(stmt, year, division_prefix).join(Resident, Resident.id == e.resident_id).order_by(e.id)


def institution_totals(session: Session, year: int, division_prefix: str | None) -> dict[int, tuple[int, int, int]]:
    """Per institution, by one GROUP BY: (discharges, total cost in cents, fund payments in cents)."""
    s = Settlement

    def cents(column: Any) -> Any:
        return func.sum(cast(func.round(column * 100), BigInteger))

    stmt = _filtered(select(Encounter.institution_id, func.count(), cents(s.total_cost), cents(s.fund_paid)),
                     year, division_prefix).group_by(Encounter.institution_id)
    return {int(i): (int(n), int(c or 0), int(f or 0)) for i, n, c, f in session.execute(stmt)}


def count_discharges(session: Session, year: int, division_prefix: str | None) -> int:
    sub = discharges_query(year, division_prefix).order_by(None).subquery()
    return int(session.scalar(select(func.count()).select_from(sub)) or 0)


def stream_discharges(session: Session, year: int, division_prefix: str | None,
                      chunk: int = 20_000) -> Iterator[Sequence[Any]]:
    """The year's discharges in chunks (server-side cursor on PostgreSQL).  Core rows through the
    session's connection: the ORM's result machinery would cost a microsecond a row for nothing.
    On PostgreSQL the sort gets memory and the cursor is planned for reading every row."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL work_mem = '256MB'"))
        conn.execute(text("SET LOCAL cursor_tuple_fraction = 1.0"))
    result = conn.execute(discharges_query(year, division_prefix),
                                          execution_options={"yield_per": chunk})
    yield from result.partitions()
