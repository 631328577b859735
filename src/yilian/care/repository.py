"""Queries and bulk writes of care — the only SQL of the feature.

Reads of other features' tables happen here for validation and display (institutions,
departments, practitioners by code; residents by ID-number hash; names for lists).  The one write
outside care's own tables is the seam: ``insert_treated_relationships`` adds missing ``treated``
``care_relationship`` rows for a whole imported chunk in one INSERT … SELECT … WHERE NOT EXISTS.
ARCHITECTURE.md lets a repository read and write the seam table in bulk; one encounter at a time
goes through ``residents.service.do_add_care_relationship`` instead.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import Connection, Row, Select, Table, and_, case, exists, func, insert, literal, or_, select, tuple_
from sqlalchemy.orm import Session

from yilian.core.paging import PageRequest
from yilian.db.bulk import copy_rows, reserve_ids
from yilian.db.models import (
    CareRelationship,
    Department,
    Encounter,
    Institution,
    Practitioner,
    ReferralEpisode,
    Resident,
    Settlement,
)

ENCOUNTER_COLUMNS: Final = (
    "id", "source_system", "source_id", "resident_id", "institution_id", "department_id", "practitioner_id", "kind",
    "start_date", "end_date", "los_days", "discharge_mode", "age_years", "age_days", "birth_weight_g", "principal_dx",
    "diagnoses", "principal_proc", "procedures", "referral_episode_id", "received_at",
)
SETTLEMENT_COLUMNS: Final = (
    "encounter_id", "settled_on", "scheme", "place", "in_county", "source", "total_cost", "cost_drugs", "cost_exams",
    "cost_treatment", "cost_materials", "cost_beds", "cost_other", "policy_cost", "deductible", "ratio", "fund_paid",
    "patient_paid",
)
#: What a sender controls: compared to tell a repeated record from a changed one.
COMPARED_ENCOUNTER: Final = (
    "resident_id", "institution_id", "department_id", "practitioner_id", "kind", "start_date", "end_date", "los_days",
    "discharge_mode", "birth_weight_g", "diagnoses", "procedures", "referral_episode_id",
)
COMPARED_SETTLEMENT: Final = (
    "settled_on", "scheme", "source", "total_cost", "cost_drugs", "cost_exams", "cost_treatment", "cost_materials",
    "cost_beds", "cost_other", "policy_cost", "deductible", "ratio", "fund_paid", "patient_paid",
)
TREATED: Final = "treated"
#: Parameters per IN list; SQLite allows 32,766 bound parameters per statement.
_IN_BATCH: Final = 5000


@dataclass(frozen=True, slots=True)
class InstitutionRef:
    id: int
    code: str
    name: str
    is_primary_care: bool
    in_county: bool


def _batches(values: Collection[Any]) -> Iterator[list[Any]]:
    items = list(values)
    for i in range(0, len(items), _IN_BATCH):
        yield items[i:i + _IN_BATCH]


# ---- lookups for ingestion ----------------------------------------------------------------


def residents_by_hash(session: Session, hashes: Collection[str]) -> dict[str, tuple[int, date]]:
    """(resident id, birth date) by ID-number lookup hash; the unique index on ``id_hash`` serves it."""
    out: dict[str, tuple[int, date]] = {}
    for batch in _batches(hashes):
        stmt = select(Resident.id_hash, Resident.id, Resident.birth_date).where(Resident.id_hash.in_(batch))
        for h, rid, born in session.execute(stmt).tuples():
            if h is not None:
                out[h] = (rid, born)
    return out


def institutions_by_code(session: Session, codes: Collection[str]) -> dict[str, InstitutionRef]:
    out: dict[str, InstitutionRef] = {}
    for batch in _batches(codes):
        stmt = select(Institution.id, Institution.code, Institution.name, Institution.is_primary_care,
                      Institution.in_county).where(Institution.code.in_(batch))
        for row in session.execute(stmt).tuples():
            out[row[1]] = InstitutionRef(*row)
    return out


def departments_by_code(session: Session, keys: Collection[tuple[int, str]]) -> dict[tuple[int, str], int]:
    out: dict[tuple[int, str], int] = {}
    for batch in _batches(keys):
        stmt = select(Department.institution_id, Department.code, Department.id).where(
            tuple_(Department.institution_id, Department.code).in_(batch))
        for inst, code, dep in session.execute(stmt).tuples():
            out[(inst, code)] = dep
    return out


def practitioners_by_code(session: Session, codes: Collection[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for batch in _batches(codes):
        stmt = select(Practitioner.code, Practitioner.id).where(Practitioner.code.in_(batch))
        out.update({code: pid for code, pid in session.execute(stmt).tuples()})
    return out


def referral_episodes(session: Session, ids: Collection[int]) -> dict[int, tuple[int, str | None]]:
    """(resident id, approval) of referral episodes: the seam's read — the link must point at the
    same resident's episode, and its approval decides the out-of-county place."""
    out: dict[int, tuple[int, str | None]] = {}
    for batch in _batches(ids):
        stmt = select(ReferralEpisode.id, ReferralEpisode.resident_id, ReferralEpisode.approval).where(
            ReferralEpisode.id.in_(batch))
        out.update({eid: (rid, approval) for eid, rid, approval in session.execute(stmt).tuples()})
    return out


def _compared_columns() -> list[Any]:
    return [Encounter.id, Encounter.source_id, *(getattr(Encounter, c) for c in COMPARED_ENCOUNTER),
            *(getattr(Settlement, c).label(f"s_{c}") for c in COMPARED_SETTLEMENT)]


def _compared(row: Row[Any]) -> dict[str, Any]:
    m = row._mapping
    values = {c: m[c] for c in COMPARED_ENCOUNTER}
    values.update({c: m[f"s_{c}"] for c in COMPARED_SETTLEMENT})
    values["id"] = m["id"]
    return values


def stored_by_source(session: Session, source_system: str, source_ids: Collection[str]) -> dict[str, dict[str, Any]]:
    """The sender-controlled values of encounters already recorded under these source ids (the
    unique index on (source_system, source_id) serves it), keyed by source id."""
    out: dict[str, dict[str, Any]] = {}
    for batch in _batches(source_ids):
        stmt = (select(*_compared_columns()).outerjoin(Settlement, Settlement.encounter_id == Encounter.id)
                .where(Encounter.source_system == source_system, Encounter.source_id.in_(batch)))
        for row in session.execute(stmt):
            out[row._mapping["source_id"]] = _compared(row)
    return out


def episode_deductibles(session: Session, episode_ids: Collection[int]) -> dict[tuple[int, str], Decimal]:
    """Deductibles already paid per (referral episode, care group) — inpatient, or outpatient for
    visits of either kind — from the settlements recorded so far."""
    group = case((Encounter.kind == "inpatient", literal("inpatient")), else_=literal("outpatient"))
    out: dict[tuple[int, str], Decimal] = {}
    for batch in _batches(episode_ids):
        stmt = (select(Encounter.referral_episode_id, group, func.sum(Settlement.deductible))
                .join(Settlement, Settlement.encounter_id == Encounter.id)
                .where(Encounter.referral_episode_id.in_(batch))
                .group_by(Encounter.referral_episode_id, group))
        for episode, grp, paid in session.execute(stmt).tuples():
            if episode is not None:
                out[(int(episode), str(grp))] = Decimal(paid or 0).quantize(Decimal("0.01"))
    return out


# ---- writes -------------------------------------------------------------------------------


def add_encounter(session: Session, encounter: Encounter, settlement: Settlement) -> None:
    """One encounter and its settlement through the ORM (the single-record API path)."""
    session.add(encounter)
    session.flush()
    settlement.encounter_id = encounter.id
    session.add(settlement)
    session.flush()


def settlement_of(session: Session, encounter_id: int) -> Settlement | None:
    return session.get(Settlement, encounter_id)


def encounter_by_source(session: Session, source_system: str, source_id: str) -> Encounter | None:
    return session.scalar(select(Encounter).where(Encounter.source_system == source_system,
                                                  Encounter.source_id == source_id))


def compared_by_id(session: Session, encounter_id: int) -> dict[str, Any]:
    stmt = (select(*_compared_columns()).outerjoin(Settlement, Settlement.encounter_id == Encounter.id)
            .where(Encounter.id == encounter_id))
    return _compared(session.execute(stmt).one())


def reserve_encounter_ids(session: Session, n: int) -> int:
    return reserve_ids(session.connection(), Encounter.__table__, n)  # type: ignore[arg-type]


def _sqlite_adapter(conn: Connection, table: Any, columns: Sequence[str]) -> Any:
    """Row converter doing what the ORM's bind processors do on SQLite (dates as ISO text, Decimal
    as the float SQLAlchemy stores, booleans as 0/1); PostgreSQL's COPY takes Python values."""
    if conn.dialect.name != "sqlite":
        return None
    procs = [table.c[c].type.dialect_impl(conn.dialect).bind_processor(conn.dialect) for c in columns]
    active = [(i, p) for i, p in enumerate(procs) if p is not None]

    def adapt(row: Sequence[Any]) -> tuple[Any, ...]:
        values = list(row)
        for i, p in active:
            values[i] = p(values[i])
        return tuple(values)

    return adapt


def _copy(session: Session, table: Any, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    session.flush()
    conn = session.connection()
    adapt = _sqlite_adapter(conn, table, columns)
    data = [adapt(r) for r in rows] if adapt else list(rows)
    return copy_rows(conn, table, columns, data)


def insert_encounters(session: Session, rows: Iterable[Sequence[Any]]) -> int:
    """Rows in ``ENCOUNTER_COLUMNS`` order, ids reserved by the caller (COPY on PostgreSQL)."""
    return _copy(session, Encounter.__table__, ENCOUNTER_COLUMNS, rows)


def insert_settlements(session: Session, rows: Iterable[Sequence[Any]]) -> int:
    return _copy(session, Settlement.__table__, SETTLEMENT_COLUMNS, rows)


def insert_treated_relationships(session: Session, first_id: int, last_id: int) -> int:
    """Open a ``treated`` relationship for every (resident, institution) pair of the encounters with
    ids in [first_id, last_id] that has none running on the encounter's date: one statement, since
    = the pair's earliest date in the range.  The (institution_id, resident_id) index on
    care_relationship serves the NOT EXISTS probe."""
    e, c = Encounter.__table__, CareRelationship.__table__
    assert isinstance(e, Table) and isinstance(c, Table)
    running = select(literal(1)).where(
        c.c.resident_id == e.c.resident_id, c.c.institution_id == e.c.institution_id, c.c.kind == TREATED,
        or_(c.c.until.is_(None), c.c.until >= e.c.start_date),
    )
    pairs = (select(e.c.resident_id, e.c.institution_id, literal(TREATED), func.min(e.c.start_date))
             .where(e.c.id.between(first_id, last_id), ~exists(running))
             .group_by(e.c.resident_id, e.c.institution_id))
    # RETURNING to count: psycopg reports rowcount -1 for an INSERT … SELECT run through Core.
    stmt = insert(c).from_select(["resident_id", "institution_id", "kind", "since"], pairs).returning(c.c.id)
    return len(session.execute(stmt).all())


def refresh_statistics(session: Session) -> None:
    """Let SQLite's planner see the new rows: without statistics it picks ``ix_encounter_discharge``
    (kind) for a period count instead of ``ix_encounter_date_kind``.  ``analysis_limit`` samples each
    index, so this takes milliseconds at 10 M rows.  PostgreSQL's autovacuum analyses on its own."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return
    conn.exec_driver_sql("PRAGMA analysis_limit = 1000")
    for table in ("encounter", "settlement", "care_relationship"):
        conn.exec_driver_sql(f"ANALYZE {table}")


# ---- reads for pages and the API ----------------------------------------------------------

ListRow = tuple[Encounter, Settlement | None, str, str]


def _listing() -> Select[tuple[Encounter, Settlement, str, str]]:
    return (select(Encounter, Settlement, Institution.name, Resident.name)
            .join(Institution, Institution.id == Encounter.institution_id)
            .join(Resident, Resident.id == Encounter.resident_id)
            .outerjoin(Settlement, Settlement.encounter_id == Encounter.id))


def _page(session: Session, conditions: list[Any], page: PageRequest) -> tuple[list[ListRow], int]:
    where = and_(*conditions) if conditions else literal(True)
    total = session.scalar(select(func.count()).select_from(Encounter).where(where)) or 0
    stmt = (_listing().where(where).order_by(Encounter.start_date.desc(), Encounter.id.desc())
            .limit(page.size).offset(page.offset))
    return [(e, s, i, r) for e, s, i, r in session.execute(stmt).tuples()], int(total)


def encounters_of_resident(session: Session, resident_id: int, page: PageRequest) -> tuple[list[ListRow], int]:
    """Newest first; ``ix_encounter_resident_date`` (resident_id, start_date) serves filter and order."""
    return _page(session, [Encounter.resident_id == resident_id], page)


def encounters_at(
    session: Session, institution_ids: Collection[int] | None, date_from: date | None, date_to: date | None,
    kind: str | None, page: PageRequest,
) -> tuple[list[ListRow], int]:
    """Encounters at the institutions (all when None) in a period: ``ix_encounter_inst_date``
    (institution_id, start_date) serves one institution and a date range; without an institution,
    ``ix_encounter_date_kind`` (start_date, kind) serves the period."""
    conditions: list[Any] = []
    if institution_ids is not None:
        conditions.append(Encounter.institution_id.in_(sorted(institution_ids)))
    if date_from is not None:
        conditions.append(Encounter.start_date >= date_from)
    if date_to is not None:
        conditions.append(Encounter.start_date <= date_to)
    if kind is not None:
        conditions.append(Encounter.kind == kind)
    return _page(session, conditions, page)


def institution_choices(session: Session, ids: Collection[int] | None) -> list[tuple[int, str]]:
    stmt = select(Institution.id, Institution.name)
    if ids is not None:
        stmt = stmt.where(Institution.id.in_(sorted(ids)))
    return [(i, n) for i, n in session.execute(stmt.order_by(Institution.name, Institution.id)).tuples()]


def institution_ref(session: Session, institution_id: int) -> InstitutionRef | None:
    inst = session.get(Institution, institution_id)
    if inst is None:
        return None
    return InstitutionRef(inst.id, inst.code, inst.name, inst.is_primary_care, inst.in_county)


def names_for(session: Session, encounter: Encounter) -> tuple[str, str]:
    """(institution name, resident name) of one encounter."""
    inst = session.scalar(select(Institution.name).where(Institution.id == encounter.institution_id))
    res = session.scalar(select(Resident.name).where(Resident.id == encounter.resident_id))
    return str(inst), str(res)
