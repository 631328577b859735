"""Referral pages through the real app: refer with slot picking, the receiver's inbox and actions, the
audited record extract, refusals shown in place (htmx) without changing anything."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from svc_world import World, state, world

import builders as b
from helpers import page_login
from yilian.core.clock import utcnow
from yilian.db.models import AuditLog, ReferralEpisode
from yilian.referrals import slots, views


@pytest.fixture()
def pclient(app):  # type: ignore[no-untyped-def]
    if not any(getattr(r, "path", "") == "/referrals" for r in app.routes):
        app.include_router(views.router)
    with TestClient(app) as c:
        yield c


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def _as(c: TestClient, w: World, name: str) -> None:
    c.cookies.clear()
    page_login(c, w.users[name].username, b.PASSWORD)


def test_refer_pick_a_slot_and_the_receiver_accepts(pclient: TestClient, session: Session) -> None:
    w = world(session)
    start = utcnow().replace(microsecond=0) + timedelta(days=2)
    slot = slots.open_referral_slots(session, w.hosp.id, w.x, [start], department_id=w.department.id)[0]  # type: ignore[union-attr]
    _as(pclient, w, "gp")
    form = pclient.get(f"/referrals/new?resident_id={w.rid}")
    assert form.status_code == 200 and "发起转诊" in form.text
    token = _csrf(form.text)
    resp = pclient.post("/referrals/new", data={
        "csrf_token": token, "resident_id": str(w.rid), "direction": "up", "receiving_institution_id": str(w.hosp.id),
        "urgency": "routine", "diagnoses": "I21.901，I10", "medications": "阿司匹林"}, follow_redirects=False)
    assert resp.status_code == 303
    url = resp.headers["location"]
    page = pclient.get(url)
    assert f'data-testid="slot-{slot.id}"' in page.text and 'data-testid="action-submit"' in page.text
    rid = int(url.rsplit("/", 1)[1])
    resp = pclient.post(f"{url}/submit", data={"csrf_token": token, "version": "1", "slot_id": str(slot.id)},
                        headers={"HX-Request": "true"})
    assert resp.status_code == 204 and resp.headers["HX-Redirect"] == url
    assert "待接收" in pclient.get(url).text

    _as(pclient, w, "spec")
    inbox = pclient.get("/referrals/inbox")
    assert f'data-referral="{rid}"' in inbox.text and "接收时限" in inbox.text
    detail = pclient.get(url)
    assert 'data-testid="action-accept"' in detail.text and 'data-testid="action-submit"' not in detail.text
    token = _csrf(detail.text)
    extract = pclient.get(f"{url}/record")
    assert extract.status_code == 200 and "阿司匹林" in extract.text
    session.expire_all()
    assert session.scalar(select(AuditLog.id).where(AuditLog.detail == f"通过转诊单 {rid} 查看共享病历摘要"))
    # A refusal lands in #messages and changes nothing.
    before = state(session)
    stale = pclient.post(f"{url}/accept", data={"csrf_token": token, "version": "1"}, headers={"HX-Request": "true"})
    assert stale.headers.get("HX-Retarget") == "#messages" and 'data-code="stale_version"' in stale.text
    assert state(session) == before
    ok = pclient.post(f"{url}/accept", data={"csrf_token": token, "version": "2"}, follow_redirects=True)
    assert ok.status_code == 200 and "已预约" in ok.text
    assert session.get(ReferralEpisode, rid, populate_existing=True).status == "scheduled"  # type: ignore[union-attr]


def test_a_page_refusal_without_csrf(pclient: TestClient, session: Session) -> None:
    w = world(session)
    _as(pclient, w, "gp")
    resp = pclient.post("/referrals/new", data={"resident_id": str(w.rid)})
    assert resp.status_code == 403 and "csrf_failed" in resp.text


def test_the_referral_office_approves_from_its_page(pclient: TestClient, session: Session) -> None:
    from svc_world import NOW, submitted

    w = world(session)
    ep = submitted(session, w, receiver=w.far, at=NOW)
    _as(pclient, w, "officer_x")
    office = pclient.get("/referrals/office")
    assert office.status_code == 200 and f'data-referral="{ep.id}"' in office.text
    detail = pclient.get(f"/referrals/{ep.id}")
    assert 'data-testid="action-approve"' in detail.text and 'data-testid="action-accept"' not in detail.text
    resp = pclient.post(f"/referrals/{ep.id}/approve", data={"csrf_token": _csrf(detail.text), "version": "2"},
                        follow_redirects=True)
    assert resp.status_code == 200 and "待接收" in resp.text
    _as(pclient, w, "officer_y")
    assert pclient.get(f"/referrals/{ep.id}").status_code == 403
