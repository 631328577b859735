"""Every guard of the transition table, and the side effects each row asks the service for."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from referral_kit import (
    ALL_BENEFITS,
    CENTRE,
    FAR,
    HOSPITAL,
    LATER,
    OFFICER_X,
    POLICY,
    SPEC,
    T0,
    X,
    Y,
    apply,
    contract_team_at,
    draft,
    local_date,
    payload,
    reach,
    receiver_of,
    sender_of,
    slot,
)

from yilian.contracts.config import PriorityBenefit
from yilian.core.errors import Conflict, DomainError, Forbidden, InvalidTransition, ValidationFailed
from yilian.referrals.config import ReferralPolicy
from yilian.referrals.records import (
    ApplyBenefits,
    BookSlot,
    CancelFollowUpTask,
    CareKind,
    CareSetting,
    CloseCareRelationship,
    CompleteFollowUpTask,
    CreateFollowUpTask,
    DeclineCode,
    EndBenefits,
    FollowUp,
    FollowUpEvidence,
    FollowUpMode,
    FollowUpSource,
    HoldSlot,
    Notify,
    OpenCareRelationship,
    Outcome,
    ReleaseSlot,
    RouteInbox,
    Routing,
    SetAppointmentStatus,
    SlotState,
)
from yilian.referrals.states import (
    SYSTEM,
    Actor,
    Approval,
    Decision,
    Direction,
    EndReason,
    Event,
    Party,
    ReferralSnapshot,
    Status,
    Urgency,
    transition,
)
from yilian.scheduling.rules import PoolKind
from yilian.scheduling.states import AppointmentStatus


def refused(
    snap: ReferralSnapshot, event: Event, *, actor: Actor | None = None, at: datetime = T0, **kw: Any
) -> DomainError:
    """The refusal of ``event``; by default from the sender (sender events) or the receiver."""
    sender_events = (Event.SUBMIT, Event.CANCEL, Event.REQUEST_CANCEL)
    if actor is None:
        actor = sender_of(snap) if event in sender_events else receiver_of(snap)
    with pytest.raises(DomainError) as err:
        transition(snap, payload(event, snap, at, **kw), actor, at, POLICY)
    return err.value


def decide(
    snap: ReferralSnapshot, event: Event, actor: Actor, at: datetime, policy: ReferralPolicy = POLICY,
    **kw: Any,
) -> Decision:
    return transition(snap, payload(event, snap, at, **kw), actor, at, policy)


# --------------------------------------------------------------------------- row 1 submit


@pytest.mark.parametrize(
    ("snap", "code", "error"),
    [
        pytest.param(draft(receiving_institution_id=CENTRE), "same_institution", ValidationFailed, id="same"),
        pytest.param(
            draft(Direction.DOWN, urgency=Urgency.URGENT),
            "urgency_not_allowed",
            ValidationFailed,
            id="down-urgent",
        ),
        pytest.param(draft(urgency=None), "urgency_required", ValidationFailed, id="up-no-urgency"),
        pytest.param(
            draft(Direction.LATERAL, urgency=None),
            "urgency_required",
            ValidationFailed,
            id="lateral-no-urgency",
        ),
        pytest.param(
            draft(facts=replace(draft().facts, receiver_tier=1)),
            "not_higher_tier",
            ValidationFailed,
            id="up-equal-tier",
        ),
        pytest.param(
            draft(facts=replace(draft().facts, receiver_tier=0)),
            "not_higher_tier",
            ValidationFailed,
            id="up-lower-tier",
        ),
        pytest.param(
            draft(Direction.DOWN, facts=replace(draft(Direction.DOWN).facts, receiver_tier=3)),
            "not_lower_tier",
            ValidationFailed,
            id="down-equal-tier",
        ),
        pytest.param(
            draft(facts=replace(draft().facts, sender_tier=None)),
            "tier_unknown",
            ValidationFailed,
            id="tier-unknown",
        ),
        pytest.param(draft(diagnoses=()), "diagnosis_required", ValidationFailed, id="no-diagnosis"),
        pytest.param(draft(diagnoses=("K35.800",)), "reason_required", ValidationFailed, id="off-catalogue"),
        pytest.param(
            draft(Direction.DOWN, handover=None), "handover_required", ValidationFailed, id="down-no-handover"
        ),
        pytest.param(
            draft(facts=replace(draft().facts, resident_in_sender_scope=False)),
            "resident_out_of_scope",
            Forbidden,
            id="out-of-scope",
        ),
    ],
)
def test_submit_guards(snap: ReferralSnapshot, code: str, error: type[DomainError]) -> None:
    err = refused(snap, Event.SUBMIT)
    assert isinstance(err, error) and err.code == code


def test_submit_accepts_an_off_catalogue_diagnosis_with_a_reason_and_a_designated_centre() -> None:
    snap = draft(
        diagnoses=("K35.800",), reason="疑似穿孔，需外科评估", facts=replace(draft().facts, receiver_tier=1)
    )
    designated = ReferralPolicy(catalogues=POLICY.catalogues, designated_centres=frozenset({HOSPITAL}))
    assert decide(snap, Event.SUBMIT, sender_of(snap), T0, designated).to_status == Status.REQUESTED
    lateral = draft(Direction.LATERAL, facts=replace(draft().facts, receiver_tier=1))
    assert decide(lateral, Event.SUBMIT, sender_of(lateral), T0).to_status == Status.REQUESTED


def test_down_referral_catalogue_includes_rehabilitation() -> None:
    snap = draft(Direction.DOWN, diagnoses=("S72.001",))
    assert decide(snap, Event.SUBMIT, SPEC, T0).to_status == Status.REQUESTED


@pytest.mark.parametrize(
    ("held", "code", "error"),
    [
        (
            slot(1, T0 + timedelta(days=1), institution=CENTRE, kind=PoolKind.REFERRAL),
            "slot_not_at_receiver",
            ValidationFailed,
        ),
        (slot(1, T0 + timedelta(days=1), kind=PoolKind.PUBLIC), "pool_not_open", Forbidden),
        (slot(1, T0 + timedelta(days=1), kind=PoolKind.REFERRAL, consortium=Y), "pool_not_open", Forbidden),
        (slot(1, T0 - timedelta(hours=1), kind=PoolKind.REFERRAL), "slot_in_past", ValidationFailed),
        (slot(1, T0 + timedelta(days=1), kind=PoolKind.REFERRAL, free=False), "slot_taken", Conflict),
    ],
    ids=["other-institution", "public-pool", "pool-of-other-consortium", "past", "taken"],
)
def test_submit_slot_guards(held: object, code: str, error: type[DomainError]) -> None:
    err = refused(draft(), Event.SUBMIT, slot=held)
    assert isinstance(err, error) and err.code == code


def test_submit_holds_the_slot_copies_deadlines_and_notifies_the_receiver() -> None:
    held = slot(5, T0 + timedelta(days=1), kind=PoolKind.REFERRAL)
    d = decide(draft(), Event.SUBMIT, sender_of(draft()), T0, slot=held)
    assert d.to_status == Status.REQUESTED and d.approval == Approval.NOT_REQUIRED
    assert HoldSlot(5, HOSPITAL, held.start) in d.effects
    assert Notify(frozenset({Party.RECEIVER}), "submitted") in d.effects
    assert d.deadlines == POLICY.routine and d.follow_on is None


def test_submit_out_of_network_waits_for_the_referral_office() -> None:
    snap = draft(out_of_network=True)
    d = decide(snap, Event.SUBMIT, sender_of(snap), T0)
    assert d.to_status == Status.AWAITING_APPROVAL and d.approval == Approval.PENDING
    assert Notify(frozenset({Party.REFERRAL_OFFICE}), "submitted", X) in d.effects


def test_submit_out_of_network_is_exempt_when_nobody_in_network_treats_it() -> None:
    snap = draft(out_of_network=True, diagnoses=("C92.000",), reason="白血病，县内无血液科")
    d = decide(snap, Event.SUBMIT, sender_of(snap), T0)
    assert d.to_status == Status.REQUESTED and d.approval == Approval.EXEMPT


def test_submit_down_to_the_contracted_team_chains_auto_acceptance() -> None:
    snap = draft(
        Direction.DOWN, facts=replace(draft(Direction.DOWN).facts, contract_team=contract_team_at(CENTRE))
    )
    d = decide(snap, Event.SUBMIT, SPEC, T0)
    assert d.follow_on == Event.AUTO_ACCEPT and d.deadlines == POLICY.down
    after = apply(snap, Event.SUBMIT, SPEC, T0)
    assert after.status == Status.ACCEPTED and after.accepted_at == T0
    off = ReferralPolicy(catalogues=POLICY.catalogues, down_auto_accept=False)
    assert decide(snap, Event.SUBMIT, SPEC, T0, off).follow_on is None


# --------------------------------------------------------------------------- rows 2-4


def test_approve_and_reject() -> None:
    snap, t = reach(Status.AWAITING_APPROVAL)
    d = decide(snap, Event.APPROVE, OFFICER_X, t)
    assert (d.to_status, d.approval) == (Status.REQUESTED, Approval.APPROVED) and d.new_status_entry
    err = refused(snap, Event.REJECT, actor=OFFICER_X, at=t, reason=" ")
    assert isinstance(err, ValidationFailed) and err.code == "reason_required"
    d = decide(snap, Event.REJECT, OFFICER_X, t)
    assert (d.to_status, d.approval, d.end_reason) == (
        Status.DECLINED,
        Approval.REJECTED,
        EndReason.APPROVAL_REJECTED,
    )


def test_cancel_needs_a_reason_except_for_a_draft_and_releases_the_hold() -> None:
    d = decide(draft(), Event.CANCEL, sender_of(draft()), T0, reason=None)
    assert d.to_status == Status.CANCELLED and d.end_reason == EndReason.CANCELLED_BY_SENDER
    held = slot(5, T0 + timedelta(days=1), kind=PoolKind.REFERRAL)
    snap = apply(draft(), Event.SUBMIT, sender_of(draft()), T0, slot=held)
    err = refused(snap, Event.CANCEL, reason="")
    assert isinstance(err, ValidationFailed) and err.code == "reason_required"
    d = decide(snap, Event.CANCEL, sender_of(snap), T0)
    assert ReleaseSlot(5) in d.effects and Notify(frozenset({Party.RECEIVER}), "cancelled") in d.effects


# --------------------------------------------------------------------------- row 5 accept


def test_accept_turns_a_future_hold_into_a_booking_with_the_episode_flags() -> None:
    held = slot(5, T0 + timedelta(days=1), kind=PoolKind.REFERRAL)
    snap = apply(draft(), Event.SUBMIT, sender_of(draft()), T0, slot=held)
    d = decide(snap, Event.ACCEPT, receiver_of(snap), T0 + timedelta(hours=1))
    assert d.to_status == Status.SCHEDULED
    booking = next(e for e in d.effects if isinstance(e, BookSlot))
    assert booking.flags.registration_fee_waived and booking.flags.priority
    assert booking.flags.referral_episode_id == snap.referral_id and booking.pool_kind == PoolKind.REFERRAL
    assert ApplyBenefits(ALL_BENEFITS) in d.effects
    assert OpenCareRelationship(CareKind.REFERRED, HOSPITAL) in d.effects


def test_accept_releases_a_hold_whose_start_has_passed() -> None:
    held = slot(5, T0 + timedelta(hours=2), kind=PoolKind.REFERRAL)
    snap = apply(draft(), Event.SUBMIT, sender_of(draft()), T0, slot=held)
    d = decide(snap, Event.ACCEPT, receiver_of(snap), T0 + timedelta(hours=3))
    assert d.to_status == Status.ACCEPTED and ReleaseSlot(5) in d.effects


def test_accept_of_a_down_referral_creates_the_follow_up_task_and_no_benefits() -> None:
    snap, t = reach(Status.REQUESTED, Direction.DOWN)
    d = decide(snap, Event.ACCEPT, receiver_of(snap), t)
    assert CreateFollowUpTask(t + timedelta(days=7), user_id=receiver_of(snap).user_id) in d.effects
    assert not any(isinstance(e, ApplyBenefits) for e in d.effects)


def test_benefits_follow_the_consortium_configuration() -> None:
    policy = ReferralPolicy(catalogues=POLICY.catalogues, benefits=frozenset({PriorityBenefit.PRIORITY_EXAM}))
    snap, t = reach(Status.REQUESTED, policy=policy)
    d = decide(snap, Event.ACCEPT, receiver_of(snap), t, policy)
    assert ApplyBenefits(frozenset({PriorityBenefit.PRIORITY_EXAM})) in d.effects


def test_auto_accept_gives_the_task_to_the_contracted_team_only_when_it_applies() -> None:
    snap, t = reach(Status.REQUESTED, Direction.DOWN)
    err = refused(snap, Event.AUTO_ACCEPT, actor=SYSTEM, at=t)
    assert isinstance(err, InvalidTransition) and err.code == "not_due"
    team = contract_team_at(CENTRE)
    snap = replace(snap, facts=replace(snap.facts, contract_team=team))
    d = transition(snap, payload(Event.AUTO_ACCEPT, snap, t), SYSTEM, t, POLICY)
    assert CreateFollowUpTask(t + timedelta(days=7), team_id=team.team_id) in d.effects
    assert d.party == Party.SYSTEM and d.actor_user_id is None


# --------------------------------------------------------------------------- rows 6-10


def test_decline_needs_a_coded_reason_and_releases_everything() -> None:
    snap, t = reach(Status.SCHEDULED)
    for kw in ({"decline_code": None}, {"decline_code": DeclineCode.OTHER, "reason": ""}):
        err = refused(snap, Event.DECLINE, at=t, **kw)
        assert isinstance(err, ValidationFailed) and err.code == "reason_required"
    d = decide(snap, Event.DECLINE, receiver_of(snap), t, decline_code=DeclineCode.OTHER, reason="设备检修")
    assert d.end_reason == EndReason.DECLINED
    assert snap.slot is not None and ReleaseSlot(snap.slot.slot_id) in d.effects
    assert EndBenefits() in d.effects and CloseCareRelationship(CareKind.REFERRED, HOSPITAL) in d.effects


def test_decline_of_an_accepted_down_referral_cancels_its_follow_up_task() -> None:
    snap, t = reach(Status.ACCEPTED, Direction.DOWN)
    d = decide(snap, Event.DECLINE, receiver_of(snap), t)
    assert CancelFollowUpTask() in d.effects


@pytest.mark.parametrize(
    ("kw", "code", "error"),
    [
        ({"slot": None}, "slot_required", ValidationFailed),
        (
            {"slot": slot(9, T0 + timedelta(days=3), institution=CENTRE)},
            "slot_not_at_receiver",
            ValidationFailed,
        ),
        ({"slot": slot(9, T0 + timedelta(days=3), free=False)}, "slot_taken", Conflict),
        ({"slot": slot(9, T0 - timedelta(days=3))}, "slot_in_past", ValidationFailed),
        (
            {"slot": slot(9, T0 + timedelta(days=3), kind=PoolKind.REFERRAL, consortium=Y)},
            "pool_not_open",
            Forbidden,
        ),
        (
            {"slot": slot(9, T0 + timedelta(days=3), kind=PoolKind.CONTRACT, consortium=None)},
            "pool_not_open",
            Forbidden,
        ),
    ],
    ids=["missing", "other-institution", "taken", "past", "referral-pool-closed", "contract-pool"],
)
def test_schedule_guards(kw: dict[str, Any], code: str, error: type[DomainError]) -> None:
    snap, t = reach(Status.ACCEPTED)
    err = refused(snap, Event.SCHEDULE, at=t, **kw)
    assert isinstance(err, error) and err.code == code


def test_schedule_into_an_open_referral_pool_carries_the_flags() -> None:
    snap, t = reach(Status.ACCEPTED)
    d = decide(
        snap,
        Event.SCHEDULE,
        receiver_of(snap),
        t,
        slot=slot(9, t + timedelta(days=3), kind=PoolKind.REFERRAL),
    )
    booking = next(e for e in d.effects if isinstance(e, BookSlot))
    assert booking.pool_kind == PoolKind.REFERRAL and booking.flags.registration_fee_waived


def test_schedule_into_a_released_referral_slot_books_it_as_public() -> None:
    snap, t = reach(Status.ACCEPTED)
    released = slot(
        9, t + timedelta(hours=3), kind=PoolKind.REFERRAL, consortium=Y, release_before=timedelta(hours=24)
    )
    d = decide(snap, Event.SCHEDULE, receiver_of(snap), t, slot=released)
    assert next(e for e in d.effects if isinstance(e, BookSlot)).pool_kind == PoolKind.PUBLIC


def test_reschedule_releases_the_old_booking_and_restarts_the_attendance_clock() -> None:
    snap, t = reach(Status.SCHEDULED)
    assert snap.slot is not None
    err = refused(snap, Event.RESCHEDULE, at=t, slot=slot(snap.slot.slot_id, t + timedelta(days=4)))
    assert isinstance(err, ValidationFailed) and err.code == "same_slot"
    d = decide(snap, Event.RESCHEDULE, receiver_of(snap), t)
    assert d.effects[0] == ReleaseSlot(snap.slot.slot_id) and d.new_status_entry
    assert d.to_status == Status.SCHEDULED


def test_no_show_only_after_the_slot_starts() -> None:
    snap, _t = reach(Status.SCHEDULED)
    assert snap.slot is not None
    err = refused(snap, Event.MARK_NO_SHOW, at=snap.slot.start - timedelta(minutes=1))
    assert isinstance(err, ValidationFailed) and err.code == "slot_not_started"
    d = decide(snap, Event.MARK_NO_SHOW, receiver_of(snap), snap.slot.start)
    assert SetAppointmentStatus(snap.slot.slot_id, AppointmentStatus.NO_SHOW) in d.effects


def test_check_in_needs_the_care_setting_and_opens_treated() -> None:
    snap, t = reach(Status.SCHEDULED)
    err = refused(snap, Event.CHECK_IN, at=t, care_setting=None)
    assert isinstance(err, ValidationFailed) and err.code == "care_setting_required"
    d = decide(snap, Event.CHECK_IN, receiver_of(snap), t, care_setting=CareSetting.INPATIENT)
    assert d.care_setting == CareSetting.INPATIENT
    assert OpenCareRelationship(CareKind.TREATED, HOSPITAL) in d.effects
    assert (
        snap.slot is not None
        and SetAppointmentStatus(snap.slot.slot_id, AppointmentStatus.CHECKED_IN) in d.effects
    )


def test_check_in_lets_a_pending_cancel_request_lapse() -> None:
    snap, t = reach(Status.CANCEL_REQUESTED)
    assert decide(snap, Event.CHECK_IN, receiver_of(snap), t).to_status == Status.IN_CARE


# --------------------------------------------------------------------------- rows 11-15


def test_note_needs_text_and_starts_no_status_entry() -> None:
    snap, t = reach(Status.IN_CARE)
    err = refused(snap, Event.NOTE, at=t, text=" ")
    assert isinstance(err, ValidationFailed) and err.code == "text_required"
    d = decide(snap, Event.NOTE, receiver_of(snap), t)
    assert d.to_status == Status.IN_CARE and not d.new_status_entry and d.version == snap.version + 1


def test_complete_needs_an_outcome() -> None:
    snap, t = reach(Status.IN_CARE)
    for outcome in (
        None,
        Outcome("", ("I21.9",), "随访"),
        Outcome("好转", (), "随访"),
        Outcome("好转", ("I21",), ""),
    ):
        err = refused(snap, Event.COMPLETE, at=t, outcome=outcome)
        assert isinstance(err, ValidationFailed) and err.code == "outcome_required"
    d = decide(snap, Event.COMPLETE, receiver_of(snap), t)
    assert CloseCareRelationship(CareKind.REFERRED, HOSPITAL) in d.effects


def test_request_cancel_needs_a_reason_and_confirm_releases_the_booking() -> None:
    snap, t = reach(Status.SCHEDULED)
    err = refused(snap, Event.REQUEST_CANCEL, at=t, reason=None)
    assert isinstance(err, ValidationFailed) and err.code == "reason_required"
    snap = apply(snap, Event.REQUEST_CANCEL, sender_of(snap), t)
    d = decide(snap, Event.CONFIRM_CANCEL, receiver_of(snap), t)
    assert d.end_reason == EndReason.CANCEL_CONFIRMED
    assert snap.slot is not None and ReleaseSlot(snap.slot.slot_id) in d.effects


def test_reassign_only_within_the_receiving_institution() -> None:
    snap, t = reach(Status.ACCEPTED)
    err = refused(snap, Event.REASSIGN, at=t, routing=Routing(CENTRE, department_id=3))
    assert isinstance(err, ValidationFailed) and err.code == "routing_not_at_receiver"
    d = decide(snap, Event.REASSIGN, receiver_of(snap), t, routing=Routing(HOSPITAL, 3, 44))
    assert d.effects == (RouteInbox(3, 44),) and not d.new_status_entry


# --------------------------------------------------------------------------- rows 21-22 follow-up


def test_record_follow_up_guards_and_timeliness() -> None:
    snap, t = reach(Status.ACCEPTED, Direction.DOWN)
    assert snap.accepted_at is not None
    accepted_on = local_date(snap.accepted_at)
    for followup in (FollowUp(accepted_on, FollowUpMode.PHONE, "", "继续"), None):
        err = refused(snap, Event.RECORD_FOLLOWUP, at=t, followup=followup)
        assert isinstance(err, ValidationFailed) and err.code == "followup_incomplete"
    for day in (accepted_on - timedelta(days=1), local_date(t) + timedelta(days=1)):
        err = refused(
            snap, Event.RECORD_FOLLOWUP, at=t, followup=FollowUp(day, FollowUpMode.CLINIC, "好", "续")
        )
        assert isinstance(err, ValidationFailed) and err.code == "followup_date_invalid"
    late = t + timedelta(days=10)
    on_due = FollowUp(accepted_on + timedelta(days=7), FollowUpMode.HOME, "好", "续")
    after_due = FollowUp(accepted_on + timedelta(days=8), FollowUpMode.HOME, "好", "续")
    for followup, on_time in ((on_due, True), (after_due, False)):
        d = decide(snap, Event.RECORD_FOLLOWUP, receiver_of(snap), late, followup=followup)
        assert CompleteFollowUpTask(followup.on, on_time, FollowUpSource.RECORDED) in d.effects
        assert d.to_status == Status.COMPLETED


def test_follow_up_seen_counts_encounters_at_the_receiver_or_its_stations() -> None:
    snap, t = reach(Status.IN_CARE, Direction.DOWN)
    assert snap.accepted_at is not None
    today = local_date(t)
    station = FollowUpEvidence(FollowUpSource.DELIVERY, today, 11, CENTRE, "evt-9")
    d = transition(snap, payload(Event.FOLLOWUP_SEEN, snap, t, evidence=station), SYSTEM, t, POLICY)
    assert CompleteFollowUpTask(today, True, FollowUpSource.DELIVERY, "evt-9") in d.effects
    elsewhere = FollowUpEvidence(FollowUpSource.ENCOUNTER, today, FAR, None, "evt-10")
    before = FollowUpEvidence(
        FollowUpSource.ENCOUNTER, local_date(snap.accepted_at) - timedelta(days=1), CENTRE, None, "evt-11"
    )
    for evidence in (elsewhere, before, None):
        err = refused(snap, Event.FOLLOWUP_SEEN, actor=SYSTEM, at=t, evidence=evidence)
        assert isinstance(err, InvalidTransition) and err.code == "not_due"


def test_follow_up_date_is_compared_in_local_time() -> None:
    # Accepted at 23:30 Shanghai on 3 March (15:30 UTC): 10 March is still on time.
    accepted = T0.replace(hour=15, minute=30)
    snap, _t = reach(Status.REQUESTED, Direction.DOWN)
    snap = apply(snap, Event.ACCEPT, receiver_of(snap), accepted)
    later = accepted + timedelta(days=9)
    d = decide(
        snap,
        Event.RECORD_FOLLOWUP,
        receiver_of(snap),
        later,
        followup=FollowUp(date(2025, 3, 10), FollowUpMode.PHONE, "好", "续"),
    )
    assert any(isinstance(e, CompleteFollowUpTask) and e.on_time for e in d.effects)


def test_every_terminal_transition_releases_an_open_hold() -> None:
    held = slot(5, LATER + timedelta(days=9), kind=PoolKind.REFERRAL)
    snap = apply(draft(), Event.SUBMIT, sender_of(draft()), T0, slot=held)
    assert snap.slot is not None and snap.slot.state == SlotState.HELD
    d = transition(snap, payload(Event.EXPIRE, snap, LATER), SYSTEM, LATER, POLICY)
    assert d.end_reason == EndReason.EXPIRED_UNANSWERED and ReleaseSlot(5) in d.effects
