"""Contracts service: signing, family signing, "1+1+1", packages, teams — and every refusal,
each shown to leave the data unchanged."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from contracts_svc_world import TODAY, practitioner, resident, sign, state, world
from sqlalchemy import select
from sqlalchemy.orm import Session

import builders as b
from yilian.contracts import service, teams
from yilian.contracts.schemas import FamilySignIn, PackageIn, PackageItemIn, SignIn, TeamIn, TeamMemberIn
from yilian.core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from yilian.core.events import _PENDING_KEY
from yilian.db.models import CareRelationship, ContractPackage, ContractPolicySetting, KeyPopulation
from yilian.identity.roles import Role
from yilian.identity.service import principal_of


def refused(session: Session, exc: type[DomainError], code: str, fn, *args, **kwargs) -> DomainError:  # type: ignore[no-untyped-def]
    before = state(session)
    with pytest.raises(exc) as info:
        fn(*args, **kwargs)
    assert info.value.code == code, info.value
    assert state(session) == before, "a refusal changed data"
    return info.value


# ---- signing ------------------------------------------------------------------------------


def test_sign_creates_contract_package_relationship_and_event(session: Session) -> None:
    w = world(session)
    r = resident(session, w.centre_a)
    session.info.pop(_PENDING_KEY, None)
    c = sign(session, w, r)
    assert (c.status, c.start_on, c.end_on) == ("active", TODAY, date(2026, 3, 2))
    assert c.institution_id == w.centre_a.id
    pkgs = session.scalars(select(ContractPackage.package_id).where(ContractPackage.contract_id == c.id)).all()
    assert len(pkgs) == 1  # the basic package, created from the policy defaults
    rel = session.scalar(select(CareRelationship).where(CareRelationship.resident_id == r.id,
                                                        CareRelationship.kind == "contracted"))
    assert rel is not None and rel.since == TODAY and rel.until is None
    assert [e.name for e in session.info[_PENDING_KEY]] == ["contracts.signed"]


def test_sign_future_start_is_signed_not_active(session: Session) -> None:
    w = world(session)
    c = sign(session, w, resident(session, w.centre_a), start_on=TODAY + timedelta(days=10))
    assert c.status == "signed"
    assert service.priority_rights(session, c.resident_id, TODAY).benefits == frozenset()
    assert service.priority_rights(session, c.resident_id, TODAY + timedelta(days=10)).benefits


def test_sign_refusals(session: Session) -> None:
    w = world(session)
    r = resident(session, w.centre_a)
    other = resident(session, w.centre_b, name="李四")
    do = service.do_sign
    a = w.who("clin_a")
    refused(session, NotFound, "team_not_found", do, session, a, SignIn(resident_id=r.id, team_id=9999), TODAY)
    refused(session, NotFound, "resident_not_found", do, session, a,
            SignIn(resident_id=9999, team_id=w.team_a.id), TODAY)
    refused(session, Forbidden, "institution_out_of_scope", do, session, w.who("clin_b"),
            SignIn(resident_id=r.id, team_id=w.team_a.id), TODAY)
    refused(session, Forbidden, "permission_denied", do, session, w.who("pharm_a"),
            SignIn(resident_id=r.id, team_id=w.team_a.id), TODAY)
    refused(session, Forbidden, "resident_out_of_scope", do, session, a,
            SignIn(resident_id=other.id, team_id=w.team_a.id), TODAY)
    refused(session, ValidationFailed, "start_in_past", do, session, a,
            SignIn(resident_id=r.id, team_id=w.team_a.id, start_on=TODAY - timedelta(days=1)), TODAY)
    refused(session, Conflict, "team_without_lead", do, session, a,
            SignIn(resident_id=r.id, team_id=w.team_none.id), TODAY)
    refused(session, ValidationFailed, "term_too_short", do, session, a,
            SignIn(resident_id=r.id, team_id=w.team_a.id, end_on=date(2026, 3, 1)), TODAY)
    refused(session, ValidationFailed, "term_invalid", do, session, a,
            SignIn(resident_id=r.id, team_id=w.team_a.id, end_on=TODAY - timedelta(days=1)), TODAY)


def test_one_contract_at_a_time(session: Session) -> None:
    w = world(session)
    r = resident(session, w.centre_a, w.centre_b)
    sign(session, w, r)
    refused(session, Conflict, "contract_overlap", service.do_sign, session, w.who("clin_b"),
            SignIn(resident_id=r.id, team_id=w.team_b.id, start_on=TODAY + timedelta(days=100)), TODAY)
    # Back to back is fine: the next term starts the day after this one ends.
    c2 = sign(session, w, r, w.team_b, actor="clin_b", start_on=date(2026, 3, 3))
    assert c2.status == "signed"


def test_panel_limit_of_team_and_of_policy(session: Session) -> None:
    w = world(session)
    w.team_a.panel_limit = 1
    session.flush()
    sign(session, w, resident(session, w.centre_a))
    refused(session, Conflict, "panel_full", sign, session, w, resident(session, w.centre_a, name="王五"))
    # Without a team limit, the consortium's configured limit applies.
    session.add(ContractPolicySetting(consortium_id=w.x.id, valid_from=date(2024, 1, 1), panel_limit=1,
                                      updated_at=b.utcnow()))
    sign(session, w, resident(session, w.centre_b, name="赵六"), w.team_b, actor="clin_b")
    refused(session, Conflict, "panel_full", sign, session, w, resident(session, w.centre_b, name="钱七"), w.team_b,
            actor="clin_b")


def test_policy_rows_override_defaults_in_order(session: Session) -> None:
    w = world(session)
    now = b.utcnow()
    session.add(ContractPolicySetting(consortium_id=None, valid_from=date(2024, 1, 1), min_term_years=2,
                                      renewal_window_days=30, updated_at=now))
    session.add(ContractPolicySetting(consortium_id=w.x.id, valid_from=date(2025, 1, 1), renewal_window_days=60,
                                      priority_rights=["registration_fee_waiver"], updated_at=now))
    session.add(ContractPolicySetting(consortium_id=w.x.id, valid_from=date(2030, 1, 1), renewal_window_days=5,
                                      updated_at=now))
    p = service.policy_for(session, w.x.id, TODAY)
    assert (p.min_term_years, p.renewal_window_days, p.panel_limit) == (2, 60, 2000)
    assert {x.value for x in p.priority_rights} == {"registration_fee_waiver"}
    assert service.policy_for(session, None, TODAY).renewal_window_days == 30
    c = sign(session, w, resident(session, w.centre_a))
    assert c.end_on == date(2027, 3, 2)  # two-year minimum term from the system row


# ---- family signing -----------------------------------------------------------------------


def test_family_signing_signs_everyone_or_nobody(session: Session) -> None:
    w = world(session)
    father, mother = resident(session, w.centre_a, name="父"), resident(session, w.centre_a, name="母")
    child = resident(session, w.centre_a, w.centre_b, name="子", born=date(2020, 1, 1))
    sign(session, w, child, w.team_b, actor="clin_b")
    data = FamilySignIn(resident_ids=[father.id, mother.id, child.id], team_id=w.team_a.id)
    err = refused(session, Conflict, "family_member_contracted", service.do_family_sign, session, w.who("clin_a"),
                  data, TODAY)
    assert err.details["residents"] == [child.id]
    data = FamilySignIn(resident_ids=[father.id, mother.id], team_id=w.team_a.id)
    result = service.do_family_sign(session, w.who("clin_a"), data, TODAY)
    assert len(result.signed) == 2 and len({c.household_key for c in result.signed}) == 1
    again = service.do_family_sign(session, w.who("clin_a"), data, TODAY)
    assert again.signed == [] and set(again.already_with_team) == {father.id, mother.id}


def test_family_signing_respects_panel(session: Session) -> None:
    w = world(session)
    w.team_a.panel_limit = 1
    session.flush()
    rs = [resident(session, w.centre_a, name=f"成员{i}") for i in range(2)]
    refused(session, Conflict, "panel_full", service.do_family_sign, session, w.who("clin_a"),
            FamilySignIn(resident_ids=[r.id for r in rs], team_id=w.team_a.id), TODAY)


# ---- "1+1+1" ------------------------------------------------------------------------------


def test_combination_signing(session: Session) -> None:
    w = world(session)
    r = resident(session, w.centre_a)
    refusals = [
        ([w.centre_a.id, w.district.id], "combination_incomplete"),
        ([w.centre_a.id, w.city.id, w.district.id], "combination_slot_mismatch"),
        ([w.centre_b.id, w.district.id, w.city.id], "combination_not_team_institution"),
        ([w.centre_a.id, w.district.id, w.district.id], "combination_duplicate"),
    ]
    for chosen, code in refusals:
        refused(session, ValidationFailed, code, sign, session, w, r, combination=chosen)
    c = sign(session, w, r, combination=[w.centre_a.id, w.district.id, w.city.id])
    assert service.contract_view(session, c).combination == [w.centre_a.id, w.district.id, w.city.id]


def test_combination_can_be_switched_off(session: Session) -> None:
    w = world(session)
    session.add(ContractPolicySetting(consortium_id=w.x.id, valid_from=date(2024, 1, 1), combination_enabled=False,
                                      updated_at=b.utcnow()))
    refused(session, ValidationFailed, "combination_disabled", sign, session, w, resident(session, w.centre_a),
            combination=[w.centre_a.id, w.district.id, w.city.id])


# ---- packages -----------------------------------------------------------------------------


def _htn_package(session: Session, w, code: str = "htn-plus") -> int:  # type: ignore[no-untyped-def]
    pkg = teams.do_create_package(session, w.who("admin"), PackageIn(
        code=code, name="高血压个性化包", kind="personalised", population="hypertension",
        items=[PackageItemIn(code="bp_monthly", name="每月血压监测", frequency="monthly", populations=["hypertension"],
                             price=Decimal("120.00"), payer="fund")]))
    return pkg.id


def test_personalised_package_needs_the_population(session: Session) -> None:
    w = world(session)
    pid = _htn_package(session, w)
    r = resident(session, w.centre_a)
    refused(session, ValidationFailed, "package_not_for_resident", sign, session, w, r, package_ids=[pid])
    refused(session, NotFound, "package_not_found", sign, session, w, r, package_ids=[9999])
    session.add(KeyPopulation(resident_id=r.id, code="hypertension", since=date(2020, 1, 1)))
    session.flush()
    c = sign(session, w, r, package_ids=[pid])
    assert pid in service.contract_view(session, c).package_ids


def test_package_configuration_refusals(session: Session) -> None:
    w = world(session)
    item = PackageItemIn(code="x", name="项目", frequency="annual", price=Decimal("0"), payer="resident")
    make = teams.do_create_package
    refused(session, Forbidden, "package_manage_denied", make, session, w.who("clin_a"),
            PackageIn(code="p1", name="包", kind="basic", items=[item]))
    refused(session, ValidationFailed, "population_required", make, session, w.who("admin"),
            PackageIn(code="p1", name="包", kind="personalised", items=[item]))
    refused(session, ValidationFailed, "population_unknown", make, session, w.who("admin"),
            PackageIn(code="p1", name="包", kind="personalised", population="vip", items=[item]))
    refused(session, ValidationFailed, "item_code_duplicate", make, session, w.who("admin"),
            PackageIn(code="p1", name="包", kind="basic", items=[item, item]))
    # A consortium's manager configures that consortium's packages.
    make(session, w.who("manager"), PackageIn(code="p1", name="包", kind="basic", consortium_id=w.x.id, items=[item]))
    refused(session, Conflict, "package_code_taken", make, session, w.who("admin"),
            PackageIn(code="p1", name="包", kind="basic", items=[item]))


# ---- teams --------------------------------------------------------------------------------


def test_team_refusals(session: Session) -> None:
    w = world(session)
    admin = w.who("admin")
    refused(session, ValidationFailed, "team_not_primary_care", teams.do_create_team, session, admin,
            TeamIn(institution_id=w.district.id, code="H1", name="医院团队"), TODAY)
    refused(session, Conflict, "team_code_taken", teams.do_create_team, session, admin,
            TeamIn(institution_id=w.centre_a.id, code="TA", name="重复"), TODAY)
    refused(session, Forbidden, "institution_out_of_scope", teams.do_create_team, session, w.who("clin_b"),
            TeamIn(institution_id=w.centre_a.id, code="T9", name="越权"), TODAY)
    add = teams.do_add_team_member
    refused(session, Conflict, "gp_lead_exists", add, session, admin, w.team_a.id,
            TeamMemberIn(practitioner_id=practitioner(session, w.centre_a).id, role="gp_lead"), TODAY)
    refused(session, Conflict, "member_exists", add, session, admin, w.team_a.id,
            TeamMemberIn(practitioner_id=w.gp_a.id, role="gp"), TODAY)
    refused(session, ValidationFailed, "member_not_at_institution", add, session, admin, w.team_a.id,
            TeamMemberIn(practitioner_id=practitioner(session, w.centre_b).id, role="nurse"), TODAY)
    refused(session, ValidationFailed, "specialist_not_hospital", add, session, admin, w.team_a.id,
            TeamMemberIn(practitioner_id=practitioner(session, w.centre_b).id, role="specialist"), TODAY)
    refused(session, NotFound, "practitioner_not_found", add, session, admin, w.team_a.id,
            TeamMemberIn(practitioner_id=99999, role="nurse"), TODAY)


def test_team_members_from_village_clinic_and_hospital(session: Session) -> None:
    w = world(session)
    admin = w.who("admin")
    teams.do_add_team_member(session, admin, w.team_a.id,
                             TeamMemberIn(practitioner_id=practitioner(session, w.clinic_a).id, role="gp"), TODAY)
    teams.do_add_team_member(session, admin, w.team_a.id,
                             TeamMemberIn(practitioner_id=practitioner(session, w.district).id, role="specialist"),
                             TODAY)
    view = teams.team_view(session, w.team_a, TODAY)
    assert sorted(m.role for m in view.members) == ["gp", "gp_lead", "nurse", "specialist"]
    assert (view.effective_limit, view.contracted) == (2000, 0)


def test_team_list_is_scoped(session: Session) -> None:
    w = world(session)
    assert {t.code for t in teams.list_teams(session, w.who("clin_a"))} == {"TA", "TN"}
    with pytest.raises(Forbidden):
        teams.list_teams(session, w.who("clin_a"), w.centre_b.id)
    assert {t.code for t in teams.list_teams(session, w.who("manager"))} == {"TA", "TN", "TB"}


def test_pharmacist_principal_cannot_sign_even_with_scope(session: Session) -> None:
    w = world(session)
    u = b.user(session, Role.PHARMACIST, institution_id=w.centre_a.id)
    with pytest.raises(Forbidden):
        service.do_sign(session, principal_of(u), SignIn(resident_id=resident(session, w.centre_a).id,
                                                         team_id=w.team_a.id), TODAY)
