"""Scope filters for list queries: 'residents this principal may see' as a SQL condition."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, true
from sqlalchemy.orm import Session

from yilian.core.clock import today_local
from yilian.identity import repository
from yilian.identity.principal import Principal
from yilian.identity.roles import Perm
from yilian.identity.service import institution_scope


def resident_filter(session: Session, principal: Principal, resident_id_col: Any) -> ColumnElement[bool]:
    """A WHERE condition restricting ``resident_id_col`` to residents in the principal's scope."""
    principal.require(Perm.RESIDENT_READ)
    scope = institution_scope(session, principal, Perm.RESIDENT_READ)
    if scope is None:
        return true()
    cond: ColumnElement[bool] = resident_id_col.in_(repository.residents_related_to(scope, today_local()))
    return cond
