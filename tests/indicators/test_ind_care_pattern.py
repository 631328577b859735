"""Care-pattern codes on the hand-made year (ind_year): expected values worked out by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import ind_kit as k
import ind_year
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import builders as b
from yilian.core.clock import utcnow
from yilian.db.models import ConsortiumAffiliation, ConsortiumMembership, Grid
from yilian.indicators import engine
from yilian.indicators.catalogue import Cut

BASES = [engine.Basis.AGGREGATE, engine.Basis.FACTS]


@pytest.mark.parametrize("basis", BASES)
def test_primary_and_township_visit_shares(session: Session, basis: engine.Basis) -> None:
    ind_year.build(session)
    rows = k.rows(session, "2025", basis=basis)
    # In-county visits of 2025: 1 (V1), 2 (W1), 3 (H), 4 (W2), 6 (H), 7 (Z), 9 (Z) = 7; visit 5 is out of county,
    # visit 8 is in 2024.  Primary care: V1, W1, W2 → 3.  Township centres (C210/C220): W1, W2 → 2.
    assert k.figures(rows[("primary_visit_share", "", "")]) == (Decimal(3), Decimal(7), Decimal("0.4286"), "ok", "")
    assert k.figures(rows[("township_visit_share", "", "")]) == (Decimal(2), Decimal(7), Decimal("0.2857"), "ok", "")


@pytest.mark.parametrize("basis", BASES)
def test_primary_inpatient_share(session: Session, basis: engine.Basis) -> None:
    ind_year.build(session)
    r = k.row(session, "primary_inpatient_share", basis=basis)
    # In-county stays discharged in 2025: 10 (H), 12 (W2), 13 (Z, admitted 2024), 15 (W1) = 4; 14 is
    # discharged in 2026, 17 not yet.  Primary: 12, 15 → 2 / 4.
    assert k.figures(r) == (Decimal(2), Decimal(4), Decimal("0.5000"), "ok", "")


@pytest.mark.parametrize("basis", BASES)
def test_county_retention(session: Session, basis: engine.Basis) -> None:
    ind_year.build(session)
    rows = k.rows(session, "2025", basis=basis)
    # The county's insured are r1 and r2.  Their stays: 10 (in), 11 (out), 12 (in), 13 (in) → 3 / 4.
    assert k.figures(rows[("county_retention_inpatient", "", "")]) == (
        Decimal(3), Decimal(4), Decimal("0.7500"), "ok", "")
    # Their visits: 1, 2, 3 (r1); 4, 5 (out), 9 (r2) → 5 / 6 = 0.8333.
    assert k.figures(rows[("county_retention_outpatient", "", "")]) == (
        Decimal(5), Decimal(6), Decimal("0.8333"), "ok", "")


@pytest.mark.parametrize("basis", BASES)
def test_consortium_cut(session: Session, basis: engine.Basis) -> None:
    ind_year.build(session)
    rows = k.rows(session, "2025", Cut.CONSORTIUM, basis=basis)
    # C1 = H, W1, V1: visits 1 (V1), 2 (W1), 3 (H), 6 (H) → primary 2 / 4.  C2 = Z, W2: 4 (W2), 7, 9 (Z) → 1 / 3.
    assert k.figures(rows[("primary_visit_share", "C1", "")])[:3] == (Decimal(2), Decimal(4), Decimal("0.5000"))
    assert k.figures(rows[("primary_visit_share", "C2", "")])[:3] == (Decimal(1), Decimal(3), Decimal("0.3333"))
    # Residents by home: r1 lives in T1 (W1 → C1): stays 10 in, 11 out → 1/2; r2 in T2 (W2 → C2): 12, 13 → 2/2.
    assert k.figures(rows[("county_retention_inpatient", "C1", "")])[:3] == (Decimal(1), Decimal(2), Decimal("0.5000"))
    assert k.figures(rows[("county_retention_inpatient", "C2", "")])[:3] == (Decimal(2), Decimal(2), Decimal("1.0000"))


@pytest.mark.parametrize("basis", BASES)
def test_institution_cut_home_residents(session: Session, basis: engine.Basis) -> None:
    ind_year.build(session)
    rows = k.rows(session, "2025", Cut.INSTITUTION, basis=basis)
    # r1's home centre is W1: 1 of 2 stays in county.  Hospitals and village clinics have no home residents.
    assert k.figures(rows[("county_retention_inpatient", "W1", "")])[:3] == (Decimal(1), Decimal(2), Decimal("0.5000"))
    assert k.figures(rows[("county_retention_inpatient", "H", "")]) == (
        Decimal(0), Decimal(0), None, "no_data", "zero_denominator")
    assert k.figures(rows[("county_retention_inpatient", "V1", "")])[3:] == ("no_data", "zero_denominator")
    # Out-of-county institutions are never units.
    assert not any(unit == "O" for (_c, unit, _g) in rows)
    # The institution's own visits: H had 3 and 6, no primary care.
    assert k.figures(rows[("primary_visit_share", "H", "")])[:3] == (Decimal(0), Decimal(2), Decimal("0.0000"))


def test_membership_on_the_record_date(session: Session) -> None:
    """A clinic that moves from C1 to C2 on 1 May: its visits before belong to C1, after to C2."""
    w = k.world(session)
    m = ConsortiumMembership
    membership = session.scalars(select(m).where(m.institution_id == w.v1.id)).one()
    membership.left_on = date(2025, 5, 1)
    b.member(session, w.c2, w.v1, joined_on=date(2025, 5, 1))
    r = k.resident(session, k.T1)
    k.visit(session, r, w.v1, date(2025, 4, 30), "10", "5")
    k.visit(session, r, w.v1, date(2025, 5, 1), "10", "5")
    k.visit(session, r, w.v1, date(2025, 5, 2), "10", "5")
    rows = k.rows(session, "2025", Cut.CONSORTIUM)
    assert k.figures(rows[("primary_visit_share", "C1", "")])[:2] == (Decimal(1), Decimal(1))
    assert k.figures(rows[("primary_visit_share", "C2", "")])[:2] == (Decimal(2), Decimal(2))


def test_months_and_quarters(session: Session) -> None:
    ind_year.build(session)
    # March 2025 visits: 1 (V1), 2 (W1), 3 (H) → primary 2 / 3.
    assert k.figures(k.row(session, "primary_visit_share", "2025-03"))[:3] == (Decimal(2), Decimal(3),
                                                                                Decimal("0.6667"))
    # Q2 visits: 4 (W2) in county, 5 out, 6 (H), 7 (Z) → 1 / 3.
    assert k.figures(k.row(session, "primary_visit_share", "2025Q2"))[:3] == (Decimal(1), Decimal(3),
                                                                               Decimal("0.3333"))
    # No care at all in 2023.
    assert k.figures(k.row(session, "primary_visit_share", "2023"))[3:] == ("no_data", "zero_denominator")


def test_insurance_enrolment_on_the_record_date(session: Session) -> None:
    """Insured in the county only from 1 June: a stay discharged in May is not the county's."""
    w = k.world(session)
    r = k.resident(session, k.T1, insured_from=date(2025, 6, 1))
    k.stay(session, r, w.city, date(2025, 5, 1), date(2025, 5, 3), "100", "50")
    k.stay(session, r, w.hospital, date(2025, 6, 1), date(2025, 6, 3), "100", "50")
    assert k.figures(k.row(session, "county_retention_inpatient"))[:3] == (Decimal(1), Decimal(1), Decimal("1.0000"))


def test_grid_cut_follows_its_city_group(session: Session) -> None:
    """A grid is served by one city group; a county community that joined the group as a whole brings its
    lead and members, but out-of-county institutions never count for in-county codes."""
    y = ind_year.build(session)
    b.division(session, "320600", "市", "city")
    group = b.consortium(session, code="G1", mode="city_group", level="city", lead=y.w.city, division_code="320600")
    session.add(ConsortiumAffiliation(community_id=y.w.c1.id, group_id=group.id, joined_on=date(2024, 1, 1)))
    session.add(Grid(code="GRID1", name="东部网格", city_code="320600", group_id=group.id, created_at=utcnow()))
    session.flush()
    rows = k.rows(session, "2025", Cut.GRID)
    assert {unit for (_c, unit, _g) in rows} == {"GRID1"}
    # As C1: visits 1 (V1), 2 (W1), 3 (H), 6 (H) → primary 2 / 4; r1 (home W1): stays 10 in, 11 out → 1 / 2.
    assert k.figures(rows[("primary_visit_share", "GRID1", "")])[:2] == (Decimal(2), Decimal(4))
    assert k.figures(rows[("county_retention_inpatient", "GRID1", "")])[:2] == (Decimal(1), Decimal(2))
    # The city group is a consortium unit too, with the same network.
    by_c = k.rows(session, "2025", Cut.CONSORTIUM)
    assert k.figures(by_c[("primary_visit_share", "G1", "")])[:2] == (Decimal(2), Decimal(4))
