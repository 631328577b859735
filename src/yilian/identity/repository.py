"""Identity queries.  Scope queries read registry and residents tables (allowed for access scope)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, func, or_, select
from sqlalchemy.orm import Session

from yilian.db.models import (
    AuditLog,
    CareRelationship,
    Consortium,
    ConsortiumAffiliation,
    ConsortiumMembership,
    Division,
    Institution,
    LoginAttempt,
    RoleGrant,
    User,
)


def user_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def user_by_id(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def count_failures(session: Session, key: str, since: datetime) -> int:
    stmt = select(func.count()).select_from(LoginAttempt).where(LoginAttempt.key == key, LoginAttempt.at >= since)
    return int(session.scalar(stmt) or 0)


def add_failure(session: Session, key: str, at: datetime) -> None:
    session.add(LoginAttempt(key=key, at=at))


def clear_failures(session: Session, key: str) -> None:
    session.execute(delete(LoginAttempt).where(LoginAttempt.key == key))


def add_grant(session: Session, grant: RoleGrant) -> None:
    session.add(grant)


def _current(col_from: Any, col_to: Any, on: date) -> ColumnElement[bool]:
    """Half-open [from, to) interval containing ``on``."""
    cond: ColumnElement[bool] = (col_from <= on) & or_(col_to.is_(None), col_to > on)
    return cond


def consortium_institution_ids(session: Session, consortium_id: int, on: date) -> set[int]:
    """Institutions in a consortium's network on a date: direct members (any role) plus the
    leads and members of county communities that joined it as a whole."""
    direct = select(ConsortiumMembership.institution_id).where(
        ConsortiumMembership.consortium_id == consortium_id,
        _current(ConsortiumMembership.joined_on, ConsortiumMembership.left_on, on),
    )
    communities = select(ConsortiumAffiliation.community_id).where(
        ConsortiumAffiliation.group_id == consortium_id,
        _current(ConsortiumAffiliation.joined_on, ConsortiumAffiliation.left_on, on),
    )
    via = select(ConsortiumMembership.institution_id).where(
        ConsortiumMembership.consortium_id.in_(communities),
        ConsortiumMembership.role.in_(("lead", "member")),
        _current(ConsortiumMembership.joined_on, ConsortiumMembership.left_on, on),
    )
    return set(session.scalars(direct.union(via)))


def division_institution_ids(session: Session, prefix: str) -> set[int]:
    return set(session.scalars(select(Institution.id).where(Institution.division_code.like(f"{prefix}%"))))


def residents_related_to(institution_ids: set[int], on: date) -> Select[tuple[int]]:
    """Residents with a current care relationship to any of the institutions."""
    return select(CareRelationship.resident_id).where(
        CareRelationship.institution_id.in_(institution_ids),
        or_(CareRelationship.until.is_(None), CareRelationship.until >= on),
    )


def has_relationship(session: Session, resident_id: int, institution_ids: set[int], on: date) -> bool:
    stmt = residents_related_to(institution_ids, on).where(CareRelationship.resident_id == resident_id).limit(1)
    return session.scalar(stmt) is not None


def institution_id(session: Session, code: str) -> int | None:
    return session.scalar(select(Institution.id).where(Institution.code == code))


def consortium_id(session: Session, code: str) -> int | None:
    return session.scalar(select(Consortium.id).where(Consortium.code == code))


def division_exists(session: Session, code: str) -> bool:
    return session.get(Division, code) is not None


def audit_query(entity: str | None = None, action: str | None = None, resident_id: int | None = None,
                actor: str | None = None) -> Select[tuple[AuditLog]]:
    stmt = select(AuditLog).order_by(AuditLog.at.desc(), AuditLog.id.desc())
    if entity:
        stmt = stmt.where(AuditLog.entity == entity)
    if action:
        stmt = stmt.where(AuditLog.action == action)
    if resident_id is not None:
        stmt = stmt.where(AuditLog.resident_id == resident_id)
    if actor:
        stmt = stmt.where(AuditLog.actor == actor)
    return stmt


def page_of(session: Session, stmt: Select[tuple[AuditLog]], size: int, offset: int) -> tuple[list[AuditLog], int]:
    total = int(session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0)
    return list(session.scalars(stmt.limit(size).offset(offset))), total
