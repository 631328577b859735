"""DIP settlement over stored discharges: scores from history (1:2:7), deviation rules, payments that
add up to the fund, the same run model (statements, cases, what-if)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from payment_svc_testkit import ES35, FR23, FT29, County, Stay, add_stays, county
from sqlalchemy import select
from sqlalchemy.orm import Session

from builders import admin
from yilian.core.errors import ValidationFailed
from yilian.db.models import PaymentRunCase, PaymentRunInstitution, PaymentRunWeight
from yilian.payment.dip.service import DipRequest, combination_key, do_settle_dip
from yilian.payment.whatif import do_whatif

FUND = Decimal("500000.00")


def _history(c: County) -> list[Stay]:
    stays = []
    for year, cost in ((2023, 900), (2024, 1000)):
        for i in range(6):
            stays += [Stay(c.tertiary, FR23, cost + i, date(year, 1 + i, 1)),
                      Stay(c.secondary, ES35, cost // 2 + i, date(year, 1 + i, 1))]
    return stays


def _year(c: County) -> list[Stay]:
    return [Stay(c.tertiary, FR23, 1000, date(2025, 2, 1)), Stay(c.tertiary, FR23, 300, date(2025, 3, 1)),
            Stay(c.tertiary, FR23, 3000, date(2025, 4, 1)), Stay(c.secondary, ES35, 520, date(2025, 5, 1)),
            Stay(c.secondary, FT29, 700, date(2025, 6, 1))]


def test_dip_scores_pay_exactly_the_fund(session: Session) -> None:
    c = county(session)
    add_stays(session, _history(c) + _year(c))
    run = do_settle_dip(session, admin(), DipRequest(year=2025, budget=FUND))
    lines = list(session.scalars(select(PaymentRunInstitution).where(PaymentRunInstitution.run_id == run.id)))
    assert run.kind == "dip" and sum(line.payment or 0 for line in lines) == FUND == run.total_payment
    assert run.summary["history"] == [2023, 2024] and run.summary["catalogue"]["year_weights"] == ["2", "7"]
    cases = {c.cost: c for c in session.scalars(select(PaymentRunCase).where(PaymentRunCase.run_id == run.id))}
    assert cases[Decimal("300.00")].kind == "low" and cases[Decimal("3000.00")].kind == "high"
    assert cases[Decimal("1000.00")].kind == "normal" and cases[Decimal("1000.00")].group_code == "I50.9/-"
    # FT29 has no history: neither its combination nor its chapter group existed → unscored, flagged.
    unscored = cases[Decimal("700.00")]
    assert unscored.kind == "unscored" and unscored.flagged and unscored.status == "unscored"
    weight = session.get(PaymentRunWeight, (run.id, "I50.9/-"))
    assert weight is not None and weight.source == "combination"


def test_dip_first_year_uses_the_year_itself_and_notes_it(session: Session) -> None:
    c = county(session)
    add_stays(session, [Stay(c.tertiary, FR23, 1000, date(2025, m, 1)) for m in range(1, 7)])
    run = do_settle_dip(session, admin(), DipRequest(year=2025, budget=FUND))
    assert run.summary["history"] == [2025] and run.note is not None and "首个 DIP 年度" in run.note
    scores = {c.points for c in session.scalars(select(PaymentRunCase).where(PaymentRunCase.run_id == run.id))}
    assert scores == {Decimal("100")}  # the only combination scores 100 × coefficient 1.00


def test_dip_rerun_and_whatif(session: Session) -> None:
    c = county(session)
    add_stays(session, _history(c) + _year(c))
    first = do_settle_dip(session, admin(), DipRequest(year=2025, budget=FUND))
    again = do_settle_dip(session, admin(), DipRequest(year=2025, budget=FUND))
    assert first.result_digest == again.result_digest
    same = do_whatif(session, admin(), year=2025, base_run_id=first.id, assignments=["budget=500000"])
    assert same.result_digest == first.result_digest
    changed = do_whatif(session, admin(), year=2025, base_run_id=first.id, assignments=["coefficient.2=1.0"])
    before = {line.institution_id: line.payment for line in session.scalars(
        select(PaymentRunInstitution).where(PaymentRunInstitution.run_id == first.id))}
    after = {line.institution_id: line.payment for line in session.scalars(
        select(PaymentRunInstitution).where(PaymentRunInstitution.run_id == changed.id))}
    assert after[c.secondary.id] > before[c.secondary.id]  # type: ignore[operator]
    assert sum(after.values()) == FUND  # type: ignore[arg-type]
    noted = do_whatif(session, admin(), year=2025, base_run_id=first.id, assignments=["outlier.low=0.3"])
    assert noted.note is not None and "outlier.low" in noted.note


def test_dip_refusals_and_keys(session: Session) -> None:
    assert combination_key("I21.000x001", "36.0700x004") == "I21.0/36.07"
    assert combination_key("I50.900", None) == "I50.9/-"
    c = county(session)
    add_stays(session, _year(c))
    with pytest.raises(ValidationFailed) as no_budget:
        do_settle_dip(session, admin(), DipRequest(year=2025))
    assert no_budget.value.code == "settle_no_budget"
    with pytest.raises(ValidationFailed) as history:
        do_settle_dip(session, admin(), DipRequest(year=2025, budget=FUND, history_years=5))
    assert history.value.code == "dip_bad_history_years"
    with pytest.raises(ValidationFailed) as empty:
        do_settle_dip(session, admin(), DipRequest(year=2031, budget=FUND))
    assert empty.value.code == "settle_no_discharges"
