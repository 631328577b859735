"""Shared helpers of the simulation tests: generate into a URL, read back, measure by plain SQL."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, text

from yilian.db.session import make_engine, session_scope
from yilian.simulation.runner import Request, simulate


def generate(url: str, preset: str = "target-2025", residents: int = 3000, seed: int = 7,
             **kw: Any) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            return simulate(session, Request(preset=preset, residents=residents, year=None, seed=seed, **kw))
    finally:
        engine.dispose()


def rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as c:
        return list(c.execute(text(sql), params))


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as c:
        return c.execute(text(sql), params).scalar()


_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d")


def _norm(v: Any) -> str:
    """One text form per value whatever the driver returned (SQLite: 1 / 0.0 / text timestamps;
    PostgreSQL: True / Decimal / aware datetimes)."""
    if isinstance(v, bool):
        return str(int(v))
    if isinstance(v, int | float | Decimal):
        return format(Decimal(str(v)).normalize(), "f")
    if isinstance(v, str) and _TIMESTAMP.match(v):
        v = datetime.fromisoformat(v)
    if isinstance(v, datetime):
        return (v if v.tzinfo else v.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    if isinstance(v, date):
        return v.isoformat()
    return "" if v is None else str(v)


def data_hash(engine: Engine) -> str:
    """Hash of every encounter and settlement row in id order (database-independent forms)."""
    h = hashlib.sha256()
    for sql in ("select id, source_system, source_id, resident_id, institution_id, department_id, practitioner_id, "
                "kind, start_date, end_date, los_days, discharge_mode, age_years, age_days, birth_weight_g, "
                "principal_dx, diagnoses, principal_proc, procedures, received_at from encounter order by id",
                "select encounter_id, settled_on, scheme, place, in_county, source, total_cost, cost_drugs, "
                "cost_exams, cost_treatment, cost_materials, cost_beds, cost_other, policy_cost, deductible, ratio, "
                "fund_paid, patient_paid from settlement order by encounter_id",
                "select id, name, sex, birth_date, address_division_code, id_hash from resident order by id"):
        for row in rows(engine, sql):
            h.update("\x1f".join(_norm(v) for v in row).encode())
            h.update(b"\x1e")
    return h.hexdigest()


# ---- the calibrated indicators, by INDICATORS.md's definitions, in plain SQL -------------------

IN_COUNTY = "(i.in_county = :t and (i.division_code = :county or i.division_code like :county_prefix))"
INSURED = ("exists (select 1 from insurance_enrolment ie where ie.resident_id = e.resident_id "
           "and ie.insured_division_code = :county and ie.start_on <= e.end_date "
           "and (ie.end_on is null or ie.end_on >= e.end_date))")


def indicator_values(engine: Engine, county: str, year: int) -> dict[str, float]:
    p = {"county": county, "county_prefix": county + "%", "t": True, "first": date(year, 1, 1),
         "last": date(year, 12, 31)}
    visits = rows(engine, f"""
        select count(*),
               sum(case when i.is_primary_care = :t then 1 else 0 end),
               sum(case when i.category in ('C210', 'C220') then 1 else 0 end)
        from encounter e join institution i on i.id = e.institution_id
        where e.kind in ('outpatient', 'emergency') and e.start_date between :first and :last and {IN_COUNTY}""",
                  **p)[0]
    stays_in = rows(engine, f"""
        select count(*), sum(case when i.is_primary_care = :t then 1 else 0 end)
        from encounter e join institution i on i.id = e.institution_id
        where e.kind = 'inpatient' and e.end_date between :first and :last and {IN_COUNTY}""", **p)[0]
    retention = rows(engine, f"""
        select count(*), sum(case when {IN_COUNTY} then 1 else 0 end)
        from encounter e join institution i on i.id = e.institution_id
        where e.kind = 'inpatient' and e.end_date between :first and :last and {INSURED}""", **p)[0]
    money = rows(engine, f"""
        select sum(s.fund_paid), sum(s.total_cost)
        from encounter e join settlement s on s.encounter_id = e.id
        where e.kind = 'inpatient' and e.end_date between :first and :last and {INSURED}""", **p)[0]
    return {
        "primary_visit_share": visits[1] / visits[0],
        "township_visit_share": visits[2] / visits[0],
        "primary_inpatient_share": stays_in[1] / stays_in[0],
        "county_retention_inpatient": retention[1] / retention[0],
        "effective_reimbursement_rate": float(money[0]) / float(money[1]),
    }
