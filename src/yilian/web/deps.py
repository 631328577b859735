"""Request dependencies: the per-request transaction and the acting principal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from yilian.core import events
from yilian.core.config import Settings
from yilian.core.errors import DomainError, Unauthenticated
from yilian.identity import service as identity
from yilian.identity.principal import Principal


class LoginRequired(DomainError):
    """Raised by page routes without a logged-in user; mapped to a redirect to /login."""

    http_status = 401
    default_code = "login_required"


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def db(request: Request) -> Iterator[Session]:
    """One transaction per request, committed before the response is sent."""
    maker = request.app.state.session_maker
    session = maker()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    events.run_pending(session, maker)


DB = Annotated[Session, Depends(db, scope="function")]


def api_principal(request: Request, session: DB) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("需要登录：请在 Authorization 头中提供 Bearer 访问令牌。", code="token_missing")
    settings = settings_of(request)
    return identity.principal_from_token(session, settings.secret(), token.strip(),
                                         settings.api_token_max_age_seconds)


def page_principal(request: Request, session: DB) -> Principal:
    user_id = request.session.get("uid")
    if not user_id:
        raise LoginRequired("请先登录。")
    try:
        principal = identity.principal_by_id(session, int(user_id))
    except Unauthenticated:
        request.session.clear()
        raise LoginRequired("请先登录。") from None
    request.state.principal = principal
    return principal


ApiUser = Annotated[Principal, Depends(api_principal)]
PageUser = Annotated[Principal, Depends(page_principal)]
