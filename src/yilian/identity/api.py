"""Identity API: ``POST /api/v1/auth/token`` (form or JSON) and ``GET /api/v1/me``."""

from __future__ import annotations

from fastapi import APIRouter, Request

from yilian.core.errors import ValidationFailed
from yilian.identity import service
from yilian.identity.roles import ROLE_NAMES_ZH
from yilian.identity.schemas import GrantOut, MeOut, TokenOut
from yilian.web.deps import DB, ApiUser, settings_of

router = APIRouter(prefix="/api/v1", tags=["identity"])


async def _credentials(request: Request) -> tuple[str, str]:
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await request.json()
        data = body if isinstance(body, dict) else {}
    else:
        data = dict(await request.form())
    username, password = data.get("username"), data.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        raise ValidationFailed("请提供用户名和密码。", code="credentials_missing")
    return username, password


@router.post("/auth/token", response_model=TokenOut)
async def token(request: Request, session: DB) -> TokenOut:
    username, password = await _credentials(request)
    settings = settings_of(request)
    client = request.client.host if request.client else "unknown"
    outcome = service.authenticate(session, username, password, client,
                                   settings.login_max_attempts, settings.login_window_seconds)
    if outcome.error is not None:
        session.commit()  # keep the failure count even though the request is refused
        raise outcome.error
    assert outcome.principal is not None
    return TokenOut(access_token=service.issue_token(settings.secret(), outcome.principal),
                    expires_in=settings.api_token_max_age_seconds)


@router.get("/me", response_model=MeOut)
def me(user: ApiUser) -> MeOut:
    return MeOut(
        id=user.user_id, username=user.username, display_name=user.display_name,
        grants=[GrantOut(role=g.role.value, role_name=ROLE_NAMES_ZH[g.role], institution_id=g.institution_id,
                         consortium_id=g.consortium_id, division_code=g.division_code) for g in user.grants],
    )
