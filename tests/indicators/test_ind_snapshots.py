"""Snapshots: stored with the catalogue version and the computing moment, read back exactly, recomputed
only on request and idempotently."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import ind_kit as k
import ind_year
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yilian.db.models.indicators import IndicatorSnapshot, IndicatorSnapshotRow
from yilian.indicators import catalogue, engine, periods, service
from yilian.indicators.catalogue import Cut

AS_OF = datetime(2026, 1, 15, 2, 0, tzinfo=UTC)


def test_store_read_and_recompute(session: Session) -> None:
    y = ind_year.build(session)
    snap = service.do_store_snapshot(session, None, "2025", "consortium", as_of=AS_OF)
    assert snap.catalogue_version == catalogue.version() and snap.computed_at == AS_OF
    live = engine.compute(session, periods.parse("2025"), Cut.CONSORTIUM, as_of=AS_OF)
    stored_snap, stored = service.stored_rows(session, service.OPERATOR, "2025", "consortium")
    assert stored_snap is not None and stored_snap.id == snap.id
    assert [(r.key, r.numerator, r.denominator, r.value, r.status, r.reason) for r in stored] == [
        (r.key, r.numerator, r.denominator, r.value, r.status, r.reason) for r in live]
    assert snap.rows == len(live)
    # New records do not change a stored snapshot …
    k.visit(session, y.r1, y.w.w1, datetime(2025, 3, 9).date(), "10", "5")
    _, again = service.stored_rows(session, service.OPERATOR, "2025", "consortium")
    assert {r.key: r.value for r in again} == {r.key: r.value for r in stored}
    # … until it is recomputed, which replaces it (still one snapshot for the period and cut).
    service.do_store_snapshot(session, None, "2025", "consortium", as_of=AS_OF)
    _, fresh = service.stored_rows(session, service.OPERATOR, "2025", "consortium")
    by = {r.key: r for r in fresh}
    assert by[("primary_visit_share", "C1", "")].numerator == Decimal(3)
    assert session.scalar(select(func.count()).select_from(IndicatorSnapshot)) == 1
    assert session.scalar(select(func.count()).select_from(IndicatorSnapshotRow)) == len(live)


def test_recomputing_is_idempotent(session: Session) -> None:
    ind_year.build(session)
    service.do_store_snapshot(session, None, "2025Q1", "county", as_of=AS_OF)
    _, first = service.stored_rows(session, service.OPERATOR, "2025Q1", "county")
    service.do_store_snapshot(session, None, "2025Q1", "county", as_of=AS_OF)
    _, second = service.stored_rows(session, service.OPERATOR, "2025Q1", "county")
    assert first == second


def test_snapshot_plan_covers_trends() -> None:
    plan = service.snapshot_plan("2025")
    assert plan[:3] == [("2025", Cut.COUNTY), ("2025", Cut.CONSORTIUM), ("2025", Cut.INSTITUTION)]
    assert ("2025-07", Cut.CONSORTIUM) in plan and ("2025-07", Cut.INSTITUTION) not in plan
    assert len(plan) == 3 + 24
    assert service.snapshot_plan("2025-03") == [("2025-03", c) for c in service.PAGE_CUTS]


def test_missing_snapshot_reads_as_none(session: Session) -> None:
    snap, rows = service.stored_rows(session, service.OPERATOR, "2019", "county")
    assert snap is None and rows == []
