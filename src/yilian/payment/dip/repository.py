"""The discharges a DIP settlement reads: the settlement year and up to three years before it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from yilian.db.models import Encounter, Institution, Settlement
from yilian.payment.repository import region_condition
from yilian.payment.settlement.repository import INSURED_SCHEMES


def stream_dip_cases(session: Session, first_year: int, last_year: int, division_prefix: str | None,
                     chunk: int = 20_000) -> Iterator[Sequence[Any]]:
    """(id, institution_id, end_date, principal_dx, principal_proc, total_cost, fund_paid) of the insured
    discharges of the region discharged in ``first_year`` … ``last_year``, in encounter order."""
    e, s = Encounter, Settlement
    stmt = (
        select(e.id, e.institution_id, e.end_date, e.principal_dx, e.principal_proc, s.total_cost, s.fund_paid)
        .join(s, s.encounter_id == e.id)
        .join(Institution, Institution.id == e.institution_id)
        .where(e.kind == "inpatient", e.end_date >= date(first_year, 1, 1), e.end_date < date(last_year + 1, 1, 1),
               s.scheme.in_(INSURED_SCHEMES), region_condition(division_prefix))
        .order_by(e.id)
    )
    yield from session.execute(stmt, execution_options={"yield_per": chunk}).partitions()
