"""Scorecards: versioned definitions, scores and ranks from the stored snapshot, approval freezes them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import ind_kit as k
import ind_year
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import builders as b
from yilian.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yilian.db.models import Institution
from yilian.db.models.indicators import ScorecardSnapshotItem, ScorecardSnapshotScore
from yilian.identity.principal import Principal
from yilian.identity.roles import Role
from yilian.identity.service import principal_of
from yilian.indicators import scorecards, service

CARD: dict[str, Any] = {
    "code": "gt-2025", "name": "医共体绩效考核", "level": "consortium",
    "items": [
        {"indicator": "county_retention_inpatient", "weight": 40, "rule": "linear", "floor": "0.80", "target": "0.90"},
        {"indicator": "primary_visit_share", "weight": 30, "rule": "linear", "floor": "0.30", "target": "0.65"},
        {"indicator": "contract_rate", "weight": 30, "rule": "threshold", "target": "0.45"},
        {"indicator": "cmi", "weight": 10, "rule": "ratio", "target": "1"},
    ],
}


def _officer(session: Session) -> Principal:
    return principal_of(b.user(session, Role.COMMISSION_OFFICER, division_code=k.COUNTY))


def _ready(session: Session) -> Principal:
    ind_year.build(session)
    service.do_store_snapshot(session, None, "2025", "consortium")
    officer = _officer(session)
    scorecards.do_create(session, officer, scorecards.parse_definition(CARD))
    return officer


def test_scores_and_ranks(session: Session) -> None:
    officer = _ready(session)
    result = scorecards.score(session, officer, "gt-2025", "2025")
    by = {u.unit: u for u in result.units}
    # cmi has no data (the stays are not grouped): its 10 is spread over the other 100 (× 1.1).
    # C1: retention 0.50 (below the floor) 0; primary 0.5000 → (0.50 − 0.30) / 0.35 × 33 = 18.857 → 18.86;
    #     contract rate 0 (no contracts) 0.
    # C2: retention 1.00 → 44; primary 0.3333 → 0.0333 / 0.35 × 33 = 3.1397 → 47.14 in all.
    assert by["C1"].score.score == Decimal("18.86") and by["C2"].score.score == Decimal("47.14")
    assert (by["C2"].rank, by["C1"].rank) == (1, 2)
    assert [u.unit for u in result.units] == ["C2", "C1"]
    cmi = by["C1"].score.items[3]
    assert cmi.value is None and cmi.effective_weight == 0 and cmi.points == 0
    assert result.approval is None


def test_approval_freezes_scores(session: Session) -> None:
    officer = _ready(session)
    approval = scorecards.do_approve(session, officer, "gt-2025", "2025")
    rows = session.scalars(select(ScorecardSnapshotScore).order_by(ScorecardSnapshotScore.rank)).all()
    assert [(r.unit_code, r.score, r.rank, r.unit_kind, r.scorecard_version, r.period) for r in rows] == [
        ("C2", Decimal("47.14"), 1, "consortium", 1, "2025"), ("C1", Decimal("18.86"), 2, "consortium", 1, "2025")]
    assert all(r.consortium_id is not None and r.institution_id is None and r.approval_id == approval.id
               for r in rows)
    items = session.scalars(select(ScorecardSnapshotItem).where(ScorecardSnapshotItem.score_id == rows[0].id)).all()
    assert [(i.indicator_code, i.status, i.reason) for i in items][3] == ("cmi", "no_data", "not_grouped")
    with pytest.raises(Conflict) as exc:
        scorecards.do_approve(session, officer, "gt-2025", "2025")
    assert exc.value.code == "scorecard_already_approved"
    # New care and a recomputation move the preview, never the frozen scores.
    w1 = session.scalars(select(Institution).where(Institution.code == "W1")).one()
    someone = k.resident(session, k.T1)
    for day in range(1, 11):
        k.visit(session, someone, w1, date(2025, 9, day), "10", "5")
    service.do_store_snapshot(session, None, "2025", "consortium")
    preview = {u.unit: u.score.score for u in scorecards.score(session, officer, "gt-2025", "2025").units}
    assert preview["C1"] > Decimal("18.86")
    r = session.scalars(select(ScorecardSnapshotScore).where(ScorecardSnapshotScore.unit_code == "C1")).one()
    assert r.score == Decimal("18.86")
    frozen_approval, frozen = scorecards.frozen(session, officer, "gt-2025", "2025")
    assert frozen_approval.id == approval.id and [s.unit_code for s in frozen] == ["C2", "C1"]


def test_new_version_keeps_the_approved_one(session: Session) -> None:
    officer = _ready(session)
    scorecards.do_approve(session, officer, "gt-2025", "2025")
    v2 = scorecards.do_create(session, officer, scorecards.parse_definition({**CARD, "name": "第二版"}))
    assert v2.version == 2
    _, frozen = scorecards.frozen(session, officer, "gt-2025", "2025")
    assert {s.scorecard_version for s in frozen} == {1}


def test_refusals(session: Session) -> None:
    w = k.world(session)
    officer = _officer(session)
    with pytest.raises(ValidationFailed) as e1:
        scorecards.do_create(session, officer, scorecards.parse_definition(
            {**CARD, "level": "institution", "items": [{"indicator": "budget_surplus_rate", "weight": 10,
                                                        "target": "0.05", "rule": "threshold"}]}))
    assert e1.value.code == "scorecard_indicator_cut"
    with pytest.raises(ValidationFailed) as e2:
        scorecards.do_create(session, officer, scorecards.parse_definition(
            {**CARD, "items": [{"indicator": "contract_rate_key", "group": "students", "weight": 10,
                                "target": "0.5", "rule": "threshold"}]}))
    assert e2.value.code == "scorecard_group_invalid"
    with pytest.raises(ValidationFailed) as e3:
        scorecards.parse_definition({**CARD, "items": []})
    assert e3.value.code == "scorecard_invalid"
    manager = principal_of(b.user(session, Role.CONSORTIUM_MANAGER, consortium_id=w.c1.id))
    with pytest.raises(Forbidden):
        scorecards.do_create(session, manager, scorecards.parse_definition(CARD))
    scorecards.do_create(session, officer, scorecards.parse_definition(CARD))
    with pytest.raises(NotFound) as e4:
        scorecards.score(session, officer, "gt-2025", "2025")
    assert e4.value.code == "indicator_snapshot_missing"
    with pytest.raises(Forbidden):
        scorecards.do_approve(session, manager, "gt-2025", "2025")
