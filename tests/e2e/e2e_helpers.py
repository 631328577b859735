"""Shared steps of the browser tests."""

from __future__ import annotations

import socket

DEMO_PASSWORD = "yilian-demo-2026"


def login(page, base: str, username: str, password: str = DEMO_PASSWORD) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=current-user]")


def free_port() -> int:
    """A free loopback port for a server under test."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
