"""The referral loop in the browser: a village doctor refers a patient up into a reserved county-hospital
slot; the specialist accepts, checks the patient in and sends the outcome back; then refers the patient
down to the township GP, who accepts and records the follow-up.  Both parties see the timelines.

The server is started here with the referral routers mounted (until the app factory mounts them) on a
committed database loaded with ``yilian demo load`` plus ``yilian referrals demo-seed``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_helpers import free_port as _free_port
from e2e_helpers import login

pytestmark = pytest.mark.e2e

SERVER = """
import sys
import uvicorn
from yilian.core.config import get_settings
from yilian.web.app import create_app
from yilian.referrals import api, views
app = create_app(get_settings())
paths = {getattr(r, "path", "") for r in app.routes}
if "/referrals" not in paths:
    app.include_router(views.router)
if "/api/v1/referrals" not in paths:
    app.include_router(api.router)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""
SEED = "from yilian.referrals.cli import app; app(prog_name='yilian referrals')"


@pytest.fixture()
def referral_server(committed_db: str) -> Iterator[tuple[str, int]]:
    var = tempfile.mkdtemp(prefix="yilian-e2e-ref-")
    env = {**os.environ, "YILIAN_ENV": "test", "YILIAN_DATABASE_URL": committed_db, "YILIAN_VAR_DIR": var}
    subprocess.run([sys.executable, "-m", "yilian.cli.main", "demo", "load"], env=env, check=True, capture_output=True)
    seeded = subprocess.run([sys.executable, "-c", SEED, "demo-seed"], env=env, check=True, capture_output=True,
                            text=True)
    resident_id = int(json.loads(seeded.stdout.strip().splitlines()[-1])["resident_id"])
    port = _free_port()
    log = open(Path(var) / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
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
        yield base, resident_id
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _as(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.context.clear_cookies()
    login(page, base, username)


def _status(page) -> str:  # type: ignore[no-untyped-def]
    return str(page.get_attribute("[data-testid=referral-status]", "data-status"))


def _act(page, action: str, expect: str) -> None:  # type: ignore[no-untyped-def]
    page.click(f"[data-testid=action-{action}] button[type=submit]")
    page.wait_for_selector(f"[data-testid=referral-status][data-status={expect}]")


def _receiver(page, code: str) -> None:  # type: ignore[no-untyped-def]
    value = page.get_attribute(f"[data-testid=receiver] option[data-code={code}]", "value")
    page.select_option("[data-testid=receiver]", value=value)


def test_up_referral_then_down_referral_close_their_loops(referral_server, page) -> None:  # type: ignore[no-untyped-def]
    base, resident_id = referral_server

    # The village doctor refers up into the hospital's reserved slot.
    _as(page, base, "cunyi")
    page.goto(f"{base}/referrals/new?resident_id={resident_id}")
    page.select_option("[data-testid=direction]", "up")
    _receiver(page, "QD-RMYY")
    page.select_option("[data-testid=urgency]", "routine")
    page.fill("[data-testid=diagnoses]", "I21.901")
    page.fill("[data-testid=medications]", "阿司匹林 100mg qd")
    page.click("[data-testid=save-draft]")
    page.wait_for_selector("[data-testid=referral-status][data-status=draft]")
    up_url = page.url
    page.check("[data-testid=action-submit] [data-testid=slot-picker] input[type=radio][value]:not([value=''])")
    _act(page, "submit", "requested")
    assert "已预占" in page.inner_text("[data-testid=slot-start]")

    # The specialist reads the attached record, accepts into the held slot, checks in, sends the outcome.
    _as(page, base, "zhuanke")
    page.goto(f"{base}/referrals/inbox")
    page.click(f"[data-testid=open-referral-{up_url.rsplit('/', 1)[1]}]")
    page.click("[data-testid=open-record]")
    assert "阿司匹林" in page.inner_text("[data-testid=extract-medications]")
    page.goto(up_url)
    _act(page, "accept", "scheduled")
    assert "一免三优先" in page.inner_text("[data-testid=referral-facts]")
    page.select_option("[data-testid=action-check-in] select[name=care_setting]", "outpatient")
    _act(page, "check-in", "in_care")
    page.fill("[data-testid=action-outcome] textarea[name=summary]", "冠脉造影示前降支狭窄，已行PCI")
    page.fill("[data-testid=action-outcome] input[name=diagnoses]", "I21.901")
    page.fill("[data-testid=action-outcome] textarea[name=recommendations]", "双抗12个月，社区随访")
    _act(page, "outcome", "completed")

    # The sender sees the outcome and the whole timeline.
    _as(page, base, "cunyi")
    page.goto(up_url)
    assert "PCI" in page.inner_text("[data-testid=outcome]")
    events = page.eval_on_selector_all("[data-testid=timeline] tr[data-event]", "rs => rs.map(r => r.dataset.event)")
    assert events == ["submit", "accept", "check_in", "complete"]

    # The specialist refers the patient down to the township GP.
    _as(page, base, "zhuanke")
    page.goto(up_url)
    page.click("[data-testid=refer-down]")
    _receiver(page, "QD-HL-WSY")
    page.fill("[data-testid=diagnoses]", "I25.103")
    page.fill("[data-testid=summary]", "急性心梗PCI术后，病情稳定出院")
    page.fill("[data-testid=care-plan]", "心脏康复，控制危险因素")
    page.fill("[data-testid=medications]", "阿司匹林、氯吡格雷、阿托伐他汀")
    page.fill("[data-testid=followup-instructions]", "1周内随访血压、心率")
    page.click("[data-testid=save-draft]")
    page.wait_for_selector("[data-testid=referral-status][data-status=draft]")
    down_url = page.url
    _act(page, "submit", "requested")

    # The GP accepts and records the follow-up: the loop closes.
    _as(page, base, "gp")
    page.goto(f"{base}/referrals/inbox")
    page.click(f"[data-testid=open-referral-{down_url.rsplit('/', 1)[1]}]")
    _act(page, "accept", "accepted")
    assert "待随访" in page.inner_text("[data-testid=followup-status]")
    page.select_option("[data-testid=action-follow-up] select[name=mode]", "home")
    page.fill("[data-testid=action-follow-up] textarea[name=findings]", "血压128/80，无胸闷")
    page.fill("[data-testid=action-follow-up] textarea[name=plan]", "继续二级预防用药")
    _act(page, "follow-up", "completed")
    assert "已完成" in page.inner_text("[data-testid=followup-status]")

    # Both parties see the down-referral's timeline.
    for who in ("gp", "zhuanke"):
        _as(page, base, who)
        page.goto(down_url)
        events = page.eval_on_selector_all("[data-testid=timeline] tr[data-event]",
                                           "rs => rs.map(r => r.dataset.event)")
        assert events == ["submit", "accept", "record_followup"], (who, events)
    page.goto(f"{base}/referrals/notifications")
    assert "下转随访已完成" in page.inner_text("[data-testid=notifications]")
