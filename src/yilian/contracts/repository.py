"""Contracts queries: the only SQL of the feature.

Reads other features' tables only for access scope, the seams, and the facts a rule
needs: institutions (category, tier), consortium memberships (whose policy, which
networks), recorded key populations, and residents (the row lock that serialises
signings of one person).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from yilian.db.models import (
    Contract,
    ContractCombination,
    ContractDelivery,
    ContractPackage,
    ContractPolicySetting,
    FamilyDoctorTeam,
    FamilyDoctorTeamMember,
    Institution,
    KeyPopulation,
    Practitioner,
    Resident,
    ServicePackage,
    ServicePackageItem,
)

# The network queries live with the registry (re-exported for this feature's service).
from yilian.registry.repository import network_consortia_of as network_consortia_of
from yilian.registry.repository import tight_consortium_of as tight_consortium_of

# ---- registry facts -----------------------------------------------------------------------


def institution(session: Session, institution_id: int) -> Institution | None:
    return session.get(Institution, institution_id)


def institutions(session: Session, ids: Iterable[int]) -> dict[int, Institution]:
    wanted = set(ids)
    if not wanted:
        return {}
    return {i.id: i for i in session.scalars(select(Institution).where(Institution.id.in_(wanted)))}


def institution_by_code(session: Session, code: str) -> Institution | None:
    return session.scalar(select(Institution).where(Institution.code == code))


def practitioner(session: Session, practitioner_id: int) -> Practitioner | None:
    return session.get(Practitioner, practitioner_id)


def _current(col_from: Any, col_to: Any, on: date) -> ColumnElement[bool]:
    cond: ColumnElement[bool] = (col_from <= on) & or_(col_to.is_(None), col_to > on)
    return cond


# ---- residents facts ----------------------------------------------------------------------


def resident(session: Session, resident_id: int) -> Resident | None:
    return session.get(Resident, resident_id)


def lock_resident(session: Session, resident_id: int) -> Resident | None:
    """Serialise signings of one resident (PostgreSQL ``FOR UPDATE``; SQLite holds the write lock)."""
    return session.get(Resident, resident_id, with_for_update=True, populate_existing=True)


def recorded_populations(session: Session, resident_ids: Iterable[int], on: date) -> dict[int, set[str]]:
    ids = set(resident_ids)
    out: dict[int, set[str]] = {i: set() for i in ids}
    if not ids:
        return out
    stmt = select(KeyPopulation.resident_id, KeyPopulation.code).where(
        KeyPopulation.resident_id.in_(ids),
        KeyPopulation.since <= on,
        or_(KeyPopulation.until.is_(None), KeyPopulation.until >= on),
    )
    for rid, code in session.execute(stmt):
        out[rid].add(code)
    return out


def birth_dates(session: Session, resident_ids: Iterable[int]) -> dict[int, tuple[str, date]]:
    ids = set(resident_ids)
    if not ids:
        return {}
    rows = session.execute(select(Resident.id, Resident.name, Resident.birth_date).where(Resident.id.in_(ids)))
    return {rid: (name, born) for rid, name, born in rows}


# ---- policy -------------------------------------------------------------------------------


def policy_rows(session: Session, consortium_id: int | None, on: date) -> list[ContractPolicySetting]:
    """The rows in force on ``on`` for the consortium and the system level, most specific first."""
    levels: list[ColumnElement[bool]] = [ContractPolicySetting.consortium_id.is_(None)]
    if consortium_id is not None:
        levels.append(ContractPolicySetting.consortium_id == consortium_id)
    stmt = select(ContractPolicySetting).where(or_(*levels), ContractPolicySetting.valid_from <= on)
    rows = list(session.scalars(stmt.order_by(ContractPolicySetting.valid_from.desc())))
    return sorted(rows, key=lambda r: r.consortium_id is None)


# ---- teams --------------------------------------------------------------------------------


def team(session: Session, team_id: int, *, lock: bool = False) -> FamilyDoctorTeam | None:
    if lock:
        return session.get(FamilyDoctorTeam, team_id, with_for_update=True, populate_existing=True)
    return session.get(FamilyDoctorTeam, team_id)


def team_by_code(session: Session, institution_id: int, code: str) -> FamilyDoctorTeam | None:
    return session.scalar(
        select(FamilyDoctorTeam).where(FamilyDoctorTeam.institution_id == institution_id, FamilyDoctorTeam.code == code)
    )


def teams_at(session: Session, institution_ids: set[int] | None) -> list[FamilyDoctorTeam]:
    stmt = select(FamilyDoctorTeam).order_by(FamilyDoctorTeam.institution_id, FamilyDoctorTeam.code)
    if institution_ids is not None:
        stmt = stmt.where(FamilyDoctorTeam.institution_id.in_(institution_ids))
    return list(session.scalars(stmt))


def current_members(session: Session, team_id: int, on: date) -> list[FamilyDoctorTeamMember]:
    stmt = select(FamilyDoctorTeamMember).where(
        FamilyDoctorTeamMember.team_id == team_id,
        _current(FamilyDoctorTeamMember.joined_on, FamilyDoctorTeamMember.left_on, on),
    )
    return list(session.scalars(stmt.order_by(FamilyDoctorTeamMember.id)))


def teams_of_user(session: Session, user_id: int, on: date) -> list[int]:
    stmt = select(FamilyDoctorTeamMember.team_id).where(
        FamilyDoctorTeamMember.user_id == user_id,
        _current(FamilyDoctorTeamMember.joined_on, FamilyDoctorTeamMember.left_on, on),
    )
    return sorted(set(session.scalars(stmt)))


def panel_count(session: Session, team_id: int, on: date) -> int:
    """Residents the team holds now or later: distinct residents with a contract not yet stopped."""
    stmt = select(func.count(func.distinct(Contract.resident_id))).where(
        Contract.team_id == team_id, _not_stopped(on)
    )
    return int(session.scalar(stmt) or 0)


# ---- packages -----------------------------------------------------------------------------


def package(session: Session, package_id: int) -> ServicePackage | None:
    return session.get(ServicePackage, package_id)


def package_by_code(session: Session, code: str) -> ServicePackage | None:
    return session.scalar(select(ServicePackage).where(ServicePackage.code == code))


def active_basic_package(session: Session, consortium_id: int | None) -> ServicePackage | None:
    """The consortium's own basic package, else the one offered everywhere."""
    stmt = select(ServicePackage).where(
        ServicePackage.kind == "basic",
        ServicePackage.active.is_(True),
        or_(ServicePackage.consortium_id.is_(None), ServicePackage.consortium_id == consortium_id),
    )
    rows = list(session.scalars(stmt.order_by(ServicePackage.id)))
    rows.sort(key=lambda p: p.consortium_id is None)
    return rows[0] if rows else None


def packages(session: Session, *, consortium_id: int | None = None, only_active: bool = True) -> list[ServicePackage]:
    stmt = select(ServicePackage)
    if only_active:
        stmt = stmt.where(ServicePackage.active.is_(True))
    if consortium_id is not None:
        stmt = stmt.where(or_(ServicePackage.consortium_id.is_(None), ServicePackage.consortium_id == consortium_id))
    return list(session.scalars(stmt.order_by(ServicePackage.kind, ServicePackage.code)))


def items_of_packages(session: Session, package_ids: Iterable[int]) -> list[ServicePackageItem]:
    ids = set(package_ids)
    if not ids:
        return []
    stmt = select(ServicePackageItem).where(ServicePackageItem.package_id.in_(ids))
    return list(session.scalars(stmt.order_by(ServicePackageItem.package_id, ServicePackageItem.id)))


def package_ids_of(session: Session, contract_ids: Iterable[int]) -> dict[int, list[int]]:
    ids = set(contract_ids)
    out: dict[int, list[int]] = {i: [] for i in ids}
    if not ids:
        return out
    for cid, pid in session.execute(
        select(ContractPackage.contract_id, ContractPackage.package_id).where(ContractPackage.contract_id.in_(ids))
    ):
        out[cid].append(pid)
    return out


# ---- contracts ----------------------------------------------------------------------------


def _not_stopped(on: date) -> ColumnElement[bool]:
    """Still in force on ``on`` or later: ``stop_on`` (or the day after ``end_on``) is after it."""
    cond: ColumnElement[bool] = or_(
        and_(Contract.stop_on.is_(None), Contract.end_on >= on), Contract.stop_on > on
    )
    return cond


def in_force(on: date) -> ColumnElement[bool]:
    cond: ColumnElement[bool] = and_(Contract.start_on <= on, _not_stopped(on))
    return cond


def contract(session: Session, contract_id: int, *, lock: bool = False) -> Contract | None:
    if lock:
        return session.get(Contract, contract_id, with_for_update=True, populate_existing=True)
    return session.get(Contract, contract_id)


def contracts_of_resident(session: Session, resident_id: int) -> list[Contract]:
    stmt = select(Contract).where(Contract.resident_id == resident_id).order_by(Contract.start_on, Contract.id)
    return list(session.scalars(stmt))


def contracts_of_residents(session: Session, resident_ids: Sequence[int]) -> dict[int, list[Contract]]:
    out: dict[int, list[Contract]] = {r: [] for r in resident_ids}
    if not resident_ids:
        return out
    stmt = select(Contract).where(Contract.resident_id.in_(set(resident_ids))).order_by(Contract.start_on)
    for c in session.scalars(stmt):
        out[c.resident_id].append(c)
    return out


def contract_in_force_for(session: Session, resident_id: int, on: date) -> Contract | None:
    stmt = select(Contract).where(Contract.resident_id == resident_id, in_force(on)).order_by(Contract.start_on.desc())
    return session.scalars(stmt.limit(1)).first()


def combination_of(session: Session, contract_id: int) -> list[ContractCombination]:
    stmt = select(ContractCombination).where(ContractCombination.contract_id == contract_id)
    return list(session.scalars(stmt.order_by(ContractCombination.position)))


def workbench_query(
    team_ids: Iterable[int], on: date, scope: ColumnElement[bool], q: str | None
) -> Select[tuple[Contract, Resident, FamilyDoctorTeam]]:
    """Contracts of the teams in force on ``on`` or signed to start later, one row per contract."""
    stmt = (
        select(Contract, Resident, FamilyDoctorTeam)
        .join(Resident, Resident.id == Contract.resident_id)
        .join(FamilyDoctorTeam, FamilyDoctorTeam.id == Contract.team_id)
        .where(Contract.team_id.in_(set(team_ids)), _not_stopped(on), scope)
    )
    if q:
        stmt = stmt.where(Resident.name.contains(q))
    return stmt.order_by(Resident.name, Contract.start_on)


def paged(session: Session, stmt: Select[Any], number: int, size: int) -> tuple[list[Any], int]:
    total = int(session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0)
    rows = list(session.execute(stmt.offset((number - 1) * size).limit(size)).all())
    return rows, total


def contracts_for_due(
    session: Session, team_ids: Iterable[int], on: date
) -> list[tuple[Contract, FamilyDoctorTeam]]:
    """Contracts in force on ``on`` (due services), or already stopped but with periods behind them."""
    stmt = (
        select(Contract, FamilyDoctorTeam)
        .join(FamilyDoctorTeam, FamilyDoctorTeam.id == Contract.team_id)
        .where(Contract.team_id.in_(set(team_ids)), in_force(on))
        .order_by(Contract.team_id, Contract.id)
    )
    return [(c, t) for c, t in session.execute(stmt).all()]


def deliveries_of(session: Session, contract_ids: Iterable[int]) -> dict[int, list[ContractDelivery]]:
    ids = set(contract_ids)
    out: dict[int, list[ContractDelivery]] = {i: [] for i in ids}
    if not ids:
        return out
    stmt = select(ContractDelivery).where(ContractDelivery.contract_id.in_(ids)).order_by(ContractDelivery.delivered_on)
    for d in session.scalars(stmt):
        out[d.contract_id].append(d)
    return out


def contracts_to_catch_up(session: Session, today: date, limit: int) -> list[Contract]:
    """Signed contracts whose term started, and active ones whose term ended (the daily job)."""
    stmt = select(Contract).where(
        or_(
            and_(Contract.status == "signed", Contract.start_on <= today),
            and_(Contract.status == "active", Contract.end_on < today),
        )
    )
    return list(session.scalars(stmt.order_by(Contract.id).limit(limit)))


def day_before(day: date) -> date:
    return day - timedelta(days=1)
