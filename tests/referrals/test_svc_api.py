"""The referral API through the real app (routers mounted by the test until the app factory does):
status codes and error codes of the integrity cases marked * in REFERRAL.md, with unchanged data,
and one loop end to end."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from svc_world import World, hospital_treated, state, world

import builders as b
from helpers import api_login
from yilian.core.clock import utcnow
from yilian.referrals import api, slots


@pytest.fixture()
def rclient(app):  # type: ignore[no-untyped-def]
    if not any(getattr(r, "path", "").startswith("/api/v1/referrals") for r in app.routes):
        app.include_router(api.router)
    with TestClient(app) as c:
        yield c


def _login(c: TestClient, w: World, *names: str) -> dict[str, dict[str, str]]:
    return {n: api_login(c, w.users[n].username, b.PASSWORD) for n in names}


def _future_slots(session: Session, w: World, n: int = 3) -> list[int]:
    start = utcnow().replace(microsecond=0) + timedelta(hours=2)  # check-in opens 24 h before (scheduling)
    made = slots.open_referral_slots(session, w.hosp.id, w.x, [start + timedelta(minutes=30 * i) for i in range(n)],
                                     department_id=w.department.id, name="API 预留")  # type: ignore[union-attr]
    return [s.id for s in made]


def _draft(c: TestClient, h: dict[str, str], w: World, **fields: Any) -> dict[str, Any]:
    body = {"resident_id": w.rid, "receiving_institution_id": w.hosp.id, "direction": "up", "urgency": "routine",
            "diagnoses": ["I21.901"], **fields}
    resp = c.post("/api/v1/referrals", json=body, headers=h)
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


def _refused(c: TestClient, session: Session, method: str, url: str, headers: dict[str, str], body: Any,
             status: int, code: str) -> None:
    before = state(session)
    resp = c.request(method, url, json=body, headers=headers)
    assert resp.status_code == status, resp.text
    assert resp.json()["error"]["code"] == code
    assert state(session) == before


def test_the_loop_through_the_api(rclient: TestClient, session: Session) -> None:
    w = world(session)
    slot_ids = _future_slots(session, w)
    h = _login(rclient, w, "gp", "spec")
    draft = _draft(rclient, h["gp"], w)
    assert draft["status"] == "draft" and draft["allowed_events"] == ["cancel", "submit"]
    offered = rclient.get(f"/api/v1/referrals/{draft['id']}/slots", params={"hold": True}, headers=h["gp"]).json()
    assert [s["id"] for s in offered] == slot_ids and offered[0]["pool_kind"] == "referral"
    sub = rclient.post(f"/api/v1/referrals/{draft['id']}/submit", json={"version": 1, "slot_id": slot_ids[0]},
                       headers=h["gp"])
    assert sub.status_code == 200 and sub.json()["status"] == "requested" and sub.json()["slot_state"] == "held"
    inbox = rclient.get("/api/v1/referrals", params={"side": "received", "open_only": True}, headers=h["spec"]).json()
    assert [r["id"] for r in inbox] == [draft["id"]] and inbox[0]["next_deadline"]["key"] == "accept"
    rid = draft["id"]
    acc = rclient.post(f"/api/v1/referrals/{rid}/accept", json={"version": 2}, headers=h["spec"]).json()
    assert acc["status"] == "scheduled" and len(acc["benefits"]) == 4
    chk = rclient.post(f"/api/v1/referrals/{rid}/check-in", json={"version": 3, "care_setting": "inpatient"},
                       headers=h["spec"]).json()
    assert chk["status"] == "in_care"
    out = rclient.post(f"/api/v1/referrals/{rid}/outcome", json={
        "version": 4, "summary": "PCI 术后", "diagnoses": ["I21.901"], "recommendations": "社区随访"},
        headers=h["spec"])
    assert out.json()["status"] == "completed"
    line = rclient.get(f"/api/v1/referrals/{rid}/timeline", headers=h["gp"]).json()
    assert [t["event"] for t in line] == ["submit", "accept", "check_in", "complete"]
    record = rclient.get(f"/api/v1/referrals/{rid}/record", headers=h["spec"])
    assert record.status_code == 200 and record.json()["resident_id"] == w.rid


def test_1_unknown_referral(rclient: TestClient, session: Session) -> None:
    w = world(session)
    h = _login(rclient, w, "spec")
    _refused(rclient, session, "POST", "/api/v1/referrals/9999999/accept", h["spec"], {"version": 1}, 404,
             "referral_not_found")


def test_2_6_7_8_refusals(rclient: TestClient, session: Session) -> None:
    w = world(session)
    h = _login(rclient, w, "gp", "gp2", "spec", "outsider", "dual")
    rid = _draft(rclient, h["gp"], w)["id"]
    assert rclient.post(f"/api/v1/referrals/{rid}/submit", json={"version": 1}, headers=h["gp"]).status_code == 200
    url = f"/api/v1/referrals/{rid}"
    _refused(rclient, session, "POST", f"{url}/accept", h["outsider"], {"version": 2}, 403, "not_receiver")
    _refused(rclient, session, "POST", f"{url}/accept", h["gp2"], {"version": 2}, 403, "not_receiver")
    _refused(rclient, session, "POST", f"{url}/decline", h["gp2"], {"version": 2, "code": "no_capacity"}, 403,
             "not_receiver")
    _refused(rclient, session, "POST", f"{url}/accept", h["spec"], {}, 422, "version_required")
    _refused(rclient, session, "POST", f"{url}/accept", h["spec"], {"version": 2, "resident_id": w.stranger.id},  # type: ignore[union-attr]
             409, "resident_mismatch")
    own = _draft(rclient, h["dual"], w, sending_institution_id=w.centre.id)["id"]
    assert rclient.post(f"/api/v1/referrals/{own}/submit", json={"version": 1}, headers=h["dual"]).status_code == 200
    _refused(rclient, session, "POST", f"/api/v1/referrals/{own}/accept", h["dual"], {"version": 2}, 403,
             "own_referral")


def test_2_a_followup_naming_another_resident(rclient: TestClient, session: Session) -> None:
    w = world(session)
    hospital_treated(session, w)
    h = _login(rclient, w, "gp", "spec")
    body = {"resident_id": w.rid, "receiving_institution_id": w.centre.id, "direction": "down",
            "diagnoses": ["I63.900"], "summary": "小结", "care_plan": "方案", "medications": "用药",
            "followup_instructions": "随访"}
    rid = rclient.post("/api/v1/referrals", json=body, headers=h["spec"]).json()["id"]
    rclient.post(f"/api/v1/referrals/{rid}/submit", json={"version": 1}, headers=h["spec"])
    assert rclient.post(f"/api/v1/referrals/{rid}/accept", json={"version": 2}, headers=h["gp"]).status_code == 200
    _refused(rclient, session, "POST", f"/api/v1/referrals/{rid}/follow-up", h["gp"], {
        "version": 3, "resident_id": w.stranger.id, "mode": "phone", "findings": "f", "plan": "p"},  # type: ignore[union-attr]
        409, "resident_mismatch")
    done = rclient.post(f"/api/v1/referrals/{rid}/follow-up", json={
        "version": 3, "resident_id": w.rid, "mode": "phone", "findings": "血压平稳", "plan": "继续服药"},
        headers=h["gp"])
    assert done.status_code == 200 and done.json()["followup"]["status"] == "done"


def test_12_13_scope_and_pool(rclient: TestClient, session: Session) -> None:
    w = world(session)
    h = _login(rclient, w, "gp")
    _refused(rclient, session, "POST", "/api/v1/referrals", h["gp"], {
        "resident_id": w.stranger.id, "receiving_institution_id": w.hosp.id, "direction": "up",  # type: ignore[union-attr]
        "urgency": "routine", "diagnoses": ["I21"]}, 403, "resident_out_of_scope")
    start = utcnow() + timedelta(days=3)
    y_slot = slots.open_referral_slots(session, w.hosp.id, w.y, [start], department_id=w.department.id,  # type: ignore[union-attr]
                                       name="Y")[0]
    rid = _draft(rclient, h["gp"], w)["id"]
    _refused(rclient, session, "POST", f"/api/v1/referrals/{rid}/submit", h["gp"], {"version": 1, "slot_id": y_slot.id},
             403, "pool_not_open")


def test_catalogue_upload_and_policy(rclient: TestClient, session: Session) -> None:
    w = world(session)
    h = _login(rclient, w, "manager_x", "gp")
    csv_bytes = "catalogue,icd10,name\nup,I21,急性心肌梗死\ndown,I10,高血压\n".encode()
    resp = rclient.post("/api/v1/referrals/catalogues", params={"consortium_id": w.x}, headers=h["manager_x"],
                        files={"file": ("catalogue.csv", csv_bytes, "text/csv")})
    assert resp.status_code == 200, resp.text
    assert resp.json()["loaded"] == {"down": 1, "up": 1}
    bad = rclient.post("/api/v1/referrals/catalogues", params={"consortium_id": w.x}, headers=h["manager_x"],
                       files={"file": ("c.csv", b"catalogue,icd10,name\nup,??,x\n", "text/csv")})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "catalogue_invalid"
    denied = rclient.put("/api/v1/referrals/policy", params={"consortium_id": w.x}, headers=h["gp"],
                         json={"benefits": ["registration_fee_waiver"]})
    assert denied.status_code == 403
    ok = rclient.put("/api/v1/referrals/policy", params={"consortium_id": w.x}, headers=h["manager_x"],
                     json={"benefits": ["registration_fee_waiver"], "down_auto_accept": False})
    assert ok.status_code == 204
