"""Builders of the care tests: a tiny county, residents registered with ID numbers, payloads, CSV."""

from __future__ import annotations

import copy
import csv
import io
import itertools
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from builders import institution
from yilian.care.layout import COLUMNS
from yilian.core.clock import utcnow
from yilian.db.models import AuditLog, CareRelationship, Department, Encounter, Institution, Resident, Settlement
from yilian.residents.crypto import cipher
from yilian.residents.idcard import make_id_number, mask_id_number

_seq = itertools.count(1)


@dataclass
class County:
    township: Institution  # 中心卫生院, primary care, in county
    hospital: Institution  # 县医院, 二级, in county
    city: Institution  # 市三级医院, out of county


def county(session: Session) -> County:
    township = institution(session, category="C210", level="unrated", division_code="320102")
    hospital = institution(session, category="A100", level="2", division_code="320102")
    city = institution(session, category="A100", level="3", division_code="320100")
    city.in_county = False
    session.add(Department(institution_id=hospital.id, code="NK", name="内科"))
    session.flush()
    return County(township, hospital, city)


def registered(session: Session, *, birth_date: date = date(1960, 5, 1), sex: int = 1,
               name: str = "王五") -> tuple[Resident, str]:
    """A resident registered with an ID number (hash + cipher + mask, as residents stores it)."""
    n = next(_seq)
    number = make_id_number("320102", birth_date, (n * 2) % 1000, sex)
    pii = cipher()
    now = utcnow()
    r = Resident(id_hash=pii.lookup_hash(number), id_cipher=pii.encrypt(number), id_masked=mask_id_number(number),
                 name=name, sex=sex, birth_date=birth_date, created_at=now, updated_at=now)
    session.add(r)
    session.flush()
    return r, number


def payload(number: str, institution_code: str, **overrides: Any) -> dict[str, Any]:
    """A valid inpatient stay (JSON shape of POST /api/v1/care/encounters)."""
    body: dict[str, Any] = {
        "source_system": "HIS-TEST", "source_id": f"ZY{next(_seq):06d}", "resident_id_number": number,
        "institution_code": institution_code, "kind": "inpatient", "start_date": "2025-03-01",
        "end_date": "2025-03-08", "discharge_mode": "1", "diagnoses": ["I10.x00", "E11.900"],
        "procedures": [], "settlement": {
            "scheme": "resident", "total_cost": "6000.00", "cost_drugs": "2000.00", "cost_exams": "1500.00",
            "cost_treatment": "1000.00", "cost_materials": "500.00", "cost_beds": "700.00", "cost_other": "300.00",
            "policy_cost": "5000.00",
        },
    }
    settlement = overrides.pop("settlement", None)
    body.update(overrides)
    if settlement:
        body["settlement"] = {**copy.deepcopy(body["settlement"]), **settlement}
    return body


def csv_row(body: dict[str, Any]) -> dict[str, str]:
    """A payload as one CSV row (lists joined with '|')."""
    row: dict[str, str] = {}
    for k, v in {**body, **body["settlement"]}.items():
        if k == "settlement" or v is None:
            continue
        row[k] = "|".join(v) if isinstance(v, list) else str(v)
    return row


def write_csv(path: Path, rows: list[dict[str, str]], columns: tuple[str, ...] = COLUMNS) -> Path:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k, "") for k in columns})
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def counts(session: Session) -> dict[str, int]:
    def n(model: Any) -> int:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)

    return {"encounter": n(Encounter), "settlement": n(Settlement), "audit": n(AuditLog),
            "care_relationship": n(CareRelationship)}


def text_of_tables(session: Session, tables: tuple[str, ...]) -> str:
    """Every value of the tables as text, to search for something that must never be stored."""
    from sqlalchemy import text

    out = []
    for t in tables:
        for row in session.execute(text(f'SELECT * FROM "{t}"')):
            out.append(" ".join("" if v is None else str(v) for v in row))
    return "\n".join(out)


def episode(session: Session, resident: Resident, sending: Institution, receiving: Institution, *,
            approval: str | None = "approved", direction: str = "up") -> int:
    """A referral episode row (the referrals feature owns it; care only links to it)."""
    from builders import user
    from yilian.db.models import ReferralEpisode

    u = user(session, institution_id=sending.id)
    now = utcnow()
    e = ReferralEpisode(resident_id=resident.id, direction=direction, status="completed", version=1,
                        sending_institution_id=sending.id, created_by=u.id, sent_by=u.id,
                        receiving_institution_id=receiving.id, approval=approval, benefits=[], status_entry_seq=1,
                        created_at=now, updated_at=now)
    session.add(e)
    session.flush()
    return int(e.id)
