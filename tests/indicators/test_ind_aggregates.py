"""The daily pre-aggregate is a cache: it equals a fresh grouping of the records, a rebuild gives the same
rows, changed records are picked up, and every code agrees with the computation straight from the records."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import ind_kit as k
import ind_year
import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from yilian.db.models import Encounter, Settlement
from yilian.db.models.indicators import IndicatorAggMonth
from yilian.indicators import aggregates, engine, periods
from yilian.indicators.catalogue import Cut
from yilian.indicators.queries import facts


def _table(session: Session) -> list[tuple[object, ...]]:
    cols = [facts.AGGREGATE.c[c] for c in (*facts.DIMENSIONS, *facts.MEASURES)]
    return [tuple(r) for r in session.execute(select(*cols).order_by(*cols[:5]))]


def _fresh(session: Session, start: date, end: date) -> list[tuple[object, ...]]:
    sub = facts.aggregate_select(start, end).subquery()
    return [tuple(r) for r in session.execute(select(sub).order_by(*[sub.c[d] for d in facts.DIMENSIONS]))]


def test_aggregate_equals_the_records_and_rebuilds_identically(session: Session) -> None:
    ind_year.build(session)
    report = aggregates.ensure(session, date(2024, 1, 1), date(2025, 12, 31))
    assert len(report.built) == 24 and not report.fresh
    built = _table(session)
    assert built == _fresh(session, date(2024, 1, 1), date(2025, 12, 31))
    # Visit 1 (V1, 1 March, r1 insured, home T1, 50 yuan): a row of its own, money in cents.
    assert (date(2025, 3, 1), "outpatient", k.T1, 1, 1, 0, 1, 5000, 3000, 2000) in [
        (r[0], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10]) for r in built]
    again = aggregates.ensure(session, date(2024, 1, 1), date(2025, 12, 31))
    assert not again.built and len(again.fresh) == 24
    aggregates.ensure(session, date(2025, 1, 1), date(2025, 12, 31), force=True)
    assert _table(session) == built


@pytest.mark.parametrize("cut", [Cut.COUNTY, Cut.CONSORTIUM, Cut.INSTITUTION, Cut.GRID])
def test_every_code_agrees_with_the_records(session: Session, cut: Cut) -> None:
    ind_year.build(session)
    for period in ("2025", "2025Q1", "2025-06"):
        p = periods.parse(period)
        assert engine.compute(session, p, cut) == engine.compute(session, p, cut, basis=engine.Basis.FACTS)


def test_new_and_removed_records_are_picked_up(session: Session) -> None:
    y = ind_year.build(session)
    assert k.row(session, "primary_visit_share").numerator == Decimal(3)
    k.visit(session, y.r1, y.w.w1, date(2025, 3, 20), "10", "5")
    assert k.row(session, "primary_visit_share").numerator == Decimal(4)
    last = session.scalars(select(Encounter.id).order_by(Encounter.id.desc()).limit(1)).one()
    session.execute(delete(Settlement).where(Settlement.encounter_id == last))
    session.execute(delete(Encounter).where(Encounter.id == last))
    assert k.row(session, "primary_visit_share").numerator == Decimal(3)


def test_in_place_corrections_need_mark_stale(session: Session) -> None:
    y = ind_year.build(session)
    assert k.row(session, "fund_primary_share").numerator == Decimal("1740.00")
    e = session.scalars(select(Encounter).where(Encounter.institution_id == y.w.v1.id)).one()
    session.execute(update(Settlement).where(Settlement.encounter_id == e.id)
                    .values(fund_paid=Decimal("40"), patient_paid=Decimal("10")))
    # Same number of records: the fingerprint cannot see an amount corrected in place …
    assert k.row(session, "fund_primary_share").numerator == Decimal("1740.00")
    # … the correcting feature marks the day stale (or an operator rebuilds), and the month is rebuilt.
    assert aggregates.mark_stale(session, [e.start_date]) == 1
    assert session.get(IndicatorAggMonth, date(2025, 3, 1)) is None
    assert k.row(session, "fund_primary_share").numerator == Decimal("1750.00")


def test_many_records_in_one_aggregate_row(session: Session) -> None:
    """Several encounters share a day, institution, kind, home and insurance: the aggregate sums them, and
    settled and unsettled ones mix in one row."""
    w = k.world(session)
    r1, r2 = k.resident(session, k.T1), k.resident(session, k.T1)
    day = date(2025, 4, 7)
    k.visit(session, r1, w.w1, day, "100.10", "60.05", "10")
    k.visit(session, r2, w.w1, day, "50.20", "20.10", "5")
    k.visit(session, r1, w.w1, day)  # not settled
    k.stay(session, r1, w.hospital, date(2025, 4, 1), day, "3000", "2000", "900")
    k.stay(session, r2, w.hospital, date(2025, 4, 5), day, "1000", "700", "300")
    rows = k.rows(session, "2025")
    # Three visits at W1, two settled: 150.30 / 2 = 75.15; all primary care.
    assert k.figures(rows[("outpatient_cost_per_visit", "", "")])[:3] == (Decimal("150.30"), Decimal(2),
                                                                          Decimal("75.15"))
    assert k.figures(rows[("primary_visit_share", "", "")])[:2] == (Decimal(3), Decimal(3))
    # Stays: 4000 / 2 = 2000.00; bed-days 6 + 2 = 8 over 2 = 4.00; fund 60.05 + 20.10 + 2000 + 700 in county.
    assert k.figures(rows[("inpatient_cost_per_stay", "", "")])[:3] == (Decimal("4000.00"), Decimal(2),
                                                                        Decimal("2000.00"))
    assert k.figures(rows[("average_length_of_stay", "", "")])[:3] == (Decimal(8), Decimal(2), Decimal("4.00"))
    assert rows[("fund_in_county_share", "", "")].numerator == Decimal("2780.15")
    assert rows == k.rows(session, "2025", basis=engine.Basis.FACTS)
    assert session.scalar(select(facts.AGGREGATE.c.encounters).where(
        facts.AGGREGATE.c.kind == "outpatient", facts.AGGREGATE.c.day == day)) == 3
