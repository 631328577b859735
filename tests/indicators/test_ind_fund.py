"""Fund and efficiency codes on the hand-made year (ind_year): expected values worked out by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import ind_kit as k
import ind_year
import pytest
from sqlalchemy.orm import Session

from yilian.indicators import engine
from yilian.indicators.catalogue import Cut

BASES = [engine.Basis.AGGREGATE, engine.Basis.FACTS]


@pytest.mark.parametrize("basis", BASES)
def test_fund_shares(session: Session, basis: engine.Basis) -> None:
    ind_year.build(session)
    rows = k.rows(session, "2025", basis=basis)
    # The county's insured (r1, r2), settled 2025 encounters, fund paid:
    # visits 1 (30), 2 (60), 3 (200), 4 (50), 5 (0, out); stays 10 (6000), 11 (10000, out), 12 (1600), 13 (4000).
    # Everywhere: 21940; in county: 21940 − 0 − 10000 = 11940 → 0.544211 → 0.5442.
    assert k.figures(rows[("fund_in_county_share", "", "")]) == (
        Decimal("11940.00"), Decimal("21940.00"), Decimal("0.5442"), "ok", "")
    # All residents at in-county institutions: 30 + 60 + 200 + 50 + 0 (6) + 90 (7) + 6000 + 1600 + 4000 = 12030;
    # primary care (V1, W1, W2): 30 + 60 + 50 + 1600 = 1740 → 0.144638 → 0.1446.
    assert k.figures(rows[("fund_primary_share", "", "")]) == (
        Decimal("1740.00"), Decimal("12030.00"), Decimal("0.1446"), "ok", "")


@pytest.mark.parametrize("basis", BASES)
def test_effective_reimbursement_rate(session: Session, basis: engine.Basis) -> None:
    ind_year.build(session)
    r = k.row(session, "effective_reimbursement_rate", basis=basis)
    # Settled stays of r1, r2 discharged 2025, in and out of county: 10, 11, 12, 13.
    # Fund 6000 + 10000 + 1600 + 4000 = 21600; cost 9000 + 20000 + 2000 + 6000 = 37000 → 0.583784 → 0.5838.
    assert k.figures(r) == (Decimal("21600.00"), Decimal("37000.00"), Decimal("0.5838"), "ok", "")


@pytest.mark.parametrize("basis", BASES)
def test_costs_per_stay_and_visit_and_growth(session: Session, basis: engine.Basis) -> None:
    ind_year.build(session)
    rows = k.rows(session, "2025", basis=basis)
    # Settled in-county stays discharged 2025: 10 (9000), 12 (2000), 13 (6000) → 17000 / 3 = 5666.67.
    assert k.figures(rows[("inpatient_cost_per_stay", "", "")]) == (
        Decimal("17000.00"), Decimal(3), Decimal("5666.67"), "ok", "")
    # 2024: stay 16 (5000) → 5000.00.  Growth: 5666.67 / 5000.00 − 1 = 0.133334 → 0.1333.
    assert k.figures(rows[("inpatient_cost_per_stay_growth", "", "")]) == (
        Decimal("5666.67"), Decimal("5000.00"), Decimal("0.1333"), "ok", "")
    # Settled in-county visits 2025: 50 + 100 + 400 + 80 + 200 + 150 = 980 over 6 → 163.33 (visit 9 is unsettled).
    assert k.figures(rows[("outpatient_cost_per_visit", "", "")]) == (
        Decimal("980.00"), Decimal(6), Decimal("163.33"), "ok", "")
    # 2024: visit 8 (70) → 70.00.  Growth: 163.33 / 70.00 − 1 = 1.333286 → 1.3333.
    assert k.figures(rows[("outpatient_cost_per_visit_growth", "", "")]) == (
        Decimal("163.33"), Decimal("70.00"), Decimal("1.3333"), "ok", "")


@pytest.mark.parametrize("basis", BASES)
def test_average_length_of_stay_and_drug_share(session: Session, basis: engine.Basis) -> None:
    ind_year.build(session)
    rows = k.rows(session, "2025", basis=basis)
    # In-county stays discharged 2025 (settled or not): 10 (8 days), 12 (same day → 1), 13 (13), 15 (4) → 26 / 4.
    assert k.figures(rows[("average_length_of_stay", "", "")]) == (Decimal(26), Decimal(4), Decimal("6.50"), "ok", "")
    # In-county settled encounters: drugs 20+40+100+30+50+60+3000+500+2000 = 5800;
    # cost 50+100+400+80+200+150+9000+2000+6000 = 17980 → 0.322581 → 0.3226.
    assert k.figures(rows[("drug_cost_share", "", "")]) == (
        Decimal("5800.00"), Decimal("17980.00"), Decimal("0.3226"), "ok", "")


def test_growth_without_prior_year(session: Session) -> None:
    w = k.world(session)
    r = k.resident(session, k.T1)
    k.stay(session, r, w.hospital, date(2025, 3, 1), date(2025, 3, 4), "3000", "2000")
    row = k.row(session, "inpatient_cost_per_stay_growth")
    assert k.figures(row) == (Decimal("3000.00"), None, None, "no_data", "no_prior_year")
    # Visits: none this year either way → no prior year first.
    assert k.figures(k.row(session, "outpatient_cost_per_visit_growth"))[3:] == ("no_data", "no_prior_year")


def test_growth_may_be_negative(session: Session) -> None:
    w = k.world(session)
    r = k.resident(session, k.T1)
    k.visit(session, r, w.w1, date(2024, 6, 1), "200", "100")
    k.visit(session, r, w.w1, date(2025, 6, 1), "150", "100")
    # 150.00 / 200.00 − 1 = −0.25.
    assert k.figures(k.row(session, "outpatient_cost_per_visit_growth")) == (
        Decimal("150.00"), Decimal("200.00"), Decimal("-0.2500"), "ok", "")


def test_rounding_half_up(session: Session) -> None:
    """8 stays, 1 at primary care: 1/8 = 0.125 exactly → 0.1250; 1/16 = 0.0625; 1/32 = 0.03125 → 0.0313 (half up)."""
    w = k.world(session)
    r = k.resident(session, k.T1)
    k.stay(session, r, w.w1, date(2025, 1, 1), date(2025, 1, 2))
    for i in range(31):
        k.stay(session, r, w.hospital, date(2025, 2, 1), date(2025, 2, 1 + i % 27))
    assert k.figures(k.row(session, "primary_inpatient_share"))[:3] == (Decimal(1), Decimal(32), Decimal("0.0313"))


def test_fund_codes_by_consortium(session: Session) -> None:
    ind_year.build(session)
    rows = k.rows(session, "2025", Cut.CONSORTIUM)
    # C1 (H, W1, V1) settled 2025: 1 (30, V1), 2 (60, W1), 3 (200, H), 6 (0, H), 10 (6000, H) → 6290; primary 90.
    assert k.figures(rows[("fund_primary_share", "C1", "")])[:3] == (
        Decimal("90.00"), Decimal("6290.00"), Decimal("0.0143"))
    # r1 (home C1): fund 30 + 60 + 200 + 6000 in county, + 10000 out → 6290 / 16290 = 0.386126 → 0.3861.
    assert k.figures(rows[("fund_in_county_share", "C1", "")])[:3] == (
        Decimal("6290.00"), Decimal("16290.00"), Decimal("0.3861"))
