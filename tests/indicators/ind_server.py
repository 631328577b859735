"""The app the indicators browser test serves: the real app factory, with the indicators routers mounted
here only while the app factory does not mount them itself (``uvicorn --factory ind_server:app``)."""

from __future__ import annotations

from fastapi import FastAPI

from yilian.indicators import api, views
from yilian.web.app import create_app


def app() -> FastAPI:
    application = create_app()
    paths = {getattr(r, "path", "") for r in application.routes}
    if "/indicators" not in paths:
        application.include_router(views.router)
    if "/api/v1/indicators" not in paths:
        application.include_router(api.router)
    return application
