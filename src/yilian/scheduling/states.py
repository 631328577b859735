"""Appointment statuses, their transition table and guards.

A booking starts ``booked``; the patient comes (``checked_in`` → ``completed``),
does not come (``no_show``, which feeds the repeated no-show rule), or the
booking is ``cancelled``.  No-show is terminal here: a referral that wants
another try books a new appointment (REFERRAL.md row 7 from ``no_show``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from yilian.core.errors import DomainError, InvalidTransition, ValidationFailed
from yilian.scheduling.config import SchedulingPolicy

__all__ = [
    "APPOINTMENT_EVENT_NAMES_ZH",
    "APPOINTMENT_STATUS_NAMES_ZH",
    "TERMINAL",
    "TRANSITIONS",
    "AppointmentEvent",
    "AppointmentSnapshot",
    "AppointmentStatus",
    "appointment_guard",
    "appointment_transition",
]


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    CANCELLED = "cancelled"
    CHECKED_IN = "checked_in"
    NO_SHOW = "no_show"
    COMPLETED = "completed"


TERMINAL: Final = frozenset(
    {AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW, AppointmentStatus.COMPLETED}
)


APPOINTMENT_STATUS_NAMES_ZH: Final[dict[AppointmentStatus, str]] = {
    AppointmentStatus.BOOKED: "已预约",
    AppointmentStatus.CANCELLED: "已取消",
    AppointmentStatus.CHECKED_IN: "已签到",
    AppointmentStatus.NO_SHOW: "爽约",
    AppointmentStatus.COMPLETED: "已完成",
}


class AppointmentEvent(StrEnum):
    CANCEL = "cancel"
    CHECK_IN = "check_in"
    MARK_NO_SHOW = "mark_no_show"
    COMPLETE = "complete"


APPOINTMENT_EVENT_NAMES_ZH: Final[dict[AppointmentEvent, str]] = {
    AppointmentEvent.CANCEL: "取消",
    AppointmentEvent.CHECK_IN: "签到",
    AppointmentEvent.MARK_NO_SHOW: "标记爽约",
    AppointmentEvent.COMPLETE: "完成",
}

TRANSITIONS: Final[Mapping[tuple[AppointmentStatus, AppointmentEvent], AppointmentStatus]] = {
    (AppointmentStatus.BOOKED, AppointmentEvent.CANCEL): AppointmentStatus.CANCELLED,
    (AppointmentStatus.BOOKED, AppointmentEvent.CHECK_IN): AppointmentStatus.CHECKED_IN,
    (AppointmentStatus.BOOKED, AppointmentEvent.MARK_NO_SHOW): AppointmentStatus.NO_SHOW,
    (AppointmentStatus.CHECKED_IN, AppointmentEvent.COMPLETE): AppointmentStatus.COMPLETED,
}


@dataclass(frozen=True, slots=True)
class AppointmentSnapshot:
    appointment_id: int
    status: AppointmentStatus
    slot_start: datetime


def appointment_guard(
    snap: AppointmentSnapshot, event: AppointmentEvent, now: datetime, policy: SchedulingPolicy
) -> DomainError | None:
    """The time rule of each event; ``None`` when it may happen now."""
    if event == AppointmentEvent.CANCEL and now > snap.slot_start - policy.cancel_cutoff:
        return ValidationFailed("已过取消时限，不能取消该预约", code="cancel_too_late")
    if event == AppointmentEvent.CHECK_IN and now < snap.slot_start - policy.checkin_opens_before:
        return ValidationFailed("尚未到签到时间", code="checkin_too_early")
    if event == AppointmentEvent.MARK_NO_SHOW and now < snap.slot_start + policy.no_show_grace:
        # Nobody can have failed to come to a slot that has not started.
        return ValidationFailed("号源时间未到，不能标记爽约", code="slot_not_started")
    return None


def appointment_transition(
    snap: AppointmentSnapshot, event: AppointmentEvent, now: datetime, policy: SchedulingPolicy
) -> AppointmentStatus:
    """The status ``event`` leads to, or the refusal raised."""
    target = TRANSITIONS.get((snap.status, event))
    if target is None:
        raise InvalidTransition(
            f"预约当前状态为“{APPOINTMENT_STATUS_NAMES_ZH[snap.status]}”，不能{APPOINTMENT_EVENT_NAMES_ZH[event]}",
            code="invalid_transition",
            status=snap.status.value,
            event=event.value,
        )
    refusal = appointment_guard(snap, event, now, policy)
    if refusal is not None:
        raise refusal
    return target
