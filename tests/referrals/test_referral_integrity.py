"""REFERRAL.md "Integrity": every negative case, at the pure level — a refusal, and no decision.

The service adds the database half (the row, transitions, holds and
notifications unchanged); here "changing nothing" means the refusal is raised
before any ``Decision`` exists, so the service has nothing to write.  Cases 14–18
(races) reduce to what each loser sees: a slot no longer free, or a version that
moved on.  Cases 19 and 21 have one test per code in ``test_referral_guards.py``
(``test_submit_guards``, ``test_submit_slot_guards``, ``test_schedule_guards``).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from referral_kit import (
    DUAL,
    GP,
    HOSPITAL,
    LATER,
    MANAGER_X,
    OFFICER_X,
    OFFICER_Y,
    OUTSIDER,
    PHARMACIST_B,
    POLICY,
    SPEC,
    SPEC2,
    T0,
    Y,
    apply,
    draft,
    officer,
    payload,
    reach,
    receiver_of,
    sender_of,
    slot,
    uid,
)

from yilian.core.errors import Conflict, DomainError, Forbidden, InvalidTransition, NotFound, ValidationFailed
from yilian.referrals.records import DeclineCode
from yilian.referrals.states import (
    SYSTEM,
    TERMINAL,
    Actor,
    Direction,
    Event,
    EventInput,
    ReferralSnapshot,
    Status,
    draft_author_refusal,
    require_found,
    transition,
)
from yilian.scheduling.rules import PoolKind


def assert_refused(
    snap: ReferralSnapshot,
    inp: EventInput,
    actor: Actor,
    error: type[DomainError],
    code: str,
    at: object = T0,
) -> None:
    before = snap
    with pytest.raises(error) as err:
        transition(snap, inp, actor, at, POLICY)  # type: ignore[arg-type]
    assert err.value.code == code
    assert snap == before  # frozen: nothing to write, nothing written


def test_case_01_unknown_referral() -> None:
    with pytest.raises(NotFound) as err:
        require_found(None, 999)
    assert err.value.code == "referral_not_found"


def test_case_02_resident_mismatch() -> None:
    snap, t = reach(Status.IN_CARE)
    inp = payload(Event.COMPLETE, snap, t, resident_id=snap.resident_id + 1)
    assert_refused(snap, inp, receiver_of(snap), Conflict, "resident_mismatch", t)
    down, t = reach(Status.ACCEPTED, Direction.DOWN)
    inp = payload(Event.RECORD_FOLLOWUP, down, t, resident_id=down.resident_id + 1)
    assert_refused(down, inp, receiver_of(down), Conflict, "resident_mismatch", t)


@pytest.mark.parametrize("status", sorted(TERMINAL))
@pytest.mark.parametrize(
    ("event", "who"),
    [(Event.ACCEPT, "receiver"), (Event.CANCEL, "sender"), (Event.NOTE, "receiver")],
)
def test_case_03_terminal_statuses(status: Status, event: Event, who: str) -> None:
    snap, t = reach(status)
    actor = receiver_of(snap) if who == "receiver" else sender_of(snap)
    assert_refused(snap, payload(event, snap, t), actor, InvalidTransition, "invalid_transition", t)


@pytest.mark.parametrize(
    ("status", "event", "who"),
    [
        (Status.REQUESTED, Event.CHECK_IN, "receiver"),
        (Status.ACCEPTED, Event.COMPLETE, "receiver"),
        (Status.ACCEPTED, Event.CANCEL, "sender"),  # must request cancel instead
    ],
)
def test_case_04_event_not_allowed_from_the_status(status: Status, event: Event, who: str) -> None:
    snap, t = reach(status)
    actor = receiver_of(snap) if who == "receiver" else sender_of(snap)
    assert_refused(snap, payload(event, snap, t), actor, InvalidTransition, "invalid_transition", t)


def test_case_05_event_not_defined_for_the_direction() -> None:
    down, t = reach(Status.IN_CARE, Direction.DOWN)
    assert_refused(
        down, payload(Event.COMPLETE, down, t), receiver_of(down), InvalidTransition, "invalid_transition", t
    )
    up, t = reach(Status.IN_CARE, Direction.UP)
    assert_refused(
        up, payload(Event.RECORD_FOLLOWUP, up, t), receiver_of(up), InvalidTransition, "invalid_transition", t
    )


def test_case_06_clinician_of_an_unrelated_institution_accepts() -> None:
    snap, t = reach(Status.REQUESTED)
    assert_refused(snap, payload(Event.ACCEPT, snap, t), OUTSIDER, Forbidden, "not_receiver", t)


@pytest.mark.parametrize("event", [Event.ACCEPT, Event.DECLINE])
def test_case_07_clinician_of_the_sending_institution_accepts_or_declines(event: Event) -> None:
    snap, t = reach(Status.REQUESTED)
    assert_refused(snap, payload(event, snap, t), GP, Forbidden, "not_receiver", t)


def test_case_08_sender_with_a_role_at_the_receiver_accepts_their_own_referral() -> None:
    snap = apply(draft(sent_by=uid(DUAL)), Event.SUBMIT, DUAL, T0)
    assert snap.sent_by == DUAL.user_id
    assert_refused(snap, payload(Event.ACCEPT, snap, T0), DUAL, Forbidden, "own_referral")


def test_case_09_clinician_of_the_receiver_acts_as_sender() -> None:
    assert_refused(draft(), payload(Event.SUBMIT, draft(), T0), SPEC, Forbidden, "not_sender")
    for status, event in ((Status.REQUESTED, Event.CANCEL), (Status.ACCEPTED, Event.REQUEST_CANCEL)):
        snap, t = reach(status)
        assert_refused(snap, payload(event, snap, t), SPEC2, Forbidden, "not_sender", t)


@pytest.mark.parametrize(
    "actor", [PHARMACIST_B, officer(402, 1), MANAGER_X], ids=["pharmacist", "officer", "manager"]
)
def test_case_10_other_roles_accept(actor: Actor) -> None:
    snap, t = reach(Status.REQUESTED)
    assert_refused(snap, payload(Event.ACCEPT, snap, t), actor, Forbidden, "role_not_allowed", t)


@pytest.mark.parametrize("event", [Event.APPROVE, Event.REJECT])
def test_case_11_approver_of_another_consortium_or_of_their_own_referral(event: Event) -> None:
    snap, t = reach(Status.AWAITING_APPROVAL)
    assert_refused(snap, payload(event, snap, t), OFFICER_Y, Forbidden, "not_approver", t)
    own = replace(snap, sent_by=uid(OFFICER_X))
    assert_refused(own, payload(event, own, t), OFFICER_X, Forbidden, "own_referral", t)


def test_case_12_resident_out_of_scope() -> None:
    snap = draft(facts=replace(draft().facts, resident_in_sender_scope=False))
    refusal = draft_author_refusal(snap, GP)
    assert isinstance(refusal, Forbidden) and refusal.code == "resident_out_of_scope"
    assert_refused(snap, payload(Event.SUBMIT, snap, T0), GP, Forbidden, "resident_out_of_scope")
    assert draft_author_refusal(draft(), GP) is None


def test_case_13_referral_pool_of_another_consortium() -> None:
    foreign = slot(5, T0 + timedelta(days=2), kind=PoolKind.REFERRAL, consortium=Y)
    assert_refused(draft(), payload(Event.SUBMIT, draft(), T0, slot=foreign), GP, Forbidden, "pool_not_open")
    snap, t = reach(Status.ACCEPTED)
    assert_refused(snap, payload(Event.SCHEDULE, snap, t, slot=foreign), SPEC, Forbidden, "pool_not_open", t)


def test_case_14_second_submit_holding_a_taken_slot() -> None:
    taken = slot(5, T0 + timedelta(days=2), kind=PoolKind.REFERRAL, free=False)
    assert_refused(draft(), payload(Event.SUBMIT, draft(), T0, slot=taken), GP, Conflict, "slot_taken")


@pytest.mark.parametrize(
    ("first", "second"),
    [(Event.ACCEPT, Event.DECLINE), (Event.ACCEPT, Event.ACCEPT)],
    ids=["case15-accept-vs-decline", "case16-accept-vs-accept"],
)
def test_cases_15_16_two_receivers_with_the_same_version(first: Event, second: Event) -> None:
    seen, t = reach(Status.REQUESTED)
    committed = apply(seen, first, SPEC, t)
    # The loser sends the version it saw, against the row as it now is.
    inp = payload(second, committed, t, version=seen.version)
    assert_refused(committed, inp, SPEC2, Conflict, "stale_version", t)


def test_case_17_decline_with_the_version_seen_before_an_accept() -> None:
    seen, t = reach(Status.REQUESTED)
    accepted = apply(seen, Event.ACCEPT, SPEC2, t)
    inp = EventInput(Event.DECLINE, version=seen.version, decline_code=DeclineCode.NO_CAPACITY)
    assert_refused(accepted, inp, SPEC, Conflict, "stale_version", t)


def test_case_18_deadline_job_races_a_clinician() -> None:
    seen, _t = reach(Status.REQUESTED)
    expired = apply(seen, Event.EXPIRE, SYSTEM, LATER)  # the job commits first
    assert_refused(expired, payload(Event.ACCEPT, seen, LATER), SPEC, Conflict, "stale_version", LATER)
    accepted = apply(seen, Event.ACCEPT, SPEC, LATER)  # the clinician commits first
    assert_refused(accepted, EventInput(Event.EXPIRE), SYSTEM, InvalidTransition, "invalid_transition", LATER)


def test_version_is_required_from_people() -> None:
    snap, t = reach(Status.REQUESTED)
    assert_refused(snap, EventInput(Event.ACCEPT), SPEC, ValidationFailed, "version_required", t)


@pytest.mark.parametrize(
    ("status", "event", "who"),
    [
        (Status.REQUESTED, Event.DECLINE, "receiver"),
        (Status.AWAITING_APPROVAL, Event.REJECT, "office"),
        (Status.REQUESTED, Event.CANCEL, "sender"),
        (Status.ACCEPTED, Event.REQUEST_CANCEL, "sender"),
    ],
)
def test_case_20_reason_missing(status: Status, event: Event, who: str) -> None:
    snap, t = reach(status)
    actor = {"receiver": receiver_of(snap), "office": OFFICER_X, "sender": sender_of(snap)}[who]
    inp = replace(payload(event, snap, t), reason=None, decline_code=None)
    assert_refused(snap, inp, actor, ValidationFailed, "reason_required", t)


def test_case_22_follow_up_by_another_institution_or_misdated() -> None:
    snap, t = reach(Status.ACCEPTED, Direction.DOWN)
    assert_refused(snap, payload(Event.RECORD_FOLLOWUP, snap, t), OUTSIDER, Forbidden, "not_receiver", t)
    assert_refused(snap, payload(Event.RECORD_FOLLOWUP, snap, t), SPEC, Forbidden, "not_receiver", t)
    early = payload(Event.RECORD_FOLLOWUP, snap, t - timedelta(days=3))
    assert_refused(snap, early, receiver_of(snap), ValidationFailed, "followup_date_invalid", t)
    assert snap.sending_institution_id == HOSPITAL
