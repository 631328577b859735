"""The one mapping of DomainError to HTTP: JSON for the API, a page or an htmx fragment for pages."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import JSONResponse, RedirectResponse, Response

from yilian.core.errors import DomainError
from yilian.web.deps import LoginRequired
from yilian.web.templating import render

log = logging.getLogger("yilian.web")


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error_response(request: Request, exc: DomainError) -> Response:
    if _is_api(request):
        return JSONResponse({"error": exc.to_dict()}, status_code=exc.http_status)
    if isinstance(exc, LoginRequired):
        if request.headers.get("hx-request"):
            return Response(status_code=204, headers={"HX-Redirect": "/login"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    if request.headers.get("hx-request"):
        # Errors of htmx actions land in the page's message area, whatever the target was.
        resp = render(request, "partials/error.html", error=exc)
        resp.headers["HX-Retarget"] = "#messages"
        resp.headers["HX-Reswap"] = "innerHTML"
        return resp
    return render(request, "error.html", status_code=exc.http_status, error=exc)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        if exc.http_status >= 500:
            log.error("domain error %s: %s", exc.code, exc.message)
        return _error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = [
            {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "problem": e.get("msg", "")}
            for e in exc.errors()
        ]
        err = DomainError("请求数据不完整或格式不正确。", code="request_invalid", fields=fields)
        err.http_status = 422
        return _error_response(request, err)
