"""Settlement API and pages over the real app: who sees which runs and lines, drill-down to the case
and its grouping (audited), the budget ledger, what-if from the API and the page."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from payment_svc_testkit import DEMO, County, add_stays, county, mixed_year, residents
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from builders import PASSWORD, admin, consortium, member, user
from helpers import api_login, page_login
from yilian.db.models import AuditLog, PaymentRun
from yilian.identity.roles import Role
from yilian.payment.budget.service import BudgetRequest, do_settle_budget
from yilian.payment.settlement.service import DrgSettleRequest, do_settle_drg

BUDGET = Decimal("1000000.00")


@pytest.fixture()
def pay_app(app: Any) -> Any:
    """The app with payment's routers (until the app factory mounts them, then as mounted)."""
    from yilian.payment import api, views

    paths = {getattr(r, "path", "") for r in app.routes}
    if "/api/v1/payment/runs" not in paths:
        app.include_router(api.router)
        app.include_router(views.router)
    return app


@pytest.fixture()
def client(pay_app: Any) -> Any:
    from fastapi.testclient import TestClient

    with TestClient(pay_app) as c:
        yield c


@pytest.fixture()
def c(session: Session) -> County:
    region = county(session)
    add_stays(session, mixed_year(region))
    return region


@pytest.fixture()
def run(session: Session, c: County) -> PaymentRun:
    return do_settle_drg(session, admin(), DrgSettleRequest(year=2025, budget=BUDGET, rules=DEMO, division="320999"))


def _officer(session: Session, role: Role = Role.INSURANCE_OFFICER, division: str = "320999") -> str:
    return user(session, role, division_code=division).username


def test_insurance_officer_drills_down_to_the_grouping(session: Session, c: County, run: PaymentRun,
                                                      client: Any) -> None:
    headers = api_login(client, _officer(session), PASSWORD)
    listed = client.get("/api/v1/payment/runs", headers=headers).json()
    assert [r["id"] for r in listed["items"]] == [run.id]
    detail = client.get(f"/api/v1/payment/runs/{run.id}", headers=headers).json()
    assert sum(Decimal(line["payment"]) for line in detail["lines"]) == BUDGET and detail["partial"] is False
    code = c.tertiary.code
    statement = client.get(f"/api/v1/payment/runs/{run.id}/institutions/{code}?kind=high", headers=headers).json()
    assert statement["total_cases"] == 1 and statement["cases"][0]["kind"] == "high"
    assert {m["month"] for m in statement["months"]} >= {1, 2, 3}
    enc = statement["cases"][0]["encounter_id"]
    before = session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "read"))
    case = client.get(f"/api/v1/payment/runs/{run.id}/institutions/{code}/cases/{enc}", headers=headers).json()
    assert case["drg"] == "FR23" == case["case"]["group_code"] and "进入 MDCF" in case["explanation"]
    assert case["diagnoses"] == ["I50.900", "E11.900"] and Decimal(case["rw"]) > 0
    after = session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "read"))
    assert after == (before or 0) + 1
    weights = client.get(f"/api/v1/payment/runs/{run.id}/weights", headers=headers).json()
    assert {w["code"] for w in weights} >= {"FR23", "FR25", "ES35"}


def test_scopes_and_refusals(session: Session, c: County, run: PaymentRun, client: Any) -> None:
    other = api_login(client, _officer(session, division="320100"), PASSWORD)
    assert client.get("/api/v1/payment/runs", headers=other).json()["items"] == []
    refused = client.get(f"/api/v1/payment/runs/{run.id}", headers=other)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "payment_run_out_of_scope"
    doctor = api_login(client, user(session, Role.CLINICIAN, institution_id=c.centre.id).username, PASSWORD)
    denied = client.get("/api/v1/payment/runs", headers=doctor)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "payment_forbidden"
    # A consortium manager sees the run through their members, and only their members' lines.
    small = consortium(session, lead=c.secondary, division_code="320999")
    manager = api_login(client, user(session, Role.CONSORTIUM_MANAGER, consortium_id=small.id).username, PASSWORD)
    lines = client.get(f"/api/v1/payment/runs/{run.id}", headers=manager).json()
    assert lines["partial"] is True and [x["institution_code"] for x in lines["lines"]] == [c.secondary.code]
    hidden = client.get(f"/api/v1/payment/runs/{run.id}/institutions/{c.tertiary.code}", headers=manager)
    assert hidden.status_code == 403 and hidden.json()["error"]["code"] == "payment_statement_out_of_scope"
    member(session, small, c.centre)
    # The commission reads but does not settle.
    commission = api_login(client, _officer(session, Role.COMMISSION_OFFICER), PASSWORD)
    assert client.get(f"/api/v1/payment/runs/{run.id}", headers=commission).status_code == 200
    no_run = client.post(f"/api/v1/payment/runs/{run.id}/whatif", json={"set": {"budget": "1"}}, headers=commission)
    assert no_run.status_code == 403 and no_run.json()["error"]["code"] == "payment_run_forbidden"


def test_whatif_through_the_api(session: Session, c: County, run: PaymentRun, client: Any) -> None:
    headers = api_login(client, _officer(session), PASSWORD)
    made = client.post(f"/api/v1/payment/runs/{run.id}/whatif", json={"set": {"coefficient.2": "1.0"}},
                       headers=headers)
    assert made.status_code == 201, made.text
    new = made.json()
    assert new["base_run_id"] == run.id and made.headers["location"].endswith(f"/runs/{new['id']}")
    diff = client.get(f"/api/v1/payment/compare?a={run.id}&b={new['id']}", headers=headers).json()
    assert Decimal(diff["total_a"]) == Decimal(diff["total_b"]) == BUDGET
    assert diff["lines"][0]["difference"] != "0.00"
    bad = client.post(f"/api/v1/payment/runs/{run.id}/whatif", json={"set": {"nope": "1"}}, headers=headers)
    assert bad.status_code == 422 and "coefficient.3" in bad.json()["error"]["details"]["valid_keys"]


def test_pages_from_runs_to_case_and_whatif(session: Session, c: County, run: PaymentRun, client: Any) -> None:
    page_login(client, _officer(session), PASSWORD)
    runs = client.get("/payment/runs")
    assert runs.status_code == 200 and f"/payment/runs/{run.id}" in runs.text
    page = client.get(f"/payment/runs/{run.id}")
    assert page.status_code == 200 and "分机构结算单" in page.text and c.tertiary.name in page.text
    assert "echarts.min.js" in page.text and 'data-testid="whatif-form"' in page.text
    statement = client.get(f"/payment/runs/{run.id}/institutions/{c.tertiary.code}?kind=high")
    assert statement.status_code == 200 and "高倍率" in statement.text
    enc = re.search(rf"/payment/runs/{run.id}/institutions/{c.tertiary.code}/cases/(\d+)", statement.text)
    assert enc is not None
    case = client.get(enc.group(0))
    assert case.status_code == 200 and "分组过程" in case.text and "FR23" in case.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    posted = client.post(f"/payment/runs/{run.id}/whatif", data={"csrf_token": token.group(1),
                                                                 "assignments": "coefficient.2=1.0\nbudget=1200000"},
                         follow_redirects=False)
    assert posted.status_code == 303 and posted.headers["location"].startswith(f"/payment/compare?a={run.id}&b=")
    compare = client.get(posted.headers["location"])
    assert compare.status_code == 200 and "各机构差异" in compare.text and "1,200,000.00" in compare.text
    refused = client.post(f"/payment/runs/{run.id}/whatif", data={"csrf_token": token.group(1),
                                                                  "assignments": "colour=blue"},
                          headers={"HX-Request": "true"})
    assert "whatif_bad_key" in refused.text or "未知的假设参数" in refused.text


def test_budget_ledger_page(session: Session, c: County, client: Any) -> None:
    residents(session, 10, township=c.townships[0])
    budget = do_settle_budget(session, admin(), BudgetRequest(year=2025, consortium=c.community.code,
                                                               budget=Decimal("10000000.00")))
    manager = user(session, Role.CONSORTIUM_MANAGER, consortium_id=c.community.id).username
    page_login(client, manager, PASSWORD)
    page = client.get(f"/payment/runs/{budget.id}/ledger")
    assert page.status_code == 200 and "年初预付" in page.text and "结余分配" in page.text
    run_page = client.get(f"/payment/runs/{budget.id}")
    assert run_page.status_code == 200 and "预算台账" in run_page.text
    headers = api_login(client, manager, PASSWORD)
    entries = client.get(f"/api/v1/payment/runs/{budget.id}/ledger", headers=headers).json()
    assert entries[0]["entry"] == "budget" and entries[0]["amount"] == "10000000.00"
