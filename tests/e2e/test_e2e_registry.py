"""A consortium manager's day one: log in and create a consortium through the pages."""

from __future__ import annotations

import pytest
from e2e_helpers import login

pytestmark = pytest.mark.e2e


def test_login_and_create_consortium(live_server: str, page) -> None:  # type: ignore[no-untyped-def]
    login(page, live_server, "wjw")
    page.click("text=医联体")
    page.click("[data-testid=new-consortium]")
    page.fill("input[name=code]", "QD-KF-LM")
    page.fill("input[name=name]", "启东市康复专科联盟")
    page.select_option("select[name=mode]", "specialty_alliance")
    page.select_option("select[name=integration]", "loose")
    page.select_option("select[name=level]", "county")
    page.select_option("select[name=type]", "specialty")
    page.select_option("select[name=division_code]", "320681")
    page.fill("input[name=lead_code]", "QD-ZYY")
    page.fill("input[name=established_on]", "2025-03-01")
    page.click("[data-testid=consortium-form] button[type=submit]")
    page.wait_for_url(f"{live_server}/consortia/QD-KF-LM")
    assert "启东市康复专科联盟" in page.inner_text("h1")
    assert "启东市中医院" in page.inner_text("[data-testid=lead]")

    # A rule refusal shows a Chinese message in place and changes nothing.
    page.fill("[data-testid=add-member] input[name=institution_code]", "NOPE-999")
    page.fill("[data-testid=add-member] input[name=joined_on]", "2025-03-02")
    page.click("[data-testid=add-member] button[type=submit]")
    page.wait_for_selector("#messages .alert-error")
    assert "不存在" in page.inner_text("#messages")

    page.fill("[data-testid=add-member] input[name=institution_code]", "QD-NY-WSY")
    page.click("[data-testid=add-member] button[type=submit]")
    page.wait_for_selector("[data-testid=members] >> text=南阳镇卫生院")


def test_wrong_password_is_refused(live_server: str, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", "wjw")
    page.fill("input[name=password]", "wrong-password")
    page.click("main button[type=submit]")
    assert "用户名或密码错误" in page.inner_text("[role=alert]")
