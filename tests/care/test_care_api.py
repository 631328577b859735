"""The care API and pages over the real app: idempotent ingestion, scoped and audited reads."""

from __future__ import annotations

from typing import Any

import pytest
from care_testkit import County, counts, county, payload, registered
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from builders import PASSWORD, user
from helpers import api_login, page_login
from yilian.db.models import AuditLog
from yilian.identity.roles import Role


@pytest.fixture()
def care_app(app: Any) -> Any:
    """The app with care's routers (until the app factory mounts them, then as mounted)."""
    from yilian.care import api, views

    paths = {getattr(r, "path", "") for r in app.routes}
    if "/api/v1/care/encounters" not in paths:
        app.include_router(api.router)
        app.include_router(views.router)
    return app


@pytest.fixture()
def care_client(care_app: Any) -> Any:
    from fastapi.testclient import TestClient

    with TestClient(care_app) as c:
        yield c


@pytest.fixture()
def c(session: Session) -> County:
    return county(session)


def _doctor(session: Session, inst_id: int) -> str:
    return user(session, Role.CLINICIAN, institution_id=inst_id).username


def test_post_is_idempotent_and_names_no_resident(session: Session, c: County, care_client: Any) -> None:
    r, number = registered(session, name="钱七")
    headers = api_login(care_client, _doctor(session, c.hospital.id), PASSWORD)
    body = payload(number, c.hospital.code)
    first = care_client.post("/api/v1/care/encounters", json=body, headers=headers)
    assert first.status_code == 201, first.text
    out = first.json()
    assert out["created"] is True and out["resident_id"] == r.id
    assert out["settlement"]["fund_paid"] == "3375.00" and out["settlement"]["place"] == "county"
    assert "钱七" not in first.text and number not in first.text
    before = counts(session)
    second = care_client.post("/api/v1/care/encounters", json=body, headers=headers)
    assert second.status_code == 200 and second.json()["created"] is False
    assert second.json()["id"] == out["id"]
    assert counts(session) == before


def test_a_changed_payload_is_refused_with_data_unchanged(session: Session, c: County, care_client: Any) -> None:
    _, number = registered(session)
    headers = api_login(care_client, _doctor(session, c.hospital.id), PASSWORD)
    body = payload(number, c.hospital.code)
    assert care_client.post("/api/v1/care/encounters", json=body, headers=headers).status_code == 201
    before = counts(session)
    changed = {**body, "end_date": "2025-03-09"}
    resp = care_client.post("/api/v1/care/encounters", json=changed, headers=headers)
    assert resp.status_code == 409
    err = resp.json()["error"]
    assert err["code"] == "encounter_changed" and "end_date" in err["details"]["fields"]
    assert counts(session) == before


def test_refusals_over_http(session: Session, c: County, care_client: Any) -> None:
    _, number = registered(session)
    headers = api_login(care_client, _doctor(session, c.township.id), PASSWORD)
    cases = [
        (payload(number, c.township.code, diagnoses=["Y04.000"]), 422, "principal_diagnosis_external_cause"),
        (payload(number, c.hospital.code), 403, "institution_out_of_scope"),
        (payload(number, c.township.code, start_date="not a date"), 422, "request_invalid"),
        ({**payload(number, c.township.code), "unexpected": 1}, 422, "request_invalid"),
    ]
    for body, status, code in cases:
        resp = care_client.post("/api/v1/care/encounters", json=body, headers=headers)
        assert (resp.status_code, resp.json()["error"]["code"]) == (status, code), resp.text
        assert number not in resp.text
    assert care_client.post("/api/v1/care/encounters", json=payload(number, c.township.code)).status_code == 401


def test_resident_encounters_are_refused_out_of_scope(session: Session, c: County, care_client: Any) -> None:
    r, number = registered(session)
    sender = api_login(care_client, _doctor(session, c.hospital.id), PASSWORD)
    assert care_client.post("/api/v1/care/encounters", json=payload(number, c.hospital.code),
                            headers=sender).status_code == 201
    listed = care_client.get(f"/api/v1/residents/{r.id}/encounters", headers=sender)
    assert listed.status_code == 200 and listed.json()["total"] == 1
    assert listed.json()["items"][0]["resident_name"] == r.name
    outsider = api_login(care_client, _doctor(session, c.township.id), PASSWORD)
    before = session.scalar(select(func.count()).select_from(AuditLog))
    refused = care_client.get(f"/api/v1/residents/{r.id}/encounters", headers=outsider)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "resident_out_of_scope"
    assert session.scalar(select(func.count()).select_from(AuditLog)) == before  # nothing read, nothing logged


def test_institution_list_with_filters(session: Session, c: County, care_client: Any) -> None:
    _, number = registered(session)
    headers = api_login(care_client, _doctor(session, c.hospital.id), PASSWORD)
    for start, end in (("2025-03-01", "2025-03-05"), ("2025-04-01", "2025-04-02")):
        care_client.post("/api/v1/care/encounters", headers=headers,
                         json=payload(number, c.hospital.code, start_date=start, end_date=end))
    url = f"/api/v1/care/encounters?institution={c.hospital.id}&from=2025-04-01&to=2025-04-30&kind=inpatient"
    page = care_client.get(url, headers=headers).json()
    assert page["total"] == 1 and page["items"][0]["start_date"] == "2025-04-01"
    assert care_client.get("/api/v1/care/encounters", headers=headers).json()["total"] == 2
    other = care_client.get(f"/api/v1/care/encounters?institution={c.township.id}", headers=headers)
    assert other.status_code == 403 and other.json()["error"]["code"] == "institution_out_of_scope"
    bad = care_client.get("/api/v1/care/encounters?from=2025-05-01&to=2025-04-01", headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "period_invalid"


def test_pages_and_the_resident_fragment(session: Session, c: County, care_client: Any) -> None:
    r, number = registered(session, name="孙八")
    stranger, _ = registered(session, name="周九")
    doctor = _doctor(session, c.hospital.id)
    headers = api_login(care_client, doctor, PASSWORD)
    care_client.post("/api/v1/care/encounters", json=payload(number, c.hospital.code), headers=headers)
    page_login(care_client, doctor, PASSWORD)
    listing = care_client.get("/care/encounters?kind=inpatient")
    assert listing.status_code == 200 and "孙八" in listing.text and "I10.x00" in listing.text
    results = care_client.get("/care/encounters?kind=inpatient", headers={"HX-Request": "true",
                                                                           "HX-Target": "encounter-results"})
    assert results.status_code == 200 and "<html" not in results.text and "孙八" in results.text
    reads = select(func.count()).select_from(AuditLog).where(AuditLog.action == "read", AuditLog.resident_id == r.id)
    before = session.scalar(reads)
    fragment = care_client.get(f"/care/residents/{r.id}/encounters")
    assert fragment.status_code == 200 and "<html" not in fragment.text and "医嘱离院" in fragment.text
    assert session.scalar(reads) == (before or 0) + 1
    assert care_client.get(f"/care/residents/{stranger.id}/encounters").status_code == 403
    assert care_client.get("/care/encounters?from=yesterday").status_code == 422
