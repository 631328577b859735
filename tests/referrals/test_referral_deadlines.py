"""Every deadline of REFERRAL.md: not due a second before, due at the deadline, once only.

Each row of the document's deadline table is a case: the status it watches,
the direction and urgency, the key and its default, and what falls due.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from referral_kit import POLICY, apply, reach, receiver_of

from yilian.core.errors import InvalidTransition, ValidationFailed
from yilian.referrals.config import (
    DOWN_DEADLINES,
    ROUTINE_DEADLINES,
    URGENT_DEADLINES,
    DeadlineSet,
    ReferralPolicy,
)
from yilian.referrals.records import CareSetting, EscalationKey, EscalationKind, RecordEscalation
from yilian.referrals.rules import DueAction, due_actions
from yilian.referrals.states import (
    SYSTEM,
    Approval,
    Direction,
    EndReason,
    Event,
    EventInput,
    ReferralSnapshot,
    Status,
    Urgency,
    next_snapshot,
    transition,
)

H = timedelta(hours=1)
D = timedelta(days=1)
R, U = Urgency.ROUTINE, Urgency.URGENT
UP, DOWN, LAT = Direction.UP, Direction.DOWN, Direction.LATERAL


def test_defaults_are_the_documents() -> None:
    assert (ROUTINE_DEADLINES.approval_escalate, ROUTINE_DEADLINES.approval_final) == (24 * H, 72 * H)
    assert (URGENT_DEADLINES.approval_escalate, URGENT_DEADLINES.approval_final) == (timedelta(minutes=30), H)
    assert (
        ROUTINE_DEADLINES.accept_escalate,
        URGENT_DEADLINES.accept_escalate,
        DOWN_DEADLINES.accept_escalate,
    ) == (24 * H, 2 * H, 48 * H)
    assert (ROUTINE_DEADLINES.accept_final, URGENT_DEADLINES.accept_final, DOWN_DEADLINES.accept_final) == (
        72 * H,
        6 * H,
        120 * H,
    )
    assert (ROUTINE_DEADLINES.arrange_escalate, URGENT_DEADLINES.arrange_escalate) == (72 * H, 4 * H)
    assert (ROUTINE_DEADLINES.attendance_escalate, URGENT_DEADLINES.attendance_escalate) == (24 * H, 4 * H)
    assert (ROUTINE_DEADLINES.no_show_final, URGENT_DEADLINES.no_show_final) == (14 * D, 72 * H)
    assert (
        ROUTINE_DEADLINES.outcome_escalate_outpatient
        == URGENT_DEADLINES.outcome_escalate_outpatient
        == 72 * H
    )
    assert (
        ROUTINE_DEADLINES.outcome_escalate_inpatient == URGENT_DEADLINES.outcome_escalate_inpatient == 30 * D
    )
    assert (
        ROUTINE_DEADLINES.cancel_escalate,
        URGENT_DEADLINES.cancel_escalate,
        DOWN_DEADLINES.cancel_escalate,
    ) == (24 * H, 2 * H, 24 * H)
    assert DOWN_DEADLINES.followup_due == 7 * D and ROUTINE_DEADLINES.followup_due is None
    # A down-referral has no approval and, after acceptance, only the follow-up clock.
    assert DOWN_DEADLINES.approval_escalate is None and DOWN_DEADLINES.arrange_escalate is None


def _clock_start(snap: ReferralSnapshot, key: str) -> datetime:
    if key == "attendance_escalate":
        assert snap.slot is not None
        return snap.slot.start
    if key == "followup_due":
        assert snap.accepted_at is not None
        return snap.accepted_at
    assert snap.status_entered_at is not None
    return snap.status_entered_at


def _reach(status: Status, direction: Direction, urgency: Urgency, key: str) -> ReferralSnapshot:
    snap, t = reach(status, direction, urgency=urgency)
    if key == "outcome_escalate_inpatient":  # enter in_care as an inpatient instead
        snap, t = reach(Status.ACCEPTED, direction, urgency=urgency)
        snap = apply(snap, Event.CHECK_IN, receiver_of(snap), t + H, care_setting=CareSetting.INPATIENT)
    return snap


CASES = [
    # status, direction, urgency, key, expected event, escalation kind (None for a final action)
    (Status.AWAITING_APPROVAL, UP, R, "approval_escalate", Event.ESCALATE, EscalationKind.APPROVAL),
    (Status.AWAITING_APPROVAL, LAT, U, "approval_escalate", Event.ESCALATE, EscalationKind.APPROVAL),
    (Status.AWAITING_APPROVAL, UP, R, "approval_final", Event.EXPIRE, None),
    (Status.AWAITING_APPROVAL, UP, U, "approval_final", Event.DEEM_APPROVAL, None),
    (Status.REQUESTED, UP, R, "accept_escalate", Event.ESCALATE, EscalationKind.ACCEPT),
    (Status.REQUESTED, UP, U, "accept_escalate", Event.ESCALATE, EscalationKind.ACCEPT),
    (Status.REQUESTED, DOWN, R, "accept_escalate", Event.ESCALATE, EscalationKind.ACCEPT),
    (Status.REQUESTED, UP, R, "accept_final", Event.EXPIRE, None),
    (Status.REQUESTED, LAT, U, "accept_final", Event.EXPIRE, None),
    (Status.REQUESTED, DOWN, R, "accept_final", Event.EXPIRE, None),
    (Status.ACCEPTED, UP, R, "arrange_escalate", Event.ESCALATE, EscalationKind.ARRANGE),
    (Status.ACCEPTED, UP, U, "arrange_escalate", Event.ESCALATE, EscalationKind.ARRANGE),
    (Status.SCHEDULED, UP, R, "attendance_escalate", Event.ESCALATE, EscalationKind.ATTENDANCE),
    (Status.SCHEDULED, LAT, U, "attendance_escalate", Event.ESCALATE, EscalationKind.ATTENDANCE),
    (Status.NO_SHOW, UP, R, "no_show_final", Event.EXPIRE, None),
    (Status.NO_SHOW, UP, U, "no_show_final", Event.EXPIRE, None),
    (Status.IN_CARE, UP, R, "outcome_escalate_outpatient", Event.ESCALATE, EscalationKind.OUTCOME),
    (Status.IN_CARE, UP, U, "outcome_escalate_inpatient", Event.ESCALATE, EscalationKind.OUTCOME),
    (Status.CANCEL_REQUESTED, UP, R, "cancel_escalate", Event.ESCALATE, EscalationKind.CANCEL),
    (Status.CANCEL_REQUESTED, UP, U, "cancel_escalate", Event.ESCALATE, EscalationKind.CANCEL),
    (Status.CANCEL_REQUESTED, DOWN, R, "cancel_escalate", Event.ESCALATE, EscalationKind.CANCEL),
    (Status.ACCEPTED, DOWN, R, "followup_due", Event.ESCALATE, EscalationKind.FOLLOWUP),
    (Status.SCHEDULED, DOWN, R, "followup_due", Event.ESCALATE, EscalationKind.FOLLOWUP),
    (Status.NO_SHOW, DOWN, R, "followup_due", Event.ESCALATE, EscalationKind.FOLLOWUP),
    (Status.IN_CARE, DOWN, R, "followup_due", Event.ESCALATE, EscalationKind.FOLLOWUP),
]


@pytest.mark.parametrize(
    ("status", "direction", "urgency", "key", "event", "kind"),
    CASES,
    ids=[f"{c[0]}-{c[1]}-{c[2]}-{c[3]}" for c in CASES],
)
def test_each_deadline(
    status: Status,
    direction: Direction,
    urgency: Urgency,
    key: str,
    event: Event,
    kind: EscalationKind | None,
) -> None:
    snap = _reach(status, direction, urgency, key)
    assert snap.deadlines is not None
    lead = getattr(snap.deadlines, key)
    assert lead is not None
    deadline = _clock_start(snap, key) + lead

    def mine(now: datetime) -> list[DueAction]:
        return [a for a in due_actions(snap, now, POLICY) if a.event == event and a.due_at == deadline]

    assert mine(deadline - timedelta(seconds=1)) == []
    (action,) = mine(deadline)
    if kind is not None:
        assert action.escalation is not None and action.escalation.kind == kind
    decision = transition(snap, EventInput(event), SYSTEM, deadline, POLICY)
    if action.escalation is not None:
        assert RecordEscalation(action.escalation, deadline) in decision.effects
    after = next_snapshot(snap, decision)
    assert [a for a in due_actions(after, deadline, POLICY) if a.event == event] == []
    if kind is not None:
        assert after.status == snap.status and after.version == snap.version
        # The same escalation is refused once recorded (unique key).
        with pytest.raises(InvalidTransition, match="already_escalated"):
            transition(after, EventInput(event), SYSTEM, deadline + D, POLICY)


@pytest.mark.parametrize(
    ("status", "direction"),
    [(Status.NO_SHOW, DOWN), (Status.ACCEPTED, DOWN), (Status.IN_CARE, DOWN), (Status.SCHEDULED, DOWN)],
)
def test_down_referral_after_acceptance_never_expires(status: Status, direction: Direction) -> None:
    snap, _t = reach(status, direction)
    far = snap.status_entered_at + timedelta(days=400) if snap.status_entered_at else None
    assert far is not None
    assert all(a.event == Event.ESCALATE for a in due_actions(snap, far, POLICY))


def test_follow_up_escalates_once_per_referral_across_statuses() -> None:
    snap, t = reach(Status.ACCEPTED, DOWN)
    late = t + 8 * D
    (action,) = due_actions(snap, late, POLICY)
    assert action.escalation == EscalationKey(EscalationKind.FOLLOWUP, None)
    snap = next_snapshot(snap, transition(snap, EventInput(Event.ESCALATE), SYSTEM, late, POLICY))
    snap = apply(snap, Event.CHECK_IN, receiver_of(snap), late)  # a new status entry
    assert due_actions(snap, late + 30 * D, POLICY) == ()


def test_after_downtime_escalation_and_expiry_both_come_in_deadline_order() -> None:
    snap, t = reach(Status.REQUESTED)
    actions = due_actions(snap, t + 10 * D, POLICY)
    assert [a.event for a in actions] == [Event.ESCALATE, Event.EXPIRE]
    for action in actions:
        snap = next_snapshot(snap, transition(snap, EventInput(action.event), SYSTEM, t + 10 * D, POLICY))
    assert snap.status == Status.EXPIRED and snap.end_reason == EndReason.EXPIRED_UNANSWERED
    assert due_actions(snap, t + 10 * D, POLICY) == ()


def test_deemed_approval_starts_the_accept_clock() -> None:
    snap, t = reach(Status.AWAITING_APPROVAL, urgency=U)
    at = t + 2 * H
    actions = due_actions(snap, at, POLICY)
    assert [a.event for a in actions] == [Event.ESCALATE, Event.DEEM_APPROVAL]
    for action in actions:
        snap = next_snapshot(snap, transition(snap, EventInput(action.event), SYSTEM, at, POLICY))
    assert (
        snap.status == Status.REQUESTED and snap.approval == Approval.DEEMED and snap.status_entered_at == at
    )
    assert due_actions(snap, at + H, POLICY) == ()
    assert [a.event for a in due_actions(snap, at + 2 * H, POLICY)] == [Event.ESCALATE]


def test_a_routine_approval_expires_and_an_urgent_one_cannot() -> None:
    routine, t = reach(Status.AWAITING_APPROVAL)
    d = transition(routine, EventInput(Event.EXPIRE), SYSTEM, t + 80 * H, POLICY)
    assert d.end_reason == EndReason.APPROVAL_EXPIRED
    urgent, t = reach(Status.AWAITING_APPROVAL, urgency=U)
    with pytest.raises(InvalidTransition, match="not_due"):
        transition(urgent, EventInput(Event.EXPIRE), SYSTEM, t + 80 * H, POLICY)
    with pytest.raises(InvalidTransition, match="not_due"):
        transition(routine, EventInput(Event.DEEM_APPROVAL), SYSTEM, t + 80 * H, POLICY)


def test_reschedule_restarts_the_attendance_clock() -> None:
    snap, t = reach(Status.SCHEDULED)
    assert snap.slot is not None
    first = snap.slot.start + 25 * H
    assert [a.event for a in due_actions(snap, first, POLICY)] == [Event.ESCALATE]
    snap = apply(snap, Event.RESCHEDULE, receiver_of(snap), t + H)
    assert snap.slot is not None
    assert due_actions(snap, snap.slot.start + 23 * H, POLICY) == ()


def test_deadlines_are_copied_at_submission() -> None:
    snap, t = reach(Status.REQUESTED)
    stricter = ReferralPolicy(routine=replace(ROUTINE_DEADLINES, accept_escalate=H))
    # A later configuration change applies to later referrals only.
    assert due_actions(snap, t + 2 * H, stricter) == ()
    draft_only = replace(snap, deadlines=None)
    assert [a.event for a in due_actions(draft_only, t + 2 * H, stricter)] == [Event.ESCALATE]


def test_unwatched_deadline_keys_are_skipped() -> None:
    quiet = DeadlineSet(accept_final=72 * H)
    snap, t = reach(Status.REQUESTED)
    snap = replace(snap, deadlines=quiet)
    assert [a.event for a in due_actions(snap, t + 100 * H, POLICY)] == [Event.EXPIRE]


def test_deadline_set_round_trips_through_seconds() -> None:
    stored = URGENT_DEADLINES.to_seconds()
    assert stored["approval_escalate"] == 1800 and stored["followup_due"] is None
    assert DeadlineSet.from_seconds(stored) == URGENT_DEADLINES
    with pytest.raises(ValidationFailed, match="deadline_key_unknown"):
        DeadlineSet.from_seconds({"accept_escalat": 60})


def test_drafts_and_terminal_referrals_have_no_deadlines() -> None:
    for status in (Status.DRAFT, Status.COMPLETED, Status.DECLINED, Status.CANCELLED, Status.EXPIRED):
        snap, t = reach(status)
        assert due_actions(snap, t + 400 * D, POLICY) == ()
