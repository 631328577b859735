"""Registry services: each rule refuses bad changes and leaves the data unchanged."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import builders as b
from yilian.core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from yilian.db.models import (
    AuditLog,
    Consortium,
    ConsortiumAffiliation,
    ConsortiumMembership,
    Institution,
    PracticeSite,
)
from yilian.identity.roles import Role
from yilian.registry import consortia, service
from yilian.registry.schemas import (
    AffiliationIn,
    AgreementIn,
    ConsortiumIn,
    GridIn,
    InstitutionIn,
    LeadChangeIn,
    MemberIn,
    PracticeSiteIn,
    PractitionerIn,
)

D = date(2024, 1, 1)


def count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def refused(session: Session, exc_type: type[DomainError], code: str, fn, *args, **kwargs) -> DomainError:  # type: ignore[no-untyped-def]
    """Run a write inside a savepoint; assert the refusal and that no table row count changed."""
    tables = [Consortium, ConsortiumMembership, ConsortiumAffiliation, Institution, PracticeSite, AuditLog]
    before = [count(session, t) for t in tables]
    with pytest.raises(exc_type) as info, session.begin_nested():
        fn(*args, **kwargs)
    assert info.value.code == code, info.value
    assert [count(session, t) for t in tables] == before
    return info.value


def community_in(session: Session, code: str, lead: Institution, **kw: object) -> Consortium:
    return consortia.do_create_consortium(
        session,
        b.admin(),
        ConsortiumIn(
            code=code,
            name=f"医联体{code}",
            mode=kw.get("mode", "county_community"),  # type: ignore[arg-type]
            integration=kw.get("integration", "tight"),
            level=kw.get("level", "county"),  # type: ignore[arg-type]
            type=kw.get("type"),
            division_code="320102",
            lead_code=lead.code,
            established_on=D,
        ),
    )  # type: ignore[arg-type]


def test_create_consortium_makes_lead_a_member_and_audits(session: Session) -> None:
    lead = b.institution(session, category="A100", level="2")
    c = community_in(session, "GT1", lead)
    d = consortia.consortium_detail(session, b.admin(), "GT1")
    assert d.lead is not None and d.lead.id == lead.id
    assert c.type == "general"  # defaulted from the lead's category
    assert session.scalar(select(AuditLog).where(AuditLog.entity == "consortium", AuditLog.entity_id == str(c.id)))


def test_lead_cannot_leave_without_replacement(session: Session) -> None:
    lead = b.institution(session)
    community_in(session, "GT2", lead)
    m = session.scalar(select(ConsortiumMembership).where(ConsortiumMembership.institution_id == lead.id))
    assert m is not None
    refused(
        session,
        Conflict,
        "registry_lead_cannot_leave",
        consortia.do_end_membership,
        session,
        b.admin(),
        "GT2",
        m.id,
        date(2025, 1, 1),
    )


def test_change_lead_keeps_exactly_one_lead(session: Session) -> None:
    lead, other = b.institution(session), b.institution(session)
    community_in(session, "GT3", lead)
    consortia.do_change_lead(session, b.admin(), "GT3", LeadChangeIn(institution_code=other.code, on=date(2025, 1, 1)))
    d = consortia.consortium_detail(session, b.admin(), "GT3")
    assert d.lead is not None and d.lead.id == other.id
    assert sum(1 for m, _ in d.members if m.role == "lead" and m.left_on is None) == 1


def test_second_tight_consortium_refused(session: Session) -> None:
    a, bb, town = (
        b.institution(session),
        b.institution(session),
        b.institution(session, category="C210", level="unrated"),
    )
    community_in(session, "T1", a)
    community_in(session, "T2", bb)
    consortia.do_add_member(session, b.admin(), "T1", MemberIn(institution_code=town.code, joined_on=D))
    refused(
        session,
        Conflict,
        "registry_two_tight_consortia",
        consortia.do_add_member,
        session,
        b.admin(),
        "T2",
        MemberIn(institution_code=town.code, joined_on=D),
    )


def test_joining_after_leaving_is_not_an_overlap(session: Session) -> None:
    a, bb, town = (
        b.institution(session),
        b.institution(session),
        b.institution(session, category="C210", level="unrated"),
    )
    community_in(session, "T3", a)
    community_in(session, "T4", bb)
    m = consortia.do_add_member(session, b.admin(), "T3", MemberIn(institution_code=town.code, joined_on=D))
    consortia.do_end_membership(session, b.admin(), "T3", m.id, date(2024, 6, 1))
    consortia.do_add_member(session, b.admin(), "T4", MemberIn(institution_code=town.code, joined_on=date(2024, 6, 1)))


def test_specialty_alliances_do_not_count_as_tight(session: Session) -> None:
    a, hosp = b.institution(session), b.institution(session)
    community_in(session, "T5", a)
    consortia.do_add_member(session, b.admin(), "T5", MemberIn(institution_code=hosp.code, joined_on=D))
    alliance_lead = b.institution(session, category="A100", level="3")
    community_in(
        session, "SA1", alliance_lead, mode="specialty_alliance", integration="loose", level="city", type="specialty"
    )
    consortia.do_add_member(session, b.admin(), "SA1", MemberIn(institution_code=hosp.code, joined_on=D))


def test_partner_needs_agreement(session: Session) -> None:
    lead, province = b.institution(session, level="3"), b.institution(session, level="3")
    community_in(session, "CG1", lead, mode="city_group", level="city")
    refused(
        session,
        ValidationFailed,
        "registry_partner_without_agreement",
        consortia.do_add_member,
        session,
        b.admin(),
        "CG1",
        MemberIn(institution_code=province.code, role="partner", joined_on=D),
    )
    ag = consortia.do_create_agreement(
        session,
        b.admin(),
        AgreementIn(
            kind="collaboration",
            supporting_code=province.code,
            supported_code=lead.code,
            document_no="协〔2024〕1号",
            signed_on=D,
            valid_from=D,
        ),
    )
    consortia.do_add_member(
        session,
        b.admin(),
        "CG1",
        MemberIn(institution_code=province.code, role="partner", joined_on=D, agreement_id=ag.id),
    )


def test_community_joins_one_group_per_level_and_type(session: Session) -> None:
    county, city1, city2, city_tcm = (
        b.institution(session),
        b.institution(session, level="3"),
        b.institution(session, level="3"),
        b.institution(session, category="A210", level="3"),
    )
    community_in(session, "GTX", county)
    community_in(session, "G1", city1, mode="city_group", level="city")
    community_in(session, "G2", city2, mode="city_group", level="city")
    community_in(session, "G3", city_tcm, mode="city_group", level="city")
    consortia.do_join_group(session, b.admin(), "GTX", AffiliationIn(group_code="G1", joined_on=D))
    consortia.do_join_group(session, b.admin(), "GTX", AffiliationIn(group_code="G3", joined_on=D))  # other type: ok
    refused(
        session,
        Conflict,
        "registry_second_group_same_level_type",
        consortia.do_join_group,
        session,
        b.admin(),
        "GTX",
        AffiliationIn(group_code="G2", joined_on=D),
    )


def test_only_a_county_community_joins_a_group(session: Session) -> None:
    a, g = b.institution(session), b.institution(session, level="3")
    community_in(session, "SA2", a, mode="specialty_alliance", integration="loose", type="specialty")
    community_in(session, "G4", g, mode="city_group", level="city")
    refused(
        session,
        ValidationFailed,
        "registry_affiliation_not_community",
        consortia.do_join_group,
        session,
        b.admin(),
        "SA2",
        AffiliationIn(group_code="G4", joined_on=D),
    )


def test_grid_needs_a_tight_city_group_and_one_per_group(session: Session) -> None:
    b.division(session, "320100", "某市", "city")
    g, county = b.institution(session, level="3"), b.institution(session)
    community_in(session, "G5", g, mode="city_group", level="city")
    community_in(session, "GT9", county)
    refused(
        session,
        ValidationFailed,
        "registry_grid_needs_one_tight_group",
        consortia.do_create_grid,
        session,
        b.admin(),
        GridIn(code="W0", name="网格零", city_code="320100", group_code="GT9"),
    )
    consortia.do_create_grid(session, b.admin(), GridIn(code="W1", name="网格一", city_code="320100", group_code="G5"))
    refused(
        session,
        Conflict,
        "registry_group_has_grid",
        consortia.do_create_grid,
        session,
        b.admin(),
        GridIn(code="W2", name="网格二", city_code="320100", group_code="G5"),
    )
    warnings = consortia.grid_warnings(session, b.admin())
    assert any(w.code == "registry_city_few_grids" and w.subject == "320100" for w in warnings)


def test_multi_site_practice_inside_consortium_needs_no_registration(session: Session) -> None:
    lead, town, outside = (
        b.institution(session),
        b.institution(session, category="C210", level="unrated"),
        b.institution(session),
    )
    community_in(session, "GTP", lead)
    consortia.do_add_member(session, b.admin(), "GTP", MemberIn(institution_code=town.code, joined_on=D))
    p = service.do_create_practitioner(
        session,
        b.admin(),
        PractitionerIn(
            code="PX1", name="王医生", category="physician", title_level="associate_senior", institution_code=lead.code
        ),
        registered_on=D,
    )
    site = service.do_add_practice_site(
        session, b.admin(), p.code, PracticeSiteIn(institution_code=town.code, valid_from=date(2024, 3, 1))
    )
    assert site.basis == "consortium" and site.registration_no is None
    refused(
        session,
        ValidationFailed,
        "registry_registration_required",
        service.do_add_practice_site,
        session,
        b.admin(),
        p.code,
        PracticeSiteIn(institution_code=outside.code, valid_from=date(2024, 3, 1)),
    )
    site2 = service.do_add_practice_site(
        session,
        b.admin(),
        p.code,
        PracticeSiteIn(institution_code=outside.code, valid_from=date(2024, 3, 1), registration_no="备-2024-001"),
    )
    assert site2.basis == "registration"


def test_institution_rules(session: Session) -> None:
    b.division(session, "320102")
    refused(
        session,
        ValidationFailed,
        "registry_unknown_category",
        service.do_create_institution,
        session,
        b.admin(),
        InstitutionIn(code="X1", name="某机构", category="Z999", division_code="320102"),
    )
    refused(
        session,
        ValidationFailed,
        "institution_parent_required",
        service.do_create_institution,
        session,
        b.admin(),
        InstitutionIn(code="X2", name="某村卫生室", category="D600", division_code="320102"),
    )
    refused(
        session,
        NotFound,
        "division_not_found",
        service.do_create_institution,
        session,
        b.admin(),
        InstitutionIn(code="X3", name="某医院", category="A100", division_code="999999"),
    )
    inst = service.do_create_institution(
        session, b.admin(), InstitutionIn(code="X4", name="某卫生院", category="C220", division_code="320102")
    )
    assert inst.is_primary_care and inst.tier == 1
    refused(
        session,
        Conflict,
        "institution_code_taken",
        service.do_create_institution,
        session,
        b.admin(),
        InstitutionIn(code="X4", name="重复", category="C220", division_code="320102"),
    )


def test_commission_officer_scoped_to_division(session: Session) -> None:
    b.division(session, "320102")
    b.division(session, "330102", "别的县")
    officer = b.principal(Role.COMMISSION_OFFICER, division_code="320102")
    service.do_create_institution(
        session, officer, InstitutionIn(code="Y1", name="甲医院", category="A100", division_code="320102")
    )
    refused(
        session,
        Forbidden,
        "division_out_of_scope",
        service.do_create_institution,
        session,
        officer,
        InstitutionIn(code="Y2", name="乙医院", category="A100", division_code="330102"),
    )


def test_clinician_cannot_create_consortium(session: Session) -> None:
    lead = b.institution(session)
    refused(
        session,
        Forbidden,
        "permission_denied",
        consortia.do_create_consortium,
        session,
        b.principal(Role.CLINICIAN, institution_id=lead.id),
        ConsortiumIn(
            code="NO",
            name="不许",
            mode="county_community",
            integration="tight",
            level="county",
            division_code="320102",
            lead_code=lead.code,
            established_on=D,
        ),
    )


def test_consortium_manager_manages_only_own(session: Session) -> None:
    a, bb, town = (
        b.institution(session),
        b.institution(session),
        b.institution(session, category="C220", level="unrated"),
    )
    own = community_in(session, "M1", a)
    community_in(session, "M2", bb)
    mgr = b.principal(Role.CONSORTIUM_MANAGER, consortium_id=own.id)
    consortia.do_add_member(session, mgr, "M1", MemberIn(institution_code=town.code, joined_on=D))
    refused(
        session,
        Forbidden,
        "consortium_out_of_scope",
        consortia.do_add_member,
        session,
        mgr,
        "M2",
        MemberIn(institution_code=town.code, joined_on=date(2025, 1, 1)),
    )
