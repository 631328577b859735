"""Residents pages: search and register, a resident's record, possible duplicates.

Routes only turn form fields into the service's input models and pick a template;
every rule, scope check and audit row lives in ``residents.service``.  Form posts
work with and without htmx: htmx gets an ``HX-Redirect`` (its errors land in
``#messages`` through the shared error mapping), a plain form a 303 redirect.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from pydantic import BaseModel, ValidationError
from starlette.responses import RedirectResponse, Response

from yilian.core.errors import ValidationFailed
from yilian.core.paging import PageRequest
from yilian.identity.roles import Perm
from yilian.residents import rules, service
from yilian.residents.schemas import (
    DuplicateReviewIn,
    EnrolmentIn,
    KeyPopulationEndIn,
    KeyPopulationIn,
    ResidentIn,
)
from yilian.web.csrf import verify_csrf
from yilian.web.deps import DB, PageUser, settings_of
from yilian.web.templating import flash, render

router = APIRouter(include_in_schema=False)

M = TypeVar("M", bound=BaseModel)
FormStr = Annotated[str, Form()]
CSRF = [Depends(verify_csrf)]

# Shown by the templates next to codes; the codes themselves stay the stored values.
LABELS: dict[str, Any] = {
    "key_populations": {k.value: v for k, v in rules.KEY_POPULATION_NAMES_ZH.items()},
    "recorded": [(k.value, rules.KEY_POPULATION_NAMES_ZH[k]) for k in rules.KeyPop if k in rules.RECORDED],
    "schemes": [(s.value, n) for s, n in rules.SCHEME_NAMES_ZH.items()],
}


FIELD_NAMES_ZH = {
    "name": "姓名", "id_number": "身份证号码", "sex": "性别", "birth_date": "出生日期", "phone": "电话",
    "address_division_code": "住址乡镇", "address_detail": "详细住址", "scheme": "险种",
    "insured_division_code": "参保地", "start_on": "起始日期", "end_on": "终止日期", "code": "重点人群",
    "since": "起始日期", "until": "结束日期", "decision": "判定结果", "resident_a_id": "居民",
    "resident_b_id": "居民",
}
# Pydantic's messages are English; the page says what is wrong in Chinese, by error type.
PROBLEMS_ZH = {
    "missing": "必须填写", "date_parsing": "日期格式应为 年-月-日",
    "date_from_datetime_parsing": "日期格式应为 年-月-日",
    "int_parsing": "应为整数", "string_too_long": "内容过长", "literal_error": "取值无效",
    "greater_than_equal": "取值无效", "less_than_equal": "取值无效",
}


def _form_model(model: type[M], **fields: str) -> M:
    """Validate form fields into an input model; a blank field means "not given"."""
    data = {k: v.strip() for k, v in fields.items() if v.strip()}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            {"field": FIELD_NAMES_ZH.get(str(e["loc"][0]), str(e["loc"][0])) if e["loc"] else "",
             "problem": PROBLEMS_ZH.get(e["type"], "格式不正确")}
            for e in exc.errors(include_input=False)
        ]
        raise ValidationFailed("表单填写不完整或格式不正确。", code="form_invalid", fields=problems) from None


def _int_or_none(value: str, what: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit():
        raise ValidationFailed(f"{what}无效。", code="form_invalid")
    return int(value)


def _done(request: Request, url: str, message: str) -> Response:
    flash(request, message)
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def _page_size(request: Request) -> int:
    return settings_of(request).page_size


# ---- list, search and register ------------------------------------------------------------


@router.get("/residents")
def residents_page(request: Request, session: DB, user: PageUser, q: str = "", page: int = 1) -> Response:
    result = service.search_residents(session, user, q, PageRequest(page, _page_size(request)))
    context: dict[str, Any] = {
        "q": q, "page": result, "base_url": "/residents?" + urlencode({"q": q}),
    }
    if request.headers.get("hx-target") == "results":
        return render(request, "residents/_results.html", **context)
    return render(request, "residents/list.html", **context,
                  can_write=user.has(Perm.RESIDENT_WRITE),
                  institutions=service.registration_institutions(session, user))


@router.post("/residents", dependencies=CSRF)
def register(
    request: Request, session: DB, user: PageUser,
    name: FormStr = "", id_number: FormStr = "", sex: FormStr = "", birth_date: FormStr = "",
    phone: FormStr = "", address_division_code: FormStr = "", address_detail: FormStr = "",
    institution_id: FormStr = "",
) -> Response:
    data = _form_model(
        ResidentIn, name=name, id_number=id_number, sex=sex, birth_date=birth_date, phone=phone,
        address_division_code=address_division_code, address_detail=address_detail,
    )
    at = _int_or_none(institution_id, "登记机构")
    resident, created = service.do_register_resident(session, user, data, at)
    message = "居民已登记。" if created else "该身份证号码已经登记，已打开已有档案。"
    return _done(request, f"/residents/{resident.id}", message)


# ---- possible duplicates (before /residents/{id}, a fixed path wins) -----------------------


@router.get("/residents/duplicates")
def duplicates_page(
    request: Request, session: DB, user: PageUser, view: str = "open", page: int = 1
) -> Response:
    paging = PageRequest(page, _page_size(request))
    same = view == "same"
    lister = service.list_same_person_reviews if same else service.list_duplicate_candidates
    result = lister(session, user, paging)
    return render(request, "residents/duplicates.html", page=result, view="same" if same else "open",
                  base_url="/residents/duplicates?" + urlencode({"view": "same" if same else "open"}),
                  can_write=user.has(Perm.RESIDENT_WRITE))


@router.post("/residents/duplicates/review", dependencies=CSRF)
def review_duplicate(
    request: Request, session: DB, user: PageUser,
    resident_a_id: FormStr = "", resident_b_id: FormStr = "", decision: FormStr = "",
) -> Response:
    data = _form_model(DuplicateReviewIn, resident_a_id=resident_a_id, resident_b_id=resident_b_id,
                       decision=decision)
    service.do_review_duplicate(session, user, data.resident_a_id, data.resident_b_id, data.decision)
    message = ("已判定为不同的人。" if data.decision == "distinct"
               else "已判定为同一人，等待数据管理员处理（未合并）。")
    return _done(request, "/residents/duplicates", message)


# ---- one resident -------------------------------------------------------------------------


def _detail(request: Request, session: DB, user: PageUser, resident_id: int, **extra: Any) -> Response:
    record = service.get_resident(session, user, resident_id)
    return render(request, "residents/detail.html", r=record, labels=LABELS,
                  can_write=user.has(Perm.RESIDENT_WRITE), **extra)


@router.get("/residents/{resident_id:int}")
def resident_page(request: Request, session: DB, user: PageUser, resident_id: int) -> Response:
    return _detail(request, session, user, resident_id)


@router.post("/residents/{resident_id:int}/reveal", dependencies=CSRF)
def reveal(request: Request, session: DB, user: PageUser, resident_id: int, reason: FormStr = "") -> Response:
    number = service.reveal_id_number(session, user, resident_id, reason)
    response: Response
    if request.headers.get("hx-request"):
        response = render(request, "residents/_id_number.html", number=number)
    else:
        response = _detail(request, session, user, resident_id, revealed=number)
    # The full number must not stay behind in a browser or proxy cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/residents/{resident_id:int}/enrolments", dependencies=CSRF)
def add_enrolment(
    request: Request, session: DB, user: PageUser, resident_id: int,
    scheme: FormStr = "", insured_division_code: FormStr = "", start_on: FormStr = "", end_on: FormStr = "",
) -> Response:
    data = _form_model(EnrolmentIn, scheme=scheme, insured_division_code=insured_division_code,
                       start_on=start_on, end_on=end_on)
    service.do_add_enrolment(session, user, resident_id, data)
    return _done(request, f"/residents/{resident_id}", "参保信息已登记。")


@router.post("/residents/{resident_id:int}/key-populations", dependencies=CSRF)
def record_key_population(
    request: Request, session: DB, user: PageUser, resident_id: int,
    code: FormStr = "", since: FormStr = "", until: FormStr = "",
) -> Response:
    data = _form_model(KeyPopulationIn, code=code, since=since, until=until)
    _, created = service.do_record_key_population(
        session, user, resident_id, data.code, data.since, data.until
    )
    message = "重点人群已登记。" if created else "该重点人群在这段时间已有记录，未重复登记。"
    return _done(request, f"/residents/{resident_id}", message)


@router.post("/residents/{resident_id:int}/key-populations/{key_population_id:int}/end", dependencies=CSRF)
def end_key_population(
    request: Request, session: DB, user: PageUser, resident_id: int, key_population_id: int,
    until: FormStr = "",
) -> Response:
    data = _form_model(KeyPopulationEndIn, until=until)
    service.do_end_key_population(session, user, resident_id, key_population_id, data.until)
    return _done(request, f"/residents/{resident_id}", "重点人群记录已结束。")
