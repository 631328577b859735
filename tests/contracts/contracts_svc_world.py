"""A small world for the contracts service tests.

Two community health centres (A, B) and a village clinic under A; a district hospital
(tier 2) and a city hospital (tier 3); one tight county community X led by the district
hospital with A and B as members.  Team TA (A) and TB (B) each have a GP lead; team TN (A)
has none.  Residents are registered at A (or B), so clinicians of A see them.

Plain functions: each test builds what it needs inside its own rolled-back transaction.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import builders as b
from yilian.contracts import service, teams
from yilian.contracts.schemas import SignIn, TeamIn, TeamMemberIn
from yilian.core.clock import utcnow
from yilian.db.models import (
    AuditLog,
    CareRelationship,
    Consortium,
    Contract,
    ContractDelivery,
    FamilyDoctorTeam,
    Institution,
    Practitioner,
    Resident,
    ServicePackage,
    User,
)
from yilian.identity.principal import Principal
from yilian.identity.roles import Role
from yilian.identity.service import principal_of

TODAY = date(2025, 3, 3)
_seq = itertools.count(1)


@dataclass
class World:
    centre_a: Institution
    centre_b: Institution
    clinic_a: Institution
    district: Institution
    city: Institution
    x: Consortium
    team_a: FamilyDoctorTeam
    team_b: FamilyDoctorTeam
    team_none: FamilyDoctorTeam
    gp_a: Practitioner
    users: dict[str, User]

    def who(self, name: str) -> Principal:
        return principal_of(self.users[name])


def practitioner(session: Session, inst: Institution, category: str = "physician") -> Practitioner:
    n = next(_seq)
    p = Practitioner(code=f"P{n:05d}-{inst.id}", name=f"医生{n}", category=category, title_level="intermediate",
                     home_institution_id=inst.id, created_at=utcnow())
    session.add(p)
    session.flush()
    return p


def world(session: Session) -> World:
    b.division(session, "320102", "测试区", "county")
    centre_a = b.institution(session, name="幸福社区卫生服务中心", category="B100", level="unrated")
    centre_b = b.institution(session, name="和平镇卫生院", category="C210", level="unrated")
    clinic_a = b.institution(session, name="幸福村卫生室", category="D600", level="unrated", parent_id=centre_a.id)
    district = b.institution(session, name="区人民医院", category="A100", level="2")
    city = b.institution(session, name="市第一人民医院", category="A100", level="3")
    x = b.consortium(session, lead=district)
    b.member(session, x, centre_a)
    b.member(session, x, centre_b)
    admin = b.user(session, Role.SYSTEM_ADMIN)
    users = {
        "admin": admin,
        "clin_a": b.user(session, Role.CLINICIAN, institution_id=centre_a.id),
        "clin_b": b.user(session, Role.CLINICIAN, institution_id=centre_b.id),
        "clin_village": b.user(session, Role.CLINICIAN, institution_id=clinic_a.id),
        "clin_h": b.user(session, Role.CLINICIAN, institution_id=district.id),
        "pharm_a": b.user(session, Role.PHARMACIST, institution_id=centre_a.id),
        "manager": b.user(session, Role.CONSORTIUM_MANAGER, consortium_id=x.id),
    }
    root = principal_of(admin)
    gp_a, gp_b = practitioner(session, centre_a), practitioner(session, centre_b)
    team_a = teams.do_create_team(session, root, TeamIn(
        institution_id=centre_a.id, code="TA", name="幸福一团队",
        members=[TeamMemberIn(practitioner_id=gp_a.id, role="gp_lead", user_id=users["clin_a"].id,
                              joined_on=date(2024, 1, 1)),
                 TeamMemberIn(practitioner_id=practitioner(session, centre_a, "nurse").id, role="nurse",
                              joined_on=date(2024, 1, 1))]), TODAY)
    team_b = teams.do_create_team(session, root, TeamIn(
        institution_id=centre_b.id, code="TB", name="和平团队",
        members=[TeamMemberIn(practitioner_id=gp_b.id, role="gp_lead", joined_on=date(2024, 1, 1))]), TODAY)
    team_none = teams.do_create_team(session, root, TeamIn(institution_id=centre_a.id, code="TN", name="无队长团队"),
                                     TODAY)
    return World(centre_a, centre_b, clinic_a, district, city, x, team_a, team_b, team_none, gp_a, users)


def resident(session: Session, *at: Institution, born: date = date(1960, 5, 1), name: str = "张三") -> Resident:
    r = b.resident(session, name=name, birth_date=born)
    for inst in at:
        b.relate(session, r, inst)
    return r


def sign(session: Session, w: World, r: Resident, team: FamilyDoctorTeam | None = None, *,
         actor: str = "clin_a", today: date = TODAY, **fields: Any) -> Contract:
    data = SignIn(resident_id=r.id, team_id=(team or w.team_a).id, **fields)
    return service.do_sign(session, w.who(actor), data, today)


def state(session: Session) -> dict[str, Any]:
    """Everything a refused contract operation must leave alone."""
    def n(model: type) -> int:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)

    contracts = [(c.id, c.status, c.version, c.stop_on, c.end_on) for c in
                 session.scalars(select(Contract).order_by(Contract.id))]
    rels = [(r.resident_id, r.institution_id, r.kind, r.since, r.until) for r in
            session.scalars(select(CareRelationship).order_by(CareRelationship.id))]
    return {"contracts": contracts, "relationships": rels, "deliveries": n(ContractDelivery),
            "packages": n(ServicePackage), "teams": n(FamilyDoctorTeam),
            "audit_writes": int(session.scalar(select(func.count()).select_from(AuditLog)
                                               .where(AuditLog.action.notin_(("read", "search")))) or 0)}
