"""Appointment statuses: the table, the time guards, terminal statuses closed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from yilian.core.errors import InvalidTransition, ValidationFailed
from yilian.scheduling.config import SchedulingPolicy
from yilian.scheduling.states import (
    TERMINAL,
    TRANSITIONS,
    AppointmentEvent,
    AppointmentSnapshot,
    AppointmentStatus,
    appointment_transition,
)

POLICY = SchedulingPolicy()
START = datetime(2025, 3, 5, 1, 0, tzinfo=UTC)
H = timedelta(hours=1)


def appt(status: AppointmentStatus = AppointmentStatus.BOOKED) -> AppointmentSnapshot:
    return AppointmentSnapshot(1, status, START)


@pytest.mark.parametrize(
    ("status", "event", "now", "target"),
    [
        (AppointmentStatus.BOOKED, AppointmentEvent.CANCEL, START - H, AppointmentStatus.CANCELLED),
        (AppointmentStatus.BOOKED, AppointmentEvent.CHECK_IN, START - H, AppointmentStatus.CHECKED_IN),
        (AppointmentStatus.BOOKED, AppointmentEvent.MARK_NO_SHOW, START, AppointmentStatus.NO_SHOW),
        (AppointmentStatus.CHECKED_IN, AppointmentEvent.COMPLETE, START + H, AppointmentStatus.COMPLETED),
    ],
)
def test_table(
    status: AppointmentStatus, event: AppointmentEvent, now: datetime, target: AppointmentStatus
) -> None:
    assert TRANSITIONS[(status, event)] == target
    assert appointment_transition(appt(status), event, now, POLICY) == target


@pytest.mark.parametrize(
    ("event", "now", "policy", "code"),
    [
        (AppointmentEvent.CANCEL, START + H, POLICY, "cancel_too_late"),
        (AppointmentEvent.CANCEL, START - H, SchedulingPolicy(cancel_cutoff=2 * H), "cancel_too_late"),
        (AppointmentEvent.CHECK_IN, START - 25 * H, POLICY, "checkin_too_early"),
        (AppointmentEvent.MARK_NO_SHOW, START - H, POLICY, "slot_not_started"),
        (AppointmentEvent.MARK_NO_SHOW, START + H, SchedulingPolicy(no_show_grace=2 * H), "slot_not_started"),
    ],
)
def test_time_guards(event: AppointmentEvent, now: datetime, policy: SchedulingPolicy, code: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        appointment_transition(appt(), event, now, policy)
    assert err.value.code == code


@pytest.mark.parametrize(
    ("status", "event"),
    [(s, e) for s in AppointmentStatus for e in AppointmentEvent if (s, e) not in TRANSITIONS],
)
def test_events_outside_the_table_are_refused(status: AppointmentStatus, event: AppointmentEvent) -> None:
    with pytest.raises(InvalidTransition) as err:
        appointment_transition(appt(status), event, START, POLICY)
    assert err.value.code == "invalid_transition"


def test_terminal_statuses() -> None:
    assert {AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW, AppointmentStatus.COMPLETED} == TERMINAL
    assert not any(s in TERMINAL for (s, _e) in TRANSITIONS)
