"""Residents API through the real app: status codes, error codes, masked output, scope, audit."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from residents_world import TOWNSHIP, World, counts, no_id, number, world
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import builders as b
from helpers import api_login
from yilian.db.models import AuditLog, DuplicateReview, Resident
from yilian.residents.idcard import mask_id_number


def _headers(client: TestClient, w: World) -> tuple[dict[str, str], dict[str, str]]:
    return (api_login(client, w.clin_a_user.username, b.PASSWORD),
            api_login(client, w.clin_b_user.username, b.PASSWORD))


def test_register_created_then_existing(client: TestClient, session: Session) -> None:
    w = world(session)
    ha, hb = _headers(client, w)
    raw = number(date(1975, 10, 1), seq=8, sex=2)
    body = {"id_number": raw, "name": "陈静", "phone": "13900001111", "address_division_code": TOWNSHIP}
    first = client.post("/api/v1/residents", json=body, headers=ha)
    assert first.status_code == 201, first.text
    data = first.json()
    assert data["created"] is True and data["id_masked"] == mask_id_number(raw)
    assert data["sex"] == 2 and data["birth_date"] == "1975-10-01" and data["phone_masked"] == "139****1111"
    assert raw not in first.text and "13900001111" not in first.text
    again = client.post("/api/v1/residents", json=body, headers=hb)
    assert again.status_code == 200 and again.json()["created"] is False and again.json()["id"] == data["id"]
    assert raw not in again.text


def test_invalid_number_refused_with_code(client: TestClient, session: Session) -> None:
    w = world(session)
    ha, _ = _headers(client, w)
    raw = number()
    bad = raw[:17] + ("0" if raw[17] != "0" else "1")
    before = counts(session)
    resp = client.post("/api/v1/residents", json={"id_number": bad, "name": "王五"}, headers=ha)
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "id_number_checksum" and bad not in resp.text
    mismatch = client.post("/api/v1/residents", json={"id_number": raw, "name": "王五", "sex": 2}, headers=ha)
    assert mismatch.status_code == 422 and mismatch.json()["error"]["code"] == "id_number_sex_mismatch"
    session.expire_all()
    # The login itself writes nothing to these tables; the refusals wrote nothing either.
    assert counts(session) == before


def test_search_get_and_out_of_scope(client: TestClient, session: Session) -> None:
    w = world(session)
    ha, hb = _headers(client, w)
    raw = number()
    rid = client.post("/api/v1/residents", json={"id_number": raw, "name": "林海"}, headers=ha).json()["id"]
    listed = client.get("/api/v1/residents", params={"q": "林"}, headers=ha).json()
    assert [x["id"] for x in listed["items"]] == [rid] and listed["total"] == 1 and listed["page"] == 1
    by_number = client.get("/api/v1/residents", params={"q": raw}, headers=ha).json()
    assert [x["id"] for x in by_number["items"]] == [rid]
    assert client.get("/api/v1/residents", params={"q": "林"}, headers=hb).json()["total"] == 0

    detail = client.get(f"/api/v1/residents/{rid}", headers=ha)
    assert detail.status_code == 200 and detail.json()["care_relationships"][0]["kind"] == "registered"
    assert raw not in detail.text
    read = select(AuditLog).where(AuditLog.action == "read", AuditLog.resident_id == rid,
                                  AuditLog.actor_user_id == w.clin_a_user.id,
                                  AuditLog.detail == "查看居民档案")
    assert session.scalar(read) is not None

    refused = client.get(f"/api/v1/residents/{rid}", headers=hb)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "resident_out_of_scope"
    assert client.get(f"/api/v1/residents/{rid}").status_code == 401


def test_enrolments_and_key_populations(client: TestClient, session: Session) -> None:
    w = world(session)
    ha, hb = _headers(client, w)
    body = {"id_number": number(sex=2), "name": "黄蓉"}
    rid = client.post("/api/v1/residents", json=body, headers=ha).json()["id"]
    year = {"scheme": "resident", "insured_division_code": "320102", "start_on": "2024-01-01",
            "end_on": "2024-12-31"}
    ok = client.post(f"/api/v1/residents/{rid}/enrolments", json=year, headers=ha)
    assert ok.status_code == 201 and ok.json()["scheme_name"] == "城乡居民基本医疗保险"
    clash = client.post(f"/api/v1/residents/{rid}/enrolments", json={**year, "start_on": "2024-06-01"},
                        headers=ha)
    assert clash.status_code == 409 and clash.json()["error"]["code"] == "enrolment_overlap"
    foreign = client.post(f"/api/v1/residents/{rid}/enrolments", json={**year, "start_on": "2025-01-01"},
                          headers=hb)
    assert foreign.status_code == 403

    kp = {"code": "pregnant", "since": "2024-03-01"}
    created = client.post(f"/api/v1/residents/{rid}/key-populations", json=kp, headers=ha)
    assert created.status_code == 201 and created.json()["created"] is True
    again = client.post(f"/api/v1/residents/{rid}/key-populations", json=kp, headers=ha)
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    derived = client.post(f"/api/v1/residents/{rid}/key-populations", json={**kp, "code": "elderly_65"},
                          headers=ha)
    assert derived.status_code == 422 and derived.json()["error"]["code"] == "key_population_derived"
    ended = client.post(f"/api/v1/residents/{rid}/key-populations/{created.json()['id']}/end",
                        json={"until": "2024-11-20"}, headers=ha)
    assert ended.status_code == 200 and ended.json()["until"] == "2024-11-20"
    record = client.get(f"/api/v1/residents/{rid}", headers=ha).json()
    assert [k["code"] for k in record["key_populations"]] == ["pregnant"] and len(record["enrolments"]) == 1


def test_duplicates_listed_and_reviewed_not_merged(client: TestClient, session: Session) -> None:
    w = world(session)
    ha, hb = _headers(client, w)
    a = no_id(session, w.clin_a, name="吴刚")
    c = no_id(session, w.clin_a, name="吴刚")
    listed = client.get("/api/v1/residents/duplicates", headers=ha)
    assert listed.status_code == 200, listed.text
    assert [(p["a"]["id"], p["b"]["id"]) for p in listed.json()["items"]] == [(a.id, c.id)]
    assert client.get("/api/v1/residents/duplicates", headers=hb).json()["total"] == 0
    before = session.scalar(select(func.count()).select_from(Resident))
    review = {"resident_a_id": c.id, "resident_b_id": a.id, "decision": "distinct"}
    refused = client.post("/api/v1/residents/duplicates/review", json=review, headers=hb)
    assert refused.status_code == 403
    done = client.post("/api/v1/residents/duplicates/review", json=review, headers=ha)
    assert done.status_code == 200 and done.json()["resident_a_id"] == a.id
    assert session.scalar(select(func.count()).select_from(Resident)) == before
    decision = select(DuplicateReview.decision).where(DuplicateReview.resident_a_id == a.id)
    assert session.scalar(decision) == "distinct"
    assert client.get("/api/v1/residents/duplicates", headers=ha).json()["total"] == 0
    bad = client.post("/api/v1/residents/duplicates/review", json={**review, "decision": "merge"}, headers=ha)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "request_invalid"


def test_openapi_lists_the_residents_routes(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for path in ("/api/v1/residents", "/api/v1/residents/{resident_id}", "/api/v1/residents/duplicates",
                 "/api/v1/residents/duplicates/review", "/api/v1/residents/{resident_id}/enrolments",
                 "/api/v1/residents/{resident_id}/key-populations"):
        assert path in paths
