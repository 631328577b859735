"""Payment-fed codes: ``cmi`` from the latest grouping run, ``budget_surplus_rate`` from budget runs."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import ind_kit as k
from sqlalchemy.orm import Session

from yilian.core.clock import utcnow
from yilian.db.models import Consortium, Encounter
from yilian.db.models.payment import PaymentBudgetEntry, PaymentRun, PaymentRunCase, PaymentRunWeight
from yilian.indicators.catalogue import Cut


def run(session: Session, kind: str, year: int = 2025, *, consortium: Consortium | None = None,
        base: PaymentRun | None = None) -> PaymentRun:
    r = PaymentRun(kind=kind, year=year, consortium_id=consortium.id if consortium else None,
                   base_run_id=base.id if base else None, params={}, options={}, summary={}, inputs_digest="x",
                   result_digest="x", created_at=utcnow(), created_by="test")
    session.add(r)
    session.flush()
    return r


def case(session: Session, r: PaymentRun, e: Encounter, drg: str, status: str = "grouped") -> None:
    session.add(PaymentRunCase(run_id=r.id, institution_id=e.institution_id, encounter_id=e.id, month=1,
                               status=status, group_code=drg, kind="normal", cost=Decimal(1000), flagged=False))
    session.flush()


def weights(session: Session, r: PaymentRun, **rw: str) -> None:
    for code, value in rw.items():
        session.add(PaymentRunWeight(run_id=r.id, code=code, rw=Decimal(value), source="drg"))
    session.flush()


def test_cmi_from_the_latest_grouping(session: Session) -> None:
    w = k.world(session)
    p = k.resident(session, k.T1)
    s1 = k.stay(session, p, w.hospital, date(2025, 3, 1), date(2025, 3, 5))
    s2 = k.stay(session, p, w.hospital, date(2025, 6, 1), date(2025, 6, 5))
    s3 = k.stay(session, p, w.w1, date(2025, 7, 1), date(2025, 7, 3))
    s4 = k.stay(session, p, w.hospital, date(2025, 8, 1), date(2025, 8, 4))  # ungrouped
    k.stay(session, p, w.city, date(2025, 8, 1), date(2025, 8, 4))  # out of county: not counted
    assert k.row(session, "cmi").reason == "not_grouped"
    first = run(session, "drg")
    weights(session, first, FR23="0.8010", GB29="2.5", ES31="1.2")
    case(session, first, s1, "FR23")
    case(session, first, s2, "GB29")
    case(session, first, s4, "0000", status="ungrouped")
    later = run(session, "grouping")  # regroups s2 and adds s3, with its own weights
    weights(session, later, GB25="1.9", ES31="1.25")
    case(session, later, s2, "GB25")
    case(session, later, s3, "ES31")
    whatif = run(session, "drg", base=first)  # what-ifs do not count
    weights(session, whatif, FR23="9")
    case(session, whatif, s1, "FR23")
    # s1 FR23 0.8010 (first run), s2 GB25 1.9 and s3 ES31 1.25 (later run): 3.951 / 3 = 1.317.
    assert k.figures(k.row(session, "cmi")) == (Decimal("3.9510"), Decimal(3), Decimal("1.3170"), "ok", "")
    rows = k.rows(session, "2025", Cut.INSTITUTION)
    assert k.figures(rows[("cmi", "H", "")])[:3] == (Decimal("2.7010"), Decimal(2), Decimal("1.3505"))
    assert rows[("cmi", "W2", "")].reason == "zero_denominator"
    assert k.row(session, "cmi", "2024").reason == "not_grouped"


def test_budget_surplus_rate(session: Session) -> None:
    w = k.world(session)
    r1 = run(session, "budget", consortium=w.c1)
    old = run(session, "budget", consortium=w.c2)
    r2 = run(session, "budget", consortium=w.c2)  # the latest of the year for C2
    run(session, "budget", consortium=w.c2, base=r2)  # a what-if
    for r, budget, spending in ((r1, "3650000", [("spending_member", 1, "200000"), ("spending_outside", 1, "50000"),
                                                 ("spending_member", 2, "300000"), ("prepay", 0, "3650000")]),
                                (old, "9", []),
                                (r2, "730000", [("spending_member", 1, "90000")])):
        entries = [("budget", 0, budget), *spending]
        for pos, (entry, month, amount) in enumerate(entries):
            session.add(PaymentBudgetEntry(run_id=r.id, position=pos, consortium_id=r.consortium_id, month=month,
                                           entry=entry, amount=Decimal(amount)))
    session.flush()
    year = k.rows(session, "2025", Cut.CONSORTIUM)
    # C1: (3,650,000 − 550,000) / 3,650,000 = 0.849315 → 0.8493.
    assert k.figures(year[("budget_surplus_rate", "C1", "")])[:3] == (
        Decimal("3100000.00"), Decimal("3650000.00"), Decimal("0.8493"))
    jan = k.rows(session, "2025-01", Cut.CONSORTIUM)
    # January: 3,650,000 × 31/365 = 310,000.00; spent 250,000 → 60,000 / 310,000 = 0.1935.
    assert k.figures(jan[("budget_surplus_rate", "C1", "")])[:3] == (
        Decimal("60000.00"), Decimal("310000.00"), Decimal("0.1935"))
    # C2 January: 730,000 × 31/365 = 62,000.00; spent 90,000 → −28,000 / 62,000 = −0.4516 (overspent).
    assert k.figures(jan[("budget_surplus_rate", "C2", "")])[:3] == (
        Decimal("-28000.00"), Decimal("62000.00"), Decimal("-0.4516"))
    # County = the sum: (372,000 − 340,000) / 372,000 = 0.0860.
    assert k.figures(k.row(session, "budget_surplus_rate", "2025-01"))[:3] == (
        Decimal("32000.00"), Decimal("372000.00"), Decimal("0.0860"))
    assert k.rows(session, "2025", Cut.INSTITUTION)[("budget_surplus_rate", "H", "")].reason == "no_budget"
    assert k.row(session, "budget_surplus_rate", "2024").reason == "no_budget"
