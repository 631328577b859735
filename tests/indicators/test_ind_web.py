"""Pages and API through the real app (routers mounted here if the app factory does not yet)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import Any

import ind_kit as k
import ind_year
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

import builders as b
from helpers import api_login, page_login
from yilian.db.models import AuditLog
from yilian.identity.roles import Role
from yilian.indicators import api, service, views


@pytest.fixture()
def web(app: FastAPI) -> Iterator[TestClient]:
    paths = {getattr(r, "path", "") for r in app.routes}
    if "/indicators" not in paths:
        app.include_router(views.router)
    if "/api/v1/indicators" not in paths:
        app.include_router(api.router)
    with TestClient(app) as c:
        yield c


def _user(session: Session, role: Role, **scope: Any) -> str:
    u = b.user(session, role, **scope)
    return u.username


def _stored(session: Session, *, months: bool = False) -> ind_year.Year:
    y = ind_year.build(session)
    service.do_store_snapshots(session, None, "2025", months=months)
    return y


def test_county_dashboard_from_snapshots(session: Session, web: TestClient) -> None:
    _stored(session, months=True)
    page_login(web, _user(session, Role.COMMISSION_OFFICER, division_code=k.COUNTY), b.PASSWORD)
    resp = web.get("/indicators?period=2025")
    assert resp.status_code == 200, resp.text
    html = resp.text
    assert 'data-testid="trend-chart"' in html and 'data-testid="compare-chart"' in html
    assert "/static/vendor/echarts.min.js" in html
    # The retention tile shows 75.00 %, its target and a link to its drill-down.
    tile = html[html.index('data-testid="tile-county_retention_inpatient"'):]
    tile = tile[:tile.index("</article>")]
    assert "75.00%" in tile and "≥ 90.00%" in tile and "未达标" in tile
    assert "/indicators/drill?code=county_retention_inpatient&amp;period=2025&amp;cut=county" in tile
    assert "口径" in tile and "本县参保居民在县域内医疗机构的住院人次" in tile
    # Pending codes say why.
    htn = html[html.index('data-testid="tile-htn_control_rate"'):]
    assert "数据来源功能尚未上线" in htn[:htn.index("</article>")]
    cmi = html[html.index('data-testid="tile-cmi"'):]
    assert "住院病例尚未分组" in cmi[:cmi.index("</article>")]
    data = json.loads(re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', html,
                                re.S).group(1))  # type: ignore[union-attr]
    assert data["months"][0] == "2025-01" and len(data["months"]) == 12
    assert [u["code"] for u in data["compare_units"]] == ["C1", "C2"]
    assert data["trends"]["primary_visit_share"][2] == pytest.approx(66.67)  # March: 2 / 3
    assert 'data-testid="institutions"' in html and "一镇中心卫生院" in html


def test_consortium_and_institution_pages(session: Session, web: TestClient) -> None:
    y = _stored(session)
    page_login(web, _user(session, Role.CONSORTIUM_MANAGER, consortium_id=y.w.c1.id), b.PASSWORD)
    resp = web.get("/indicators?period=2025", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/indicators/consortia/C1?period=2025"
    page = web.get("/indicators/consortia/C1?period=2025")
    assert page.status_code == 200 and "C1" in page.text and 'data-testid="compare-chart"' in page.text
    assert "计算并保存" not in page.text  # managers do not recompute
    assert web.get("/indicators/consortia/C2?period=2025").status_code == 403
    inst = web.get("/indicators/institutions/W1?period=2025")
    assert inst.status_code == 200 and "一镇中心卫生院" in inst.text and "50.00%" in inst.text
    # A centre's page compares the village clinics it runs.
    assert 'data-testid="compare-chart"' in inst.text and "一镇甲村卫生室" in inst.text
    assert web.get("/indicators/institutions/Z?period=2025").status_code == 403


def test_drill_page_masks_and_audits(session: Session, web: TestClient) -> None:
    y = _stored(session)
    page_login(web, _user(session, Role.SYSTEM_ADMIN), b.PASSWORD)
    resp = web.get("/indicators/drill", params={"code": "county_retention_inpatient", "period": "2025",
                                                "cut": "county", "unit": "", "part": "denominator"})
    assert resp.status_code == 200, resp.text
    assert "王*明" in resp.text and "王小明" not in resp.text and "共 4 条" in resp.text
    assert session.scalars(select(AuditLog).where(AuditLog.action == "read",
                                                  AuditLog.resident_id == y.r1.id)).first() is not None


def test_no_snapshot_and_recompute_button(session: Session, web: TestClient) -> None:
    ind_year.build(session)
    page_login(web, _user(session, Role.COMMISSION_OFFICER, division_code=k.COUNTY), b.PASSWORD)
    html = web.get("/indicators?period=2025").text
    assert 'data-testid="no-snapshot"' in html and 'data-testid="store-snapshot"' in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    resp = web.post("/indicators/snapshots", data={"period": "2025", "csrf_token": token,
                                                   "back": "/indicators?period=2025"}, follow_redirects=False)
    assert resp.status_code == 303
    assert "75.00%" in web.get("/indicators?period=2025").text


def test_exports(session: Session, web: TestClient) -> None:
    _stored(session)
    page_login(web, _user(session, Role.SYSTEM_ADMIN), b.PASSWORD)
    csv_text = web.get("/indicators/export.csv?period=2025&cut=consortium").text
    header = csv_text.lstrip("\ufeff").splitlines()[0]
    assert header == "code,name,period,cut,unit,group,numerator,denominator,value,status,reason,unit_name"
    assert "county_retention_inpatient,县域就诊率（住院）,2025,consortium,C1,,1,2,0.5000,ok,," in csv_text
    xlsx = web.get("/indicators/export.xlsx?period=2025&cut=county")
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    assert ws is not None
    assert ws["A2"].value == "代码"
    values = {r[0].value: r for r in ws.iter_rows(min_row=3)}
    assert values["county_retention_inpatient"][11].value == "75.00%"


def test_definitions_and_forbidden_roles(session: Session, web: TestClient) -> None:
    w = k.world(session)
    page_login(web, _user(session, Role.CLINICIAN, institution_id=w.w1.id), b.PASSWORD)
    assert web.get("/indicators").status_code == 403
    web.cookies.clear()
    page_login(web, _user(session, Role.INSURANCE_OFFICER, division_code=k.COUNTY), b.PASSWORD)
    html = web.get("/indicators/definitions").text
    assert "县域内基层医疗卫生机构诊疗人次占比" in html and "来源尚未上线" in html


def test_api_values_drilldown_and_snapshots(session: Session, web: TestClient) -> None:
    ind_year.build(session)
    admin = _user(session, Role.SYSTEM_ADMIN)
    headers = api_login(web, admin, b.PASSWORD)
    resp = web.post("/api/v1/indicators/snapshots", json={"period": "2025", "cut": "consortium", "months": False},
                    headers=headers)
    assert resp.status_code == 201, resp.text
    assert [s["cut"] for s in resp.json()] == ["consortium"]
    values = web.get("/api/v1/indicators", params={"period": "2025", "cut": "consortium"}, headers=headers).json()
    assert values["source"] == "snapshot" and values["snapshot"]["period"] == "2025"
    by = {(r["code"], r["unit"], r["group"]): r for r in values["rows"]}
    assert by[("county_retention_inpatient", "C2", "")]["value"] == "1.0000"
    live = web.get("/api/v1/indicators", params={"period": "2025Q1", "source": "live"}, headers=headers).json()
    assert live["source"] == "live" and {r["cut"] for r in live["rows"]} == {"county"}
    drill = web.get("/api/v1/indicators/drilldown", params={"code": "primary_visit_share", "period": "2025",
                                                             "cut": "consortium", "unit": "C1", "part": "denominator",
                                                             "size": 2}, headers=headers).json()
    assert drill["total"] == 4 and len(drill["items"]) == 2 and drill["items"][0]["resident"] == "王*明"
    catalogue = web.get("/api/v1/indicators/catalogue", headers=headers).json()
    assert len(catalogue["indicators"]) == 41
    bad = web.get("/api/v1/indicators", params={"period": "2025-13"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "period_invalid"
    assert web.get("/api/v1/indicators", params={"period": "2025"}).status_code == 401


def test_scorecard_api_and_pages(session: Session, web: TestClient) -> None:
    ind_year.build(session)
    service.do_store_snapshot(session, None, "2025", "consortium")
    officer = _user(session, Role.COMMISSION_OFFICER, division_code=k.COUNTY)
    headers = api_login(web, officer, b.PASSWORD)
    card = {"code": "gt", "name": "医共体考核", "level": "consortium", "items": [
        {"indicator": "county_retention_inpatient", "weight": 60, "rule": "linear", "floor": "0.8", "target": "0.9"},
        {"indicator": "primary_visit_share", "weight": 40, "rule": "ratio", "target": "0.5"}]}
    assert web.post("/api/v1/indicators/scorecards", json=card, headers=headers).json() == {"code": "gt",
                                                                                           "version": 1}
    scores = web.get("/api/v1/indicators/scorecards/gt/scores", params={"period": "2025"}, headers=headers).json()
    # C2: retention 1.00 → 60; primary 0.3333 / 0.5 × 40 = 26.664 → 86.66.  C1: 0 + 40 × 1 = 40.00.
    assert [(u["unit"], u["score"], u["rank"]) for u in scores["units"]] == [("C2", "86.66", 1), ("C1", "40.00", 2)]
    page_login(web, officer, b.PASSWORD)
    html = web.get("/indicators/scorecards/gt?period=2025").text
    assert 'data-testid="approve"' in html and "86.66" in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    resp = web.post("/indicators/scorecards/gt/approve", data={"period": "2025", "csrf_token": token},
                    follow_redirects=False)
    assert resp.status_code == 303
    assert 'data-testid="approved"' in web.get("/indicators/scorecards/gt?period=2025").text
    frozen = web.get("/api/v1/indicators/scorecards/gt/approved", params={"period": "2025"}, headers=headers).json()
    assert [(s["unit"], s["score"]) for s in frozen["scores"]] == [("C2", "86.66"), ("C1", "40.00")]
    again = web.post("/api/v1/indicators/scorecards/gt/approve", json={"period": "2025"}, headers=headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "scorecard_already_approved"
    assert "医共体考核" in web.get("/indicators/scorecards").text
