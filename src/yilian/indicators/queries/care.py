"""Care-pattern and fund codes over the care fact rows: each code is a numerator and a denominator,
each a sum of one fact column under a condition.  The same definition computes the number (from the
pre-aggregate or straight from the records) and selects the drill-down records.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from sqlalchemy import ColumnElement, FromClause, Select, String, and_, case, func, literal_column, select
from sqlalchemy.sql import Subquery

from yilian.db.models import Institution
from yilian.indicators.catalogue import Attribution, Cut
from yilian.indicators.queries.facts import MONEY, STAY_KIND, VISIT_KINDS
from yilian.indicators.queries.units import TOWNSHIP_CATEGORIES, home_centres, institution_map


@dataclass(frozen=True, slots=True)
class FactRow:
    """The columns a condition may use: the fact source (``src``) and the institution of care (``inst``)."""

    src: FromClause
    inst: FromClause


Condition = Callable[[FactRow], ColumnElement[bool]]


def _all(*conds: Condition) -> Condition:
    return lambda r: and_(*(c(r) for c in conds))


def VISIT(r: FactRow) -> ColumnElement[bool]:
    return r.src.c.kind.in_(VISIT_KINDS)


def STAY(r: FactRow) -> ColumnElement[bool]:
    cond: ColumnElement[bool] = r.src.c.kind == STAY_KIND
    return cond


def IN_COUNTY(r: FactRow) -> ColumnElement[bool]:
    return r.inst.c.in_county.is_(True)


def PRIMARY(r: FactRow) -> ColumnElement[bool]:
    return r.inst.c.is_primary_care.is_(True)


def TOWNSHIP(r: FactRow) -> ColumnElement[bool]:
    return r.inst.c.category.in_(TOWNSHIP_CATEGORIES)


def INSURED(r: FactRow) -> ColumnElement[bool]:
    cond: ColumnElement[bool] = r.src.c.county_insured == 1
    return cond


def SETTLED(r: FactRow) -> ColumnElement[bool]:
    cond: ColumnElement[bool] = r.src.c.settled > 0  # a settled record, or an aggregate row holding one
    return cond


@dataclass(frozen=True, slots=True)
class Sum:
    """Σ ``column`` over the fact rows where ``where`` holds (money and settled counts: settled rows only)."""

    column: str
    where: Condition

    def condition(self, r: FactRow) -> ColumnElement[bool]:
        if self.column in MONEY or self.column == "settled":
            return and_(self.where(r), SETTLED(r))
        return self.where(r)

    @property
    def is_money(self) -> bool:
        return self.column in MONEY


@dataclass(frozen=True, slots=True)
class CareCode:
    code: str
    attribution: Attribution  # CARE or RESIDENTS
    numerator: Sum
    denominator: Sum


_VISIT_IC = _all(VISIT, IN_COUNTY)
_STAY_IC = _all(STAY, IN_COUNTY)

CARE_CODES: Final[dict[str, CareCode]] = {c.code: c for c in (
    CareCode("county_retention_inpatient", Attribution.RESIDENTS,
             Sum("encounters", _all(STAY, INSURED, IN_COUNTY)), Sum("encounters", _all(STAY, INSURED))),
    CareCode("county_retention_outpatient", Attribution.RESIDENTS,
             Sum("encounters", _all(VISIT, INSURED, IN_COUNTY)), Sum("encounters", _all(VISIT, INSURED))),
    CareCode("primary_visit_share", Attribution.CARE,
             Sum("encounters", _all(_VISIT_IC, PRIMARY)), Sum("encounters", _VISIT_IC)),
    CareCode("township_visit_share", Attribution.CARE,
             Sum("encounters", _all(_VISIT_IC, TOWNSHIP)), Sum("encounters", _VISIT_IC)),
    CareCode("primary_inpatient_share", Attribution.CARE,
             Sum("encounters", _all(_STAY_IC, PRIMARY)), Sum("encounters", _STAY_IC)),
    CareCode("fund_in_county_share", Attribution.RESIDENTS,
             Sum("fund_cents", _all(INSURED, IN_COUNTY)), Sum("fund_cents", INSURED)),
    CareCode("fund_primary_share", Attribution.CARE,
             Sum("fund_cents", _all(IN_COUNTY, PRIMARY)), Sum("fund_cents", IN_COUNTY)),
    CareCode("effective_reimbursement_rate", Attribution.RESIDENTS,
             Sum("fund_cents", _all(STAY, INSURED)), Sum("total_cost_cents", _all(STAY, INSURED))),
    CareCode("inpatient_cost_per_stay", Attribution.CARE,
             Sum("total_cost_cents", _STAY_IC), Sum("settled", _STAY_IC)),
    CareCode("outpatient_cost_per_visit", Attribution.CARE,
             Sum("total_cost_cents", _VISIT_IC), Sum("settled", _VISIT_IC)),
    CareCode("average_length_of_stay", Attribution.CARE,
             Sum("bed_days", _STAY_IC), Sum("encounters", _STAY_IC)),
    CareCode("drug_cost_share", Attribution.CARE,
             Sum("drug_cents", IN_COUNTY), Sum("total_cost_cents", IN_COUNTY)),
)}

# appointment_rate's denominator: outpatient (non-emergency) visits at in-county institutions.
OUTPATIENT_VISITS: Final = Sum("encounters", lambda r: and_(r.src.c.kind == "outpatient", IN_COUNTY(r)))

# Growth codes: this period's value of the base code against the same period a year earlier.
GROWTH_CODES: Final = {
    "inpatient_cost_per_stay_growth": "inpatient_cost_per_stay",
    "outpatient_cost_per_visit_growth": "outpatient_cost_per_visit",
}


def institution_alias() -> FromClause:
    return Institution.__table__.alias("inst")


def _joined(src: FromClause, inst: FromClause, cut: Cut, attribution: Attribution) -> tuple[Any, Any | None]:
    """The FROM clause joining fact rows to their institution and to the units of ``cut``; returns
    (from clause, unit column) — no unit column for the county's residents (every insured resident)."""
    base = src.join(inst, inst.c.id == src.c.institution_id)
    if attribution == Attribution.RESIDENTS:
        if cut == Cut.COUNTY:
            return base, None
        home = home_centres()
        umap = institution_map(cut)
        joined = base.join(home, home.c.division_code == src.c.home_division).join(
            umap.rows, umap.on(home.c.centre_id, src.c.day))
        return joined, umap.rows.c.unit
    umap = institution_map(cut)
    return base.join(umap.rows, umap.on(src.c.institution_id, src.c.day)), umap.rows.c.unit


def measures_select(src: FromClause, sums: Mapping[str, Sum], cut: Cut, attribution: Attribution,
                    start: date, end: date) -> Select[Any]:
    """One pass over ``src`` (aggregate or fact rows): per unit, every labelled sum."""
    inst = institution_alias()
    row = FactRow(src, inst)
    joined, unit = _joined(src, inst, cut, attribution)
    cols = [func.coalesce(func.sum(case((s.condition(row), src.c[s.column]), else_=0)), 0).label(label)
            for label, s in sums.items()]
    if unit is None:
        return (select(literal_column("''", String).label("unit"), *cols).select_from(joined)
                .where(src.c.day >= start, src.c.day <= end))
    return (select(unit.label("unit"), *cols).select_from(joined)
            .where(src.c.day >= start, src.c.day <= end).group_by(unit))


def sums_for(codes: Sequence[CareCode]) -> dict[str, Sum]:
    out: dict[str, Sum] = {}
    for c in codes:
        out[f"{c.code}__n"] = c.numerator
        out[f"{c.code}__d"] = c.denominator
    return out


def drill_select(facts: Subquery, code: CareCode, part: str, cut: Cut, unit: str) -> tuple[Select[Any], Any]:
    """Records of a code's numerator or denominator for one unit; returns (select, in-numerator flag).

    ``facts`` is ``fact_rows(start, end, detail=True)``.
    """
    inst = institution_alias()
    row = FactRow(facts, inst)
    joined, unit_col = _joined(facts, inst, cut, code.attribution)
    chosen = code.numerator if part == "numerator" else code.denominator
    flag = case((code.numerator.condition(row), 1), else_=0).label("in_numerator")
    stmt = (
        select(facts.c.encounter_id, facts.c.resident_id, facts.c.day, facts.c.kind, facts.c.start_date,
               facts.c.end_date, facts.c.total_cost_cents, facts.c.fund_cents, facts.c.drug_cents,
               facts.c.bed_days, facts.c.settled, inst.c.code.label("institution_code"),
               inst.c.name.label("institution_name"), flag)
        .select_from(joined)
        .where(chosen.condition(row))
    )
    if unit_col is not None:
        stmt = stmt.where(unit_col == unit)
    return stmt, flag
