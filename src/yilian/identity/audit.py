"""The audit log: every write (before/after) and every staff read of a resident's record."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from yilian.core.clock import utcnow
from yilian.db.models import AuditLog
from yilian.identity.principal import Principal


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def snapshot(obj: Any, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Column values of an ORM row, for before/after; personal columns are never included."""
    hidden = exclude | {"id_cipher", "phone_cipher", "address_detail_cipher", "password_hash", "id_hash"}
    return {
        c.key: _jsonable(getattr(obj, c.key))
        for c in obj.__table__.columns
        if c.key not in hidden
    }


def record(
    session: Session,
    actor: Principal,
    action: str,
    entity: str,
    entity_id: object | None = None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    resident_id: int | None = None,
    detail: str | None = None,
) -> None:
    session.add(
        AuditLog(
            at=utcnow(),
            actor_user_id=actor.user_id,
            actor=actor.username,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            resident_id=resident_id,
            before=_jsonable(before) if before is not None else None,
            after=_jsonable(after) if after is not None else None,
            detail=(detail or "")[:500] or None,
        )
    )


def record_read(session: Session, actor: Principal, resident_id: int, what: str) -> None:
    record(session, actor, "read", "resident", resident_id, resident_id=resident_id, detail=what)


def dumps(value: dict[str, Any] | None) -> str:
    return "" if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)
