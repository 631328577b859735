"""Consortium use cases: set-up, memberships, lead changes, affiliations, agreements, grids.

Each write loads the rows the registry rule needs into the pure records of ``rules.py``,
with the change already in place, and lets the rule refuse; the refusal propagates and
the edge rolls the transaction back, so refused changes leave the data unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from yilian.core.clock import today_local, utcnow
from yilian.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yilian.core.paging import Page, PageRequest
from yilian.db.models import (
    Agreement,
    Consortium,
    ConsortiumAffiliation,
    ConsortiumMembership,
    Grid,
    GridDivision,
    Institution,
)
from yilian.identity import audit
from yilian.identity.principal import Principal, division_prefix
from yilian.identity.roles import Perm, Role
from yilian.registry import categories, repository, rules
from yilian.registry.schemas import AffiliationIn, AgreementIn, ConsortiumIn, GridIn, LeadChangeIn, MemberIn
from yilian.registry.service import check_division_manage, get_institution


@dataclass(frozen=True)
class RuleSnapshot:
    consortia: list[rules.Consortium]
    memberships: list[rules.Membership]
    affiliations: list[rules.Affiliation]
    agreements: list[rules.Agreement]


def rule_snapshot(session: Session, institution_ids: list[int]) -> RuleSnapshot:
    """Everything the rules need about some institutions: their memberships, the consortia
    those are in (with all their members), affiliations and agreements."""
    own = repository.all_memberships(session, institution_ids)
    cons_ids = {m.consortium_id for m in own}
    affs = [a for cid in cons_ids for a in repository.affiliations(session, community_id=cid)]
    affs += [a for cid in cons_ids for a in repository.affiliations(session, group_id=cid)]
    cons_ids |= {a.group_id for a in affs} | {a.community_id for a in affs}
    members = repository.memberships_in(session, cons_ids) if cons_ids else []
    inst_ids = set(institution_ids) | {m.institution_id for m in members}
    agreements = repository.agreements_between(session, inst_ids)
    inst_ids |= {a.supporting_institution_id for a in agreements} | {a.supported_institution_id for a in agreements}
    codes = repository.institution_codes(session, inst_ids)
    cons_codes = repository.consortium_codes(session)
    consortia = repository.consortia_by_ids(session, cons_ids)
    grid_codes = {
        c.id: (g.code if (g := repository.grid_of_group(session, c.id)) else None) for c in consortia.values()
    }
    return RuleSnapshot(
        consortia=[repository.rule_consortium(c, grid_codes[c.id]) for c in consortia.values()],
        memberships=[
            repository.rule_membership(m, codes[m.institution_id], cons_codes[m.consortium_id])
            for m in {x.id: x for x in [*own, *members]}.values()
        ],
        affiliations=[
            rules.Affiliation(
                community=cons_codes[a.community_id],
                group=cons_codes[a.group_id],
                joined_on=a.joined_on,
                left_on=a.left_on,
            )
            for a in {x.id: x for x in affs}.values()
        ],
        agreements=[repository.rule_agreement(a, codes, cons_codes) for a in agreements],
    )


def get_consortium(session: Session, code: str) -> Consortium:
    c = repository.consortium_by_code(session, code)
    if c is None:
        raise NotFound(f"医联体代码“{code}”不存在。", code="consortium_not_found", consortium=code)
    return c


def check_consortium_manage(actor: Principal, c: Consortium) -> None:
    """Admins; commission officers of the consortium's division; the consortium's own managers."""
    actor.require(Perm.CONSORTIUM_MANAGE)
    if actor.is_admin:
        return
    for g in actor.grants:
        if g.role == Role.CONSORTIUM_MANAGER and g.consortium_id == c.id:
            return
        if (
            g.role == Role.COMMISSION_OFFICER
            and g.division_code
            and c.division_code.startswith(division_prefix(g.division_code))
        ):
            return
    raise Forbidden("您无权管理该医联体。", code="consortium_out_of_scope", consortium=c.code)


def _check_membership_rules(session: Session, consortium: Consortium, institution: Institution, on: date) -> None:
    snap = rule_snapshot(session, [institution.id])
    if consortium.code not in {c.code for c in snap.consortia}:
        snap.consortia.append(repository.rule_consortium(consortium))
    rules.check_no_duplicate_memberships(snap.memberships, snap.affiliations)
    rules.check_one_tight_consortium(institution.code, snap.memberships, snap.consortia)
    mine = [m for m in snap.memberships if m.consortium == consortium.code]
    rules.check_lead(repository.rule_consortium(consortium), mine, on)
    for m in mine:
        if m.institution == institution.code and m.role == rules.Role.PARTNER and m.is_current(on):
            partner_snap = rule_snapshot(
                session,
                [institution.id] + [i.id for _, i in repository.memberships_of_consortium(session, consortium.id)],
            )
            rules.check_partner_agreement(m, partner_snap.memberships, partner_snap.agreements, on)


def do_create_consortium(session: Session, actor: Principal, data: ConsortiumIn) -> Consortium:
    actor.require(Perm.CONSORTIUM_CREATE)
    check_division_manage(actor, data.division_code)
    if repository.consortium_by_code(session, data.code) is not None:
        raise Conflict(f"医联体代码“{data.code}”已存在。", code="consortium_code_taken")
    lead = get_institution(session, data.lead_code)
    ctype = data.type or categories.default_consortium_type(lead.category)
    if ctype is None:
        raise ValidationFailed(
            f"牵头机构“{lead.name}”的类别无法推定医联体类型，请指定类型。", code="consortium_type_required"
        )
    repository.lock_institution(session, lead.id)
    c = Consortium(
        code=data.code,
        name=data.name,
        mode=data.mode,
        integration=data.integration,
        level=data.level,
        type=str(ctype),
        division_code=data.division_code,
        charter=data.charter,
        established_on=data.established_on,
        created_at=utcnow(),
    )
    session.add(c)
    session.flush()
    session.add(
        ConsortiumMembership(consortium_id=c.id, institution_id=lead.id, role="lead", joined_on=data.established_on)
    )
    session.flush()
    _check_membership_rules(session, c, lead, data.established_on)
    audit.record(session, actor, "create", "consortium", c.id, after={**audit.snapshot(c), "lead": lead.code})
    return c


def do_add_member(session: Session, actor: Principal, consortium_code: str, data: MemberIn) -> ConsortiumMembership:
    c = get_consortium(session, consortium_code)
    check_consortium_manage(actor, c)
    inst = get_institution(session, data.institution_code)
    repository.lock_institution(session, inst.id)
    if data.agreement_id is not None and session.get(Agreement, data.agreement_id) is None:
        raise NotFound("所登记的协议不存在。", code="agreement_not_found")
    m = ConsortiumMembership(
        consortium_id=c.id,
        institution_id=inst.id,
        role=data.role,
        joined_on=data.joined_on,
        agreement_id=data.agreement_id,
    )
    session.add(m)
    session.flush()
    _check_membership_rules(session, c, inst, data.joined_on)
    audit.record(
        session,
        actor,
        "create",
        "consortium_membership",
        m.id,
        after={**audit.snapshot(m), "institution": inst.code, "consortium": c.code},
    )
    return m


def do_end_membership(
    session: Session, actor: Principal, consortium_code: str, membership_id: int, left_on: date
) -> ConsortiumMembership:
    c = get_consortium(session, consortium_code)
    check_consortium_manage(actor, c)
    m = session.get(ConsortiumMembership, membership_id)
    if m is None or m.consortium_id != c.id:
        raise NotFound("成员关系不存在。", code="membership_not_found")
    if m.left_on is not None:
        raise Conflict("该成员已退出。", code="membership_already_ended")
    if left_on <= m.joined_on:
        raise ValidationFailed("退出日期须晚于加入日期。", code="registry_interval_invalid")
    if m.role == "lead":
        raise Conflict(
            "牵头单位不能直接退出：请先更换牵头单位（医联体须始终有1个牵头单位）。", code="registry_lead_cannot_leave"
        )
    before = audit.snapshot(m)
    m.left_on = left_on
    session.flush()
    audit.record(session, actor, "update", "consortium_membership", m.id, before=before, after=audit.snapshot(m))
    return m


def do_change_lead(
    session: Session, actor: Principal, consortium_code: str, data: LeadChangeIn
) -> ConsortiumMembership:
    c = get_consortium(session, consortium_code)
    check_consortium_manage(actor, c)
    new_lead = get_institution(session, data.institution_code)
    repository.lock_consortium(session, c.id)
    rows = repository.memberships_of_consortium(session, c.id)
    old = next((m for m, _ in rows if m.role == "lead" and m.left_on is None), None)
    if old is None or old.institution_id == new_lead.id:
        raise Conflict("新牵头单位须不同于现牵头单位。", code="registry_lead_unchanged")
    if data.on <= old.joined_on:
        raise ValidationFailed("更换日期须晚于现牵头单位的起始日期。", code="registry_interval_invalid")
    old.left_on = data.on
    for m, _ in rows:  # the new lead's member row ends where its lead row begins
        if m.institution_id == new_lead.id and m.left_on is None and m.role != "lead":
            m.left_on = data.on if data.on > m.joined_on else None
            if m.left_on is None:
                session.delete(m)
    if data.keep_old_lead_as_member:
        session.add(
            ConsortiumMembership(
                consortium_id=c.id, institution_id=old.institution_id, role="member", joined_on=data.on
            )
        )
    lead = ConsortiumMembership(consortium_id=c.id, institution_id=new_lead.id, role="lead", joined_on=data.on)
    session.add(lead)
    session.flush()
    _check_membership_rules(session, c, new_lead, data.on)
    audit.record(
        session,
        actor,
        "transition",
        "consortium",
        c.id,
        detail="change_lead",
        before={"lead_membership": old.id},
        after={"lead": new_lead.code, "on": data.on},
    )
    return lead


def do_join_group(
    session: Session, actor: Principal, community_code: str, data: AffiliationIn
) -> ConsortiumAffiliation:
    """Rule 3: a county community joins a city group as a whole (整体加入)."""
    community = get_consortium(session, community_code)
    check_consortium_manage(actor, community)
    group = get_consortium(session, data.group_code)
    repository.lock_consortium(session, community.id)
    aff = ConsortiumAffiliation(community_id=community.id, group_id=group.id, joined_on=data.joined_on)
    session.add(aff)
    session.flush()
    existing = repository.affiliations(session, community_id=community.id)
    groups = repository.consortia_by_ids(session, {a.group_id for a in existing} | {community.id})
    records = [
        rules.Affiliation(
            community=community.code, group=groups[a.group_id].code, joined_on=a.joined_on, left_on=a.left_on
        )
        for a in existing
    ]
    rules.check_no_duplicate_memberships((), records)
    rules.check_affiliations(
        repository.rule_consortium(community), records, [repository.rule_consortium(g) for g in groups.values()]
    )
    audit.record(
        session,
        actor,
        "create",
        "consortium_affiliation",
        aff.id,
        after={"community": community.code, "group": group.code, "joined_on": data.joined_on},
    )
    return aff


def do_leave_group(
    session: Session, actor: Principal, community_code: str, affiliation_id: int, left_on: date
) -> ConsortiumAffiliation:
    community = get_consortium(session, community_code)
    check_consortium_manage(actor, community)
    aff = session.get(ConsortiumAffiliation, affiliation_id)
    if aff is None or aff.community_id != community.id:
        raise NotFound("整体加入记录不存在。", code="affiliation_not_found")
    if aff.left_on is not None or left_on <= aff.joined_on:
        raise ValidationFailed("退出日期无效或已退出。", code="registry_interval_invalid")
    aff.left_on = left_on
    session.flush()
    audit.record(session, actor, "update", "consortium_affiliation", aff.id, after={"left_on": left_on})
    return aff


def do_create_agreement(session: Session, actor: Principal, data: AgreementIn) -> Agreement:
    supporting = get_institution(session, data.supporting_code)
    supported = get_institution(session, data.supported_code)
    consortium = get_consortium(session, data.consortium_code) if data.consortium_code else None
    if consortium is not None:
        check_consortium_manage(actor, consortium)
    else:
        check_division_manage(actor, supported.division_code)
    # Validates parties and dates through the pure record before anything is written.
    rules.Agreement(
        code="new",
        kind=rules.AgreementKind(data.kind),
        supporting=supporting.code,
        supported=supported.code,
        valid_from=data.valid_from,
        valid_to=data.valid_to,
    )
    a = Agreement(
        kind=data.kind,
        supporting_institution_id=supporting.id,
        supported_institution_id=supported.id,
        consortium_id=consortium.id if consortium else None,
        document_no=data.document_no,
        signed_on=data.signed_on,
        valid_from=data.valid_from,
        valid_to=data.valid_to,
    )
    session.add(a)
    session.flush()
    audit.record(session, actor, "create", "agreement", a.id, after=audit.snapshot(a))
    return a


def do_create_grid(session: Session, actor: Principal, data: GridIn) -> Grid:
    """Rule 4: a grid is created with its one tight city group."""
    actor.require(Perm.CONSORTIUM_CREATE)
    check_division_manage(actor, data.city_code)
    if repository.grid_by_code(session, data.code) is not None:
        raise Conflict(f"网格代码“{data.code}”已存在。", code="grid_code_taken")
    group = get_consortium(session, data.group_code)
    existing = repository.grid_of_group(session, group.id)
    if existing is not None:
        raise Conflict(
            f"「{group.name}」已是网格「{existing.name}」的紧密型城市医疗集团，一个集团只服务一个网格。",
            code="registry_group_has_grid",
        )
    grid_rec = rules.Grid(code=data.code, name=data.name, city=data.city_code)
    rules.check_grid(grid_rec, [repository.rule_consortium(group, data.code)])
    for code in data.division_codes:
        if repository.division(session, code) is None:
            raise NotFound(f"行政区划代码“{code}”不存在。", code="division_not_found")
    grid = Grid(code=data.code, name=data.name, city_code=data.city_code, group_id=group.id, created_at=utcnow())
    session.add(grid)
    session.flush()
    for code in sorted(set(data.division_codes)):
        session.add(GridDivision(grid_id=grid.id, division_code=code))
    session.flush()
    audit.record(
        session,
        actor,
        "create",
        "grid",
        grid.id,
        after={**audit.snapshot(grid), "divisions": sorted(set(data.division_codes))},
    )
    return grid


def grid_warnings(session: Session, actor: Principal) -> list[rules.RegistryWarning]:
    actor.require(Perm.REGISTRY_READ)
    return rules.city_grid_warnings(
        [rules.Grid(code=g.code, name=g.name, city=g.city_code) for g in repository.grids(session)]
    )


# ---- reads --------------------------------------------------------------------------------


def list_consortia(
    session: Session,
    actor: Principal,
    page: PageRequest,
    *,
    mode: str | None = None,
    integration: str | None = None,
    q: str | None = None,
) -> Page[Consortium]:
    actor.require(Perm.REGISTRY_READ)
    return repository.paged(session, repository.consortia_query(mode, integration, q), page)  # type: ignore[arg-type,return-value]


@dataclass(frozen=True)
class ConsortiumDetail:
    consortium: Consortium
    members: list[tuple[ConsortiumMembership, Institution]]
    lead: Institution | None
    groups: list[tuple[ConsortiumAffiliation, Consortium]]
    communities: list[tuple[ConsortiumAffiliation, Consortium]]
    grid: Grid | None
    grid_divisions: list[object]
    agreements: list[Agreement]
    can_manage: bool


def consortium_detail(session: Session, actor: Principal, code: str) -> ConsortiumDetail:
    actor.require(Perm.REGISTRY_READ)
    c = get_consortium(session, code)
    members = repository.memberships_of_consortium(session, c.id)
    today = today_local()
    lead = next(
        (
            i
            for m, i in members
            if m.role == "lead" and m.joined_on <= today and (m.left_on is None or m.left_on > today)
        ),
        None,
    )
    up = repository.affiliations(session, community_id=c.id)
    down = repository.affiliations(session, group_id=c.id)
    others = repository.consortia_by_ids(session, {a.group_id for a in up} | {a.community_id for a in down})
    grid = repository.grid_of_group(session, c.id)
    try:
        check_consortium_manage(actor, c)
        can_manage = True
    except Forbidden:
        can_manage = False
    return ConsortiumDetail(
        consortium=c,
        members=members,
        lead=lead,
        groups=[(a, others[a.group_id]) for a in up],
        communities=[(a, others[a.community_id]) for a in down],
        grid=grid,
        grid_divisions=list(repository.grid_divisions(session, grid.id)) if grid else [],
        agreements=repository.agreements_of_consortium(session, c.id),
        can_manage=can_manage,
    )


def list_grids(session: Session, actor: Principal) -> list[Grid]:
    actor.require(Perm.REGISTRY_READ)
    return repository.grids(session)
