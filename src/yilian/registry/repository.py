"""Registry queries: the only SQL of the feature."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from yilian.core.paging import Page, PageRequest
from yilian.db.models import (
    Agreement,
    Consortium,
    ConsortiumAffiliation,
    ConsortiumMembership,
    Department,
    Division,
    Grid,
    GridDivision,
    Institution,
    PracticeSite,
    Practitioner,
    Resident,
)
from yilian.registry import rules


def paged(session: Session, stmt: Select[tuple[object]], page: PageRequest) -> Page[object]:
    total = int(session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0)
    items = list(session.scalars(stmt.limit(page.size).offset(page.offset)))
    return Page(items=items, total=total, number=page.number, size=page.size)


# ---- lookups ------------------------------------------------------------------------------


def division(session: Session, code: str) -> Division | None:
    return session.get(Division, code)


def institution_by_code(session: Session, code: str) -> Institution | None:
    return session.scalar(select(Institution).where(Institution.code == code))


def institutions_by_codes(session: Session, codes: Iterable[str]) -> dict[str, Institution]:
    rows = session.scalars(select(Institution).where(Institution.code.in_(list(codes))))
    return {i.code: i for i in rows}


def lock_institution(session: Session, institution_id: int) -> None:
    """Serialise membership changes of one institution (rule 2 is check-then-write)."""
    session.execute(select(Institution.id).where(Institution.id == institution_id).with_for_update())


def lock_consortium(session: Session, consortium_id: int) -> None:
    session.execute(select(Consortium.id).where(Consortium.id == consortium_id).with_for_update())


def consortium_by_code(session: Session, code: str) -> Consortium | None:
    return session.scalar(select(Consortium).where(Consortium.code == code))


def practitioner_by_code(session: Session, code: str) -> Practitioner | None:
    return session.scalar(select(Practitioner).where(Practitioner.code == code))


def department(session: Session, institution_id: int, code: str) -> Department | None:
    return session.scalar(
        select(Department).where(Department.institution_id == institution_id, Department.code == code)
    )


def grid_by_code(session: Session, code: str) -> Grid | None:
    return session.scalar(select(Grid).where(Grid.code == code))


def grid_of_group(session: Session, group_id: int) -> Grid | None:
    return session.scalar(select(Grid).where(Grid.group_id == group_id))


# ---- lists --------------------------------------------------------------------------------


def institutions_query(
    q: str | None = None,
    category: str | None = None,
    level: str | None = None,
    division_prefix: str | None = None,
    primary_only: bool = False,
    ids: set[int] | None = None,
) -> Select[tuple[Institution]]:
    stmt = select(Institution).order_by(Institution.tier.desc(), Institution.code)
    if q:
        stmt = stmt.where(or_(Institution.name.contains(q), Institution.code.contains(q)))
    if category:
        stmt = stmt.where(Institution.category == category)
    if level:
        stmt = stmt.where(Institution.level == level)
    if division_prefix:
        stmt = stmt.where(Institution.division_code.like(f"{division_prefix}%"))
    if primary_only:
        stmt = stmt.where(Institution.is_primary_care.is_(True))
    if ids is not None:
        stmt = stmt.where(Institution.id.in_(ids))
    return stmt


def practitioners_query(
    q: str | None = None, institution_id: int | None = None, category: str | None = None
) -> Select[tuple[Practitioner]]:
    stmt = select(Practitioner).order_by(Practitioner.code)
    if q:
        stmt = stmt.where(or_(Practitioner.name.contains(q), Practitioner.code.contains(q)))
    if institution_id:
        sites = select(PracticeSite.practitioner_id).where(PracticeSite.institution_id == institution_id)
        stmt = stmt.where(or_(Practitioner.home_institution_id == institution_id, Practitioner.id.in_(sites)))
    if category:
        stmt = stmt.where(Practitioner.category == category)
    return stmt


def consortia_query(
    mode: str | None = None,
    integration: str | None = None,
    q: str | None = None,
    division_prefix: str | None = None,
) -> Select[tuple[Consortium]]:
    stmt = select(Consortium).order_by(Consortium.code)
    if mode:
        stmt = stmt.where(Consortium.mode == mode)
    if integration:
        stmt = stmt.where(Consortium.integration == integration)
    if q:
        stmt = stmt.where(or_(Consortium.name.contains(q), Consortium.code.contains(q)))
    if division_prefix:
        stmt = stmt.where(Consortium.division_code.like(f"{division_prefix}%"))
    return stmt


def divisions(session: Session, parent_code: str | None = None) -> list[Division]:
    stmt = select(Division).order_by(Division.code)
    if parent_code:
        stmt = stmt.where(Division.parent_code == parent_code)
    return list(session.scalars(stmt))


def memberships_of_consortium(
    session: Session, consortium_id: int
) -> list[tuple[ConsortiumMembership, Institution]]:
    stmt = (
        select(ConsortiumMembership, Institution)
        .join(Institution, Institution.id == ConsortiumMembership.institution_id)
        .where(ConsortiumMembership.consortium_id == consortium_id)
        .order_by(
            ConsortiumMembership.left_on.is_not(None),
            ConsortiumMembership.role,
            Institution.tier.desc(),
            Institution.code,
        )
    )
    return [(m, i) for m, i in session.execute(stmt)]


def memberships_of_institution(
    session: Session, institution_id: int
) -> list[tuple[ConsortiumMembership, Consortium]]:
    stmt = (
        select(ConsortiumMembership, Consortium)
        .join(Consortium, Consortium.id == ConsortiumMembership.consortium_id)
        .where(ConsortiumMembership.institution_id == institution_id)
        .order_by(ConsortiumMembership.joined_on)
    )
    return [(m, c) for m, c in session.execute(stmt)]


def affiliations(
    session: Session, *, community_id: int | None = None, group_id: int | None = None
) -> list[ConsortiumAffiliation]:
    stmt = select(ConsortiumAffiliation).order_by(ConsortiumAffiliation.joined_on)
    if community_id is not None:
        stmt = stmt.where(ConsortiumAffiliation.community_id == community_id)
    if group_id is not None:
        stmt = stmt.where(ConsortiumAffiliation.group_id == group_id)
    return list(session.scalars(stmt))


def consortia_by_ids(session: Session, ids: Iterable[int]) -> dict[int, Consortium]:
    return {c.id: c for c in session.scalars(select(Consortium).where(Consortium.id.in_(list(ids))))}


def agreements_between(session: Session, institution_ids: Iterable[int]) -> list[Agreement]:
    ids = list(institution_ids)
    return list(
        session.scalars(
            select(Agreement).where(
                or_(Agreement.supporting_institution_id.in_(ids), Agreement.supported_institution_id.in_(ids))
            )
        )
    )


def agreements_of_consortium(session: Session, consortium_id: int) -> list[Agreement]:
    return list(session.scalars(select(Agreement).where(Agreement.consortium_id == consortium_id)))


def all_memberships(session: Session, institution_ids: Iterable[int]) -> list[ConsortiumMembership]:
    return list(
        session.scalars(
            select(ConsortiumMembership).where(ConsortiumMembership.institution_id.in_(list(institution_ids)))
        )
    )


def memberships_in(session: Session, consortium_ids: Iterable[int]) -> list[ConsortiumMembership]:
    return list(
        session.scalars(
            select(ConsortiumMembership).where(ConsortiumMembership.consortium_id.in_(list(consortium_ids)))
        )
    )


def grids(session: Session, city_code: str | None = None) -> list[Grid]:
    stmt = select(Grid).order_by(Grid.code)
    if city_code:
        stmt = stmt.where(Grid.city_code == city_code)
    return list(session.scalars(stmt))


def grid_divisions(session: Session, grid_id: int) -> list[Division]:
    stmt = (
        select(Division)
        .join(GridDivision, GridDivision.division_code == Division.code)
        .where(GridDivision.grid_id == grid_id)
        .order_by(Division.code)
    )
    return list(session.scalars(stmt))


def practice_sites(session: Session, practitioner_id: int) -> list[tuple[PracticeSite, Institution]]:
    stmt = (
        select(PracticeSite, Institution)
        .join(Institution, Institution.id == PracticeSite.institution_id)
        .where(PracticeSite.practitioner_id == practitioner_id)
        .order_by(PracticeSite.valid_from)
    )
    return [(s, i) for s, i in session.execute(stmt)]


def departments_of(session: Session, institution_id: int) -> list[Department]:
    return list(
        session.scalars(
            select(Department).where(Department.institution_id == institution_id).order_by(Department.code)
        )
    )


def counts(session: Session, institution_ids: set[int] | None) -> dict[str, int]:
    inst = select(func.count()).select_from(Institution)
    prac = select(func.count()).select_from(Practitioner)
    cons = select(func.count()).select_from(Consortium)
    if institution_ids is not None:
        inst = inst.where(Institution.id.in_(institution_ids))
        prac = prac.where(Practitioner.home_institution_id.in_(institution_ids))
        cons = cons.where(
            Consortium.id.in_(
                select(ConsortiumMembership.consortium_id).where(
                    ConsortiumMembership.institution_id.in_(institution_ids)
                )
            )
        )
    return {
        "institutions": int(session.scalar(inst) or 0),
        "practitioners": int(session.scalar(prac) or 0),
        "consortia": int(session.scalar(cons) or 0),
    }


# ---- conversions to the pure rule records -----------------------------------------------


def rule_consortium(c: Consortium, grid_code: str | None = None) -> rules.Consortium:
    return rules.Consortium(
        code=c.code,
        name=c.name,
        mode=rules.Mode(c.mode),
        integration=rules.Integration(c.integration),
        level=rules.ConsortiumLevel(c.level),
        type=rules.ConsortiumType(c.type),
        grid=grid_code,
    )


def rule_membership(m: ConsortiumMembership, inst_code: str, cons_code: str) -> rules.Membership:
    return rules.Membership(
        institution=inst_code,
        consortium=cons_code,
        role=rules.Role(m.role),
        joined_on=m.joined_on,
        left_on=m.left_on,
        agreement=None if m.agreement_id is None else str(m.agreement_id),
    )


def rule_agreement(a: Agreement, codes: dict[int, str], cons_codes: dict[int, str]) -> rules.Agreement:
    return rules.Agreement(
        code=str(a.id),
        kind=rules.AgreementKind(a.kind),
        supporting=codes[a.supporting_institution_id],
        supported=codes[a.supported_institution_id],
        valid_from=a.valid_from,
        valid_to=a.valid_to,
        consortium=None if a.consortium_id is None else cons_codes.get(a.consortium_id),
    )


def institution_codes(session: Session, ids: Iterable[int]) -> dict[int, str]:
    rows = session.execute(select(Institution.id, Institution.code).where(Institution.id.in_(list(ids))))
    return {i: c for i, c in rows}


def consortium_codes(session: Session) -> dict[int, str]:
    return {i: c for i, c in session.execute(select(Consortium.id, Consortium.code))}


RESIDENT_ID = Resident.id


def count_residents(session: Session, condition: ColumnElement[bool]) -> int:
    return int(session.scalar(select(func.count()).select_from(Resident).where(condition)) or 0)


def counties_with_institutions(session: Session) -> list[Division]:
    """County-level divisions that have in-county institutions, e.g. a simulated county."""
    stmt = (select(Division).where(Division.level == "county", Division.code.in_(
        select(Institution.division_code).where(Institution.in_county.is_(True))))
        .order_by(Division.code))
    return list(session.scalars(stmt))


# ---- networks (read by contracts, referrals and payment) ------------------------------------------

#: The tight modes (DOMAIN.md): an institution leads or belongs to at most one such consortium.
TIGHT_MODES = ("city_group", "county_community")


def _current(col_from: Any, col_to: Any, on: date) -> ColumnElement[bool]:
    cond: ColumnElement[bool] = (col_from <= on) & or_(col_to.is_(None), col_to > on)
    return cond


def tight_consortium_of(session: Session, institution_id: int, on: date) -> int | None:
    """The tight consortium where the institution is a direct lead or member (DOMAIN rule 2: at most one)."""
    stmt = (
        select(ConsortiumMembership.consortium_id)
        .join(Consortium, Consortium.id == ConsortiumMembership.consortium_id)
        .where(
            ConsortiumMembership.institution_id == institution_id,
            ConsortiumMembership.role.in_(("lead", "member")),
            _current(ConsortiumMembership.joined_on, ConsortiumMembership.left_on, on),
            Consortium.integration == "tight",
            Consortium.mode.in_(TIGHT_MODES),
        )
        .order_by(ConsortiumMembership.consortium_id)
        .limit(1)
    )
    return session.scalar(stmt)


def network_consortia_of(session: Session, institution_id: int, on: date) -> frozenset[int]:
    """Consortia whose network holds the institution: where it is a direct lead or member, and the
    groups that a county community it belongs to has joined as a whole (DOMAIN.md memberships) — the
    consortia whose referral pools and contract rights are open to it."""
    direct = select(ConsortiumMembership.consortium_id).where(
        ConsortiumMembership.institution_id == institution_id,
        ConsortiumMembership.role.in_(("lead", "member")),
        _current(ConsortiumMembership.joined_on, ConsortiumMembership.left_on, on),
    )
    own = set(session.scalars(direct))
    if not own:
        return frozenset()
    groups = select(ConsortiumAffiliation.group_id).where(
        ConsortiumAffiliation.community_id.in_(own),
        _current(ConsortiumAffiliation.joined_on, ConsortiumAffiliation.left_on, on),
    )
    return frozenset(own | set(session.scalars(groups)))
