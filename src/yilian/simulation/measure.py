"""The generator's self-check: the calibrated indicators of its own year, by INDICATORS.md's definitions.

Reported in the summary next to each target so a run shows at once whether it landed.  This is
a check on the generator, not the platform's indicator engine (``yilian indicators compute``,
which the summary will call instead once it lands).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session

from yilian.db.models import Encounter, Institution, InsuranceEnrolment, Settlement
from yilian.simulation.presets import Preset

TOWNSHIP_CATEGORIES = ("C210", "C220")  # 乡镇卫生院: central and ordinary township health centres


def _share(num: Any, den: Any) -> float | None:
    if not den:
        return None
    return float(Decimal(num or 0) / Decimal(den))


def indicators(session: Session, county: str, year: int) -> dict[str, float | None]:
    e, i, s, ie = Encounter, Institution, Settlement, InsuranceEnrolment
    first, last = date(year, 1, 1), date(year, 12, 31)
    in_county = and_(i.in_county.is_(True), or_(i.division_code == county, i.division_code.like(county + "%")))
    visit = and_(e.kind.in_(("outpatient", "emergency")), e.start_date.between(first, last))
    stay = and_(e.kind == "inpatient", e.end_date.between(first, last))
    insured: ColumnElement[bool] = exists().where(
        ie.resident_id == e.resident_id, ie.insured_division_code == county, ie.start_on <= e.end_date,
        or_(ie.end_on.is_(None), ie.end_on >= e.end_date))

    def one(*cols: Any, where: Any) -> Any:
        return session.execute(select(*cols).select_from(e).join(i, i.id == e.institution_id).where(where)).one()

    v = one(func.count(), func.sum(case((i.is_primary_care.is_(True), 1), else_=0)),
            func.sum(case((i.category.in_(TOWNSHIP_CATEGORIES), 1), else_=0)), where=and_(visit, in_county))
    st = one(func.count(), func.sum(case((i.is_primary_care.is_(True), 1), else_=0)), where=and_(stay, in_county))
    ret = one(func.count(), func.sum(case((in_county, 1), else_=0)), where=and_(stay, insured))
    money = session.execute(
        select(func.sum(s.fund_paid), func.sum(s.total_cost)).select_from(e).join(s, s.encounter_id == e.id)
        .where(stay, insured)).one()
    return {
        "primary_visit_share": _share(v[1], v[0]),
        "township_visit_share": _share(v[2], v[0]),
        "primary_inpatient_share": _share(st[1], st[0]),
        "county_retention_inpatient": _share(ret[1], ret[0]),
        "effective_reimbursement_rate": _share(money[0], money[1]),
    }


def measure(session: Session, preset: Preset, year: int) -> list[dict[str, Any]]:
    values = indicators(session, preset.county_code, year)
    out = []
    for t in preset.targets:
        value = values.get(t.code)
        low = t.target - t.tolerance
        high = None if t.at_least else t.target + t.tolerance
        ok = value is not None and value >= low and (high is None or value <= high)
        out.append({"code": t.code, "value": None if value is None else round(value, 4), "target": t.target,
                    "at_least": t.at_least, "tolerance": t.tolerance, "ok": ok})
    return out
