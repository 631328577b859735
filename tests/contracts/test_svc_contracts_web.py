"""Contracts through the edges: the JSON API, the workbench pages (htmx + CSRF) and the CLI."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date

import pytest
from contracts_svc_world import resident, sign, world
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import builders as b
from helpers import api_login, page_login
from yilian.core.clock import today_local
from yilian.db.models import Contract
from yilian.db.session import make_engine, session_scope


@pytest.fixture()
def web(app: FastAPI) -> Iterator[TestClient]:
    """The app with the contracts routes (mounted here until the app factory includes them)."""
    from yilian.contracts import api, views

    paths = {getattr(r, "path", "") for r in app.routes}
    if "/workbench" not in paths:
        app.include_router(api.router)
        app.include_router(views.router)
    with TestClient(app) as c:
        yield c


def _csrf(page: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert m, "page has no CSRF token"
    return m.group(1)


def test_api_sign_read_deliver_terminate(session: Session, web: TestClient) -> None:
    w = world(session)
    r = resident(session, w.centre_a, born=date(1950, 1, 1))
    h = api_login(web, w.users["clin_a"].username, b.PASSWORD)
    resp = web.post("/api/v1/contracts", json={"resident_id": r.id, "team_id": w.team_a.id}, headers=h)
    assert resp.status_code == 201, resp.text
    c = resp.json()
    assert (c["status"], c["start_on"]) == ("active", today_local().isoformat())
    assert web.get(f"/api/v1/contracts/{c['id']}", headers=h).json()["id"] == c["id"]
    again = web.post("/api/v1/contracts", json={"resident_id": r.id, "team_id": w.team_a.id}, headers=h)
    assert again.status_code == 409 and again.json()["error"]["code"] == "contract_overlap"
    due = web.get("/api/v1/contracts/due", params={"institution_id": w.centre_a.id}, headers=h).json()
    assert {d["item_code"] for d in due} >= {"health_assessment", "elderly_checkup"}
    d = web.post(f"/api/v1/contracts/{c['id']}/deliveries", json={"item_code": "health_assessment"}, headers=h)
    assert d.status_code == 201, d.text
    rights = web.get("/api/v1/contracts/priority-rights", params={"resident_id": r.id}, headers=h).json()
    assert "priority_appointment" in rights["benefits"] and rights["contract_id"] == c["id"]
    bench = web.get("/api/v1/contracts/workbench", headers=h).json()
    assert [i["contract_id"] for i in bench["items"]] == [c["id"]]
    stale = web.post(f"/api/v1/contracts/{c['id']}/terminate", json={"version": 9, "reason": "moved_away"}, headers=h)
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "stale_version"
    missing = web.post(f"/api/v1/contracts/{c['id']}/terminate", json={"reason": "moved_away"}, headers=h)
    assert missing.status_code == 422
    done = web.post(f"/api/v1/contracts/{c['id']}/terminate", json={"version": 1, "reason": "moved_away"}, headers=h)
    assert done.status_code == 200 and done.json()["status"] == "terminated"


def test_api_refusals_and_teams(session: Session, web: TestClient) -> None:
    w = world(session)
    hb = api_login(web, w.users["clin_b"].username, b.PASSWORD)
    resp = web.post("/api/v1/contracts/teams", json={"institution_id": w.centre_a.id, "code": "X", "name": "越权"},
                    headers=hb)
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "institution_out_of_scope"
    assert web.get("/api/v1/contracts/999999", headers=hb).status_code == 404
    teams = web.get("/api/v1/contracts/teams", headers=hb).json()
    assert [t["code"] for t in teams] == ["TB"] and teams[0]["effective_limit"] == 2000
    assert web.get("/api/v1/contracts/packages", headers=hb).status_code == 200
    assert web.get("/api/v1/contracts/due", params={"institution_id": w.centre_b.id}).status_code == 401


def test_workbench_page_sign_and_terminate(session: Session, web: TestClient) -> None:
    w = world(session)
    r = resident(session, w.centre_a, name="王大爷", born=date(1950, 1, 1))
    page_login(web, w.users["clin_a"].username, b.PASSWORD)
    page = web.get("/workbench")
    assert page.status_code == 200 and "家庭医生工作台" in page.text and "幸福一团队" in page.text
    token = _csrf(page.text)
    no_csrf = web.post("/workbench/sign", data={"resident_id": str(r.id), "team_id": str(w.team_a.id)})
    assert no_csrf.status_code == 403
    assert session.scalar(select(Contract).where(Contract.resident_id == r.id)) is None
    resp = web.post("/workbench/sign", data={"resident_id": str(r.id), "team_id": str(w.team_a.id),
                                             "csrf_token": token}, follow_redirects=False)
    assert resp.status_code == 303
    page = web.get("/workbench")
    assert "王大爷" in page.text and "签约成功" in page.text and "年度健康评估" in page.text
    c = session.scalar(select(Contract).where(Contract.resident_id == r.id))
    assert c is not None
    # htmx: a refusal lands in #messages; a success redirects.
    bad = web.post(f"/workbench/contracts/{c.id}/terminate", headers={"HX-Request": "true", "X-CSRF-Token": token},
                   data={"version": str(c.version), "reason": "other"})
    assert bad.headers.get("HX-Retarget") == "#messages" and "reason_required" in bad.text
    ok = web.post(f"/workbench/contracts/{c.id}/terminate", headers={"HX-Request": "true", "X-CSRF-Token": token},
                  data={"version": str(c.version), "reason": "moved_away"})
    assert ok.status_code == 204 and ok.headers["HX-Redirect"].startswith("/workbench")
    form = web.post("/workbench/sign", headers={"HX-Request": "true", "X-CSRF-Token": token},
                    data={"resident_id": "abc", "team_id": str(w.team_a.id)})
    assert "form_invalid" in form.text


def test_workbench_shows_only_my_teams(session: Session, web: TestClient) -> None:
    w = world(session)
    sign(session, w, resident(session, w.centre_a, name="甲居民"), today=today_local())
    page_login(web, w.users["clin_b"].username, b.PASSWORD)
    page = web.get("/workbench")
    assert page.status_code == 200 and "甲居民" not in page.text
    due = web.get("/workbench/due", params={"team_id": w.team_a.id})
    assert due.status_code == 403


def test_cli_due_lists_due_and_overdue(committed_db: str) -> None:
    from yilian.contracts.cli import app as cli

    engine = make_engine(committed_db)
    try:
        with session_scope(engine) as s:
            w = world(s)
            sign(s, w, resident(s, w.centre_a, born=date(1950, 1, 1)))
            code = w.centre_a.code
    finally:
        engine.dispose()
    runner = CliRunner()
    out = runner.invoke(cli, ["due", "--institution", code, "--on", "2025-06-10", "--format", "json",
                              "--database", committed_db])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)
    assert {(r["item_code"], r["state"]) for r in rows} == {("health_assessment", "due"), ("elderly_checkup", "due")}
    missing = runner.invoke(cli, ["due", "--institution", "NOPE", "--database", committed_db])
    assert missing.exit_code == 3
    first = runner.invoke(cli, ["tick", "--on", "2026-03-03", "--database", committed_db])
    second = runner.invoke(cli, ["tick", "--on", "2026-03-03", "--database", committed_db])
    assert json.loads(first.stdout) == {"activated": 0, "expired": 1}
    assert json.loads(second.stdout) == {"activated": 0, "expired": 0}
