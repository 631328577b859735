"""Payment-fed codes (payment feature's run tables).

- ``cmi``: stays discharged in the period at in-county institutions, with the DRG and relative weight of
  the latest grouping that includes each stay — a DRG settlement run or a grouping-only run of the year
  (what-ifs excluded) — and that run's weights.  Σ RW of grouped stays ÷ their number; weights are summed
  as integer millionths so SQLite and PostgreSQL agree.  ``not_grouped`` while no run groups the year.
- ``budget_surplus_rate``: per consortium, the latest global-budget run of the year (what-ifs excluded):
  the budget (for a quarter or a month its share by days, to the cent) less the fund spending charged to
  it in the period's months (members and out of network), over that budget share.  County: the sums over
  consortia; institutions and consortia without a budget: ``no_budget``.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import Integer, Select, String, and_, case, cast, exists, func, literal_column, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Subquery

from yilian.db.models import Encounter, Institution
from yilian.db.models.payment import PaymentBudgetEntry, PaymentRun, PaymentRunCase, PaymentRunWeight
from yilian.indicators.queries.facts import STAY_KIND
from yilian.indicators.queries.records import RecordCode, Request, Tally
from yilian.indicators.queries.sql import cents
from yilian.indicators.queries.units import with_unit

GROUPING_KINDS: Final = ("drg", "grouping")
SPENDING: Final = ("spending_member", "spending_outside")
MICRO: Final = 1_000_000


def grouping_runs(year: int) -> Select[tuple[int]]:
    r = PaymentRun
    return select(r.id).where(r.kind.in_(GROUPING_KINDS), r.year == year, r.base_run_id.is_(None))


def grouped_stays(req: Request) -> Subquery:
    """One record per stay discharged in the period at an in-county institution and grouped by the latest
    grouping run of the year that includes it, with its RW in millionths."""
    c, w, e = PaymentRunCase, PaymentRunWeight, Encounter
    runs = grouping_runs(req.period.year).scalar_subquery()
    # "No later run of the year holds the stay" as an anti-join: a max() per stay joined back misleads the
    # planner's row estimate (one row), and it then loops over every unit for every stay.
    later = aliased(PaymentRunCase)
    newer = exists().where(later.encounter_id == c.encounter_id, later.run_id > c.run_id, later.run_id.in_(runs))
    rw_micro = cast(func.round(w.rw * MICRO), Integer)
    stmt = (
        select(literal_column("'encounter'", String).label("record_kind"), e.id.label("record_id"),
               e.resident_id.label("resident_id"), e.end_date.label("day"), e.institution_id.label("institution_id"),
               rw_micro.label("rw_micro"), c.group_code.label("drg"))
        .select_from(c)
        .join(e, e.id == c.encounter_id)
        .join(Institution, Institution.id == e.institution_id)
        .join(w, and_(w.run_id == c.run_id, w.code == c.group_code))
        .where(c.run_id.in_(runs), ~newer, e.kind == STAY_KIND, e.end_date >= req.start, e.end_date <= req.end,
               Institution.in_county.is_(True), c.status == "grouped")
    )
    return with_unit(stmt, req.cut, e.institution_id, e.end_date).subquery("grouped_stays")


def budget_runs(year: int) -> Subquery:
    """The latest budget run of the year per consortium."""
    r = PaymentRun
    return (select(r.consortium_id.label("consortium_id"), func.max(r.id).label("run_id"))
            .where(r.kind == "budget", r.year == year, r.base_run_id.is_(None), r.consortium_id.is_not(None))
            .group_by(r.consortium_id).subquery("budget_runs"))


def budget_lines(req: Request) -> Select[Any]:
    """Per consortium with a budget: the year's budget and the spending of the period's months."""
    runs = budget_runs(req.period.year)
    b = PaymentBudgetEntry
    months = [m.start.month for m in req.period.months()]
    budget = func.sum(case((and_(b.entry == "budget", b.month == 0), cents(b.amount)), else_=0))
    spent = func.sum(case((and_(b.entry.in_(SPENDING), b.month.in_(months)), cents(b.amount)), else_=0))
    return (select(runs.c.consortium_id, budget.label("budget_cents"), spent.label("spent_cents"))
            .join(b, b.run_id == runs.c.run_id)
            .group_by(runs.c.consortium_id))


BUILDERS: Final = {"grouped_stays": grouped_stays}
#: For the drill-down only (the engine scales Σ RW from millionths itself).
CODES: Final[tuple[RecordCode, ...]] = (RecordCode("cmi", "grouped_stays", Tally(weight="rw_micro"), Tally()),)
