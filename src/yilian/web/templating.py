"""Jinja environment shared by every feature's pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from yilian.core.clock import format_local
from yilian.core.money import format_yuan
from yilian.web.csrf import csrf_token

TEMPLATES_DIR = Path(__file__).with_name("templates")

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.globals["csrf_token"] = csrf_token
templates.env.filters["local"] = format_local
templates.env.filters["yuan"] = format_yuan


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("user", getattr(request.state, "principal", None))
    context.setdefault("flash", request.session.pop("flash", None) if "session" in request.scope else None)
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def flash(request: Request, message: str, kind: str = "success") -> None:
    request.session["flash"] = {"message": message, "kind": kind}
