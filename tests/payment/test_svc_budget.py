"""Consortium global budget clearing: budget from per-capita × insured residents or a negotiated total,
spending including out-of-network care, surplus split 6:3:1 then by frozen scores or workload,
overspend in tiers borne by the lead, several communities in a county, Luohu, what-if."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from payment_svc_testkit import COUNTY, FR23, FT29, County, Stay, add_stays, county, residents
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from builders import admin as admin_principal
from builders import consortium, division, institution, member
from yilian.core.clock import utcnow
from yilian.core.errors import NotFound, ValidationFailed
from yilian.db.models import (
    Contract,
    FamilyDoctorTeam,
    PaymentBudgetEntry,
    PaymentRunInstitution,
    Scorecard,
    ScorecardApproval,
    ScorecardSnapshotScore,
)
from yilian.payment.budget.service import BudgetRequest, do_settle_budget
from yilian.payment.whatif import do_whatif


def _spend(session: Session, c: County, people: list[int]) -> None:
    """2,000 at members (tertiary 1,000 inpatient, centre 600 + clinic 400 visits), 1,000 outside."""
    add_stays(session, [
        Stay(c.tertiary, FR23, 1000, date(2025, 3, 1), resident=people[0]),
        Stay(c.centre, FT29, 600, date(2025, 4, 1), resident=people[1], kind="outpatient"),
        Stay(c.clinic, FT29, 400, date(2025, 5, 1), resident=people[2], kind="outpatient"),
        Stay(c.secondary, FT29, 0, date(2025, 5, 2), resident=people[2], kind="outpatient"),
        Stay(c.outside, FR23, 1000, date(2025, 6, 1), resident=people[3]),
        Stay(c.tertiary, FR23, 9000, date(2025, 6, 1), resident=people[4], scheme="employee"),  # other scheme
        Stay(c.tertiary, FR23, 9000, date(2024, 6, 1), resident=people[4]),  # other year
    ])


def _lines(session: Session, run_id: int) -> dict[int, PaymentRunInstitution]:
    return {ln.institution_id: ln for ln in session.scalars(
        select(PaymentRunInstitution).where(PaymentRunInstitution.run_id == run_id))}


def _ledger(session: Session, run_id: int) -> list[PaymentBudgetEntry]:
    return list(session.scalars(select(PaymentBudgetEntry).where(PaymentBudgetEntry.run_id == run_id)
                                .order_by(PaymentBudgetEntry.position)))


def test_per_capita_budget_surplus_split_by_tier_and_workload(session: Session) -> None:
    c = county(session)
    people = residents(session, 10, township=c.townships[0])
    residents(session, 3, township=c.townships[0], insured=False)
    _spend(session, c, people)
    run = do_settle_budget(session, admin_principal(), BudgetRequest(year=2025, consortium=c.community.code))
    assert run.kind == "budget" and run.budget == Decimal("7920.00") and run.summary["insured"] == 10
    assert run.summary["spending_member"] == "2000.00" and run.summary["spending_outside"] == "1000.00"
    assert run.summary["retained"] == "4920.00" and run.summary["within"] == "workload"
    lines = _lines(session, run.id)
    assert sum(ln.payment or 0 for ln in lines.values()) == Decimal("4920.00") == run.total_payment
    assert lines[c.centre.id].payment == Decimal("1476.00") and lines[c.clinic.id].payment == Decimal("492.00")
    # County-hospital tier (6/10 = 2,952) by workload, every encounter of the year: tertiary 2, secondary 1.
    assert lines[c.tertiary.id].payment == Decimal("1968.00") and lines[c.secondary.id].payment == Decimal("984.00")
    entries = [e.entry for e in _ledger(session, run.id)]
    assert entries[:2] == ["budget", "prepay"] and entries.count("spending_member") == 12
    assert {"surplus", "retained", "returned", "share"} <= set(entries)
    june = next(e for e in _ledger(session, run.id) if e.entry == "spending_outside" and e.month == 6)
    assert june.amount == Decimal("1000.00") and june.balance == Decimal("4920.00")


def _scores(session: Session, c: County, scores: dict[int, str]) -> None:
    now = utcnow()
    card = Scorecard(code="KH", version=1, name="考核", level="institution", missing_policy="redistribute",
                     created_at=now, created_by="t")
    session.add(card)
    session.flush()
    approval = ScorecardApproval(scorecard_id=card.id, scorecard_code="KH", scorecard_version=1, period="2025",
                                 indicator_snapshot_id=1, indicator_computed_at=now, catalogue_version="1",
                                 approved_at=now, approved_by="t")
    session.add(approval)
    session.flush()
    session.execute(insert(ScorecardSnapshotScore), [
        {"approval_id": approval.id, "scorecard_code": "KH", "scorecard_version": 1, "period": "2025",
         "unit_kind": "institution", "institution_id": iid, "consortium_id": None, "unit_code": str(iid),
         "score": Decimal(score), "rank": 1, "approved_at": now} for iid, score in scores.items()])


def test_frozen_scores_split_within_a_tier(session: Session) -> None:
    c = county(session)
    people = residents(session, 10, township=c.townships[0])
    _spend(session, c, people)
    _scores(session, c, {c.tertiary.id: "90", c.secondary.id: "60", c.centre.id: "80", c.clinic.id: "70"})
    run = do_settle_budget(session, admin_principal(), BudgetRequest(year=2025, consortium=c.community.code))
    lines = _lines(session, run.id)
    assert run.summary["within"] == "score" and run.summary["scorecard"] == "KH"
    assert lines[c.tertiary.id].payment == Decimal("1771.20") and lines[c.secondary.id].payment == Decimal("1180.80")


def test_missing_scores_fall_back_to_workload_with_a_note(session: Session) -> None:
    c = county(session)
    people = residents(session, 10, township=c.townships[0])
    _spend(session, c, people)
    _scores(session, c, {c.tertiary.id: "90"})
    run = do_settle_budget(session, admin_principal(), BudgetRequest(year=2025, consortium=c.community.code))
    assert run.summary["within"] == "workload" and run.note is not None and "工作量" in run.note


def test_overspend_in_tiers_borne_by_the_lead(session: Session) -> None:
    c = county(session)
    people = residents(session, 10, township=c.townships[0])
    _spend(session, c, people)
    run = do_settle_budget(session, admin_principal(), BudgetRequest(year=2025, consortium=c.community.code,
                                                                     budget=Decimal("1000.00")))
    assert run.summary["overspend"] == "2000.00" and run.summary["budget_basis"] == "negotiated"
    assert run.summary["consortium_overspend"] == "1950.00" and run.summary["fund_overspend"] == "50.00"
    lines = _lines(session, run.id)
    assert lines[c.tertiary.id].payment == Decimal("-1950.00")
    assert all(ln.payment == 0 for iid, ln in lines.items() if iid != c.tertiary.id)


def test_several_communities_in_a_county_attribute_by_township(session: Session) -> None:
    c = county(session)
    other_town = f"{COUNTY}102"
    centre_b = institution(session, category="C210", level="unrated", division_code=other_town)
    community_b = consortium(session, lead=c.secondary, division_code=COUNTY)
    member(session, community_b, centre_b)
    mine = residents(session, 4, township=c.townships[0])
    residents(session, 6, township=other_town)
    residents(session, 2, township=None)
    _spend(session, c, mine + mine)
    run = do_settle_budget(session, admin_principal(), BudgetRequest(year=2025, consortium=c.community.code))
    assert run.summary["attribution"] == "township" and run.summary["insured"] == 4
    assert run.summary["unattributed_insured"] == 2 and run.budget == Decimal("3168.00")
    division(session, f"{COUNTY}109", "无中心镇", "township", parent_code=COUNTY)
    stranger = residents(session, 1, township=f"{COUNTY}109")
    assert stranger
    with pytest.raises(ValidationFailed) as unattributed:
        do_settle_budget(session, admin_principal(), BudgetRequest(year=2025, consortium=c.community.code))
    assert unattributed.value.code == "budget_township_unattributed"


def test_luohu_saving_stays_with_the_group(session: Session) -> None:
    c = county(session)
    people = residents(session, 2, township=c.townships[0])
    now = utcnow()
    team = FamilyDoctorTeam(institution_id=c.centre.id, code="T1", name="团队", created_at=now)
    session.add(team)
    session.flush()
    for rid in people:
        session.add(Contract(resident_id=rid, team_id=team.id, institution_id=c.centre.id, status="active",
                             signed_on=date(2023, 12, 1), start_on=date(2024, 1, 1), end_on=date(2025, 12, 31),
                             created_at=now, updated_at=now))
    add_stays(session, [Stay(c.tertiary, FR23, 5000, date(2024, 5, 1), resident=people[0]),
                        Stay(c.outside, FR23, 3000, date(2025, 5, 1), resident=people[1]),
                        Stay(c.tertiary, FT29, 700, date(2025, 5, 1), resident=people[1], kind="outpatient")])
    run = do_settle_budget(session, admin_principal(), BudgetRequest(year=2025, consortium=c.community.code,
                                                                     variant="luohu"))
    assert run.summary["previous"] == "5000.00" and run.summary["current"] == "3000.00"
    assert run.summary["saving"] == "2000.00" and run.total_payment == Decimal("2000.00")
    assert "saving" in [e.entry for e in _ledger(session, run.id)]


def test_whatif_on_split_retention_and_reimbursement(session: Session) -> None:
    c = county(session)
    people = residents(session, 10, township=c.townships[0])
    _spend(session, c, people)
    base = do_settle_budget(session, admin_principal(), BudgetRequest(year=2025, consortium=c.community.code))
    split = do_whatif(session, admin_principal(), year=2025, base_run_id=base.id,
                      assignments=["surplus.split=5:4:1", "surplus.retained=50%"])
    assert split.base_run_id == base.id and split.summary["retained"] == "2460.00"
    lines = _lines(session, split.id)
    assert lines[c.centre.id].payment == Decimal("984.00") and split.total_payment == Decimal("2460.00")
    cheaper = do_whatif(session, admin_principal(), year=2025, base_run_id=base.id,
                        assignments=["reimbursement.county=0.5", "deductible.county=500"])
    # The 1,000 inpatient stay at the county hospital is re-reimbursed: (1,000 − 500) × 0.5 = 250.
    assert cheaper.summary["spending_member"] == "1250.00"
    noted = do_whatif(session, admin_principal(), year=2025, base_run_id=base.id, assignments=["outlier.low=0.2"])
    assert noted.note is not None and "outlier.low" in noted.note


def test_refusals(session: Session) -> None:
    c = county(session)
    with pytest.raises(NotFound):
        do_settle_budget(session, admin_principal(), BudgetRequest(year=2025, consortium="NOPE"))
    with pytest.raises(ValidationFailed) as variant:
        do_settle_budget(session, admin_principal(), BudgetRequest(year=2025, consortium=c.community.code,
                                                                   variant="magic"))
    assert variant.value.code == "budget_bad_variant"
    with pytest.raises(ValidationFailed) as nobody:
        do_settle_budget(session, admin_principal(), BudgetRequest(year=2025, consortium=c.community.code))
    assert nobody.value.code == "budget_bad_budget"
