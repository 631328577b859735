"""CSRF protection for cookie-authenticated forms (synchronizer token in the session).

Forms carry ``csrf_token``; htmx requests carry the ``X-CSRF-Token`` header set once on <body>.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request

from yilian.core.errors import Forbidden

SESSION_KEY = "csrf"


def csrf_token(request: Request) -> str:
    token = request.session.get(SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_KEY] = token
    return str(token)


async def verify_csrf(request: Request) -> None:
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        return
    expected = request.session.get(SESSION_KEY)
    given = request.headers.get("x-csrf-token")
    if not given:
        form = await request.form()
        value = form.get("csrf_token")
        given = value if isinstance(value, str) else None
    if not expected or not given or not hmac.compare_digest(str(expected), given):
        raise Forbidden("页面已过期或请求来源无效，请刷新页面后重试。", code="csrf_failed")
