"""Indicator persistence and query execution: the only place the feature talks to the database.

Reads other features' tables for set-based reports (ARCHITECTURE.md allows it); writes only its own
tables (aggregate, snapshots, scorecards).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, delete, func, insert, select, text
from sqlalchemy.orm import Session

from yilian.db.models import Consortium, Grid, Institution, Resident
from yilian.db.models.indicators import (
    IndicatorSnapshot,
    IndicatorSnapshotRow,
    Scorecard,
    ScorecardApproval,
    ScorecardItem,
    ScorecardSnapshotItem,
    ScorecardSnapshotScore,
)
from yilian.indicators.catalogue import Cut
from yilian.indicators.values import IndicatorRow


def tune_for_reports(session: Session) -> None:
    """PostgreSQL: no JIT for the rest of the transaction.  The report queries are wide expressions over
    a million rows, where JIT compilation costs seconds and saves nothing (measured in bench/)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))


def unit_sums(session: Session, stmt: Select[Any]) -> dict[str, dict[str, int]]:
    """Run a per-unit measures select: unit → label → integer sum."""
    out: dict[str, dict[str, int]] = {}
    for row in session.execute(stmt).mappings():
        out[str(row["unit"])] = {k: int(v or 0) for k, v in row.items() if k != "unit"}
    return out


def exists(session: Session, stmt: Select[Any]) -> bool:
    return session.scalar(select(stmt.exists())) is True


def budget_lines(session: Session, stmt: Select[Any]) -> dict[int, tuple[int, int]]:
    """consortium id → (budget, spending) in cents."""
    return {int(c): (int(b or 0), int(s or 0)) for c, b, s in session.execute(stmt)}


def grid_group(session: Session, grid_id: int) -> int | None:
    return session.scalar(select(Grid.group_id).where(Grid.id == grid_id))


# ---- snapshots ------------------------------------------------------------------------------


def snapshot(session: Session, period: str, cut: Cut) -> IndicatorSnapshot | None:
    return session.scalar(select(IndicatorSnapshot).where(IndicatorSnapshot.period == period,
                                                          IndicatorSnapshot.cut == cut.value))


def snapshots(session: Session, periods: Sequence[str], cut: Cut) -> list[IndicatorSnapshot]:
    return list(session.scalars(select(IndicatorSnapshot).where(IndicatorSnapshot.period.in_(periods),
                                                                IndicatorSnapshot.cut == cut.value)))


def list_snapshots(session: Session) -> list[IndicatorSnapshot]:
    return list(session.scalars(select(IndicatorSnapshot).order_by(IndicatorSnapshot.period.desc(),
                                                                   IndicatorSnapshot.cut)))


def replace_snapshot(session: Session, period: str, cut: Cut, catalogue_version: str, computed_at: datetime,
                     computed_by: str, rows: Sequence[IndicatorRow]) -> IndicatorSnapshot:
    """Store a computation, replacing the period's and cut's previous one (idempotent)."""
    old = snapshot(session, period, cut)
    if old is not None:
        session.execute(delete(IndicatorSnapshotRow).where(IndicatorSnapshotRow.snapshot_id == old.id))
        session.delete(old)
        session.flush()
    snap = IndicatorSnapshot(period=period, cut=cut.value, catalogue_version=catalogue_version,
                             computed_at=computed_at, computed_by=computed_by, rows=len(rows))
    session.add(snap)
    session.flush()
    if rows:
        session.execute(insert(IndicatorSnapshotRow), [
            {"snapshot_id": snap.id, "position": i, "code": r.code, "unit": r.unit, "group_code": r.group,
             "numerator": r.numerator, "denominator": r.denominator, "value": r.value, "status": r.status.value,
             "reason": r.reason}
            for i, r in enumerate(rows)
        ])
    return snap


def snapshot_rows(session: Session, snapshot_ids: Iterable[int], *, codes: Iterable[str] | None = None,
                  units: Iterable[str] | None = None) -> list[IndicatorSnapshotRow]:
    ids = list(snapshot_ids)
    if not ids:
        return []
    stmt = select(IndicatorSnapshotRow).where(IndicatorSnapshotRow.snapshot_id.in_(ids))
    if codes is not None:
        stmt = stmt.where(IndicatorSnapshotRow.code.in_(list(codes)))
    if units is not None:
        stmt = stmt.where(IndicatorSnapshotRow.unit.in_(list(units)))
    return list(session.scalars(stmt.order_by(IndicatorSnapshotRow.snapshot_id, IndicatorSnapshotRow.position)))


# ---- registry lookups for pages -------------------------------------------------------------


def institution_by_code(session: Session, code: str) -> Institution | None:
    return session.scalar(select(Institution).where(Institution.code == code))


def consortium_by_code(session: Session, code: str) -> Consortium | None:
    return session.scalar(select(Consortium).where(Consortium.code == code))


def grid_by_code(session: Session, code: str) -> Grid | None:
    return session.scalar(select(Grid).where(Grid.code == code))


def unit_names(session: Session, cut: Cut, codes: Iterable[str]) -> dict[str, str]:
    code_list = list(codes)
    if not code_list or cut == Cut.COUNTY:
        return {}
    model: Any = Institution if cut == Cut.INSTITUTION else Consortium if cut == Cut.CONSORTIUM else Grid
    return {c: n for c, n in session.execute(select(model.code, model.name).where(model.code.in_(code_list)))}


def comparable_institutions(session: Session, ids: Iterable[int] | None = None) -> list[str]:
    """In-county hospitals and centres (tier ≥ 1), optionally among ``ids``: the units pages compare."""
    stmt = select(Institution.code).where(Institution.in_county.is_(True), Institution.tier >= 1)
    if ids is not None:
        stmt = stmt.where(Institution.id.in_(list(ids)))
    return list(session.scalars(stmt.order_by(Institution.code)))


def child_institutions(session: Session, code: str) -> list[str]:
    """The stations and village clinics an institution runs (``parent_id``)."""
    parent = select(Institution.id).where(Institution.code == code).scalar_subquery()
    return list(session.scalars(select(Institution.code).where(Institution.parent_id == parent,
                                                               Institution.in_county.is_(True))
                                .order_by(Institution.code)))


def institutions_by_ids(session: Session, ids: Iterable[int]) -> list[Institution]:
    id_list = list(ids)
    if not id_list:
        return []
    return list(session.scalars(select(Institution).where(Institution.id.in_(id_list)).order_by(Institution.code)))


def consortium_codes(session: Session, ids: Iterable[int]) -> set[str]:
    id_list = list(ids)
    if not id_list:
        return set()
    return set(session.scalars(select(Consortium.code).where(Consortium.id.in_(id_list))))


def consortia_in_division(session: Session, prefix: str) -> set[int]:
    return set(session.scalars(select(Consortium.id).where(Consortium.division_code.like(f"{prefix}%"))))


def grids_of_consortia(session: Session, consortium_ids: Iterable[int]) -> set[str]:
    ids = list(consortium_ids)
    if not ids:
        return set()
    return set(session.scalars(select(Grid.code).where(Grid.group_id.in_(ids))))


def county_divisions(session: Session) -> set[str]:
    from yilian.indicators.queries.units import county_codes

    return set(session.scalars(county_codes()))


# ---- drill-down -----------------------------------------------------------------------------


def page_of(session: Session, stmt: Select[Any], order: Sequence[Any], offset: int, limit: int) -> tuple[
        int, list[dict[str, Any]]]:
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(stmt.order_by(*order).offset(offset).limit(limit)).mappings()
    return int(total), [dict(r) for r in rows]


def residents_by_ids(session: Session, ids: Iterable[int]) -> dict[int, Resident]:
    id_list = list(set(ids))
    if not id_list:
        return {}
    return {r.id: r for r in session.scalars(select(Resident).where(Resident.id.in_(id_list)))}


# ---- scorecards -----------------------------------------------------------------------------


def scorecard(session: Session, code: str, version: int | None = None) -> Scorecard | None:
    stmt = select(Scorecard).where(Scorecard.code == code)
    if version is not None:
        stmt = stmt.where(Scorecard.version == version)
    return session.scalar(stmt.order_by(Scorecard.version.desc()).limit(1))


def latest_scorecards(session: Session) -> list[Scorecard]:
    latest = (select(Scorecard.code, func.max(Scorecard.version).label("v")).group_by(Scorecard.code)
              .subquery())
    return list(session.scalars(select(Scorecard).join(latest, (latest.c.code == Scorecard.code)
                                                       & (latest.c.v == Scorecard.version))
                                .order_by(Scorecard.code)))


def scorecard_items(session: Session, scorecard_id: int) -> list[ScorecardItem]:
    return list(session.scalars(select(ScorecardItem).where(ScorecardItem.scorecard_id == scorecard_id)
                                .order_by(ScorecardItem.position)))


def approval(session: Session, code: str, period: str) -> ScorecardApproval | None:
    return session.scalar(select(ScorecardApproval).where(ScorecardApproval.scorecard_code == code,
                                                          ScorecardApproval.period == period))


def approvals(session: Session, code: str) -> list[ScorecardApproval]:
    return list(session.scalars(select(ScorecardApproval).where(ScorecardApproval.scorecard_code == code)
                                .order_by(ScorecardApproval.period.desc())))


def frozen_scores(session: Session, approval_id: int) -> list[ScorecardSnapshotScore]:
    return list(session.scalars(select(ScorecardSnapshotScore)
                                .where(ScorecardSnapshotScore.approval_id == approval_id)
                                .order_by(ScorecardSnapshotScore.rank, ScorecardSnapshotScore.unit_code)))


def frozen_items(session: Session, score_ids: Iterable[int]) -> list[ScorecardSnapshotItem]:
    ids = list(score_ids)
    if not ids:
        return []
    return list(session.scalars(select(ScorecardSnapshotItem).where(ScorecardSnapshotItem.score_id.in_(ids))
                                .order_by(ScorecardSnapshotItem.score_id, ScorecardSnapshotItem.id)))


def add_frozen_items(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(ScorecardSnapshotItem), rows)


def unit_ids(session: Session, cut: Cut, codes: Iterable[str]) -> dict[str, int]:
    code_list = list(codes)
    if not code_list:
        return {}
    model: Any = Institution if cut == Cut.INSTITUTION else Consortium
    return {c: i for c, i in session.execute(select(model.code, model.id).where(model.code.in_(code_list)))}


def decimal_or_none(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)
