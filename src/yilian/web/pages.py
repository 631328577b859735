"""Home page and health checks."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import text
from starlette.responses import Response

from yilian.registry import service as registry
from yilian.web.deps import DB, PageUser
from yilian.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
@router.get("/api/v1/health", include_in_schema=True, tags=["health"])
def health(session: DB) -> dict[str, str]:
    session.execute(text("select 1"))
    return {"status": "ok"}


@router.get("/favicon.ico")
def favicon() -> Response:
    return Response(status_code=204)


@router.get("/")
def home(request: Request, session: DB, user: PageUser) -> Response:
    overview = registry.overview(session, user)
    return render(request, "home.html", overview=overview)
