"""Residents pages through the real app: search, register with CSRF, record, reveal, duplicates."""

from __future__ import annotations

import re
from datetime import date

from fastapi.testclient import TestClient
from residents_world import TOWNSHIP, no_id, number, register, world
from sqlalchemy import select
from sqlalchemy.orm import Session

import builders as b
from helpers import page_login
from yilian.db.models import AuditLog, DuplicateReview, Resident
from yilian.residents.idcard import mask_id_number

HTMX = {"HX-Request": "true"}


def _csrf(client: TestClient, url: str = "/residents") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).text)
    assert found, "page has no CSRF token"
    return found.group(1)


def test_list_search_and_register_form(client: TestClient, session: Session) -> None:
    w = world(session)
    raw = number()
    register(session, w.clin_a, id_number=raw, name="郑和", phone="13700001234")
    page_login(client, w.clin_a_user.username, b.PASSWORD)
    page = client.get("/residents", params={"q": "郑"})
    assert page.status_code == 200 and "登记居民" in page.text and "郑和" in page.text
    assert mask_id_number(raw) in page.text and "137****1234" in page.text
    assert raw not in page.text and "13700001234" not in page.text
    # htmx asks for the results only; the same search by full number finds the same row.
    partial = client.get("/residents", params={"q": raw}, headers={**HTMX, "HX-Target": "results"})
    assert partial.status_code == 200 and "<html" not in partial.text and "郑和" in partial.text


def test_register_through_the_form(client: TestClient, session: Session) -> None:
    w = world(session)
    page_login(client, w.clin_a_user.username, b.PASSWORD)
    raw = number(date(1982, 2, 3), seq=20, sex=2)
    form = {"name": "宋佳", "id_number": raw, "sex": "", "birth_date": "", "phone": "",
            "address_division_code": TOWNSHIP, "address_detail": "", "csrf_token": _csrf(client)}
    no_token = client.post("/residents", data={k: v for k, v in form.items() if k != "csrf_token"},
                           follow_redirects=False)
    assert no_token.status_code == 403 and "页面已过期" in no_token.text
    assert session.scalar(select(Resident).where(Resident.name == "宋佳")) is None
    done = client.post("/residents", data=form, follow_redirects=False)
    assert done.status_code == 303 and re.fullmatch(r"/residents/\d+", done.headers["location"])
    record = client.get(done.headers["location"])
    assert "居民已登记" in record.text and mask_id_number(raw) in record.text and raw not in record.text
    # htmx: the second registration of the number redirects to the same record.
    again = client.post("/residents", data=form, headers=HTMX, follow_redirects=False)
    assert again.status_code == 204 and again.headers["HX-Redirect"] == done.headers["location"]


def test_form_errors_reach_the_message_area(client: TestClient, session: Session) -> None:
    w = world(session)
    page_login(client, w.clin_a_user.username, b.PASSWORD)
    raw = number()
    wrong_check = raw[:17] + ("0" if raw[17] != "0" else "1")
    bad = {"name": "宋佳", "id_number": wrong_check, "csrf_token": _csrf(client)}
    resp = client.post("/residents", data=bad, headers=HTMX)
    assert resp.headers["HX-Retarget"] == "#messages" and 'data-code="id_number_checksum"' in resp.text
    no_date = {"name": "宋佳", "sex": "1", "birth_date": "1990-13-01", "address_division_code": TOWNSHIP,
               "csrf_token": _csrf(client)}
    resp = client.post("/residents", data=no_date, headers=HTMX)
    assert 'data-code="form_invalid"' in resp.text and "出生日期" in resp.text


def test_record_page_and_out_of_scope(client: TestClient, session: Session) -> None:
    w = world(session)
    r, _ = register(session, w.clin_a, id_number=number(date(1950, 1, 1)), name="冯伟",
                    address_division_code=TOWNSHIP)
    page_login(client, w.clin_b_user.username, b.PASSWORD)
    refused = client.get(f"/residents/{r.id}")
    assert refused.status_code == 403 and "无权查看" in refused.text
    assert "resident_out_of_scope" in refused.text
    assert "冯伟" not in refused.text

    page_login(client, w.clin_a_user.username, b.PASSWORD)
    page = client.get(f"/residents/{r.id}")
    assert page.status_code == 200
    assert "65岁及以上老年人" in page.text and "幸福街道" in page.text and w.inst_a.name in page.text
    assert "显示完整身份证号" in page.text
    read = select(AuditLog).where(AuditLog.action == "read", AuditLog.resident_id == r.id,
                                  AuditLog.actor_user_id == w.clin_a_user.id)
    assert session.scalar(read) is not None


def test_reveal_button_shows_number_audited_and_uncached(client: TestClient, session: Session) -> None:
    w = world(session)
    raw = number()
    r, _ = register(session, w.clin_a, id_number=raw)
    page_login(client, w.pharm_a_user.username, b.PASSWORD)
    assert "显示完整身份证号" not in client.get(f"/residents/{r.id}").text  # read-only role: no button
    token = _csrf(client, f"/residents/{r.id}")
    denied = client.post(f"/residents/{r.id}/reveal", data={"csrf_token": token})
    assert denied.status_code == 403

    page_login(client, w.clin_a_user.username, b.PASSWORD)
    token = _csrf(client, f"/residents/{r.id}")
    shown = client.post(f"/residents/{r.id}/reveal", data={"csrf_token": token, "reason": "核对医保卡"},
                        headers=HTMX)
    assert shown.status_code == 200 and raw in shown.text and shown.headers["Cache-Control"] == "no-store"
    full_page = client.post(f"/residents/{r.id}/reveal", data={"csrf_token": token})
    assert raw in full_page.text and "<html" in full_page.text
    mine = select(AuditLog).where(AuditLog.action == "reveal", AuditLog.resident_id == r.id)
    reveals = session.scalars(mine.order_by(AuditLog.id))
    assert [(a.actor_user_id, a.detail) for a in reveals] == [
        (w.clin_a_user.id, "显示完整身份证号码：核对医保卡"), (w.clin_a_user.id, "显示完整身份证号码")]


def test_enrolment_and_key_population_forms(client: TestClient, session: Session) -> None:
    w = world(session)
    r, _ = register(session, w.clin_a, id_number=number())
    page_login(client, w.clin_a_user.username, b.PASSWORD)
    token = _csrf(client, f"/residents/{r.id}")
    enrolment = {"scheme": "employee", "insured_division_code": "320102", "csrf_token": token}
    enrol = client.post(f"/residents/{r.id}/enrolments", data={**enrolment, "start_on": "2024-01-01"},
                        follow_redirects=False)
    assert enrol.status_code == 303
    kp = client.post(f"/residents/{r.id}/key-populations", data={
        "code": "t2dm", "since": "2022-05-01", "until": "", "csrf_token": token,
    }, follow_redirects=False)
    assert kp.status_code == 303
    page = client.get(f"/residents/{r.id}").text
    assert "职工基本医疗保险" in page and "2型糖尿病患者" in page
    clash = client.post(f"/residents/{r.id}/enrolments", data={**enrolment, "start_on": "2024-06-01"},
                        headers=HTMX)
    assert 'data-code="enrolment_overlap"' in clash.text


def test_duplicates_page_marks_a_pair(client: TestClient, session: Session) -> None:
    w = world(session)
    a = no_id(session, w.clin_a, name="何平")
    c = no_id(session, w.clin_a, name="何平")
    page_login(client, w.clin_a_user.username, b.PASSWORD)
    page = client.get("/residents/duplicates")
    assert page.status_code == 200 and "何平" in page.text and "是同一人" in page.text
    token = _csrf(client, "/residents/duplicates")
    done = client.post("/residents/duplicates/review", data={
        "resident_a_id": str(a.id), "resident_b_id": str(c.id), "decision": "same", "csrf_token": token,
    }, follow_redirects=False)
    assert done.status_code == 303
    assert "未合并" in client.get("/residents/duplicates").text  # the flash
    decision = select(DuplicateReview.decision).where(DuplicateReview.resident_b_id == c.id)
    assert session.scalar(decision) == "same"
    assert session.get(Resident, a.id) is not None and session.get(Resident, c.id) is not None
    assert "何平" in client.get("/residents/duplicates", params={"view": "same"}).text


def test_a_deceased_resident_shows_as_such(client: TestClient, session: Session) -> None:
    w = world(session)
    r, _ = register(session, w.clin_a, id_number=number(date(1950, 1, 1)), name="冯伟",
                    address_division_code=TOWNSHIP)
    page_login(client, w.clin_a_user.username, b.PASSWORD)
    assert "已故" not in client.get(f"/residents/{r.id}").text
    r.deceased_on = date(2020, 1, 1)
    session.flush()
    page = client.get(f"/residents/{r.id}").text
    assert 'data-testid="deceased-on">2020-01-01（已故）' in page and "70岁" in page  # age at death
    assert 'data-testid="deceased"' in client.get("/residents", params={"q": "冯伟"}).text
