"""Family-doctor capitation per team institution: contracted residents × 120 × delivery rate − 50 % of
their outpatient fund spending outside the consortium, floored at 0."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from payment_svc_testkit import FT29, County, Stay, add_stays, county, residents
from sqlalchemy import select
from sqlalchemy.orm import Session

from builders import admin
from yilian.core.clock import utcnow
from yilian.core.errors import ValidationFailed
from yilian.db.models import (
    Contract,
    ContractDelivery,
    ContractPackage,
    FamilyDoctorTeam,
    PaymentRunInstitution,
    ServicePackage,
    ServicePackageItem,
)
from yilian.payment.capitation.service import CapitationRequest, do_settle_capitation
from yilian.payment.whatif import do_whatif


def _contracts(session: Session, c: County, people: list[int], deliveries: int) -> None:
    """Each resident signs for 2025 with a package owing one quarterly item (4 due a year)."""
    now = utcnow()
    team = FamilyDoctorTeam(institution_id=c.centre.id, code="T1", name="团队一", created_at=now)
    package = ServicePackage(code="BASIC-T", name="基础包", kind="basic", created_at=now)
    session.add_all([team, package])
    session.flush()
    item = ServicePackageItem(package_id=package.id, code="BP", name="血压随访", frequency="quarterly",
                              populations="", price=Decimal("0"), payer="fund")
    session.add(item)
    session.flush()
    for n, rid in enumerate(people):
        contract = Contract(resident_id=rid, team_id=team.id, institution_id=c.centre.id, status="active",
                            signed_on=date(2024, 12, 20), start_on=date(2025, 1, 1), end_on=date(2025, 12, 31),
                            created_at=now, updated_at=now)
        session.add(contract)
        session.flush()
        session.add(ContractPackage(contract_id=contract.id, package_id=package.id))
        for q in range(deliveries if n == 0 else 4):
            session.add(ContractDelivery(contract_id=contract.id, package_item_id=item.id, item_code="BP",
                                         resident_id=rid, delivered_on=date(2025, 1 + 3 * q, 15),
                                         institution_id=c.centre.id, recorded_at=now))
    session.flush()


def test_capitation_with_delivery_rate_and_outside_deduction(session: Session) -> None:
    c = county(session)
    people = residents(session, 3, township=c.townships[0])
    _contracts(session, c, people, deliveries=2)  # 2 + 4 + 4 of 12 due → rate 10/12
    add_stays(session, [Stay(c.outside, FT29, 100, date(2025, 3, 1), resident=people[0], kind="outpatient"),
                        Stay(c.tertiary, FT29, 500, date(2025, 3, 1), resident=people[1], kind="outpatient")])
    run = do_settle_capitation(session, admin(), CapitationRequest(year=2025, consortium=c.community.code))
    line = session.get(PaymentRunInstitution, (run.id, c.centre.id))
    assert line is not None and line.detail is not None
    assert (line.detail["contracted"], line.detail["delivered"], line.detail["due"]) == (3, 10, 12)
    # 120 × 3 × 10/12 = 300.00; outside the consortium only the 100 at the out-of-county hospital: −50.
    assert line.detail["gross"] == "300.00" and line.detail["deduction"] == "50.00"
    assert line.payment == Decimal("250.00") == run.total_payment and run.kind == "capitation"


def test_capitation_floors_at_zero_and_whatif_has_no_keys_of_its_own(session: Session) -> None:
    c = county(session)
    people = residents(session, 1, township=c.townships[0])
    _contracts(session, c, people, deliveries=4)
    add_stays(session, [Stay(c.outside, FT29, 1000, date(2025, 3, 1), resident=people[0], kind="outpatient")])
    run = do_settle_capitation(session, admin(), CapitationRequest(year=2025))
    line = session.get(PaymentRunInstitution, (run.id, c.centre.id))
    assert line is not None and line.payment == Decimal("0.00") and line.detail["floored"] is True  # type: ignore[index]
    again = do_whatif(session, admin(), year=2025, base_run_id=run.id, assignments=["budget=100"])
    assert again.note is not None and "budget" in again.note and again.result_digest == run.result_digest
    lines = list(session.scalars(select(PaymentRunInstitution).where(PaymentRunInstitution.run_id == again.id)))
    assert [ln.payment for ln in lines] == [Decimal("0.00")]


def test_no_contracts_is_refused(session: Session) -> None:
    county(session)
    with pytest.raises(ValidationFailed) as refused:
        do_settle_capitation(session, admin(), CapitationRequest(year=2025))
    assert refused.value.code == "capitation_no_contracts"
