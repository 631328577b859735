"""Drill-down: the records behind a number (from the records, not the aggregate), paged, masked,
every resident read audited; access by role and scope."""

from __future__ import annotations

from datetime import date
from typing import Any

import ind_kit as k
import ind_year
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import builders as b
from yilian.core.errors import Forbidden, NotFound, ValidationFailed
from yilian.core.paging import PageRequest
from yilian.db.models import AuditLog
from yilian.identity.principal import Principal
from yilian.identity.roles import Role
from yilian.identity.service import principal_of
from yilian.indicators import service

PAGE = PageRequest(1, 50)


def _principal(session: Session, role: Role, **scope: Any) -> Principal:
    return principal_of(b.user(session, role, **scope))


def test_numerator_and_denominator_records(session: Session) -> None:
    y = ind_year.build(session)
    admin = _principal(session, Role.SYSTEM_ADMIN)
    num = service.drill_down(session, admin, "county_retention_inpatient", "2025", "county", "", "", "numerator",
                             PAGE)
    den = service.drill_down(session, admin, "county_retention_inpatient", "2025", "county", "", "", "denominator",
                             PAGE)
    # Numerator: stays 10, 12, 13 (3); denominator adds the out-of-county stay 11 (4) — as the number says.
    assert num.page.total == 3 and den.page.total == 4
    assert sum(r.in_numerator for r in den.page.items) == 3
    out = [r for r in den.page.items if not r.in_numerator]
    assert [(r.institution, r.day) for r in out] == [("市第一医院", date(2025, 5, 11))]
    # Masked: 王小明 → 王*明, 李四 → 李*.
    assert {r.resident for r in den.page.items} == {"王*明", "李*"}
    assert den.page.items[0].detail["total_cost"] is not None
    # Each resident shown is an audited read.
    reads = session.scalars(select(AuditLog).where(AuditLog.action == "read")).all()
    assert {a.resident_id for a in reads} == {y.r1.id, y.r2.id}
    assert all("county_retention_inpatient" in (a.detail or "") for a in reads)


def test_drill_by_unit_and_paging(session: Session) -> None:
    ind_year.build(session)
    admin = _principal(session, Role.SYSTEM_ADMIN)
    d = service.drill_down(session, admin, "primary_visit_share", "2025", "consortium", "C1", "", "denominator",
                           PageRequest(1, 3))
    # C1 visits: 1, 2, 3, 6 → 4 records, 3 on the first page, ordered by date.
    assert d.page.total == 4 and len(d.page.items) == 3 and d.page.pages == 2
    assert [r.day for r in d.page.items] == [date(2025, 3, 1), date(2025, 3, 2), date(2025, 3, 3)]
    growth = service.drill_down(session, admin, "inpatient_cost_per_stay_growth", "2025", "county", "", "",
                                "denominator", PAGE)
    assert [r.day for r in growth.page.items] == [date(2024, 3, 4)]  # the prior year's settled stay


def test_drill_refusals(session: Session) -> None:
    ind_year.build(session)
    admin = _principal(session, Role.SYSTEM_ADMIN)
    with pytest.raises(NotFound) as e1:
        service.drill_down(session, admin, "htn_control_rate", "2025", "county", "", "", "numerator", PAGE)
    assert e1.value.code == "drill_source_pending"
    with pytest.raises(ValidationFailed) as e2:
        service.drill_down(session, admin, "up_referrals", "2025", "county", "", "", "denominator",
                           PAGE)
    assert e2.value.code == "drill_part_invalid"
    with pytest.raises(NotFound) as e3:
        service.drill_down(session, admin, "primary_visit_share", "2025", "consortium", "NOPE", "", "numerator",
                           PAGE)
    assert e3.value.code == "indicator_unit_not_found"
    with pytest.raises(NotFound) as e4:
        service.drill_down(session, admin, "no_such_code", "2025", "county", "", "", "numerator",
                           PAGE)
    assert e4.value.code == "indicator_not_found"


def test_access_by_role_and_scope(session: Session) -> None:
    w = k.world(session)
    officer = _principal(session, Role.COMMISSION_OFFICER, division_code=k.COUNTY)
    a = service.access_of(session, officer)
    assert a.county and a.manage and {"C1", "C2"} <= a.consortia and {"H", "W1", "V1"} <= a.institutions
    assert "O" not in a.institutions  # the city hospital is in another division
    manager = _principal(session, Role.CONSORTIUM_MANAGER, consortium_id=w.c1.id)
    m = service.access_of(session, manager)
    assert not m.county and not m.manage and m.consortia == {"C1"} and m.institutions == {"H", "W1", "V1"}
    with pytest.raises(Forbidden) as e1:
        service.drill_down(session, manager, "primary_visit_share", "2025", "consortium", "C2", "", "numerator",
                           PAGE)
    assert e1.value.code == "indicators_unit_forbidden"
    with pytest.raises(Forbidden):
        service.drill_down(session, manager, "primary_visit_share", "2025", "county", "", "", "numerator",
                           PAGE)
    clinician = _principal(session, Role.CLINICIAN, institution_id=w.w1.id)
    with pytest.raises(Forbidden) as e2:
        service.access_of(session, clinician)
    assert e2.value.code == "indicators_forbidden"
    with pytest.raises(Forbidden) as e3:
        service.do_store_snapshot(session, manager, "2025", "county")
    assert e3.value.code == "indicators_manage_forbidden"
    elsewhere = _principal(session, Role.INSURANCE_OFFICER, division_code=k.CITY_DISTRICT)
    e = service.access_of(session, elsewhere)
    assert not e.county and not e.manage and not e.consortia
    assert e.institutions == {"O"}  # in its division, but an out-of-county institution is never a unit
