"""Builders of the payment service tests: a small county and its discharges, inserted set-based.

Codes come from the built-in demo pack (``payment/drg/demo_pack``), so grouping needs no shared data:
``I50.900`` alone → FR25, with ``E11.900`` (CC) → FR23, with ``J96.000`` (MCC) → FR21; ``J18.000`` →
ES35; ``I10.x00`` → FT29; ``M54.500`` is known but in no MDC (ungrouped); ``X99.999`` is unknown
(invalid).  Money is whole yuan so SQLite's float storage keeps the settlement checks exact.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.orm import Session

from builders import consortium, division, institution, member
from yilian.core.clock import utcnow
from yilian.db.models import (
    Consortium,
    Encounter,
    Institution,
    InsuranceEnrolment,
    Resident,
    Settlement,
)
from yilian.payment.drg.pack import DEMO_PACK_DIR

_seq = itertools.count(1)
COUNTY = "320999"
FR23 = ("I50.900", "E11.900")
FR25 = ("I50.900",)
FR21 = ("I50.900", "J96.000")
ES35 = ("J18.000",)
FT29 = ("I10.x00",)
UNGROUPED = ("M54.500",)
INVALID = ("X99.999",)
DEMO = DEMO_PACK_DIR


@dataclass
class County:
    tertiary: Institution  # 三级, county hospital
    secondary: Institution  # 二级
    centre: Institution  # township centre (primary, tier 1)
    clinic: Institution  # village clinic (tier 0)
    outside: Institution  # out of county
    community: Consortium
    townships: list[str] = field(default_factory=list)


def county(session: Session) -> County:
    division(session, COUNTY, "测试县", "county")
    township = f"{COUNTY}101"
    division(session, township, "测试镇", "township", parent_code=COUNTY)
    tertiary = institution(session, category="A100", level="3", division_code=COUNTY)
    secondary = institution(session, category="A100", level="2", division_code=COUNTY)
    centre = institution(session, category="C210", level="unrated", division_code=township)
    clinic = institution(session, category="D600", level="unrated", division_code=township, parent_id=centre.id)
    outside = institution(session, category="A100", level="3", division_code="320100")
    outside.in_county = False
    session.flush()
    community = consortium(session, lead=tertiary, division_code=COUNTY)
    member(session, community, secondary)
    member(session, community, centre)
    member(session, community, clinic)
    return County(tertiary, secondary, centre, clinic, outside, community, [township])


@dataclass(frozen=True)
class Stay:
    institution: Institution
    codes: Sequence[str]
    cost: int  # whole yuan
    discharged: date = date(2025, 3, 10)
    procedures: Sequence[str] = ()
    sex: int = 1
    age: int = 70
    scheme: str = "resident"
    fund: int | None = None  # default: the fund pays everything
    kind: str = "inpatient"
    resident: int | None = None  # reuse a resident id
    township: str | None = None


def residents(session: Session, n: int, *, township: str | None = None, sex: int = 1,
              insured: bool = True, start: date = date(2020, 1, 1)) -> list[int]:
    now = utcnow()
    first = next(_seq) * 100_000
    rows = [{"name": f"居民{first + i}", "sex": sex, "birth_date": date(1955, 1, 1), "created_at": now,
             "updated_at": now, "address_division_code": township} for i in range(n)]
    ids = [session.execute(insert(Resident).returning(Resident.id), [row]).scalar_one() for row in rows]
    if insured:
        session.execute(insert(InsuranceEnrolment), [
            {"resident_id": rid, "scheme": "resident", "insured_division_code": COUNTY, "start_on": start,
             "end_on": None} for rid in ids])
    return ids


def add_stays(session: Session, stays: Sequence[Stay]) -> list[int]:
    """Insert encounters with their settlements (two executemany statements); returns encounter ids."""
    now = utcnow()
    need = [s for s in stays if s.resident is None]
    by_sex = {sex: iter(residents(session, sum(1 for s in need if s.sex == sex),
                                  township=need[0].township if need else None, sex=sex))
              for sex in {s.sex for s in need}}
    enc_rows, ids = [], []
    for s in stays:
        n = next(_seq)
        rid = s.resident if s.resident is not None else next(by_sex[s.sex])
        start = s.discharged - timedelta(days=5) if s.kind == "inpatient" else s.discharged
        enc_rows.append({
            "source_system": "TEST", "source_id": f"P{n:08d}", "resident_id": rid, "institution_id": s.institution.id,
            "kind": s.kind, "start_date": start, "end_date": s.discharged if s.kind == "inpatient" else None,
            "los_days": 5 if s.kind == "inpatient" else None, "discharge_mode": "1", "age_years": s.age,
            "principal_dx": s.codes[0], "diagnoses": "|".join(s.codes),
            "principal_proc": s.procedures[0] if s.procedures else None,
            "procedures": "|".join(s.procedures) or None, "received_at": now})
    for row in enc_rows:
        ids.append(session.execute(insert(Encounter).returning(Encounter.id), [row]).scalar_one())
    set_rows = []
    for eid, s in zip(ids, stays, strict=True):
        total = Decimal(s.cost)
        fund = Decimal(s.fund if s.fund is not None else s.cost)
        set_rows.append({
            "encounter_id": eid, "settled_on": s.discharged, "scheme": s.scheme,
            "place": "primary" if s.institution.is_primary_care else "county", "in_county": s.institution.in_county,
            "source": "his", "total_cost": total, "cost_drugs": total, "cost_exams": Decimal(0),
            "cost_treatment": Decimal(0), "cost_materials": Decimal(0), "cost_beds": Decimal(0),
            "cost_other": Decimal(0), "policy_cost": total, "deductible": Decimal(0), "ratio": Decimal("1"),
            "fund_paid": fund, "patient_paid": total - fund})
    session.execute(insert(Settlement), set_rows)
    session.flush()
    return ids


def mixed_year(c: County, year: int = 2025, scale: int = 1) -> list[Stay]:
    """A year with normal stays, outliers, an ungrouped and an invalid one, across the levels."""
    stays: list[Stay] = []
    for i in range(6 * scale):
        month = date(year, 1 + i % 12, 5 + i % 20)
        stays += [
            Stay(c.tertiary, FR23, 9000 + 37 * i, month), Stay(c.tertiary, FR25, 7000 + 11 * i, month),
            Stay(c.secondary, FR23, 6000 + 13 * i, month), Stay(c.secondary, ES35, 4000 + 7 * i, month),
            Stay(c.centre, ES35, 2500 + 5 * i, month), Stay(c.centre, FT29, 1800 + 3 * i, month),
            Stay(c.tertiary, FR21, 15000 + 101 * i, month),
        ]
    stays += [
        Stay(c.tertiary, FR23, 60000, date(year, 6, 1)),  # high outlier
        Stay(c.secondary, FR23, 800, date(year, 7, 1)),  # low outlier
        Stay(c.centre, UNGROUPED, 1500, date(year, 8, 1)),
        Stay(c.secondary, INVALID, 2100, date(year, 9, 1)),
        Stay(c.outside, FR23, 9999, date(year, 9, 1)),  # out of county: not the region's to settle
        Stay(c.tertiary, FR23, 9999, date(year, 9, 1), scheme="self_pay"),  # self-pay: not the fund's
        Stay(c.tertiary, FR23, 9999, date(year - 1, 12, 31)),  # another year
    ]
    return stays


def weights_file(tmp: Path, rows: dict[str, tuple[str, str]], city: str | None = "5270.76") -> Path:
    """A ``drg,rw,avg_cost`` file; ``city`` None leaves out the ``*`` row."""
    lines = ["drg,rw,avg_cost"]
    if city is not None:
        lines.append(f"*,,{city}")
    lines += [f"{drg},{rw},{avg}" for drg, (rw, avg) in rows.items()]
    path = tmp / "weights.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
