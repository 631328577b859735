"""Registry JSON API under /api/v1: thin routes over the services."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from starlette import status

from yilian.core.paging import PageRequest
from yilian.registry import consortia, service
from yilian.registry.schemas import (
    AffiliationIn,
    AgreementIn,
    ConsortiumIn,
    ConsortiumOut,
    DivisionIn,
    EndIn,
    GridIn,
    InstitutionIn,
    InstitutionOut,
    LeadChangeIn,
    MemberIn,
    MembershipOut,
    PracticeSiteIn,
    PractitionerIn,
    PractitionerOut,
)
from yilian.web.deps import DB, ApiUser

router = APIRouter(prefix="/api/v1", tags=["registry"])


def _page(items: list[Any], total: int, number: int, size: int) -> dict[str, Any]:
    return {"items": items, "total": total, "page": number, "size": size}


@router.get("/divisions")
def divisions(session: DB, user: ApiUser, parent: str | None = None) -> list[dict[str, Any]]:
    return [{"code": d.code, "name": d.name, "level": d.level, "parent_code": d.parent_code}
            for d in service.list_divisions(session, user, parent)]


@router.put("/divisions/{code}")
def put_division(code: str, data: DivisionIn, session: DB, user: ApiUser) -> dict[str, Any]:
    d, outcome = service.do_upsert_division(session, user, data.model_copy(update={"code": code}))
    return {"code": d.code, "name": d.name, "outcome": outcome}


@router.get("/institutions")
def institutions(session: DB, user: ApiUser, q: str | None = None, category: str | None = None,
                 level: str | None = None, division: str | None = None, primary_only: bool = False,
                 page: int = Query(1, ge=1), size: int = Query(20, ge=1, le=500)) -> dict[str, Any]:
    p = service.list_institutions(session, user, PageRequest(page, size), q=q, category=category, level=level,
                                  division=division, primary_only=primary_only)
    return _page([InstitutionOut.model_validate(i).model_dump() for i in p.items], p.total, p.number, p.size)


@router.post("/institutions", status_code=status.HTTP_201_CREATED, response_model=InstitutionOut)
def create_institution(data: InstitutionIn, session: DB, user: ApiUser) -> Any:
    return service.do_create_institution(session, user, data)


@router.get("/institutions/{code}")
def institution(code: str, session: DB, user: ApiUser) -> dict[str, Any]:
    d = service.institution_detail(session, user, code)
    return {
        **InstitutionOut.model_validate(d.institution).model_dump(),
        "parent_code": d.parent.code if d.parent else None,
        "memberships": [{"consortium": c.code, "role": m.role, "joined_on": m.joined_on, "left_on": m.left_on}
                        for m, c in d.memberships],
        "departments": [{"code": x.code, "name": x.name} for x in d.departments],
    }


@router.get("/practitioners")
def practitioners(session: DB, user: ApiUser, q: str | None = None, institution: str | None = None,
                  page: int = Query(1, ge=1), size: int = Query(20, ge=1, le=500)) -> dict[str, Any]:
    p = service.list_practitioners(session, user, PageRequest(page, size), q=q, institution=institution)
    return _page([PractitionerOut.model_validate(x).model_dump() for x in p.items], p.total, p.number, p.size)


@router.post("/practitioners", status_code=status.HTTP_201_CREATED, response_model=PractitionerOut)
def create_practitioner(data: PractitionerIn, session: DB, user: ApiUser) -> Any:
    return service.do_create_practitioner(session, user, data)


@router.post("/practitioners/{code}/sites", status_code=status.HTTP_201_CREATED)
def add_site(code: str, data: PracticeSiteIn, session: DB, user: ApiUser) -> dict[str, Any]:
    site = service.do_add_practice_site(session, user, code, data)
    return {"id": site.id, "basis": site.basis, "valid_from": site.valid_from}


@router.get("/consortia")
def list_consortia(session: DB, user: ApiUser, mode: str | None = None, integration: str | None = None,
                   q: str | None = None, page: int = Query(1, ge=1),
                   size: int = Query(20, ge=1, le=500)) -> dict[str, Any]:
    p = consortia.list_consortia(session, user, PageRequest(page, size), mode=mode, integration=integration, q=q)
    return _page([ConsortiumOut.model_validate(c).model_dump() for c in p.items], p.total, p.number, p.size)


@router.post("/consortia", status_code=status.HTTP_201_CREATED, response_model=ConsortiumOut)
def create_consortium(data: ConsortiumIn, session: DB, user: ApiUser) -> Any:
    return consortia.do_create_consortium(session, user, data)


@router.get("/consortia/{code}")
def consortium(code: str, session: DB, user: ApiUser) -> dict[str, Any]:
    d = consortia.consortium_detail(session, user, code)
    return {
        **ConsortiumOut.model_validate(d.consortium).model_dump(),
        "lead": d.lead.code if d.lead else None,
        "members": [MembershipOut(id=m.id, institution_code=i.code, institution_name=i.name, role=m.role,
                                  joined_on=m.joined_on, left_on=m.left_on).model_dump() for m, i in d.members],
        "groups": [{"id": a.id, "group": g.code, "joined_on": a.joined_on, "left_on": a.left_on} for a, g in d.groups],
        "communities": [{"id": a.id, "community": g.code, "joined_on": a.joined_on, "left_on": a.left_on}
                        for a, g in d.communities],
        "grid": d.grid.code if d.grid else None,
    }


@router.post("/consortia/{code}/members", status_code=status.HTTP_201_CREATED)
def add_member(code: str, data: MemberIn, session: DB, user: ApiUser) -> dict[str, Any]:
    m = consortia.do_add_member(session, user, code, data)
    return {"id": m.id, "role": m.role, "joined_on": m.joined_on}


@router.post("/consortia/{code}/members/{membership_id}/end")
def end_member(code: str, membership_id: int, data: EndIn, session: DB, user: ApiUser) -> dict[str, Any]:
    m = consortia.do_end_membership(session, user, code, membership_id, data.left_on)
    return {"id": m.id, "left_on": m.left_on}


@router.post("/consortia/{code}/lead")
def change_lead(code: str, data: LeadChangeIn, session: DB, user: ApiUser) -> dict[str, Any]:
    m = consortia.do_change_lead(session, user, code, data)
    return {"id": m.id, "joined_on": m.joined_on}


@router.post("/consortia/{code}/affiliations", status_code=status.HTTP_201_CREATED)
def join_group(code: str, data: AffiliationIn, session: DB, user: ApiUser) -> dict[str, Any]:
    a = consortia.do_join_group(session, user, code, data)
    return {"id": a.id, "joined_on": a.joined_on}


@router.post("/agreements", status_code=status.HTTP_201_CREATED)
def create_agreement(data: AgreementIn, session: DB, user: ApiUser) -> dict[str, Any]:
    a = consortia.do_create_agreement(session, user, data)
    return {"id": a.id, "kind": a.kind}


@router.get("/grids")
def grids(session: DB, user: ApiUser) -> dict[str, Any]:
    return {"items": [{"code": g.code, "name": g.name, "city_code": g.city_code, "group_id": g.group_id}
                      for g in consortia.list_grids(session, user)],
            "warnings": [{"code": w.code, "message": w.message, "subject": w.subject}
                         for w in consortia.grid_warnings(session, user)]}


@router.post("/grids", status_code=status.HTTP_201_CREATED)
def create_grid(data: GridIn, session: DB, user: ApiUser) -> dict[str, Any]:
    g = consortia.do_create_grid(session, user, data)
    return {"id": g.id, "code": g.code}
