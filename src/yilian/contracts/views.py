"""The family doctor's workbench (``/workbench``): my residents, due and overdue services,
sign / renew / terminate, record a delivery.

Routes turn form fields into the service's input models and pick a template; every rule,
scope check and audit row lives in the contracts services.  Posts work with and without
htmx (``HX-Redirect`` or a 303), errors land in ``#messages`` through the shared mapping.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from pydantic import BaseModel, ValidationError
from starlette.responses import RedirectResponse, Response

from yilian.contracts import delivery, service, teams
from yilian.contracts.schemas import DeliveryIn, RenewIn, SignIn, TerminateIn
from yilian.contracts.states import TERMINATION_REASON_NAMES_ZH
from yilian.core.clock import today_local
from yilian.core.errors import ValidationFailed
from yilian.core.paging import PageRequest
from yilian.web.csrf import verify_csrf
from yilian.web.deps import DB, PageUser, settings_of
from yilian.web.templating import flash, render

router = APIRouter(include_in_schema=False)

M = TypeVar("M", bound=BaseModel)
FormStr = Annotated[str, Form()]
CSRF = [Depends(verify_csrf)]

FIELD_NAMES_ZH = {
    "resident_id": "居民", "team_id": "团队", "start_on": "起始日", "end_on": "截止日", "version": "版本号",
    "reason": "解约原因", "reason_text": "原因说明", "on": "解约日期", "item_code": "服务项目",
    "delivered_on": "履约日期", "package_ids": "服务包",
}
PROBLEMS_ZH = {
    "missing": "必须填写", "date_parsing": "日期格式应为 年-月-日",
    "date_from_datetime_parsing": "日期格式应为 年-月-日", "int_parsing": "应为整数",
    "literal_error": "取值无效", "string_too_long": "内容过长",
}


def _form_model(model: type[M], **fields: Any) -> M:
    """Validate form fields into an input model; a blank field means "not given"."""
    data = {k: (v.strip() if isinstance(v, str) else v) for k, v in fields.items()}
    data = {k: v for k, v in data.items() if v not in ("", None, [])}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            {"field": FIELD_NAMES_ZH.get(str(e["loc"][0]), str(e["loc"][0])) if e["loc"] else "",
             "problem": PROBLEMS_ZH.get(e["type"], "格式不正确")}
            for e in exc.errors(include_input=False)
        ]
        summary = "；".join(f"{p['field']}：{p['problem']}" for p in problems)
        raise ValidationFailed(f"表单填写有误：{summary}", code="form_invalid", fields=problems) from None


def _done(request: Request, url: str, message: str) -> Response:
    flash(request, message)
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def _back(team_id: str | int | None) -> str:
    return "/workbench" + (f"?{urlencode({'team_id': team_id})}" if team_id else "")


@router.get("/workbench")
def workbench_page(
    request: Request, session: DB, user: PageUser, team_id: int | None = None, q: str = "", page: int = 1,
    resident_id: int | None = None,
) -> Response:
    my = delivery.my_teams(session, user)
    selected = next((t for t in my if t.id == team_id), None)
    size = settings_of(request).page_size
    result = delivery.workbench(session, user, PageRequest(page, size), team_id=selected.id if selected else None,
                                q=q or None)
    due_team = selected or (my[0] if my else None)
    due = (delivery.due_services(session, user, due_team.institution_id, team_id=due_team.id)
           if due_team is not None else [])
    personalised = [p for p in teams.list_packages(session, user) if p.kind == "personalised"]
    query = {k: v for k, v in {"team_id": team_id, "q": q}.items() if v}
    return render(
        request, "contracts/workbench.html", teams=my, selected=selected, q=q, page=result, due=due,
        due_team=due_team, packages=personalised, reasons=list(TERMINATION_REASON_NAMES_ZH.items()),
        base_url="/workbench?" + urlencode(query), today=today_local(), prefill_resident=resident_id,
    )


@router.get("/workbench/due")
def due_fragment(request: Request, session: DB, user: PageUser, team_id: int) -> Response:
    team = service.team_or_404(session, team_id)
    rows = delivery.due_services(session, user, team.institution_id, team_id=team.id)
    return render(request, "contracts/_due.html", due=rows, due_team=team, today=today_local())


@router.post("/workbench/sign", dependencies=CSRF)
def sign(
    request: Request, session: DB, user: PageUser,
    resident_id: FormStr = "", team_id: FormStr = "", start_on: FormStr = "", end_on: FormStr = "",
    package_ids: Annotated[list[str] | None, Form()] = None,
) -> Response:
    data = _form_model(SignIn, resident_id=resident_id, team_id=team_id, start_on=start_on, end_on=end_on,
                       package_ids=[p for p in (package_ids or []) if p.strip()])
    c = service.do_sign(session, user, data)
    return _done(request, _back(c.team_id), f"签约成功：合同 {c.id}，{c.start_on} 至 {c.end_on}。")


@router.post("/workbench/contracts/{contract_id:int}/renew", dependencies=CSRF)
def renew(
    request: Request, session: DB, user: PageUser, contract_id: int, version: FormStr = "", end_on: FormStr = "",
) -> Response:
    data = _form_model(RenewIn, version=version, end_on=end_on)
    _old, new = service.do_renew(session, user, contract_id, data)
    return _done(request, _back(new.team_id), f"续约成功：新合同 {new.start_on} 至 {new.end_on}。")


@router.post("/workbench/contracts/{contract_id:int}/terminate", dependencies=CSRF)
def terminate(
    request: Request, session: DB, user: PageUser, contract_id: int,
    version: FormStr = "", reason: FormStr = "", reason_text: FormStr = "", on: FormStr = "",
) -> Response:
    data = _form_model(TerminateIn, version=version, reason=reason, reason_text=reason_text, on=on)
    c = service.do_terminate(session, user, contract_id, data)
    return _done(request, _back(c.team_id), f"已解约（合同 {c.id}）。")


@router.post("/workbench/contracts/{contract_id:int}/deliveries", dependencies=CSRF)
def record_delivery(
    request: Request, session: DB, user: PageUser, contract_id: int,
    item_code: FormStr = "", delivered_on: FormStr = "", team_id: FormStr = "",
) -> Response:
    data = _form_model(DeliveryIn, item_code=item_code, delivered_on=delivered_on)
    d = delivery.do_record_delivery(session, user, contract_id, data)
    return _done(request, _back(team_id), f"已记录履约：{d.item_code}（{d.delivered_on}）。")
