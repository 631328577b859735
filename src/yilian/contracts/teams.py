"""Family-doctor teams and service packages: create, staff, list.

Teams belong to community or township health centres (``PRIMARY_CARE_CENTRE_CATEGORIES``;
village clinics and stations sign under their centre).  A team has at most one current
team lead (``gp_lead``, a GP); a lead-hospital specialist may join a team (Fuxing, 002),
everyone else works at the centre or one of its stations / village clinics.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from yilian.contracts import repository
from yilian.contracts.config import PRIMARY_CARE_CENTRE_CATEGORIES
from yilian.contracts.rules import TeamPanel
from yilian.contracts.schemas import PackageIn, TeamIn, TeamMemberIn
from yilian.contracts.service import check_institution_write, team_or_404, team_policy
from yilian.core.clock import today_local, utcnow
from yilian.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yilian.db.models import FamilyDoctorTeam, FamilyDoctorTeamMember, ServicePackage, ServicePackageItem
from yilian.identity import audit
from yilian.identity.principal import Principal
from yilian.identity.roles import Perm, Role
from yilian.identity.service import institution_scope
from yilian.residents.rules import KeyPop

__all__ = [
    "ROLE_NAMES_ZH",
    "PackageView",
    "TeamView",
    "do_add_team_member",
    "do_create_package",
    "do_create_team",
    "list_packages",
    "list_teams",
    "package_view",
    "team_view",
]

ROLE_NAMES_ZH: dict[str, str] = {
    "gp_lead": "团队长（全科医生）", "gp": "全科医生", "nurse": "护士", "public_health": "公共卫生人员",
    "specialist": "专科医生", "health_manager": "健康管理师", "other": "其他",
}


@dataclass(frozen=True, slots=True)
class MemberView:
    id: int
    practitioner_id: int
    user_id: int | None
    role: str
    joined_on: date
    left_on: date | None


@dataclass(frozen=True, slots=True)
class TeamView:
    id: int
    institution_id: int
    code: str
    name: str
    panel_limit: int | None
    effective_limit: int
    contracted: int
    members: list[MemberView]


def team_view(session: Session, team: FamilyDoctorTeam, on: date | None = None) -> TeamView:
    on = on or today_local()
    panel = TeamPanel(team.id, team.institution_id, repository.panel_count(session, team.id, on), team.panel_limit)
    members = [MemberView(m.id, m.practitioner_id, m.user_id, m.role, m.joined_on, m.left_on)
               for m in repository.current_members(session, team.id, on)]
    return TeamView(team.id, team.institution_id, team.code, team.name, team.panel_limit,
                    panel.effective_limit(team_policy(session, team, on)), panel.contracted, members)


def do_create_team(session: Session, actor: Principal, data: TeamIn, today: date | None = None) -> FamilyDoctorTeam:
    today = today or today_local()
    check_institution_write(session, actor, data.institution_id)
    inst = repository.institution(session, data.institution_id)
    if inst is None:
        raise NotFound("医疗机构不存在。", code="institution_not_found", institution_id=data.institution_id)
    if inst.category not in PRIMARY_CARE_CENTRE_CATEGORIES:
        raise ValidationFailed("家庭医生团队须设在社区卫生服务中心或乡镇（街道）卫生院。", code="team_not_primary_care",
                               institution_id=inst.id, category=inst.category)
    if repository.team_by_code(session, inst.id, data.code) is not None:
        raise Conflict(f"本机构已有编码为“{data.code}”的团队。", code="team_code_taken")
    team = FamilyDoctorTeam(institution_id=inst.id, code=data.code, name=data.name, panel_limit=data.panel_limit,
                            created_at=utcnow())
    session.add(team)
    session.flush()
    audit.record(session, actor, "create", "family_doctor_team", team.id, after=audit.snapshot(team))
    for member in data.members:
        do_add_team_member(session, actor, team.id, member, today)
    return team


def do_add_team_member(
    session: Session, actor: Principal, team_id: int, data: TeamMemberIn, today: date | None = None
) -> FamilyDoctorTeamMember:
    today = today or today_local()
    team = team_or_404(session, team_id, lock=True)
    check_institution_write(session, actor, team.institution_id)
    p = repository.practitioner(session, data.practitioner_id)
    if p is None:
        raise NotFound("医务人员不存在。", code="practitioner_not_found", practitioner_id=data.practitioner_id)
    joined = data.joined_on or today
    current = repository.current_members(session, team.id, joined)
    if any(m.practitioner_id == p.id for m in current):
        raise Conflict("该医务人员已在本团队。", code="member_exists")
    if data.role == "gp_lead" and any(m.role == "gp_lead" for m in current):
        raise Conflict("一个团队只能有一名在岗团队长。", code="gp_lead_exists")
    home = repository.institution(session, p.home_institution_id)
    assert home is not None
    if data.role == "specialist":
        if home.is_primary_care:
            raise ValidationFailed("团队专科医生须来自上级医院。", code="specialist_not_hospital")
    elif team.institution_id not in (home.id, home.parent_id):
        raise ValidationFailed("团队成员须在本机构或其下属站点、村卫生室执业。", code="member_not_at_institution")
    member = FamilyDoctorTeamMember(team_id=team.id, practitioner_id=p.id, user_id=data.user_id, role=data.role,
                                    joined_on=joined)
    session.add(member)
    session.flush()
    audit.record(session, actor, "create", "family_doctor_team_member", member.id, after=audit.snapshot(member))
    return member


def list_teams(session: Session, actor: Principal, institution_id: int | None = None) -> list[TeamView]:
    actor.require(Perm.RESIDENT_READ)
    scope = institution_scope(session, actor, Perm.RESIDENT_READ)
    if institution_id is not None:
        if scope is not None and institution_id not in scope:
            raise Forbidden("无权查看该机构的家庭医生团队。", code="institution_out_of_scope")
        scope = {institution_id}
    return [team_view(session, t) for t in repository.teams_at(session, scope)]


# ---- packages -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemView:
    id: int
    code: str
    name: str
    frequency: str
    populations: list[str]
    price: Decimal
    payer: str


@dataclass(frozen=True, slots=True)
class PackageView:
    id: int
    code: str
    name: str
    kind: str
    population: str | None
    consortium_id: int | None
    items: list[ItemView]


def package_view(session: Session, pkg: ServicePackage) -> PackageView:
    items = [ItemView(i.id, i.code, i.name, i.frequency, [p for p in i.populations.split(",") if p], i.price, i.payer)
             for i in repository.items_of_packages(session, [pkg.id])]
    return PackageView(pkg.id, pkg.code, pkg.name, pkg.kind, pkg.population, pkg.consortium_id, items)


def _check_population(code: str) -> str:
    try:
        return KeyPop(code).value
    except ValueError:
        raise ValidationFailed(f"未知的重点人群代码“{code}”。", code="population_unknown") from None


def _check_package_manage(actor: Principal, consortium_id: int | None) -> None:
    """The system administrator configures packages offered everywhere; a consortium's manager its own."""
    if actor.is_admin:
        return
    managed = {g.consortium_id for g in actor.grants if g.role == Role.CONSORTIUM_MANAGER}
    if consortium_id is None or consortium_id not in managed:
        raise Forbidden("只有系统管理员或本医联体管理人员可以配置服务包。", code="package_manage_denied")


def do_create_package(session: Session, actor: Principal, data: PackageIn) -> ServicePackage:
    _check_package_manage(actor, data.consortium_id)
    population = None
    if data.kind == "personalised":
        if not data.population:
            raise ValidationFailed("个性化服务包须指定面向的重点人群。", code="population_required")
        population = _check_population(data.population)
    if repository.package_by_code(session, data.code) is not None:
        raise Conflict(f"服务包编码“{data.code}”已存在。", code="package_code_taken")
    codes = [i.code for i in data.items]
    if len(set(codes)) != len(codes):
        raise ValidationFailed("服务包内项目编码重复。", code="item_code_duplicate")
    pkg = ServicePackage(code=data.code, name=data.name, kind=data.kind, population=population,
                         consortium_id=data.consortium_id, active=True, created_at=utcnow())
    session.add(pkg)
    session.flush()
    for item in data.items:
        pops = sorted({_check_population(p) for p in item.populations})
        session.add(ServicePackageItem(package_id=pkg.id, code=item.code, name=item.name, frequency=item.frequency,
                                       populations=",".join(pops), price=item.price, payer=item.payer))
    session.flush()
    audit.record(session, actor, "create", "service_package", pkg.id, after=audit.snapshot(pkg))
    return pkg


def list_packages(session: Session, actor: Principal, consortium_id: int | None = None) -> list[PackageView]:
    actor.require(Perm.REGISTRY_READ)
    return [package_view(session, p) for p in repository.packages(session, consortium_id=consortium_id)]
