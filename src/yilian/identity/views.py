"""Login and logout pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from yilian.core.paging import PageRequest
from yilian.identity import service
from yilian.web.csrf import verify_csrf
from yilian.web.deps import DB, PageUser, settings_of
from yilian.web.templating import render

router = APIRouter(tags=["pages"], include_in_schema=False)


def _safe_next(value: str | None) -> str:
    # Only same-site paths: never redirect a login to another host.
    return value if value and value.startswith("/") and not value.startswith("//") else "/"


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", next=_safe_next(next), error=None)


@router.post("/login", dependencies=[Depends(verify_csrf)])
def login(
    request: Request,
    session: DB,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    settings = settings_of(request)
    client = request.client.host if request.client else "unknown"
    outcome = service.authenticate(session, username, password, client,
                                   settings.login_max_attempts, settings.login_window_seconds)
    if outcome.error is not None:
        session.commit()
        return render(request, "login.html", status_code=outcome.error.http_status,
                      next=_safe_next(next), error=outcome.error, username=username)
    assert outcome.principal is not None
    request.session.clear()  # new session on login: no fixation
    request.session["uid"] = outcome.principal.user_id
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", dependencies=[Depends(verify_csrf)])
def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


ACTIONS_ZH = {"create": "新增", "update": "修改", "read": "查阅", "transition": "状态变更", "delete": "删除"}


@router.get("/audit")
def audit_page(request: Request, session: DB, user: PageUser, entity: str | None = None,
               action: str | None = None, resident: int | None = None, who: str | None = None,
               page: int = 1) -> Response:
    p = service.audit_log(session, user, PageRequest(page, 50), entity=entity or None, action=action or None,
                          resident_id=resident, who=who or None)
    params = {"entity": entity, "action": action, "resident": resident, "who": who}
    base = "?" + "&".join(f"{k}={v}" for k, v in params.items() if v)
    return render(request, "audit.html", page=p, actions=ACTIONS_ZH, base_url=base,
                  f={k: v or "" for k, v in params.items()})
