"""Registry use cases: divisions, institutions, departments, practitioners and practice sites.

Consortia, memberships, agreements and grids are in ``consortia.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from yilian.core.clock import today_local, utcnow
from yilian.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yilian.core.paging import Page, PageRequest
from yilian.db.models import (
    Consortium,
    ConsortiumMembership,
    Department,
    Division,
    Institution,
    PracticeSite,
    Practitioner,
)
from yilian.identity import audit
from yilian.identity.principal import Principal, division_prefix
from yilian.identity.roles import Perm, Role
from yilian.registry import categories, repository, rules
from yilian.registry.schemas import DivisionIn, InstitutionIn, PracticeSiteIn, PractitionerIn

# ---- lookups used by other features and the CLI -------------------------------------------


def get_institution(session: Session, code: str) -> Institution:
    inst = repository.institution_by_code(session, code)
    if inst is None:
        raise NotFound(f"机构代码“{code}”不存在。", code="institution_not_found", institution=code)
    return inst


def institution_id_by_code(session: Session, code: str) -> int:
    return get_institution(session, code).id


def consortium_id_by_code(session: Session, code: str) -> int:
    c = repository.consortium_by_code(session, code)
    if c is None:
        raise NotFound(f"医联体代码“{code}”不存在。", code="consortium_not_found", consortium=code)
    return c.id


def division_code_checked(session: Session, code: str) -> str:
    if repository.division(session, code) is None:
        raise NotFound(f"行政区划代码“{code}”不存在。", code="division_not_found", division=code)
    return code


def check_division_manage(actor: Principal, division_code: str) -> None:
    """Registry writes: admins anywhere, commission officers inside their division."""
    actor.require(Perm.REGISTRY_MANAGE)
    if actor.is_admin:
        return
    for g in actor.grants:
        if (
            g.role == Role.COMMISSION_OFFICER
            and g.division_code
            and division_code.startswith(division_prefix(g.division_code))
        ):
            return
    raise Forbidden("该行政区划不在您的管辖范围内。", code="division_out_of_scope", division=division_code)


# ---- divisions ----------------------------------------------------------------------------


def do_upsert_division(session: Session, actor: Principal, data: DivisionIn) -> tuple[Division, str]:
    actor.require(Perm.REGISTRY_MANAGE)
    if data.parent_code and repository.division(session, data.parent_code) is None:
        raise NotFound(f"上级行政区划“{data.parent_code}”不存在。", code="division_not_found")
    if data.level == "township" and len(data.code) != 9:
        raise ValidationFailed("乡镇（街道）行政区划代码应为 9 位。", code="division_code_invalid")
    if data.level != "township" and len(data.code) != 6:
        raise ValidationFailed("省、市、县级行政区划代码应为 6 位。", code="division_code_invalid")
    existing = repository.division(session, data.code)
    if existing is None:
        d = Division(code=data.code, name=data.name, level=data.level, parent_code=data.parent_code)
        session.add(d)
        session.flush()
        audit.record(session, actor, "create", "division", d.code, after=audit.snapshot(d))
        return d, "created"
    before = audit.snapshot(existing)
    if (existing.name, existing.level, existing.parent_code) == (data.name, data.level, data.parent_code):
        return existing, "unchanged"
    existing.name, existing.level, existing.parent_code = data.name, data.level, data.parent_code
    session.flush()
    audit.record(session, actor, "update", "division", existing.code, before=before, after=audit.snapshot(existing))
    return existing, "updated"


def list_divisions(session: Session, actor: Principal, parent_code: str | None = None) -> list[Division]:
    actor.require(Perm.REGISTRY_READ)
    return repository.divisions(session, parent_code)


# ---- institutions -------------------------------------------------------------------------


def _apply_institution(session: Session, inst: Institution, data: InstitutionIn) -> None:
    categories.get_category(data.category)  # refuses an unknown WS 218 code
    if data.grade is not None and data.level == "unrated":
        raise ValidationFailed("未定级机构不能有等次（甲/乙/丙）。", code="institution_grade_without_level")
    division_code_checked(session, data.division_code)
    parent_id = None
    if data.parent_code:
        parent = get_institution(session, data.parent_code)
        if parent.code == data.code:
            raise ValidationFailed("机构不能以自己为上级机构。", code="institution_parent_self")
        parent_id = parent.id
    if data.category in ("B200", "D600") and parent_id is None:
        raise ValidationFailed(
            "社区卫生服务站和村卫生室须填写上级机构（社区卫生服务中心或乡镇卫生院）。",
            code="institution_parent_required",
        )
    inst.name, inst.category, inst.level, inst.grade = data.name, data.category, data.level, data.grade
    inst.ownership, inst.beds, inst.division_code, inst.parent_id = (
        data.ownership,
        data.beds,
        data.division_code,
        parent_id,
    )
    inst.in_county = data.in_county
    inst.is_primary_care = categories.is_primary_care(data.category)
    inst.tier = categories.tier(data.category, data.level)


def do_create_institution(session: Session, actor: Principal, data: InstitutionIn) -> Institution:
    check_division_manage(actor, data.division_code)
    if repository.institution_by_code(session, data.code) is not None:
        raise Conflict(f"机构代码“{data.code}”已存在。", code="institution_code_taken", institution=data.code)
    inst = Institution(code=data.code, created_at=utcnow())
    _apply_institution(session, inst, data)
    session.add(inst)
    session.flush()
    audit.record(session, actor, "create", "institution", inst.id, after=audit.snapshot(inst))
    return inst


def do_update_institution(session: Session, actor: Principal, data: InstitutionIn) -> tuple[Institution, bool]:
    """Update by code; returns whether anything changed (imports rely on it for idempotence)."""
    inst = get_institution(session, data.code)
    check_division_manage(actor, inst.division_code)
    check_division_manage(actor, data.division_code)
    before = audit.snapshot(inst)
    _apply_institution(session, inst, data)
    session.flush()
    after = audit.snapshot(inst)
    if before == after:
        return inst, False
    audit.record(session, actor, "update", "institution", inst.id, before=before, after=after)
    return inst, True


def list_institutions(
    session: Session,
    actor: Principal,
    page: PageRequest,
    *,
    q: str | None = None,
    category: str | None = None,
    level: str | None = None,
    division: str | None = None,
    primary_only: bool = False,
) -> Page[Institution]:
    actor.require(Perm.REGISTRY_READ)
    stmt = repository.institutions_query(
        q, category, level, division_prefix(division) if division else None, primary_only
    )
    return repository.paged(session, stmt, page)  # type: ignore[arg-type,return-value]


@dataclass(frozen=True)
class InstitutionDetail:
    institution: Institution
    parent: Institution | None
    memberships: list[tuple[ConsortiumMembership, Consortium]]
    departments: list[Department]


def institution_detail(session: Session, actor: Principal, code: str) -> InstitutionDetail:
    actor.require(Perm.REGISTRY_READ)
    inst = get_institution(session, code)
    parent = session.get(Institution, inst.parent_id) if inst.parent_id else None
    return InstitutionDetail(
        inst,
        parent,
        list(repository.memberships_of_institution(session, inst.id)),
        repository.departments_of(session, inst.id),
    )


def do_create_department(session: Session, actor: Principal, institution_code: str, code: str, name: str) -> Department:
    inst = get_institution(session, institution_code)
    check_division_manage(actor, inst.division_code)
    if repository.department(session, inst.id, code) is not None:
        raise Conflict(f"科室代码“{code}”在该机构已存在。", code="department_code_taken")
    dept = Department(institution_id=inst.id, code=code, name=name)
    session.add(dept)
    session.flush()
    audit.record(session, actor, "create", "department", dept.id, after=audit.snapshot(dept))
    return dept


# ---- practitioners ------------------------------------------------------------------------


def _apply_practitioner(session: Session, p: Practitioner, data: PractitionerIn) -> Institution:
    from yilian.registry.schemas import PRACTITIONER_CATEGORIES

    if data.category not in PRACTITIONER_CATEGORIES:
        valid = "、".join(PRACTITIONER_CATEGORIES)
        raise ValidationFailed(f"人员类别“{data.category}”无效，可选：{valid}。", code="practitioner_category_invalid")
    inst = get_institution(session, data.institution_code)
    dept_id = None
    if data.department_code:
        dept = repository.department(session, inst.id, data.department_code)
        if dept is None:
            raise NotFound(f"科室“{data.department_code}”不在机构 {inst.code}。", code="department_not_found")
        dept_id = dept.id
    p.name, p.category, p.title_level, p.specialty = data.name, data.category, data.title_level, data.specialty
    p.home_institution_id, p.department_id = inst.id, dept_id
    return inst


def do_create_practitioner(
    session: Session, actor: Principal, data: PractitionerIn, registered_on: date | None = None
) -> Practitioner:
    if repository.practitioner_by_code(session, data.code) is not None:
        raise Conflict(f"人员编码“{data.code}”已存在。", code="practitioner_code_taken")
    p = Practitioner(code=data.code, created_at=utcnow())
    inst = _apply_practitioner(session, p, data)
    check_division_manage(actor, inst.division_code)
    session.add(p)
    session.flush()
    session.add(
        PracticeSite(
            practitioner_id=p.id, institution_id=inst.id, basis="home", valid_from=registered_on or today_local()
        )
    )
    session.flush()
    audit.record(session, actor, "create", "practitioner", p.id, after=audit.snapshot(p))
    return p


def do_update_practitioner(session: Session, actor: Principal, data: PractitionerIn) -> tuple[Practitioner, bool]:
    p = repository.practitioner_by_code(session, data.code)
    if p is None:
        raise NotFound(f"人员编码“{data.code}”不存在。", code="practitioner_not_found")
    before = audit.snapshot(p)
    old_home = p.home_institution_id
    inst = _apply_practitioner(session, p, data)
    check_division_manage(actor, inst.division_code)
    session.flush()
    after = audit.snapshot(p)
    if before == after:
        return p, False
    if old_home != inst.id:
        raise ValidationFailed(
            "变更主执业机构须办理执业注册变更，请通过执业地点登记处理。", code="practitioner_home_change"
        )
    audit.record(session, actor, "update", "practitioner", p.id, before=before, after=after)
    return p, True


def list_practitioners(
    session: Session,
    actor: Principal,
    page: PageRequest,
    *,
    q: str | None = None,
    institution: str | None = None,
    category: str | None = None,
) -> Page[Practitioner]:
    actor.require(Perm.REGISTRY_READ)
    inst_id = get_institution(session, institution).id if institution else None
    return repository.paged(session, repository.practitioners_query(q, inst_id, category), page)  # type: ignore[arg-type,return-value]


def practitioner_detail(
    session: Session, actor: Principal, code: str
) -> tuple[Practitioner, Institution, list[tuple[PracticeSite, Institution]]]:
    actor.require(Perm.REGISTRY_READ)
    p = repository.practitioner_by_code(session, code)
    if p is None:
        raise NotFound(f"人员编码“{code}”不存在。", code="practitioner_not_found")
    home = session.get(Institution, p.home_institution_id)
    assert home is not None
    return p, home, repository.practice_sites(session, p.id)


def do_add_practice_site(
    session: Session, actor: Principal, practitioner_code: str, data: PracticeSiteIn
) -> PracticeSite:
    """Rule 6: practise at another institution — free inside a consortium network, else registered."""
    p, home, sites = practitioner_detail(session, actor, practitioner_code)
    other = get_institution(session, data.institution_code)
    check_division_manage(actor, other.division_code)
    if any(s.institution_id == other.id and (s.valid_to is None or s.valid_to >= data.valid_from) for s, _ in sites):
        raise Conflict(f"{p.name} 已在 {other.name} 登记执业。", code="practice_site_exists")
    from yilian.registry.consortia import rule_snapshot

    snap = rule_snapshot(session, [home.id, other.id])
    exemption = rules.find_practice_exemption(
        home.code, other.code, snap.memberships, snap.affiliations, snap.agreements, data.valid_from
    )
    if exemption is None and not data.registration_no:
        raise ValidationFailed(
            f"{home.name} 与 {other.name} 不在同一医联体内，也没有在医联体内签订的帮扶或托管协议："
            "在该机构执业须办理执业机构备案，请填写备案编号。",
            code="registry_registration_required",
        )
    site = PracticeSite(
        practitioner_id=p.id,
        institution_id=other.id,
        basis="consortium" if exemption is not None else "registration",
        registration_no=data.registration_no if exemption is None else None,
        valid_from=data.valid_from,
        valid_to=data.valid_to,
    )
    session.add(site)
    session.flush()
    audit.record(session, actor, "create", "practice_site", site.id, after=audit.snapshot(site))
    return site


# ---- overview -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    institutions: int
    practitioners: int
    consortia: int
    residents: int | None


def overview(session: Session, actor: Principal) -> Overview:
    """Home-page counts.  Registry data is not personal: the whole network is visible to
    everyone with registry.read; residents only inside the actor's scope."""
    actor.require(Perm.REGISTRY_READ)
    c = repository.counts(session, None)
    residents: int | None = None
    if actor.has(Perm.RESIDENT_READ):
        from yilian.identity.scope import resident_filter

        residents = repository.count_residents(session, resident_filter(session, actor, repository.RESIDENT_ID))
    return Overview(c["institutions"], c["practitioners"], c["consortia"], residents)
