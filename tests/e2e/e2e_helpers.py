"""Shared steps of the browser tests."""

from __future__ import annotations

DEMO_PASSWORD = "yilian-demo-2026"


def login(page, base: str, username: str, password: str = DEMO_PASSWORD) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=current-user]")
