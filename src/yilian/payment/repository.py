"""Queries of the payment feature: runs and their rows, the institutions they settle, frozen scores.

The only SQL of ``yilian.payment`` besides the method-specific readers
(``settlement/repository.py`` for discharges, ``budget/repository.py``, ``capitation/repository.py``).
Runs are written once: there is no update or delete here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, insert, or_, select, text, true
from sqlalchemy.orm import Session

from yilian.db.bulk import copy_rows, is_postgres
from yilian.db.models import (
    Consortium,
    ConsortiumMembership,
    Encounter,
    Institution,
    PaymentBudgetEntry,
    PaymentRun,
    PaymentRunCase,
    PaymentRunInstitution,
    PaymentRunMonth,
    PaymentRunWeight,
    Resident,
    ScorecardApproval,
    ScorecardSnapshotScore,
    Settlement,
)

_LEVEL_ORDER = {"3": 0, "2": 1, "1": 2, "unrated": 3}
CASE_COLUMNS = (
    "run_id", "institution_id", "encounter_id", "month", "status", "group_code", "kind", "cost", "points", "money",
    "flagged",
)


@dataclass(frozen=True, slots=True)
class InstitutionInfo:
    id: int
    code: str
    name: str
    level: str
    tier: int
    is_primary_care: bool
    in_county: bool
    division_code: str


def _info(row: Any) -> InstitutionInfo:
    return InstitutionInfo(row.id, row.code, row.name, row.level, row.tier, row.is_primary_care, row.in_county,
                           row.division_code)


_INFO_COLUMNS = (Institution.id, Institution.code, Institution.name, Institution.level, Institution.tier,
                 Institution.is_primary_care, Institution.in_county, Institution.division_code)


def region_condition(division_prefix: str | None) -> ColumnElement[bool]:
    """Institutions a settlement of the region covers: in-county ones, within the division if given."""
    cond: ColumnElement[bool] = Institution.in_county.is_(True)
    if division_prefix:
        cond = and_(cond, Institution.division_code.like(f"{division_prefix}%"))
    return cond


def region_institutions(session: Session, division_prefix: str | None) -> dict[int, InstitutionInfo]:
    rows = session.execute(select(*_INFO_COLUMNS).where(region_condition(division_prefix)))
    return {r.id: _info(r) for r in rows}


def institutions_by_id(session: Session, ids: Iterable[int]) -> dict[int, InstitutionInfo]:
    wanted = sorted(set(ids))
    out: dict[int, InstitutionInfo] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        for r in session.execute(select(*_INFO_COLUMNS).where(Institution.id.in_(chunk))):
            out[r.id] = _info(r)
    return out


def institution_by_code(session: Session, code: str) -> InstitutionInfo | None:
    row = session.execute(select(*_INFO_COLUMNS).where(Institution.code == code)).first()
    return _info(row) if row is not None else None


def division_exists(session: Session, code: str) -> bool:
    from yilian.db.models import Division

    return session.get(Division, code) is not None


def consortium_by_code(session: Session, code: str) -> Consortium | None:
    return session.scalar(select(Consortium).where(Consortium.code == code))


def consortium(session: Session, consortium_id: int) -> Consortium | None:
    return session.get(Consortium, consortium_id)


# --- writing a run ------------------------------------------------------------------------------


def add_run(session: Session, run: PaymentRun) -> PaymentRun:
    session.add(run)
    session.flush()
    return run


def _rows_to_dicts(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    return [dict(zip(columns, row, strict=True)) for row in rows]


def insert_statement(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(PaymentRunInstitution), rows)


def insert_weights(session: Session, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 5000):
        session.execute(insert(PaymentRunWeight), rows[start:start + 5000])


def insert_months(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(PaymentRunMonth), rows)


def insert_ledger(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(PaymentBudgetEntry), rows)


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # NUMERIC affinity stores it as SQLAlchemy's float would
    if isinstance(value, bool):
        return int(value)
    return value


def copy_cases(session: Session, rows: Iterable[Sequence[Any]]) -> int:
    """Case rows in ``CASE_COLUMNS`` order: COPY on PostgreSQL, executemany on SQLite."""
    session.flush()
    conn = session.connection()
    table = PaymentRunCase.__table__
    if is_postgres(conn):
        return copy_rows(conn, table, CASE_COLUMNS, rows)  # type: ignore[arg-type]
    return copy_rows(conn, table, CASE_COLUMNS,  # type: ignore[arg-type]
                     [tuple(_sqlite_value(v) for v in row) for row in rows])


# --- reading runs -------------------------------------------------------------------------------


def run(session: Session, run_id: int) -> PaymentRun | None:
    return session.get(PaymentRun, run_id)


@dataclass(frozen=True, slots=True)
class RunFilter:
    """What a reader may see: ``None`` = everything; else runs of these divisions (prefixes), of these
    consortia, or with a statement line for one of these institutions."""

    division_prefixes: tuple[str, ...] = ()
    consortium_ids: frozenset[int] = frozenset()
    institution_ids: frozenset[int] = frozenset()


def _visible(flt: RunFilter | None) -> ColumnElement[bool]:
    if flt is None:
        return true()
    conds: list[ColumnElement[bool]] = [PaymentRun.division_code.like(f"{p}%") for p in flt.division_prefixes]
    if flt.consortium_ids:
        conds.append(PaymentRun.consortium_id.in_(sorted(flt.consortium_ids)))
    if flt.institution_ids:
        line = PaymentRunInstitution
        conds.append(exists().where(line.run_id == PaymentRun.id,
                                    line.institution_id.in_(sorted(flt.institution_ids))))
    return or_(*conds) if conds else PaymentRun.id.is_(None)


def runs_query(flt: RunFilter | None, *, year: int | None = None, kind: str | None = None) -> Select[tuple[PaymentRun]]:
    stmt = select(PaymentRun).where(_visible(flt))
    if year is not None:
        stmt = stmt.where(PaymentRun.year == year)
    if kind:
        stmt = stmt.where(PaymentRun.kind == kind)
    return stmt.order_by(PaymentRun.id.desc())


def page_of(session: Session, stmt: Select[Any], size: int, offset: int) -> tuple[list[Any], int]:
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    return list(session.scalars(stmt.limit(size).offset(offset))), int(total)


def whatifs_of(session: Session, run_id: int) -> list[PaymentRun]:
    return list(session.scalars(select(PaymentRun).where(PaymentRun.base_run_id == run_id).order_by(PaymentRun.id)))


def run_visible(session: Session, run_id: int, flt: RunFilter | None) -> bool:
    return session.scalar(select(PaymentRun.id).where(PaymentRun.id == run_id, _visible(flt))) is not None


def statement(session: Session, run_id: int, institution_ids: frozenset[int] | None = None
              ) -> list[tuple[PaymentRunInstitution, InstitutionInfo]]:
    stmt = (select(PaymentRunInstitution, *_INFO_COLUMNS)
            .join(Institution, Institution.id == PaymentRunInstitution.institution_id)
            .where(PaymentRunInstitution.run_id == run_id))
    if institution_ids is not None:
        stmt = stmt.where(PaymentRunInstitution.institution_id.in_(sorted(institution_ids)))
    rows = [(r[0], _info(r)) for r in session.execute(stmt)]
    rows.sort(key=lambda item: (_LEVEL_ORDER.get(item[1].level, 9), item[1].code))  # 三级 first
    return rows


def statement_line(session: Session, run_id: int, institution_id: int) -> PaymentRunInstitution | None:
    return session.get(PaymentRunInstitution, (run_id, institution_id))


def months(session: Session, run_id: int, institution_id: int | None = None) -> list[PaymentRunMonth]:
    stmt = select(PaymentRunMonth).where(PaymentRunMonth.run_id == run_id)
    if institution_id is not None:
        stmt = stmt.where(PaymentRunMonth.institution_id == institution_id)
    return list(session.scalars(stmt.order_by(PaymentRunMonth.month, PaymentRunMonth.institution_id)))


def weights(session: Session, run_id: int) -> list[PaymentRunWeight]:
    return list(session.scalars(select(PaymentRunWeight).where(PaymentRunWeight.run_id == run_id)
                                .order_by(PaymentRunWeight.code)))


def ledger(session: Session, run_id: int) -> list[PaymentBudgetEntry]:
    return list(session.scalars(select(PaymentBudgetEntry).where(PaymentBudgetEntry.run_id == run_id)
                                .order_by(PaymentBudgetEntry.position)))


def cases_query(run_id: int, institution_id: int, *, kind: str | None = None, flagged: bool | None = None,
                group_code: str | None = None) -> Select[tuple[PaymentRunCase]]:
    stmt = select(PaymentRunCase).where(PaymentRunCase.run_id == run_id,
                                        PaymentRunCase.institution_id == institution_id)
    if kind:
        stmt = stmt.where(PaymentRunCase.kind == kind)
    if flagged is not None:
        stmt = stmt.where(PaymentRunCase.flagged.is_(flagged))
    if group_code:
        stmt = stmt.where(PaymentRunCase.group_code == group_code)
    return stmt.order_by(PaymentRunCase.encounter_id)


def run_case(session: Session, run_id: int, institution_id: int, encounter_id: int) -> PaymentRunCase | None:
    return session.get(PaymentRunCase, (run_id, institution_id, encounter_id))


def stream_run_cases(session: Session, run_id: int, chunk: int = 50_000) -> Iterator[Sequence[Any]]:
    """A run's cases as (encounter_id, institution_id, month, status, group_code, cost), in encounter order."""
    c = PaymentRunCase
    stmt = (select(c.encounter_id, c.institution_id, c.month, c.status, c.group_code, c.cost)
            .where(c.run_id == run_id).order_by(c.encounter_id))
    conn = session.connection()  # Core rows: no ORM result machinery per row
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL work_mem = '256MB'"))
    yield from conn.execute(stmt, execution_options={"yield_per": chunk}).partitions()


def encounter_for_case(session: Session, encounter_id: int) -> tuple[Encounter, int, Settlement | None] | None:
    """The encounter, the resident's sex (the grouper's input), and its settlement."""
    row = session.execute(
        select(Encounter, Resident.sex, Settlement)
        .join(Resident, Resident.id == Encounter.resident_id)
        .outerjoin(Settlement, Settlement.encounter_id == Encounter.id)
        .where(Encounter.id == encounter_id)).first()
    return None if row is None else (row[0], int(row[1]), row[2])


def latest_point_value(session: Session, kind: str, year: int, division_code: str | None) -> Decimal | None:
    """The final point value of the latest run (not a what-if) of ``kind`` for a year and region."""
    stmt = (select(PaymentRun.point_value)
            .where(PaymentRun.kind == kind, PaymentRun.year == year, PaymentRun.base_run_id.is_(None),
                   PaymentRun.point_value.is_not(None))
            .order_by(PaymentRun.id.desc()).limit(1))
    stmt = stmt.where(PaymentRun.division_code.is_(None) if division_code is None
                      else PaymentRun.division_code == division_code)
    return session.scalar(stmt)


def latest_run(session: Session, kind: str, year: int, *, consortium_id: int | None = None) -> PaymentRun | None:
    """The latest run (not a what-if) of a kind and year (of a consortium for budget runs): the one
    downstream features read, e.g. a consortium's budget for ``budget_surplus_rate`` or the DRGs and
    weights of a year for ``cmi``."""
    stmt = select(PaymentRun).where(PaymentRun.kind == kind, PaymentRun.year == year,
                                    PaymentRun.base_run_id.is_(None))
    if consortium_id is not None:
        stmt = stmt.where(PaymentRun.consortium_id == consortium_id)
    return session.scalar(stmt.order_by(PaymentRun.id.desc()).limit(1))


# --- frozen scores (the seam to indicators) --------------------------------------------------------


def approved_scores(session: Session, year: int, institution_ids: Iterable[int],
                    scorecard_code: str | None = None) -> tuple[str | None, dict[int, Decimal]]:
    """Frozen institution scores of the year from the latest approved scorecard snapshot (or the
    named scorecard's): ``(scorecard code, {institution id: score})``; empty when none is approved."""
    ids = sorted(set(institution_ids))
    approval = select(ScorecardApproval).where(ScorecardApproval.period == str(year))
    if scorecard_code:
        approval = approval.where(ScorecardApproval.scorecard_code == scorecard_code)
    chosen = session.scalars(approval.order_by(ScorecardApproval.approved_at.desc(), ScorecardApproval.id.desc())
                             .limit(1)).first()
    if chosen is None or not ids:
        return None, {}
    s = ScorecardSnapshotScore
    rows = session.execute(select(s.institution_id, s.score).where(
        s.approval_id == chosen.id, s.unit_kind == "institution", s.institution_id.in_(ids)))
    return chosen.scorecard_code, {int(r[0]): r[1] for r in rows if r[0] is not None}


def consortium_members(session: Session, consortium_id: int, year_start: Any, year_end: Any
                       ) -> list[tuple[InstitutionInfo, str]]:
    """Direct members (lead, member) of a consortium at some time in the year, with their role."""
    m = ConsortiumMembership
    stmt = (select(*_INFO_COLUMNS, m.role).join(m, m.institution_id == Institution.id)
            .where(m.consortium_id == consortium_id, m.role.in_(("lead", "member")), m.joined_on <= year_end,
                   or_(m.left_on.is_(None), m.left_on > year_start))
            .order_by(Institution.code))
    out: dict[int, tuple[InstitutionInfo, str]] = {}
    for r in session.execute(stmt):
        if r.id not in out or r.role == "lead":
            out[r.id] = (_info(r), r.role)
    return list(out.values())
