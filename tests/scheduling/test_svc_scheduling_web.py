"""Scheduling through the edges: the JSON API, the department schedule page and the CLI."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import time, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from scheduling_svc_world import DAY, NOW, at, world
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import builders as b
from helpers import api_login, page_login
from yilian.core.clock import today_local
from yilian.db.models import Appointment, Slot
from yilian.db.session import make_engine, session_scope
from yilian.scheduling import schedules
from yilian.scheduling.schemas import SessionIn


@pytest.fixture()
def web(app: FastAPI) -> Iterator[TestClient]:
    """The app with the scheduling routes (mounted here until the app factory includes them)."""
    from yilian.scheduling import api, views

    paths = {getattr(r, "path", "") for r in app.routes}
    if "/scheduling" not in paths:
        app.include_router(api.router)
        app.include_router(views.router)
    with TestClient(app) as c:
        yield c


def _future_slots(session: Session, w) -> list[Slot]:  # type: ignore[no-untyped-def]
    """A session three days from today, so the real clock of the web edge finds it bookable."""
    day = today_local() + timedelta(days=3)
    return schedules.do_generate_slots(session, w.who("admin"), w.schedule.id, SessionIn(
        first_day=day, start=time(14, 0), end=time(15, 0), referral_pool_id=w.referral.id,
        contract_pool_id=w.contract.id))


def test_api_book_cancel_and_refusals(session: Session, web: TestClient) -> None:
    w = world(session)
    slots = _future_slots(session, w)
    public = [s for s in slots if s.pool_id == w.public.id]
    h = api_login(web, w.users["clin_h"].username, b.PASSWORD)
    resp = web.post(f"/api/v1/scheduling/slots/{public[0].id}/book", json={"resident_id": w.plain.id}, headers=h)
    assert resp.status_code == 201, resp.text
    appt = resp.json()
    assert (appt["status"], appt["pool_kind"], appt["channel"]) == ("booked", "public", "public")
    taken = web.post(f"/api/v1/scheduling/slots/{public[0].id}/book", json={"resident_id": w.stranger.id}, headers=h)
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "slot_taken"
    early = web.post(f"/api/v1/scheduling/appointments/{appt['id']}/no-show", headers=h)
    assert early.status_code == 422 and early.json()["error"]["code"] == "slot_not_started"
    ref = next(s for s in slots if s.pool_id == w.referral.id)
    closed = web.post(f"/api/v1/scheduling/slots/{ref.id}/book", json={"resident_id": w.plain.id}, headers=h)
    assert closed.status_code == 403 and closed.json()["error"]["code"] == "pool_not_open"
    cancel = web.post(f"/api/v1/scheduling/appointments/{appt['id']}/cancel", json={"reason": "改期"}, headers=h)
    assert cancel.status_code == 200 and cancel.json()["status"] == "cancelled"
    assert web.get(f"/api/v1/scheduling/appointments/{appt['id']}", headers=h).json()["version"] == 2
    listed = web.get("/api/v1/scheduling/slots", params={"schedule_id": w.schedule.id,
                                                         "from": at(today_local() + timedelta(days=3), 0).isoformat()},
                     headers=h).json()
    assert {s["effective_kind"] for s in listed} == {"public", "referral", "contract"}
    naive = web.get("/api/v1/scheduling/slots", params={"schedule_id": w.schedule.id, "from": "2025-03-05T00:00:00"},
                    headers=h)
    assert naive.status_code == 422
    outside = web.get("/api/v1/scheduling/no-show-status", params={"resident_id": w.plain.id}, headers=h)
    assert outside.status_code == 403  # no care relationship with the hospital
    status = web.get("/api/v1/scheduling/no-show-status", headers=h,
                     params={"resident_id": w.plain.id, "institution_id": w.hospital.id}).json()
    assert status == {"resident_id": w.plain.id, "no_shows": 0, "blocked_until": None}


def test_api_release_needs_admin_and_pools(session: Session, web: TestClient) -> None:
    w = world(session)
    h = api_login(web, w.users["clin_h"].username, b.PASSWORD)
    assert web.post("/api/v1/scheduling/release", headers=h).status_code == 403
    admin = api_login(web, w.users["admin"].username, b.PASSWORD)
    first = web.post("/api/v1/scheduling/release", headers=admin)
    assert first.status_code == 200 and set(first.json()["released"]) == {"referral", "contract"}
    pools = web.get("/api/v1/scheduling/pools", params={"institution_id": w.hospital.id}, headers=h).json()
    assert sorted(p["kind"] for p in pools) == ["contract", "public", "referral"]
    made = web.post("/api/v1/scheduling/pools", headers=h, json={"institution_id": w.hospital.id, "kind": "referral"})
    assert made.status_code == 422 and made.json()["error"]["code"] == "pool_consortium_required"
    ward = web.post("/api/v1/scheduling/wards", headers=h, json={
        "institution_id": w.hospital.id, "code": "W1", "name": "心内病区", "beds": 6, "referral_reserved_beds": 2,
        "referral_pool_id": w.referral.id})
    assert ward.status_code == 201, ward.text
    days = web.post(f"/api/v1/scheduling/wards/{ward.json()['id']}/bed-days", headers=h,
                    json={"first_day": (today_local() + timedelta(days=1)).isoformat()})
    assert sorted(s["capacity"] for s in days.json()) == [2, 4]


def test_department_page_books_and_cancels(session: Session, web: TestClient) -> None:
    w = world(session)
    slots = _future_slots(session, w)
    day = today_local() + timedelta(days=3)
    page_login(web, w.users["clin_h"].username, b.PASSWORD)
    listing = web.get("/scheduling")
    assert listing.status_code == 200 and "心内科" in listing.text
    url = f"/scheduling/departments/{w.dept.id}?day={day.isoformat()}"
    page = web.get(url)
    assert page.status_code == 200
    for name in ("公共号源", "转诊预留号源", "签约居民预留号源"):
        assert name in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    public = next(s for s in slots if s.pool_id == w.public.id)
    resp = web.post(f"/scheduling/slots/{public.id}/book", follow_redirects=False,
                    data={"resident_id": str(w.plain.id), "back": url, "csrf_token": token})
    assert resp.status_code == 303 and resp.headers["location"] == url
    page = web.get(url)
    assert "普通居民" in page.text and "预约成功" in page.text
    appt = session.scalar(select(Appointment).where(Appointment.slot_id == public.id))
    assert appt is not None
    # htmx refusal: booking the same slot again lands in #messages.
    again = web.post(f"/scheduling/slots/{public.id}/book", headers={"HX-Request": "true", "X-CSRF-Token": token},
                     data={"resident_id": str(w.stranger.id), "back": url})
    assert again.headers.get("HX-Retarget") == "#messages" and "slot_taken" in again.text
    evil = web.post(f"/scheduling/appointments/{appt.id}/cancel", follow_redirects=False,
                    data={"back": "https://evil.example/", "csrf_token": token})
    assert evil.status_code == 303 and evil.headers["location"] == "/scheduling"
    assert web.post(f"/scheduling/appointments/{appt.id}/cancel", data={"back": url}).status_code == 403


def test_cli_release_is_idempotent(committed_db: str) -> None:
    from yilian.scheduling.cli import app as cli

    engine = make_engine(committed_db)
    try:
        with session_scope(engine) as s:
            world(s)
    finally:
        engine.dispose()
    runner = CliRunner()
    due = (at(DAY, 8) - timedelta(hours=23)).isoformat()
    first = runner.invoke(cli, ["release", "--now", due, "--database", committed_db])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout) == {"referral": 3, "contract": 1}
    second = runner.invoke(cli, ["release", "--now", due, "--database", committed_db])
    assert json.loads(second.stdout) == {"referral": 0, "contract": 0}
    naive = runner.invoke(cli, ["release", "--now", "2025-03-04T08:00:00", "--database", committed_db])
    assert naive.exit_code == 2
    assert at(DAY, 8) > NOW
