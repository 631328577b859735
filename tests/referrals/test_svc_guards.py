"""Every row guard of the state machine, refused at the service level with unchanged data, and the
effects of declines, cancellations and reschedules on holds, bookings and benefits; catalogue import."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from svc_world import (
    CATALOGUE_CSV,
    NOW,
    accepted,
    down_draft,
    hospital_treated,
    in_care,
    refused,
    state,
    submitted,
    up_draft,
    world,
)

from yilian.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yilian.db.models import Appointment, CareRelationship, Department, ReferralCatalogueEntry, Slot, SlotPool
from yilian.identity.service import principal_of
from yilian.referrals import policy, service
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


def test_submission_content_guards(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    hospital_treated(session, w)
    no_dx = up_draft(session, w, diagnoses=[])
    refused(session, lambda: service.do_submit(session, w.p("gp"), no_dx.id, SubmitIn(version=1), now=NOW),
            ValidationFailed, "diagnosis_required")
    thin = down_draft(session, w, care_plan=None)
    refused(session, lambda: service.do_submit(session, w.p("spec"), thin.id, SubmitIn(version=1), now=NOW),
            ValidationFailed, "handover_required")
    draft = up_draft(session, w)
    refused(session, lambda: service.do_submit(session, w.p("gp"), draft.id, SubmitIn(version=1, slot_id=99999),
                                               now=NOW), NotFound, "slot_not_found")
    # An unknown slot does not tell an outsider anything: the actor check comes first.
    refused(session, lambda: service.do_submit(session, w.p("spec"), draft.id, SubmitIn(version=1, slot_id=99999),
                                               now=NOW), Forbidden, "not_sender")


def test_a_hold_comes_only_from_a_referral_pool(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    pool = SlotPool(institution_id=w.hosp.id, kind="public", name="普通号", created_at=NOW)
    session.add(pool)
    session.flush()
    public = Slot(institution_id=w.hosp.id, schedule_id=w.slots_x[0].schedule_id, pool_id=pool.id, kind="appointment",
                  start_at=NOW + timedelta(days=2), end_at=NOW + timedelta(days=2, minutes=30), capacity=1,
                  booked_count=0, created_at=NOW)
    session.add(public)
    session.flush()
    draft = up_draft(session, w)
    refused(session, lambda: service.do_submit(session, w.p("gp"), draft.id, SubmitIn(version=1, slot_id=public.id),
                                               now=NOW), Forbidden, "pool_not_open")
    acc = accepted(session, w)  # scheduling may use a public slot
    acc = service.do_schedule(session, w.p("spec"), acc.id, SlotIn(version=acc.version, slot_id=public.id), now=NOW)
    assert (acc.status, acc.slot_id) == ("scheduled", public.id)


def test_receiver_row_guards(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    acc = accepted(session, w)
    v = acc.version
    refused(session, lambda: service.do_schedule(session, w.p("spec"), acc.id, SlotIn(version=v), now=NOW),
            ValidationFailed, "slot_required")
    refused(session, lambda: service.do_check_in(session, w.p("spec"), acc.id, CheckInIn(version=v), now=NOW),
            ValidationFailed, "care_setting_required")
    refused(session, lambda: service.do_note(session, w.p("spec"), acc.id, NoteIn(version=v, text=" "), now=NOW),
            ValidationFailed, "text_required")
    other_dep = Department(institution_id=w.centre.id, code="QK", name="全科")
    session.add(other_dep)
    session.flush()
    refused(session, lambda: service.do_reassign(session, w.p("spec"), acc.id, ReassignIn(
        version=v, department_id=other_dep.id), now=NOW), ValidationFailed, "routing_not_at_receiver")
    refused(session, lambda: service.do_reassign(session, w.p("spec"), acc.id, ReassignIn(version=v), now=NOW),
            ValidationFailed, "routing_not_at_receiver")
    sched = service.do_schedule(session, w.p("spec"), acc.id, SlotIn(version=v, slot_id=w.slots_x[2].id), now=NOW)
    refused(session, lambda: service.do_reschedule(session, w.p("spec"), sched.id, SlotIn(
        version=sched.version, slot_id=w.slots_x[2].id), now=NOW), ValidationFailed, "same_slot")
    refused(session, lambda: service.do_mark_no_show(session, w.p("spec"), sched.id, EventIn(version=sched.version),
                                                     now=NOW), ValidationFailed, "slot_not_started")
    care = in_care(session, w)
    refused(session, lambda: service.do_complete(session, w.p("spec"), care.id, OutcomeIn(
        version=care.version, summary="s", diagnoses=["I21"]), now=NOW), ValidationFailed, "outcome_required")


def test_the_receiving_consortiums_office_may_reassign(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    ep = submitted(session, w)
    ep = service.do_reassign(session, w.p("officer_x"), ep.id, ReassignIn(version=2, department_id=w.department.id),
                             now=NOW)  # type: ignore[union-attr]
    assert (ep.status, ep.version, ep.receiving_department_id) == ("requested", 3, w.department.id)  # type: ignore[union-attr]
    refused(session, lambda: service.do_reassign(session, w.p("officer_y"), ep.id, ReassignIn(
        version=3, department_id=w.department.id), now=NOW), Forbidden, "not_receiver")  # type: ignore[union-attr]


def test_followup_needs_findings_and_plan(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    hospital_treated(session, w)
    ep = down_draft(session, w)
    ep = service.do_submit(session, w.p("spec"), ep.id, SubmitIn(version=1), now=NOW)
    ep = service.do_accept(session, w.p("gp"), ep.id, EventIn(version=2), now=NOW)
    refused(session, lambda: service.do_record_followup(session, w.p("gp"), ep.id, FollowUpIn(
        version=3, on=NOW.date(), mode="phone", findings="好"), now=NOW), ValidationFailed, "followup_incomplete")
    refused(session, lambda: service.do_record_followup(session, w.p("gp"), ep.id, FollowUpIn(
        version=3, findings="好", plan="p"), now=NOW), ValidationFailed, "followup_incomplete")


def _active(session, ep):  # type: ignore[no-untyped-def]
    return [(a.slot_id, a.status, a.active_place) for a in session.scalars(
        select(Appointment).where(Appointment.referral_episode_id == ep.id).order_by(Appointment.id))]


def test_decline_releases_the_booking_and_ends_the_benefits(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    ep = accepted(session, w, slot=w.slots_x[0])
    assert ep.status == "scheduled" and ep.benefits
    ep = service.do_decline(session, w.p("spec2"), ep.id, DeclineIn(version=ep.version, code="other",
                                                                     reason="设备检修"), now=NOW + timedelta(hours=2))
    assert (ep.status, ep.decline_code, ep.end_reason, ep.benefits) == ("declined", "other", "declined", [])
    assert _active(session, ep) == [(w.slots_x[0].id, "cancelled", None)]
    rel = session.scalar(select(CareRelationship).where(CareRelationship.resident_id == w.rid,
                                                        CareRelationship.kind == "referred"))
    assert rel is not None and rel.until == NOW.date()


def test_cancel_releases_the_hold_and_reschedule_moves_the_booking(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    ep = submitted(session, w, slot=w.slots_x[0])
    ep = service.do_cancel(session, w.p("gp2"), ep.id, ReasonIn(version=2, reason="患者拒绝"), now=NOW)
    assert (ep.status, ep.end_reason) == ("cancelled", "cancelled_by_sender")
    assert _active(session, ep) == [(w.slots_x[0].id, "cancelled", None)]
    ep = accepted(session, w, slot=w.slots_x[0])  # the released slot can be held again
    ep = service.do_reschedule(session, w.p("spec"), ep.id, SlotIn(version=ep.version, slot_id=w.slots_x[3].id),
                               now=NOW)
    assert (ep.status, ep.slot_id, ep.status_entry_seq) == ("scheduled", w.slots_x[3].id, ep.version)
    assert _active(session, ep) == [(w.slots_x[0].id, "cancelled", None), (w.slots_x[3].id, "booked", 1)]


def test_draft_edit_checks_version_and_scope(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    draft = up_draft(session, w)
    data = DraftIn(resident_id=w.rid, receiving_institution_id=w.hosp.id, direction="up", urgency="urgent",
                   diagnoses=["I63.900"])
    refused(session, lambda: service.do_update_draft(session, w.p("gp"), draft.id, 7, data, now=NOW),
            Conflict, "stale_version")
    refused(session, lambda: service.do_update_draft(session, w.p("spec"), draft.id, 1, data, now=NOW),
            Forbidden, "not_sender")
    draft = service.do_update_draft(session, w.p("gp2"), draft.id, 1, data, now=NOW)
    assert (draft.version, draft.urgency, draft.principal_dx) == (2, "urgent", "I63.900")


def test_catalogue_import_refuses_a_bad_file_whole(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    manager = principal_of(w.users["manager_x"])
    bad = CATALOGUE_CSV + "upp,I99,不存在的目录\ndown,XYZ,坏编码\n"
    before = state(session)
    refused(session, lambda: policy.do_import_catalogue(session, manager, w.x, bad, now=NOW), ValidationFailed,
            "catalogue_invalid")
    assert state(session) == before
    refused(session, lambda: policy.do_import_catalogue(session, w.p("gp"), w.x, CATALOGUE_CSV, now=NOW),
            Forbidden, "not_consortium_manager")
    result = policy.do_import_catalogue(session, manager, w.x, CATALOGUE_CSV + "down,E11,2型糖尿病\n", now=NOW)
    assert result.loaded == {"down": 3, "must_treat_county": 1, "must_treat_township": 1, "rehab": 1, "up": 2}
    assert result.replaced == 7
    assert any("下转病种目录应有41种" in m for m in result.warnings)
    codes = session.scalars(select(ReferralCatalogueEntry.icd10).where(ReferralCatalogueEntry.consortium_id == w.x,
                                                                      ReferralCatalogueEntry.kind == "down")).all()
    assert sorted(codes) == ["E11", "I10", "I63"]


def test_check_in_follows_the_scheduling_check_in_window(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    ep = accepted(session, w, slot=w.slots_x[5])  # starts 26.5 h after NOW; check-in opens 24 h before
    assert ep.status == "scheduled"
    refused(session, lambda: service.do_check_in(session, w.p("spec"), ep.id, CheckInIn(
        version=ep.version, care_setting="outpatient"), now=NOW + timedelta(hours=1)), ValidationFailed,
        "checkin_too_early")
    ep = service.do_check_in(session, w.p("spec"), ep.id, CheckInIn(version=ep.version, care_setting="outpatient"),
                             now=NOW + timedelta(hours=3))
    assert ep.status == "in_care"
