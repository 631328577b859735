"""Test helpers shared across features (log-in through the real endpoints)."""

from __future__ import annotations


def api_login(client, username: str, password: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Bearer header for a user, through the real token endpoint."""
    resp = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def page_login(client, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    """Log a TestClient in through the real login form (with its CSRF token)."""
    import re

    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "login form has no CSRF token"
    resp = client.post("/login", data={"username": username, "password": password, "next": "/",
                                       "csrf_token": token.group(1)}, follow_redirects=False)
    assert resp.status_code == 303, resp.text
