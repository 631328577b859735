"""Registry pages: consortia, institutions, practitioners (htmx for actions)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from yilian.core.paging import PageRequest
from yilian.identity.roles import Perm
from yilian.registry import categories, consortia, service
from yilian.registry.schemas import (
    AGREEMENT_ZH,
    CLEVEL_ZH,
    CTYPE_ZH,
    INTEGRATION_ZH,
    LEVEL_ZH,
    MODE_ZH,
    PRACTITIONER_CATEGORIES,
    ROLE_ZH,
    TITLE_ZH,
    AffiliationIn,
    ConsortiumIn,
    EndIn,
    GridIn,
    InstitutionIn,
    MemberIn,
)
from yilian.web.csrf import verify_csrf
from yilian.web.deps import DB, PageUser
from yilian.web.forms import form_model
from yilian.web.templating import flash, render

router = APIRouter(include_in_schema=False)
LABELS = {"mode": MODE_ZH, "integration": INTEGRATION_ZH, "level": LEVEL_ZH, "role": ROLE_ZH, "clevel": CLEVEL_ZH,
          "ctype": CTYPE_ZH, "title": TITLE_ZH, "pcat": PRACTITIONER_CATEGORIES, "agreement": AGREEMENT_ZH}


def _query(request: Request, *keys: str) -> str:
    parts = [f"{k}={request.query_params[k]}" for k in keys if request.query_params.get(k)]
    return "?" + "&".join(parts)


# ---- consortia ----------------------------------------------------------------------------

@router.get("/consortia")
def consortia_list(request: Request, session: DB, user: PageUser, q: str | None = None, mode: str | None = None,
                   integration: str | None = None, page: int = 1) -> Response:
    p = consortia.list_consortia(session, user, PageRequest(page, 20), mode=mode, integration=integration, q=q)
    return render(request, "registry/consortia.html", page=p, L=LABELS, q=q or "", mode=mode or "",
                  integration=integration or "", base_url=_query(request, "q", "mode", "integration"),
                  can_create=user.has(Perm.CONSORTIUM_CREATE), warnings=consortia.grid_warnings(session, user))


@router.get("/consortia/new")
def consortium_new(request: Request, session: DB, user: PageUser) -> Response:
    user.require(Perm.CONSORTIUM_CREATE)
    return render(request, "registry/consortium_new.html", L=LABELS,
                  divisions=service.list_divisions(session, user))


@router.post("/consortia/new", dependencies=[Depends(verify_csrf)])
async def consortium_create(request: Request, session: DB, user: PageUser) -> Response:
    data = await form_model(request, ConsortiumIn)
    c = consortia.do_create_consortium(session, user, data)
    flash(request, f"已创建医联体「{c.name}」。")
    return _back(request, f"/consortia/{c.code}")


@router.get("/consortia/{code}")
def consortium_page(code: str, request: Request, session: DB, user: PageUser) -> Response:
    d = consortia.consortium_detail(session, user, code)
    return render(request, "registry/consortium.html", d=d, L=LABELS)


@router.post("/consortia/{code}/members", dependencies=[Depends(verify_csrf)])
async def member_add(code: str, request: Request, session: DB, user: PageUser) -> Response:
    data = await form_model(request, MemberIn)
    consortia.do_add_member(session, user, code, data)
    flash(request, "已添加成员单位。")
    return _back(request, f"/consortia/{code}")


@router.post("/consortia/{code}/members/{membership_id}/end", dependencies=[Depends(verify_csrf)])
async def member_end(code: str, membership_id: int, request: Request, session: DB, user: PageUser) -> Response:
    data = await form_model(request, EndIn)
    consortia.do_end_membership(session, user, code, membership_id, data.left_on)
    flash(request, "已登记退出。")
    return _back(request, f"/consortia/{code}")


@router.post("/consortia/{code}/affiliations", dependencies=[Depends(verify_csrf)])
async def affiliation_add(code: str, request: Request, session: DB, user: PageUser) -> Response:
    data = await form_model(request, AffiliationIn)
    consortia.do_join_group(session, user, code, data)
    flash(request, "已登记整体加入医疗集团。")
    return _back(request, f"/consortia/{code}")


@router.post("/consortia/{code}/grid", dependencies=[Depends(verify_csrf)])
async def grid_add(code: str, request: Request, session: DB, user: PageUser) -> Response:
    form = await request.form()
    divisions = [d.strip() for d in str(form.get("division_codes", "")).replace("，", ",").split(",") if d.strip()]
    data = await form_model(request, GridIn, group_code=code, division_codes=divisions)
    consortia.do_create_grid(session, user, data)
    flash(request, "已建立网格。")
    return _back(request, f"/consortia/{code}")


def _back(request: Request, url: str) -> Response:
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


# ---- institutions -------------------------------------------------------------------------

@router.get("/institutions")
def institutions_list(request: Request, session: DB, user: PageUser, q: str | None = None,
                      category: str | None = None, level: str | None = None, page: int = 1) -> Response:
    p = service.list_institutions(session, user, PageRequest(page, 20), q=q, category=category, level=level)
    return render(request, "registry/institutions.html", page=p, L=LABELS, q=q or "", category=category or "",
                  level=level or "", base_url=_query(request, "q", "category", "level"),
                  categories=categories.load_categories(), can_create=user.has(Perm.REGISTRY_MANAGE),
                  divisions=service.list_divisions(session, user) if user.has(Perm.REGISTRY_MANAGE) else [])


@router.post("/institutions", dependencies=[Depends(verify_csrf)])
async def institution_create(request: Request, session: DB, user: PageUser) -> Response:
    data = await form_model(request, InstitutionIn)
    inst = service.do_create_institution(session, user, data)
    flash(request, f"已登记机构「{inst.name}」。")
    return _back(request, f"/institutions/{inst.code}")


@router.get("/institutions/{code}")
def institution_page(code: str, request: Request, session: DB, user: PageUser) -> Response:
    d = service.institution_detail(session, user, code)
    staff = service.list_practitioners(session, user, PageRequest(1, 100), institution=code)
    return render(request, "registry/institution.html", d=d, staff=staff, L=LABELS,
                  category_name=categories.category_name(d.institution.category))


# ---- practitioners ------------------------------------------------------------------------

@router.get("/practitioners")
def practitioners_list(request: Request, session: DB, user: PageUser, q: str | None = None,
                       institution: str | None = None, page: int = 1) -> Response:
    p = service.list_practitioners(session, user, PageRequest(page, 20), q=q, institution=institution)
    return render(request, "registry/practitioners.html", page=p, L=LABELS, q=q or "",
                  institution=institution or "", base_url=_query(request, "q", "institution"))


@router.get("/practitioners/{code}")
def practitioner_page(code: str, request: Request, session: DB, user: PageUser) -> Response:
    p, home, sites = service.practitioner_detail(session, user, code)
    return render(request, "registry/practitioner.html", p=p, home=home, sites=sites, L=LABELS)
