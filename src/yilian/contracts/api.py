"""Contracts API under ``/api/v1/contracts``: thin routes over the contracts services.

Fixed paths (``/teams``, ``/packages``, ``/family``, ``/due``, ``/workbench``,
``/priority-rights``) come before ``/{contract_id}``, whose id is an ``int``.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from yilian.contracts import delivery, service, teams
from yilian.contracts.schemas import (
    ContractOut,
    DeliveryIn,
    DeliveryOut,
    DueItemOut,
    FamilySignIn,
    FamilySignOut,
    PackageIn,
    PackageOut,
    PriorityRightsOut,
    RenewIn,
    SignIn,
    SwitchIn,
    TeamIn,
    TeamMemberIn,
    TeamMemberOut,
    TeamOut,
    TerminateIn,
    TransitionOut,
)
from yilian.core.paging import PageRequest
from yilian.web.deps import DB, ApiUser

router = APIRouter(prefix="/api/v1/contracts", tags=["contracts"])


def _contract_out(session: DB, c: Any) -> ContractOut:
    return ContractOut(**asdict(service.contract_view(session, c)))


@router.post("/teams", response_model=TeamOut, status_code=status.HTTP_201_CREATED, summary="建立家庭医生团队")
def create_team(body: TeamIn, session: DB, user: ApiUser) -> TeamOut:
    team = teams.do_create_team(session, user, body)
    return TeamOut.model_validate(asdict(teams.team_view(session, team)))


@router.get("/teams", response_model=list[TeamOut], summary="家庭医生团队（含签约人数与上限）")
def list_teams(session: DB, user: ApiUser, institution_id: int | None = None) -> list[TeamOut]:
    return [TeamOut.model_validate(asdict(t)) for t in teams.list_teams(session, user, institution_id)]


@router.post("/teams/{team_id}/members", response_model=TeamMemberOut, status_code=status.HTTP_201_CREATED,
             summary="增加团队成员")
def add_member(team_id: int, body: TeamMemberIn, session: DB, user: ApiUser) -> TeamMemberOut:
    m = teams.do_add_team_member(session, user, team_id, body)
    return TeamMemberOut.model_validate(m, from_attributes=True)


@router.post("/packages", response_model=PackageOut, status_code=status.HTTP_201_CREATED, summary="配置服务包")
def create_package(body: PackageIn, session: DB, user: ApiUser) -> PackageOut:
    pkg = teams.do_create_package(session, user, body)
    return PackageOut.model_validate(asdict(teams.package_view(session, pkg)))


@router.get("/packages", response_model=list[PackageOut], summary="服务包目录")
def list_packages(session: DB, user: ApiUser, consortium_id: int | None = None) -> list[PackageOut]:
    return [PackageOut.model_validate(asdict(p)) for p in teams.list_packages(session, user, consortium_id)]


@router.post("", response_model=ContractOut, status_code=status.HTTP_201_CREATED, summary="签约")
def sign(body: SignIn, session: DB, user: ApiUser) -> ContractOut:
    return _contract_out(session, service.do_sign(session, user, body))


@router.post("/family", response_model=FamilySignOut, status_code=status.HTTP_201_CREATED, summary="家庭签约")
def family_sign(body: FamilySignIn, session: DB, user: ApiUser) -> FamilySignOut:
    result = service.do_family_sign(session, user, body)
    return FamilySignOut(household_key=result.household_key,
                         signed=[_contract_out(session, c) for c in result.signed],
                         already_with_team=list(result.already_with_team))


@router.get("/due", response_model=list[DueItemOut], summary="应履约与逾期未履约的服务项目")
def due(
    session: DB, user: ApiUser, institution_id: int, team_id: int | None = None,
    overdue: Annotated[bool, Query(description="是否包含逾期项目")] = True,
) -> list[DueItemOut]:
    rows = delivery.due_services(session, user, institution_id, team_id=team_id, include_overdue=overdue)
    return [DueItemOut.model_validate(asdict(r)) for r in rows]


@router.get("/workbench", summary="我的签约居民（家庭医生工作台）")
def workbench(
    session: DB, user: ApiUser, team_id: int | None = None, q: str | None = None,
    page: Annotated[int, Query(ge=1)] = 1, size: Annotated[int, Query(ge=1, le=500)] = 20,
) -> dict[str, Any]:
    result = delivery.workbench(session, user, PageRequest(page, size), team_id=team_id, q=q)
    return {"items": [asdict(r) for r in result.items], "total": result.total, "page": result.number,
            "size": result.size, "pages": result.pages}


@router.get("/priority-rights", response_model=PriorityRightsOut, summary="居民因签约享有的优先权益")
def priority_rights(session: DB, user: ApiUser, resident_id: int, on: date | None = None) -> PriorityRightsOut:
    r = service.read_priority_rights(session, user, resident_id, on)
    return PriorityRightsOut(resident_id=r.resident_id, on=r.on, benefits=sorted(b.value for b in r.benefits),
                             contract_id=r.contract_id, team_id=r.team_id, institution_id=r.institution_id,
                             consortia=sorted(r.consortia))


@router.get("/{contract_id}", response_model=ContractOut, summary="签约合同（读取留痕）")
def get_contract(contract_id: int, session: DB, user: ApiUser) -> ContractOut:
    return ContractOut(**asdict(service.get_contract(session, user, contract_id)))


@router.post("/{contract_id}/renew", response_model=TransitionOut, summary="续约（同一团队）")
def renew(contract_id: int, body: RenewIn, session: DB, user: ApiUser) -> TransitionOut:
    old, new = service.do_renew(session, user, contract_id, body)
    return TransitionOut(contract=_contract_out(session, old), successor=_contract_out(session, new))


@router.post("/{contract_id}/switch", response_model=TransitionOut, summary="到期转签其他团队")
def switch(contract_id: int, body: SwitchIn, session: DB, user: ApiUser) -> TransitionOut:
    old, new = service.do_switch(session, user, contract_id, body)
    return TransitionOut(contract=_contract_out(session, old), successor=_contract_out(session, new))


@router.post("/{contract_id}/terminate", response_model=ContractOut, summary="解约（须选择原因）")
def terminate(contract_id: int, body: TerminateIn, session: DB, user: ApiUser) -> ContractOut:
    return _contract_out(session, service.do_terminate(session, user, contract_id, body))


@router.post("/{contract_id}/deliveries", response_model=DeliveryOut, status_code=status.HTTP_201_CREATED,
             summary="记录履约")
def record_delivery(contract_id: int, body: DeliveryIn, session: DB, user: ApiUser) -> DeliveryOut:
    d = delivery.do_record_delivery(session, user, contract_id, body)
    return DeliveryOut.model_validate(d, from_attributes=True)
