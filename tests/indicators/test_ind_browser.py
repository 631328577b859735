"""Browser test: the commission officer opens the county dashboard, sees the ECharts charts rendered and
follows a number to its drill-down.  The real server (uvicorn) on a free port, the demo network plus a
small year of care, Debian's Chromium driven by Playwright."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import ind_kit as k
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from yilian.db.models import Institution
from yilian.db.session import make_engine, session_factory
from yilian.indicators import service

pytestmark = pytest.mark.e2e
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CHROMIUM = os.environ.get("YILIAN_CHROMIUM", "/usr/bin/chromium")


def _e2e_helpers() -> Any:
    spec = importlib.util.spec_from_file_location("ind_e2e_helpers", REPO / "tests" / "e2e" / "e2e_helpers.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _care(session: Session) -> None:
    """A little 2025 in the demo county (启东市): two residents, visits and stays, one out of county."""
    inst = {i.code: i for i in session.scalars(select(Institution))}
    r1 = k.resident(session, "320681100", name="陈小红", sex=2)
    r2 = k.resident(session, "320681101", name="周大伟")
    k.visit(session, r1, inst["QD-HL-C01"], date(2025, 1, 8), "40", "30", "10")
    k.visit(session, r1, inst["QD-HL-WSY"], date(2025, 2, 3), "90", "60", "30")
    k.visit(session, r2, inst["QD-RMYY"], date(2025, 3, 9), "320", "150", "100")
    k.visit(session, r2, inst["QD-NY-WSY"], date(2025, 4, 2), "70", "50", "20")
    k.stay(session, r1, inst["QD-RMYY"], date(2025, 5, 1), date(2025, 5, 8), "8800", "6000", "3000")
    k.stay(session, r2, inst["NT-FY"], date(2025, 6, 1), date(2025, 6, 9), "21000", "11000", "7000")
    k.stay(session, r2, inst["QD-NY-WSY"], date(2025, 7, 1), date(2025, 7, 4), "2400", "1900", "600")


@pytest.fixture()
def server(committed_db: str) -> Iterator[str]:
    var = tempfile.mkdtemp(prefix="yilian-ind-e2e-")
    env = {**os.environ, "YILIAN_ENV": "test", "YILIAN_DATABASE_URL": committed_db, "YILIAN_VAR_DIR": var}
    subprocess.run([sys.executable, "-m", "yilian.cli.main", "demo", "load"], env=env, check=True,
                   capture_output=True)
    engine = make_engine(committed_db)
    with session_factory(engine)() as session:
        _care(session)
        service.do_store_snapshots(session, None, "2025")
        session.commit()
    engine.dispose()
    port = _free_port()
    log = open(Path(var) / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "ind_server:app", "--app-dir", str(HERE),
                             "--host", "127.0.0.1", "--port", str(port)], env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # up to ~60 s on a loaded machine
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


@pytest.fixture()
def browser_page(request: pytest.FixtureRequest) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make browser` (Debian package chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        ctx = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", viewport={"width": 1400, "height": 900})
        page = ctx.new_page()
        page.set_default_timeout(20000)
        try:
            yield page
        finally:
            artifacts = REPO / "test-artifacts"
            artifacts.mkdir(exist_ok=True)
            page.screenshot(path=str(artifacts / f"{request.node.name}.png"), full_page=True)
            ctx.close()
            browser.close()


def test_county_dashboard_charts_and_drill_down(server: str, browser_page: Any) -> None:
    page = browser_page
    helpers = _e2e_helpers()
    helpers.login(page, server, "wjw")
    page.goto(f"{server}/indicators?period=2025")
    assert "全县" in page.inner_text("[data-testid=dashboard-title]")
    # Both charts are drawn by ECharts (served locally) into canvases.
    page.wait_for_selector("[data-testid=trend-chart][data-rendered='1'] canvas")
    page.wait_for_selector("[data-testid=compare-chart][data-rendered='1'] canvas")
    (REPO / "test-artifacts").mkdir(exist_ok=True)
    page.screenshot(path=str(REPO / "test-artifacts" / "indicators_county_dashboard.png"), full_page=True)
    page.select_option("[data-testid=chart-code]", "primary_visit_share")
    page.wait_for_selector("[data-testid=trend-chart] canvas")
    # 县域就诊率（住院）: the county's insured stays 3, in county 2 → 66.67 %.
    value = page.locator("[data-testid=value-county_retention_inpatient]")
    assert value.inner_text() == "66.67%"
    value.click()
    page.wait_for_selector("[data-testid=drill-rows]")
    assert "县域就诊率（住院）" in page.inner_text("[data-testid=drill-title]")
    rows = page.inner_text("[data-testid=drill-rows]")
    assert "陈*红" in rows and "周*伟" in rows and "陈小红" not in rows
    page.click("[data-testid=part-denominator]")
    page.wait_for_selector("[data-testid=drill-rows] >> text=南通大学附属医院")
