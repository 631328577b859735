"""API and pages through the real app: auth, CSRF, error mapping, registry routes."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

import builders as b
from helpers import api_login, page_login
from yilian.identity.roles import Role


def test_health_and_openapi_public(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/auth/token" in spec["paths"] and "/api/v1/consortia" in spec["paths"]


def test_api_requires_token(client: TestClient) -> None:
    r = client.get("/api/v1/institutions")
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_missing"
    r = client.get("/api/v1/institutions", headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_invalid"


def test_token_login_and_rate_limit(client: TestClient, session: Session) -> None:
    u = b.user(session, Role.SYSTEM_ADMIN)
    headers = api_login(client, u.username, b.PASSWORD)
    assert client.get("/api/v1/me", headers=headers).json()["username"] == u.username
    codes = [client.post("/api/v1/auth/token", data={"username": u.username, "password": "bad-bad-bad"}).json()
             ["error"]["code"] for _ in range(6)]
    assert codes[:5] == ["login_failed"] * 5 and codes[5] == "login_rate_limited"


def test_api_creates_consortium_and_refuses_rule_break(client: TestClient, session: Session) -> None:
    admin = b.user(session, Role.SYSTEM_ADMIN)
    h = api_login(client, admin.username, b.PASSWORD)
    lead = b.institution(session)
    town = b.institution(session, category="C210", level="unrated")
    body = {"code": "API-GT", "name": "接口医共体", "mode": "county_community", "integration": "tight",
            "level": "county", "division_code": "320102", "lead_code": lead.code, "established_on": "2024-01-01"}
    r = client.post("/api/v1/consortia", json=body, headers=h)
    assert r.status_code == 201, r.text
    r = client.post("/api/v1/consortia/API-GT/members", json={"institution_code": town.code,
                                                              "joined_on": "2024-02-01"}, headers=h)
    assert r.status_code == 201
    other_lead = b.institution(session)
    body2 = {**body, "code": "API-GT2", "lead_code": other_lead.code}
    assert client.post("/api/v1/consortia", json=body2, headers=h).status_code == 201
    r = client.post("/api/v1/consortia/API-GT2/members", json={"institution_code": town.code,
                                                               "joined_on": "2024-03-01"}, headers=h)
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "registry_two_tight_consortia" and "紧密型" in err["message"]
    detail = client.get("/api/v1/consortia/API-GT2", headers=h).json()
    assert [m["institution_code"] for m in detail["members"]] == [other_lead.code]


def test_bad_json_gets_chinese_422(client: TestClient, session: Session) -> None:
    admin = b.user(session, Role.SYSTEM_ADMIN)
    h = api_login(client, admin.username, b.PASSWORD)
    r = client.post("/api/v1/consortia", json={"code": "X"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "request_invalid"


def test_pages_require_login_and_csrf(client: TestClient, session: Session) -> None:
    r = client.get("/consortia", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    u = b.user(session, Role.SYSTEM_ADMIN)
    page_login(client, u.username, b.PASSWORD)
    assert "医联体" in client.get("/consortia").text
    r = client.post("/consortia/new", data={"code": "Z"})  # no CSRF token
    assert r.status_code == 403 and "csrf_failed" in r.text


def test_page_form_creates_consortium(client: TestClient, session: Session) -> None:
    u = b.user(session, Role.SYSTEM_ADMIN)
    lead = b.institution(session)
    page_login(client, u.username, b.PASSWORD)
    form = client.get("/consortia/new").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token
    r = client.post("/consortia/new", data={
        "csrf_token": token.group(1), "code": "PG-1", "name": "页面医共体", "mode": "county_community",
        "integration": "tight", "level": "county", "division_code": "320102", "lead_code": lead.code,
        "established_on": "2024-01-01"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/consortia/PG-1"
    assert lead.name in client.get("/consortia/PG-1").text


def test_htmx_error_goes_to_messages(client: TestClient, session: Session) -> None:
    u = b.user(session, Role.SYSTEM_ADMIN)
    lead = b.institution(session)
    b.consortium(session, code="HX-1", lead=lead)
    page_login(client, u.username, b.PASSWORD)
    html = client.get("/consortia/HX-1").text
    token = re.search(r'"X-CSRF-Token": "([^"]+)"', html)
    assert token
    r = client.post("/consortia/HX-1/members", data={"institution_code": "NOPE", "joined_on": "2024-05-01"},
                    headers={"HX-Request": "true", "X-CSRF-Token": token.group(1)})
    assert r.headers["HX-Retarget"] == "#messages" and "不存在" in r.text


def test_audit_page_for_admin_only(client: TestClient, session: Session) -> None:
    admin = b.user(session, Role.SYSTEM_ADMIN)
    page_login(client, admin.username, b.PASSWORD)
    b.institution(session)
    r = client.get("/audit")
    assert r.status_code == 200 and "审计日志" in r.text


def test_audit_page_refused_for_clinician(client: TestClient, session: Session) -> None:
    inst = b.institution(session)
    doc = b.user(session, Role.CLINICIAN, institution_id=inst.id)
    page_login(client, doc.username, b.PASSWORD)
    r = client.get("/audit")
    assert r.status_code == 403 and "permission_denied" in r.text
