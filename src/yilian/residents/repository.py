"""Queries of the master patient index — the only SQL of the feature.

Scope arrives as a function building a WHERE condition (``identity.scope.resident_filter``),
so every list is filtered in the database, and a page of results never loads rows
the reader may not see.  Division and institution names are read here for display
and validation (reads of registry tables; rows there are written only by registry).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from yilian.core.paging import PageRequest
from yilian.db.models import (
    CareRelationship,
    Division,
    DuplicateReview,
    Institution,
    InsuranceEnrolment,
    KeyPopulation,
    Resident,
)

#: Builds "this resident id column is in the reader's scope" for whichever table alias a
#: query needs; the service passes ``identity.scope.resident_filter`` bound to the actor.
ScopeFor = Callable[[ColumnElement[int]], ColumnElement[bool]]

# ---- residents ---------------------------------------------------------------------------


def resident_by_id(session: Session, resident_id: int) -> Resident | None:
    return session.get(Resident, resident_id)


def resident_for_update(session: Session, resident_id: int) -> Resident | None:
    """The resident row locked for the transaction (PostgreSQL ``FOR UPDATE``), so two requests
    adding enrolments or key populations to one resident check their overlap rules in turn.
    SQLite ignores the clause; it already takes the write lock at ``BEGIN IMMEDIATE``."""
    return session.get(Resident, resident_id, with_for_update=True, populate_existing=True)


def resident_by_hash(session: Session, id_hash: str) -> Resident | None:
    return session.scalar(select(Resident).where(Resident.id_hash == id_hash))


def _paged(session: Session, stmt: Select[tuple[Resident]], page: PageRequest) -> tuple[list[Resident], int]:
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = session.scalars(stmt.limit(page.size).offset(page.offset))
    return list(rows), int(total)


def search_by_name(
    session: Session, scope_for: ScopeFor, name_part: str, page: PageRequest
) -> tuple[list[Resident], int]:
    """Residents in scope whose name contains ``name_part`` (all in scope when empty)."""
    stmt = select(Resident).where(scope_for(Resident.id.expression))
    if name_part:
        # autoescape: a "%" or "_" typed into the box is a character, not a wildcard.
        stmt = stmt.where(Resident.name.contains(name_part, autoescape=True))
    return _paged(session, stmt.order_by(Resident.name, Resident.id), page)


def find_by_hash_in_scope(session: Session, scope_for: ScopeFor, id_hash: str) -> Resident | None:
    stmt = select(Resident).where(Resident.id_hash == id_hash, scope_for(Resident.id.expression))
    return session.scalar(stmt)


# ---- registry reads (display and validation) ----------------------------------------------


def division(session: Session, code: str) -> Division | None:
    return session.get(Division, code)


def division_names(session: Session, codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = session.execute(select(Division.code, Division.name).where(Division.code.in_(codes))).tuples()
    return {code: name for code, name in rows}


def institution_name(session: Session, institution_id: int) -> str | None:
    return session.scalar(select(Institution.name).where(Institution.id == institution_id))


def institution_choices(session: Session, ids: set[int] | None) -> list[tuple[int, str]]:
    """(id, name) of the given institutions, or of all when ``ids`` is None, by name."""
    stmt = select(Institution.id, Institution.name)
    if ids is not None:
        stmt = stmt.where(Institution.id.in_(ids))
    return [(i, n) for i, n in session.execute(stmt.order_by(Institution.name, Institution.id)).tuples()]


# ---- enrolments, key populations ----------------------------------------------------------


def enrolments_of(session: Session, resident_id: int) -> list[InsuranceEnrolment]:
    stmt = (
        select(InsuranceEnrolment)
        .where(InsuranceEnrolment.resident_id == resident_id)
        .order_by(InsuranceEnrolment.start_on, InsuranceEnrolment.id)
    )
    return list(session.scalars(stmt))


def key_populations_of(session: Session, resident_id: int, code: str | None = None) -> list[KeyPopulation]:
    stmt = select(KeyPopulation).where(KeyPopulation.resident_id == resident_id)
    if code is not None:
        stmt = stmt.where(KeyPopulation.code == code)
    return list(session.scalars(stmt.order_by(KeyPopulation.since, KeyPopulation.id)))


def key_population(session: Session, resident_id: int, key_population_id: int) -> KeyPopulation | None:
    stmt = select(KeyPopulation).where(
        KeyPopulation.id == key_population_id, KeyPopulation.resident_id == resident_id
    )
    return session.scalar(stmt)


# ---- care relationships -------------------------------------------------------------------


def care_relationships_of(session: Session, resident_id: int) -> list[tuple[CareRelationship, str]]:
    """A resident's relationships with the institution's name, current ones first."""
    stmt = (
        select(CareRelationship, Institution.name)
        .join(Institution, Institution.id == CareRelationship.institution_id)
        .where(CareRelationship.resident_id == resident_id)
        .order_by(CareRelationship.until.is_not(None), CareRelationship.since.desc(), CareRelationship.id)
    )
    return [(rel, name) for rel, name in session.execute(stmt).tuples()]


def active_care_relationship(
    session: Session, resident_id: int, institution_id: int, kind: str, on: date
) -> CareRelationship | None:
    """A relationship of this kind still running on or after ``on`` (``until`` inclusive, as the
    access scope reads it): adding another one would only duplicate it."""
    stmt = select(CareRelationship).where(
        CareRelationship.resident_id == resident_id,
        CareRelationship.institution_id == institution_id,
        CareRelationship.kind == kind,
        or_(CareRelationship.until.is_(None), CareRelationship.until >= on),
    )
    return session.scalars(stmt.order_by(CareRelationship.since.desc()).limit(1)).first()


def open_care_relationship(
    session: Session, resident_id: int, institution_id: int, kind: str
) -> CareRelationship | None:
    stmt = select(CareRelationship).where(
        CareRelationship.resident_id == resident_id,
        CareRelationship.institution_id == institution_id,
        CareRelationship.kind == kind,
        CareRelationship.until.is_(None),
    )
    return session.scalars(stmt.order_by(CareRelationship.since.desc()).limit(1)).first()


# ---- possible duplicates ------------------------------------------------------------------

_A = aliased(Resident, name="dup_a")
_B = aliased(Resident, name="dup_b")


def _same_person_fields() -> ColumnElement[bool]:
    return and_(
        _A.name == _B.name,
        _A.birth_date == _B.birth_date,
        _A.address_division_code == _B.address_division_code,
    )


def _candidate_conditions(scope_for: ScopeFor) -> list[ColumnElement[bool]]:
    """Pairs (a.id < b.id) with the same name, birth date and township, at least one without
    an ID number (two different numbers are two people), no reviewer's decision yet, and
    both residents in the reader's scope (judging a pair means looking at both)."""
    reviewed = exists().where(DuplicateReview.resident_a_id == _A.id, DuplicateReview.resident_b_id == _B.id)
    return [
        _A.id < _B.id,
        or_(_A.id_hash.is_(None), _B.id_hash.is_(None)),
        ~reviewed,
        scope_for(_A.id.expression),
        scope_for(_B.id.expression),
    ]


def duplicate_candidates(
    session: Session, scope_for: ScopeFor, page: PageRequest
) -> tuple[list[tuple[Resident, Resident]], int]:
    """One self-join on the ``ix_resident_dup`` columns: the database finds every pair in one
    statement instead of the application comparing residents one by one."""
    where = _candidate_conditions(scope_for)
    ids = select(_A.id, _B.id).join(_B, _same_person_fields()).where(*where)
    total = session.scalar(select(func.count()).select_from(ids.subquery())) or 0
    stmt = (
        select(_A, _B)
        .join(_B, _same_person_fields())
        .where(*where)
        .order_by(_A.name, _A.id, _B.id)
        .limit(page.size)
        .offset(page.offset)
    )
    return [(a, b) for a, b in session.execute(stmt).tuples()], int(total)


def is_duplicate_candidate(session: Session, a_id: int, b_id: int) -> bool:
    """Whether (a, b) match as a possible duplicate, reviewed or not."""
    stmt = (
        select(_A.id)
        .join(_B, _same_person_fields())
        .where(_A.id == a_id, _B.id == b_id, or_(_A.id_hash.is_(None), _B.id_hash.is_(None)))
    )
    return session.scalar(stmt) is not None


def duplicate_review(session: Session, a_id: int, b_id: int) -> DuplicateReview | None:
    stmt = select(DuplicateReview).where(
        DuplicateReview.resident_a_id == a_id, DuplicateReview.resident_b_id == b_id
    )
    return session.scalar(stmt)


def reviews_marked_same(
    session: Session, scope_for: ScopeFor, page: PageRequest
) -> tuple[list[tuple[DuplicateReview, Resident, Resident]], int]:
    """Pairs a reviewer judged to be one person: the data steward's work list (never merged here)."""
    where = [DuplicateReview.decision == "same", scope_for(_A.id.expression), scope_for(_B.id.expression)]
    base = (
        select(DuplicateReview.id)
        .join(_A, _A.id == DuplicateReview.resident_a_id)
        .join(_B, _B.id == DuplicateReview.resident_b_id)
        .where(*where)
    )
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    stmt = (
        select(DuplicateReview, _A, _B)
        .join(_A, _A.id == DuplicateReview.resident_a_id)
        .join(_B, _B.id == DuplicateReview.resident_b_id)
        .where(*where)
        .order_by(DuplicateReview.reviewed_at.desc(), DuplicateReview.id)
        .limit(page.size)
        .offset(page.offset)
    )
    return [(r, a, b) for r, a, b in session.execute(stmt).tuples()], int(total)
