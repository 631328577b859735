"""Scheduling pages: departments with schedules, and a department's day of slots by pool
(``/scheduling/departments/{id}?day=``) with booking, cancellation, check-in and no-show.

Routes only read form fields and pick a template; the rules, scope checks and audit rows
are in the scheduling services.  Posts return to the page they came from (``back``, which
must be a scheduling page), with htmx (``HX-Redirect``) or without (303).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from yilian.core.clock import today_local
from yilian.core.errors import ValidationFailed
from yilian.scheduling import schedules, service
from yilian.web.csrf import verify_csrf
from yilian.web.deps import DB, PageUser
from yilian.web.templating import flash, render

router = APIRouter(include_in_schema=False)

FormStr = Annotated[str, Form()]
CSRF = [Depends(verify_csrf)]

STATUS_NAMES_ZH = {"booked": "已预约", "cancelled": "已取消", "checked_in": "已签到", "no_show": "爽约",
                   "completed": "已就诊"}


def _back(back: str) -> str:
    return back if back.startswith("/scheduling/") and "//" not in back else "/scheduling"


def _done(request: Request, back: str, message: str) -> Response:
    flash(request, message)
    url = _back(back)
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def _int(value: str, what: str) -> int:
    value = value.strip()
    if not value.isdigit():
        raise ValidationFailed(f"请填写{what}。", code="form_invalid")
    return int(value)


@router.get("/scheduling")
def departments_page(request: Request, session: DB, user: PageUser, institution_id: int | None = None) -> Response:
    return render(request, "scheduling/departments.html",
                  rows=schedules.departments(session, user, institution_id), today=today_local())


@router.get("/scheduling/departments/{department_id:int}")
def department_page(request: Request, session: DB, user: PageUser, department_id: int,
                    day: date | None = None) -> Response:
    view = schedules.department_day(session, user, department_id, day or today_local())
    return render(request, "scheduling/department.html", view=view, pool_names=schedules.POOL_NAMES_ZH,
                  status_names=STATUS_NAMES_ZH,
                  back=f"/scheduling/departments/{department_id}?day={view.day.isoformat()}")


@router.post("/scheduling/slots/{slot_id:int}/book", dependencies=CSRF)
def book(request: Request, session: DB, user: PageUser, slot_id: int, resident_id: FormStr = "",
         self_booking: FormStr = "", back: FormStr = "") -> Response:
    appt = service.do_book(session, user, slot_id, _int(resident_id, "居民编号"), self_booking=bool(self_booking))
    flags = "（优先）" if appt.priority else ""
    return _done(request, back, f"预约成功：预约号 {appt.id}{flags}。")


@router.post("/scheduling/appointments/{appointment_id:int}/cancel", dependencies=CSRF)
def cancel(request: Request, session: DB, user: PageUser, appointment_id: int, reason: FormStr = "",
           back: FormStr = "") -> Response:
    service.do_cancel(session, user, appointment_id, reason or None)
    return _done(request, back, "预约已取消。")


@router.post("/scheduling/appointments/{appointment_id:int}/no-show", dependencies=CSRF)
def no_show(request: Request, session: DB, user: PageUser, appointment_id: int, back: FormStr = "") -> Response:
    service.do_mark_no_show(session, user, appointment_id)
    return _done(request, back, "已记录爽约。")


@router.post("/scheduling/appointments/{appointment_id:int}/check-in", dependencies=CSRF)
def check_in(request: Request, session: DB, user: PageUser, appointment_id: int, back: FormStr = "") -> Response:
    service.do_check_in(session, user, appointment_id)
    return _done(request, back, "已签到。")
