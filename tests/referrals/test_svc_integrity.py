"""REFERRAL.md "Integrity" at the service level: every case is refused with its code and changes nothing
(the referral row, transitions, escalations, slots and appointments, care relationships, follow-up tasks,
notifications and queued events).  Cases 14–16 and 18 race on committed rows: ``test_svc_concurrency``.
Cases marked * in REFERRAL.md are also sent through the API (``test_svc_api``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from svc_world import (
    NOW,
    accepted,
    down_draft,
    hospital_treated,
    in_care,
    refused,
    submitted,
    up_draft,
    world,
)

import builders as b
from yilian.core.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from yilian.db.models import CareRelationship, ReferralEpisode, RoleGrant
from yilian.identity.roles import Role
from yilian.identity.service import principal_of
from yilian.referrals import jobs, service
from yilian.referrals.schemas import (
    CheckInIn,
    DeclineIn,
    DraftIn,
    EventIn,
    FollowUpIn,
    NoteIn,
    OutcomeIn,
    ReasonIn,
    SlotIn,
    SubmitIn,
)

LATER = NOW + timedelta(days=60)


def test_1_accept_of_a_referral_that_does_not_exist(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    refused(session, lambda: service.do_accept(session, w.p("spec"), 987654, EventIn(version=1), now=NOW),
            NotFound, "referral_not_found")


def test_2_outcome_or_followup_naming_another_resident(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    ep = in_care(session, w)
    other = w.stranger.id  # type: ignore[union-attr]
    refused(session, lambda: service.do_complete(session, w.p("spec"), ep.id, OutcomeIn(
        version=ep.version, resident_id=other, summary="s", diagnoses=["I21"], recommendations="r"), now=NOW),
        Conflict, "resident_mismatch")
    hospital_treated(session, w)
    down = down_draft(session, w)
    down = service.do_submit(session, w.p("spec"), down.id, SubmitIn(version=1), now=NOW)
    down = service.do_accept(session, w.p("gp"), down.id, EventIn(version=2), now=NOW)
    refused(session, lambda: service.do_record_followup(session, w.p("gp"), down.id, FollowUpIn(
        version=down.version, resident_id=other, on=NOW.date(), mode="phone", findings="f", plan="p"), now=NOW),
        Conflict, "resident_mismatch")


def _terminal(session, w, status: str) -> ReferralEpisode:  # type: ignore[no-untyped-def]
    if status == "completed":
        ep = in_care(session, w)
        return service.do_complete(session, w.p("spec"), ep.id, OutcomeIn(
            version=ep.version, summary="s", diagnoses=["I21"], recommendations="r"), now=NOW + timedelta(days=2))
    ep = submitted(session, w)
    if status == "declined":
        return service.do_decline(session, w.p("spec"), ep.id, DeclineIn(version=2, code="no_capacity"), now=NOW)
    if status == "cancelled":
        return service.do_cancel(session, w.p("gp"), ep.id, ReasonIn(version=2, reason="患者改变主意"), now=NOW)
    jobs.tick(session, LATER)
    session.refresh(ep)
    assert ep.status == "expired"
    return ep


@pytest.mark.parametrize("status", ["completed", "declined", "cancelled", "expired"])
def test_3_no_event_on_a_terminal_referral(session, status: str) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    ep = _terminal(session, w, status)
    assert ep.status == status
    v = ep.version
    calls = [
        lambda: service.do_accept(session, w.p("spec2"), ep.id, EventIn(version=v), now=LATER),
        lambda: service.do_cancel(session, w.p("gp"), ep.id, ReasonIn(version=v, reason="r"), now=LATER),
        lambda: service.do_note(session, w.p("spec2"), ep.id, NoteIn(version=v, text="t"), now=LATER),
        lambda: service.do_decline(session, w.p("spec2"), ep.id, DeclineIn(version=v, code="no_capacity"), now=LATER),
        lambda: service.do_request_cancel(session, w.p("gp"), ep.id, ReasonIn(version=v, reason="r"), now=LATER),
    ]
    for call in calls:
        refused(session, call, InvalidTransition, "invalid_transition")


def test_4_events_not_allowed_from_the_status(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    requested = submitted(session, w)
    refused(session, lambda: service.do_check_in(session, w.p("spec"), requested.id, CheckInIn(
        version=2, care_setting="outpatient"), now=NOW), InvalidTransition, "invalid_transition")
    acc = accepted(session, w)
    refused(session, lambda: service.do_complete(session, w.p("spec"), acc.id, OutcomeIn(
        version=acc.version, summary="s", diagnoses=["I21"], recommendations="r"), now=NOW), InvalidTransition,
        "invalid_transition")
    refused(session, lambda: service.do_cancel(session, w.p("gp"), acc.id, ReasonIn(version=acc.version, reason="r"),
                                               now=NOW), InvalidTransition, "invalid_transition")


def test_5_events_not_defined_for_the_direction(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    hospital_treated(session, w)
    down = down_draft(session, w)
    down = service.do_submit(session, w.p("spec"), down.id, SubmitIn(version=1), now=NOW)
    down = service.do_accept(session, w.p("gp"), down.id, EventIn(version=2), now=NOW)
    down = service.do_check_in(session, w.p("gp"), down.id, CheckInIn(version=3, care_setting="outpatient"), now=NOW)
    refused(session, lambda: service.do_complete(session, w.p("gp"), down.id, OutcomeIn(
        version=4, summary="s", diagnoses=["I63"], recommendations="r"), now=NOW), InvalidTransition,
        "invalid_transition")
    up = accepted(session, w)
    refused(session, lambda: service.do_record_followup(session, w.p("spec"), up.id, FollowUpIn(
        version=up.version, on=NOW.date(), mode="clinic", findings="f", plan="p"), now=NOW + timedelta(hours=2)),
        InvalidTransition, "invalid_transition")


def test_6_7_only_a_clinician_of_the_receiving_institution_accepts(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    ep = submitted(session, w)
    for who in ("outsider", "gp2", "gp"):
        refused(session, lambda who=who: service.do_accept(session, w.p(who), ep.id, EventIn(version=2), now=NOW),
                Forbidden, "not_receiver")
    refused(session, lambda: service.do_decline(session, w.p("gp2"), ep.id, DeclineIn(version=2, code="no_capacity"),
                                                now=NOW), Forbidden, "not_receiver")


def test_8_the_sender_may_not_accept_their_own_referral_even_at_both_ends(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    ep = submitted(session, w, sender="dual", sending_institution_id=w.centre.id)
    assert ep.sent_by == w.users["dual"].id
    refused(session, lambda: service.do_accept(session, w.p("dual"), ep.id, EventIn(version=2), now=NOW),
            Forbidden, "own_referral")


def test_9_a_clinician_of_the_receiver_acts_not_for_the_sender(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    draft = up_draft(session, w)
    refused(session, lambda: service.do_submit(session, w.p("spec"), draft.id, SubmitIn(version=1), now=NOW),
            Forbidden, "not_sender")
    ep = submitted(session, w)
    refused(session, lambda: service.do_cancel(session, w.p("spec"), ep.id, ReasonIn(version=2, reason="r"), now=NOW),
            Forbidden, "not_sender")
    acc = accepted(session, w)
    refused(session, lambda: service.do_request_cancel(session, w.p("spec"), acc.id, ReasonIn(
        version=acc.version, reason="r"), now=NOW), Forbidden, "not_sender")


@pytest.mark.parametrize("who", ["pharmacist", "officer_x", "manager_x"])
def test_10_other_roles_of_the_receiver_may_not_accept(session, who: str) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    ep = submitted(session, w)
    refused(session, lambda: service.do_accept(session, w.p(who), ep.id, EventIn(version=2), now=NOW),
            Forbidden, "role_not_allowed")


def test_11_approval_by_another_consortium_or_by_the_sender(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    ep = submitted(session, w, receiver=w.far)
    assert ep.status == "awaiting_approval"
    refused(session, lambda: service.do_approve(session, w.p("officer_y"), ep.id, EventIn(version=2), now=NOW),
            Forbidden, "not_approver")
    refused(session, lambda: service.do_reject(session, w.p("officer_y"), ep.id, ReasonIn(version=2, reason="r"),
                                               now=NOW), Forbidden, "not_approver")
    both = w.users["officer_x"]
    session.add(RoleGrant(user_id=both.id, role=Role.CLINICIAN.value, institution_id=w.centre.id))
    session.flush()
    session.refresh(both)
    own = submitted(session, w, receiver=w.far, sender="officer_x")
    assert own.sent_by == both.id
    refused(session, lambda: service.do_approve(session, principal_of(both), own.id, EventIn(version=2), now=NOW),
            Forbidden, "own_referral")


def test_12_no_draft_and_no_submission_for_a_resident_out_of_scope(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    count = session.scalar(select(func.count()).select_from(ReferralEpisode))
    refused(session, lambda: service.do_create_draft(session, w.p("gp"), DraftIn(
        resident_id=w.stranger.id, receiving_institution_id=w.hosp.id, direction="up", urgency="routine",  # type: ignore[union-attr]
        diagnoses=["I21"]), now=NOW), Forbidden, "resident_out_of_scope")
    assert session.scalar(select(func.count()).select_from(ReferralEpisode)) == count
    draft = up_draft(session, w)
    for rel in session.scalars(select(CareRelationship).where(CareRelationship.resident_id == w.rid,
                                                              CareRelationship.institution_id == w.centre.id)):
        rel.until = NOW.date() - timedelta(days=1)
    session.flush()
    refused(session, lambda: service.do_submit(session, w.p("gp"), draft.id, SubmitIn(version=1), now=NOW),
            Forbidden, "resident_out_of_scope")


def test_13_a_referral_pool_of_another_consortium_is_not_open(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    y_slot = w.slots_y[0]
    draft = up_draft(session, w)
    refused(session, lambda: service.do_submit(session, w.p("gp"), draft.id, SubmitIn(version=1, slot_id=y_slot.id),
                                               now=NOW), Forbidden, "pool_not_open")
    acc = accepted(session, w)
    refused(session, lambda: service.do_schedule(session, w.p("spec"), acc.id, SlotIn(version=acc.version,
                                                                                        slot_id=y_slot.id), now=NOW),
            Forbidden, "pool_not_open")


def test_17_decline_with_the_version_seen_before_another_accept(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    ep = submitted(session, w)
    service.do_accept(session, w.p("spec"), ep.id, EventIn(version=2), now=NOW)
    refused(session, lambda: service.do_decline(session, w.p("spec2"), ep.id, DeclineIn(version=2, code="no_capacity"),
                                                now=NOW), Conflict, "stale_version")


def test_an_event_without_version_is_refused(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    ep = submitted(session, w)
    refused(session, lambda: service.do_accept(session, w.p("spec"), ep.id, EventIn(), now=NOW),
            ValidationFailed, "version_required")


@pytest.mark.parametrize(("case", "code"), [
    ("same", "same_institution"), ("up_equal", "not_higher_tier"), ("down_higher", "not_lower_tier"),
    ("outside", "reason_required"), ("down_urgent", "urgency_not_allowed"), ("no_urgency", "urgency_required"),
    ("past_slot", "slot_in_past"),
])
def test_19_submission_guards(session, case: str, code: str) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    hospital_treated(session, w)
    sender, slot, at = "gp", None, NOW
    if case == "same":
        draft = up_draft(session, w, receiver=w.centre)
    elif case == "up_equal":
        draft = up_draft(session, w, receiver=w.other)
    elif case == "down_higher":
        draft, sender = down_draft(session, w, receiver=w.hosp_y), "spec"
    elif case == "outside":
        draft = up_draft(session, w, diagnoses=["K35.800"])
    elif case == "down_urgent":
        draft, sender = down_draft(session, w, urgency="urgent"), "spec"
    elif case == "no_urgency":
        draft = up_draft(session, w, urgency=None)
    else:
        draft, slot = up_draft(session, w), w.slots_x[0]
        at = slot.start_at + timedelta(minutes=1)
    refused(session, lambda: service.do_submit(session, w.p(sender), draft.id, SubmitIn(
        version=1, slot_id=slot.id if slot else None), now=at), ValidationFailed, code)


def test_20_reasons_are_required(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    ep = submitted(session, w)
    refused(session, lambda: service.do_decline(session, w.p("spec"), ep.id, DeclineIn(version=2), now=NOW),
            ValidationFailed, "reason_required")
    refused(session, lambda: service.do_decline(session, w.p("spec"), ep.id, DeclineIn(version=2, code="other"),
                                                now=NOW), ValidationFailed, "reason_required")
    refused(session, lambda: service.do_cancel(session, w.p("gp"), ep.id, ReasonIn(version=2, reason="  "), now=NOW),
            ValidationFailed, "reason_required")
    far = submitted(session, w, receiver=w.far)
    refused(session, lambda: service.do_reject(session, w.p("officer_x"), far.id, ReasonIn(version=2), now=NOW),
            ValidationFailed, "reason_required")
    acc = accepted(session, w)
    refused(session, lambda: service.do_request_cancel(session, w.p("gp"), acc.id, ReasonIn(version=acc.version),
                                                       now=NOW), ValidationFailed, "reason_required")
    # A draft may be withdrawn without a reason.
    draft = up_draft(session, w)
    assert service.do_cancel(session, w.p("gp"), draft.id, ReasonIn(version=1), now=NOW).status == "cancelled"


def test_21_schedule_into_another_institutions_slot_or_a_taken_one(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    taken = submitted(session, w, slot=w.slots_x[1])
    assert taken.slot_state == "held"
    acc = accepted(session, w)
    refused(session, lambda: service.do_schedule(session, w.p("spec"), acc.id, SlotIn(
        version=acc.version, slot_id=w.far_slots[0].id), now=NOW), ValidationFailed, "slot_not_at_receiver")
    refused(session, lambda: service.do_schedule(session, w.p("spec"), acc.id, SlotIn(
        version=acc.version, slot_id=w.slots_x[1].id), now=NOW), Conflict, "slot_taken")


def test_22_followup_by_another_institution_or_misdated(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    hospital_treated(session, w)
    ep = down_draft(session, w)
    ep = service.do_submit(session, w.p("spec"), ep.id, SubmitIn(version=1), now=NOW)
    ep = service.do_accept(session, w.p("gp"), ep.id, EventIn(version=2), now=NOW + timedelta(days=1))
    when = NOW + timedelta(days=3)
    refused(session, lambda: service.do_record_followup(session, w.p("outsider"), ep.id, FollowUpIn(
        version=3, on=when.date(), mode="home", findings="f", plan="p"), now=when), Forbidden, "not_receiver")
    for day in (NOW.date(), (when + timedelta(days=1)).date()):  # before acceptance; in the future
        refused(session, lambda day=day: service.do_record_followup(session, w.p("gp"), ep.id, FollowUpIn(
            version=3, on=day, mode="home", findings="f", plan="p"), now=when), ValidationFailed,
            "followup_date_invalid")


def test_a_refused_event_notifies_nobody(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    ep = submitted(session, w)
    session.info.pop("yilian_pending_events", None)
    refused(session, lambda: service.do_accept(session, w.p("gp"), ep.id, EventIn(version=2), now=NOW),
            Forbidden, "not_receiver")
    assert not session.info.get("yilian_pending_events")
    assert b  # builders are imported for the world's helpers
