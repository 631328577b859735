"""Which records stand behind a number: the drill-down query of every implemented code.

The same definitions as the engine, applied to the records (never to the pre-aggregate).  Each query
returns rows with ``record_kind``, ``record_id``, ``resident_id``, ``day``, ``institution_id`` and
``in_numerator``; care records add their costs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Select, String, and_, exists, literal_column, select

from yilian.core.errors import NotFound, ValidationFailed
from yilian.db.models import Appointment, Slot
from yilian.indicators.catalogue import Attribution, Cut, Indicator
from yilian.indicators.config import DEFAULT_POLICY, IndicatorPolicy
from yilian.indicators.periods import Period
from yilian.indicators.queries import care, contracts, facts, payment, records, referrals, scheduling
from yilian.indicators.queries.sql import local_date

PARTS: Final = ("numerator", "denominator")
_BUILDERS: Final = {**contracts.BUILDERS, **referrals.BUILDERS, **scheduling.BUILDERS, **payment.BUILDERS}
_RECORD_CODES: Final = {(c.code, c.group): (c, _BUILDERS)
                        for c in (*contracts.CODES, *referrals.CODES, *scheduling.CODES, *payment.CODES)}


def _matches_appointment(r: care.FactRow) -> Any:
    a, s = Appointment, Slot
    return exists().where(a.slot_id == s.id, a.resident_id == r.src.c.resident_id,
                          s.institution_id == r.src.c.institution_id, local_date(s.start_at) == r.src.c.day,
                          a.status.in_(scheduling.LIVE_STATUSES), a.held.is_(False), s.kind == "appointment")


APPOINTMENT_RATE: Final = care.CareCode(
    "appointment_rate", Attribution.CARE,
    care.Sum("encounters", lambda r: and_(care.OUTPATIENT_VISITS.where(r), _matches_appointment(r))),
    care.OUTPATIENT_VISITS)


@dataclass(frozen=True, slots=True)
class DrillQuery:
    stmt: Select[Any]
    order: tuple[Any, ...]
    care: bool  # rows carry costs


def _care(code: care.CareCode, period: Period, part: str, cut: Cut, unit: str) -> DrillQuery:
    facts_rows = facts.fact_rows(period.start, period.end, detail=True)
    stmt, _flag = care.drill_select(facts_rows, code, part, cut, unit)
    sub = stmt.subquery("drill")
    outer = select(literal_column("'encounter'", String).label("record_kind"), sub.c.encounter_id.label("record_id"),
                   sub.c.resident_id, sub.c.day, sub.c.institution_code, sub.c.institution_name, sub.c.kind,
                   sub.c.start_date, sub.c.end_date, sub.c.total_cost_cents, sub.c.fund_cents, sub.c.drug_cents,
                   sub.c.bed_days, sub.c.in_numerator)
    return DrillQuery(outer, (sub.c.day, sub.c.encounter_id), True)


def query(ind: Indicator, period: Period, cut: Cut, unit: str, group: str, part: str, *, as_of: datetime,
          policy: IndicatorPolicy = DEFAULT_POLICY) -> DrillQuery:
    """The drill-down query of a number, or a refusal when the code has no records behind it yet."""
    if part not in PARTS:
        raise ValidationFailed("明细只能查看分子或分母。", code="drill_part_invalid")
    if part == "denominator" and ind.denominator is None:
        raise ValidationFailed("计数类指标没有分母。", code="drill_part_invalid")
    code = ind.code
    if code in care.CARE_CODES:
        return _care(care.CARE_CODES[code], period, part, cut, unit)
    if code in care.GROWTH_CODES:
        base = care.CARE_CODES[care.GROWTH_CODES[code]]
        return _care(base, period if part == "numerator" else period.prior_year(), "denominator", cut, unit)
    if code == "appointment_rate":
        return _care(APPOINTMENT_RATE, period, part, cut, unit)
    if code == "budget_surplus_rate":
        raise NotFound("预算执行没有个人明细，请在医保支付的预算台账中查看。", code="drill_not_available",
                       indicator=code)
    found = _RECORD_CODES.get((code, group))
    if found is None:
        raise NotFound("该指标的数据来源尚未上线，暂无明细。", code="drill_source_pending", indicator=code)
    rc, builders = found
    rec = builders[rc.source](records.Request(period, cut, as_of, policy))
    stmt = records.drill_select(rec, rc, part, unit)
    sub = stmt.subquery("drill")
    return DrillQuery(select(sub), (sub.c.day, sub.c.record_id), False)
