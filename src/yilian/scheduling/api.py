"""Scheduling API under ``/api/v1/scheduling``: thin routes over the scheduling services."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, status

from yilian.core.errors import ValidationFailed
from yilian.scheduling import schedules, service
from yilian.scheduling.schedules import SlotView
from yilian.scheduling.schemas import (
    AppointmentOut,
    BedDaysIn,
    BookIn,
    CancelIn,
    NoShowStatusOut,
    PoolIn,
    PoolOut,
    ReleaseOut,
    ScheduleIn,
    ScheduleOut,
    SessionIn,
    SlotOut,
    WardIn,
    WardOut,
)
from yilian.web.deps import DB, ApiUser

router = APIRouter(prefix="/api/v1/scheduling", tags=["scheduling"])


def _slot_out(v: SlotView) -> SlotOut:
    s = v.slot
    return SlotOut(id=s.id, institution_id=s.institution_id, schedule_id=s.schedule_id, ward_id=s.ward_id,
                   pool_id=s.pool_id, pool_kind=v.pool.kind, effective_kind=v.effective_kind, kind=s.kind,
                   start_at=s.start_at, end_at=s.end_at, capacity=s.capacity, booked_count=s.booked_count,
                   released_at=s.released_at)


def _appt(a: object) -> AppointmentOut:
    return AppointmentOut.model_validate(a, from_attributes=True)


@router.post("/pools", response_model=PoolOut, status_code=status.HTTP_201_CREATED, summary="建立号源池")
def create_pool(body: PoolIn, session: DB, user: ApiUser) -> PoolOut:
    return PoolOut.model_validate(schedules.do_create_pool(session, user, body), from_attributes=True)


@router.get("/pools", response_model=list[PoolOut], summary="机构的号源池")
def list_pools(session: DB, user: ApiUser, institution_id: int) -> list[PoolOut]:
    return [PoolOut.model_validate(p, from_attributes=True)
            for p in schedules.list_pools(session, user, institution_id)]


@router.post("/schedules", response_model=ScheduleOut, status_code=status.HTTP_201_CREATED,
             summary="建立科室或医生出诊表")
def create_schedule(body: ScheduleIn, session: DB, user: ApiUser) -> ScheduleOut:
    return ScheduleOut.model_validate(schedules.do_create_schedule(session, user, body), from_attributes=True)


@router.post("/schedules/{schedule_id}/slots", response_model=list[SlotOut], status_code=status.HTTP_201_CREATED,
             summary="按出诊时段生成号源（按配置比例预留转诊和签约号源）")
def generate_slots(schedule_id: int, body: SessionIn, session: DB, user: ApiUser) -> list[SlotOut]:
    created = schedules.do_generate_slots(session, user, schedule_id, body)
    return [_slot_out(v) for v in schedules.slot_views(session, created)]


@router.post("/wards", response_model=WardOut, status_code=status.HTTP_201_CREATED,
             summary="建立病区（含转诊预留床位）")
def create_ward(body: WardIn, session: DB, user: ApiUser) -> WardOut:
    return WardOut.model_validate(schedules.do_create_ward(session, user, body), from_attributes=True)


@router.post("/wards/{ward_id}/bed-days", response_model=list[SlotOut], status_code=status.HTTP_201_CREATED,
             summary="开放病区床日")
def open_bed_days(ward_id: int, body: BedDaysIn, session: DB, user: ApiUser) -> list[SlotOut]:
    created = schedules.do_open_bed_days(session, user, ward_id, body)
    return [_slot_out(v) for v in schedules.slot_views(session, created)]


@router.get("/slots", response_model=list[SlotOut], summary="号源（按时间窗口）")
def list_slots(
    session: DB, user: ApiUser,
    start: Annotated[datetime, Query(alias="from", description="起始时间（ISO 8601，含时区）")],
    stop: Annotated[datetime | None, Query(alias="to", description="截止时间，默认起始后7天")] = None,
    institution_id: int | None = None, schedule_id: int | None = None, ward_id: int | None = None,
) -> list[SlotOut]:
    if start.tzinfo is None or (stop is not None and stop.tzinfo is None):
        raise ValidationFailed("时间须带时区，如 2025-03-03T08:00:00+08:00。", code="naive_datetime")
    stop = stop or start + timedelta(days=7)
    if institution_id is None and schedule_id is None and ward_id is None:
        raise ValidationFailed("请指定机构、出诊表或病区。", code="slot_filter_required")
    return [_slot_out(v) for v in schedules.list_slots(
        session, user, institution_id=institution_id, schedule_id=schedule_id, ward_id=ward_id, start=start,
        stop=stop)]


@router.post("/slots/{slot_id}/book", response_model=AppointmentOut, status_code=status.HTTP_201_CREATED,
             summary="预约（原子操作：一个号源至多约满其容量）")
def book(slot_id: int, body: BookIn, session: DB, user: ApiUser) -> AppointmentOut:
    return _appt(service.do_book(session, user, slot_id, body.resident_id, self_booking=body.self_booking))


@router.get("/appointments/{appointment_id}", response_model=AppointmentOut, summary="预约详情")
def get_appointment(appointment_id: int, session: DB, user: ApiUser) -> AppointmentOut:
    return _appt(service.get_appointment(session, user, appointment_id))


@router.post("/appointments/{appointment_id}/cancel", response_model=AppointmentOut, summary="取消预约")
def cancel(appointment_id: int, body: CancelIn, session: DB, user: ApiUser) -> AppointmentOut:
    return _appt(service.do_cancel(session, user, appointment_id, body.reason))


@router.post("/appointments/{appointment_id}/no-show", response_model=AppointmentOut, summary="记录爽约")
def no_show(appointment_id: int, session: DB, user: ApiUser) -> AppointmentOut:
    return _appt(service.do_mark_no_show(session, user, appointment_id))


@router.post("/appointments/{appointment_id}/check-in", response_model=AppointmentOut, summary="签到")
def check_in(appointment_id: int, session: DB, user: ApiUser) -> AppointmentOut:
    return _appt(service.do_check_in(session, user, appointment_id))


@router.post("/appointments/{appointment_id}/complete", response_model=AppointmentOut, summary="就诊完成")
def complete(appointment_id: int, session: DB, user: ApiUser) -> AppointmentOut:
    return _appt(service.do_complete(session, user, appointment_id))


@router.post("/release", response_model=ReleaseOut, summary="释放到期的预留号源（可重复执行）")
def release(session: DB, user: ApiUser) -> ReleaseOut:
    return ReleaseOut(released=service.do_release_reserved(session, user))


@router.get("/no-show-status", response_model=NoShowStatusOut, summary="居民近期爽约与自助预约限制")
def no_show_status(session: DB, user: ApiUser, resident_id: int, institution_id: int | None = None) -> NoShowStatusOut:
    st = service.no_show_status(session, user, resident_id, institution_id)
    return NoShowStatusOut(resident_id=st.resident_id, no_shows=st.no_shows, blocked_until=st.blocked_until)
