"""The app factory: wires settings, database, middleware, error mapping and every feature's routes."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response

from yilian.core.config import Env, Settings, check_production, get_settings
from yilian.db.session import engine_for, session_factory
from yilian.web import errors, pages

STATIC_DIR = Path(__file__).with_name("static")


def _routers() -> list[object]:
    # Each feature contributes an API router and a pages router; the list is the app's map.
    from yilian.care import api as care_api
    from yilian.care import views as care_views
    from yilian.contracts import api as contracts_api
    from yilian.contracts import views as contracts_views
    from yilian.identity import api as identity_api
    from yilian.identity import views as identity_views
    from yilian.indicators import api as indicators_api
    from yilian.indicators import views as indicators_views
    from yilian.payment import api as payment_api
    from yilian.payment import views as payment_views
    from yilian.referrals import api as referrals_api
    from yilian.referrals import views as referrals_views
    from yilian.registry import api as registry_api
    from yilian.registry import views as registry_views
    from yilian.residents import api as residents_api
    from yilian.residents import views as residents_views
    from yilian.scheduling import api as scheduling_api
    from yilian.scheduling import views as scheduling_views

    return [
        identity_api.router, identity_views.router, pages.router,
        registry_api.router, registry_views.router,
        residents_api.router, residents_views.router,
        care_api.router, care_views.router,
        contracts_api.router, contracts_views.router,
        scheduling_api.router, scheduling_views.router,
        referrals_api.router, referrals_views.router,
        payment_api.router, payment_views.router,
        indicators_api.router, indicators_views.router,
    ]


def _register_events() -> None:
    """Every feature's after-commit handlers (idempotent to call again)."""
    from yilian.referrals import events as referral_events

    referral_events.register()


def _start_jobs(app: FastAPI) -> None:
    """In-process scheduled jobs; a queue-backed worker replaces this when scaling out."""
    from yilian.referrals.jobs import DeadlineTicker

    ticker = DeadlineTicker(app.state.session_maker)
    app.router.on_startup.append(ticker.start)
    app.router.on_shutdown.append(ticker.stop)


def create_app(
    settings: Settings | None = None,
    engine: Engine | None = None,
    session_maker: sessionmaker[Session] | None = None,
) -> FastAPI:
    """Build the app; tests pass a ``session_maker`` bound to their rolled-back connection."""
    settings = settings or get_settings()
    if settings.env == Env.PRODUCTION:
        check_production(settings)
    app = FastAPI(
        title="Yilian 医联 API",
        version="0.1.0",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine or engine_for(settings.database_url)
    app.state.session_maker = session_maker or session_factory(app.state.engine)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.secret(),
        session_cookie="yilian_session",
        max_age=settings.session_max_age_seconds,
        same_site="lax",
        https_only=settings.env == Env.PRODUCTION,
    )

    @app.middleware("http")
    async def _security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response: Response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    _register_events()
    if settings.run_jobs():
        _start_jobs(app)
    errors.install(app)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    for router in _routers():
        app.include_router(router)  # type: ignore[arg-type]
    return app
