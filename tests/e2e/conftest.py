"""Browser tests: the real server (uvicorn, a subprocess) on a free loopback port with a throwaway
database loaded with the demo network, driven by Debian's Chromium through Playwright."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_helpers import free_port

CHROMIUM = os.environ.get("YILIAN_CHROMIUM", "/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture()
def live_server(committed_db: str) -> Iterator[str]:
    var = tempfile.mkdtemp(prefix="yilian-e2e-var-")
    env = {**os.environ, "YILIAN_ENV": "test", "YILIAN_DATABASE_URL": committed_db, "YILIAN_VAR_DIR": var}
    yilian = [sys.executable, "-m", "yilian.cli.main"]
    subprocess.run([*yilian, "demo", "load"], env=env, check=True, capture_output=True)
    port = free_port()
    log = open(Path(var) / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([*yilian, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # up to ~60 s for start-up on a loaded 2-core machine
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(Path(var, "server.log").read_text()) from None
                time.sleep(0.1)
        else:
            raise RuntimeError("server did not start: " + Path(var, "server.log").read_text())
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


# Function scope on purpose: a session-wide sync Playwright keeps its event loop alive and any
# other test that starts Playwright later in the run would fail ("Sync API inside the asyncio loop").
@pytest.fixture()
def browser():  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make browser` (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


@pytest.fixture()
def page(browser, request):  # type: ignore[no-untyped-def]
    ctx = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    pg = ctx.new_page()
    pg.set_default_timeout(15000)
    yield pg
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    ctx.close()
