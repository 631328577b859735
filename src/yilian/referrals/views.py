"""Referral pages: the GP side (refer a patient with slot picking, my referrals with their timeline), the
receiver's inbox with deadlines and every receiver action, the referral office's approvals, the shared-record
extract (one click, audited) and the message inbox.

Routes turn form fields into the service's input models and pick a template; every rule, check and audit
row lives in the services.  Posts work with and without htmx (``HX-Redirect`` or a 303); refusals land in
``#messages`` through the shared error mapping.  Each action form carries the referral's ``version`` as a
hidden field.
"""

from __future__ import annotations

from typing import Any, Final, TypeVar

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from yilian.core.clock import to_local, utcnow
from yilian.core.errors import ValidationFailed
from yilian.referrals import events, reads, repository, service
from yilian.referrals.records import EVENT_NAMES_ZH, Event
from yilian.referrals.schemas import (
    CheckInIn,
    DeclineIn,
    DraftIn,
    EventIn,
    FollowUpIn,
    NoteIn,
    OutcomeIn,
    ReasonIn,
    ReassignIn,
    SlotIn,
    SubmitIn,
)
from yilian.web.csrf import verify_csrf
from yilian.web.deps import DB, PageUser
from yilian.web.templating import flash, render

router = APIRouter(include_in_schema=False)
events.register()

M = TypeVar("M", bound=BaseModel)
CSRF = [Depends(verify_csrf)]

DECLINE_CODES_ZH: Final = {"no_capacity": "床位/号源不足", "not_indicated": "无转诊指征",
                           "wrong_receiver": "应转其他机构", "patient_refused": "患者拒绝", "other": "其他（请说明）"}
FOLLOWUP_MODES_ZH: Final = {"clinic": "门诊随访", "home": "入户随访", "phone": "电话随访", "ward": "病房随访"}
CARE_SETTINGS_ZH: Final = {"outpatient": "门诊到诊", "inpatient": "住院"}
FIELD_NAMES_ZH: Final = {
    "resident_id": "居民编号", "receiving_institution_id": "接收机构", "direction": "转诊方向", "urgency": "紧急程度",
    "diagnoses": "诊断", "version": "版本号", "slot_id": "号源", "on": "随访日期", "code": "拒绝原因",
}
_LISTS: Final = ("diagnoses",)


async def _form(request: Request, model: type[M]) -> M:
    """Form fields → the input model; blank means "not given", comma/space separated lists split."""
    form = await request.form()
    data: dict[str, Any] = {}
    for key, value in form.items():
        if key == "csrf_token" or not isinstance(value, str) or not value.strip():
            continue
        text = value.strip()
        data[key] = [p for p in text.replace("，", ",").replace(" ", ",").split(",") if p] if key in _LISTS else text
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = [{"field": FIELD_NAMES_ZH.get(str(e["loc"][0]), str(e["loc"][0])) if e["loc"] else "",
                   "problem": "格式不正确" if e["type"] != "missing" else "必须填写"}
                  for e in exc.errors(include_input=False)]
        summary = "；".join(f"{f['field']}：{f['problem']}" for f in fields)
        raise ValidationFailed(f"表单填写有误：{summary}", code="form_invalid", fields=fields) from None


def _done(request: Request, url: str, message: str) -> Response:
    flash(request, message)
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


# ---- lists --------------------------------------------------------------------------------


@router.get("/referrals")
def my_referrals(request: Request, session: DB, user: PageUser) -> Response:
    rows = reads.list_referrals(session, user, reads.Side.SENT)
    return render(request, "referrals/list.html", rows=rows, side="sent", title="我发出的转诊", now=utcnow())


@router.get("/referrals/inbox")
def inbox(request: Request, session: DB, user: PageUser, all: bool = False) -> Response:
    rows = reads.list_referrals(session, user, reads.Side.RECEIVED, open_only=not all)
    return render(request, "referrals/list.html", rows=rows, side="received", title="转诊接收箱", now=utcnow(),
                  show_all=all)


@router.get("/referrals/office")
def office(request: Request, session: DB, user: PageUser) -> Response:
    now = utcnow()
    rows = reads.list_referrals(session, user, reads.Side.OFFICE, open_only=True, now=now)
    pending = [r for r in rows if r.status == "awaiting_approval"]
    overdue = [r for r in rows if r.status != "awaiting_approval" and (r.escalations or (
        r.next_deadline and r.next_deadline.overdue))]
    return render(request, "referrals/office.html", pending=pending, overdue=overdue, now=now)


@router.get("/referrals/notifications")
def notifications(request: Request, session: DB, user: PageUser) -> Response:
    return render(request, "referrals/notifications.html", items=reads.notifications(session, user))


@router.post("/referrals/notifications/{notification_id:int}/read", dependencies=CSRF)
def read_notification(request: Request, session: DB, user: PageUser, notification_id: int) -> Response:
    n = reads.mark_read(session, user, notification_id)
    return _done(request, n.link or "/referrals/notifications", "已标记为已读。")


# ---- refer a patient ------------------------------------------------------------------------


@router.get("/referrals/new")
def new_referral(request: Request, session: DB, user: PageUser, resident_id: int | None = None,
                 direction: str | None = None, receiving_institution_id: int | None = None) -> Response:
    resident = repository.resident(session, resident_id) if resident_id else None
    return render(request, "referrals/new.html", receivers=repository.referral_receivers(session, None),
                  resident=resident, resident_id=resident_id, direction=direction,
                  receiving_institution_id=receiving_institution_id)


@router.post("/referrals/new", dependencies=CSRF)
async def create_referral(request: Request, session: DB, user: PageUser) -> Response:
    data = await _form(request, DraftIn)
    ep = await run_in_threadpool(service.do_create_draft, session, user, data)
    return _done(request, f"/referrals/{ep.id}", f"已保存转诊草稿 {ep.id}，请选择号源后提交。")


# ---- one referral -----------------------------------------------------------------------------


@router.get("/referrals/{referral_id:int}")
def detail(request: Request, session: DB, user: PageUser, referral_id: int) -> Response:
    now = utcnow()
    view = reads.get_referral(session, user, referral_id, now=now)
    allowed = set(view.allowed_events)
    hold_slots = reads.available_slots(session, user, referral_id, hold=True, now=now) if "submit" in allowed else []
    book_slots = (reads.available_slots(session, user, referral_id, hold=False, now=now)
                  if allowed & {"schedule", "reschedule"} else [])
    departments = repository.departments_of(session, view.receiving_institution_id) if "reassign" in allowed else []
    clinician_at = {g.institution_id for g in user.grants if g.role.value == "clinician"}
    can_refer_down = (view.receiving_institution_id in clinician_at and view.direction != "down"
                      and view.status in ("in_care", "completed"))
    return render(
        request, "referrals/detail.html", r=view, allowed=allowed, timeline=reads.timeline(session, user, referral_id),
        hold_slots=hold_slots, book_slots=book_slots, departments=departments, events_zh=EVENT_NAMES_ZH,
        decline_codes=DECLINE_CODES_ZH, followup_modes=FOLLOWUP_MODES_ZH, care_settings=CARE_SETTINGS_ZH,
        can_refer_down=can_refer_down, today=to_local(now).date(), now=now,
    )


@router.get("/referrals/{referral_id:int}/record")
def record(request: Request, session: DB, user: PageUser, referral_id: int) -> Response:
    return render(request, "referrals/record.html", x=reads.read_extract(session, user, referral_id))


_ACTIONS: Final[dict[str, tuple[Event, type[EventIn], Any]]] = {
    "submit": (Event.SUBMIT, SubmitIn, service.do_submit),
    "approve": (Event.APPROVE, EventIn, service.do_approve),
    "reject": (Event.REJECT, ReasonIn, service.do_reject),
    "cancel": (Event.CANCEL, ReasonIn, service.do_cancel),
    "accept": (Event.ACCEPT, EventIn, service.do_accept),
    "decline": (Event.DECLINE, DeclineIn, service.do_decline),
    "schedule": (Event.SCHEDULE, SlotIn, service.do_schedule),
    "reschedule": (Event.RESCHEDULE, SlotIn, service.do_reschedule),
    "no-show": (Event.MARK_NO_SHOW, EventIn, service.do_mark_no_show),
    "check-in": (Event.CHECK_IN, CheckInIn, service.do_check_in),
    "note": (Event.NOTE, NoteIn, service.do_note),
    "outcome": (Event.COMPLETE, OutcomeIn, service.do_complete),
    "request-cancel": (Event.REQUEST_CANCEL, ReasonIn, service.do_request_cancel),
    "confirm-cancel": (Event.CONFIRM_CANCEL, EventIn, service.do_confirm_cancel),
    "reassign": (Event.REASSIGN, ReassignIn, service.do_reassign),
    "follow-up": (Event.RECORD_FOLLOWUP, FollowUpIn, service.do_record_followup),
}


@router.post("/referrals/{referral_id:int}/{action}", dependencies=CSRF)
async def act(request: Request, session: DB, user: PageUser, referral_id: int, action: str) -> Response:
    if action not in _ACTIONS:
        raise ValidationFailed("未知的操作", code="action_unknown", action=action)
    event, model, do = _ACTIONS[action]
    data = await _form(request, model)
    ep = await run_in_threadpool(do, session, user, referral_id, data)
    return _done(request, f"/referrals/{referral_id}", f"已{EVENT_NAMES_ZH[event]}：转诊单 {ep.id}。")
