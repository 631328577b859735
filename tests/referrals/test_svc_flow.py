"""The referral loop through the services: up-referral into a held slot, acceptance with the
"一免三优先", check-in, outcome; down-referral with auto-acceptance and follow-up; approval."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from svc_world import NOW, accepted, contract_with, deliver, down_draft, events_of, hospital_treated, submitted, world

from yilian.db.models import Appointment, AuditLog, CareRelationship, ReferralFollowUpTask, Slot
from yilian.referrals import reads, service
from yilian.referrals.records import FollowUpSource
from yilian.referrals.schemas import CheckInIn, EventIn, FollowUpIn, NoteIn, OutcomeIn, ReasonIn, SubmitIn


def _care(session: Session, rid: int) -> set[tuple[int, str, object]]:
    return {(r.institution_id, r.kind, r.until) for r in session.scalars(
        select(CareRelationship).where(CareRelationship.resident_id == rid))}


def test_up_referral_into_a_held_slot_closes_the_loop(session: Session) -> None:
    w = world(session)
    slot = w.slots_x[0]
    ep = submitted(session, w, slot=slot)
    assert (ep.status, ep.version, ep.approval, ep.slot_id, ep.slot_state) == ("requested", 2, "not_required",
                                                                               slot.id, "held")
    assert ep.governing_consortium_id == w.x and ep.out_of_network is False and ep.principal_in_catalogue is True
    assert ep.deadlines is not None and ep.deadlines["accept_escalate"] == 24 * 3600
    appt = session.scalar(select(Appointment).where(Appointment.referral_episode_id == ep.id))
    assert appt is not None and appt.held and appt.active_place == 1
    assert session.get(Slot, slot.id).booked_count == 1  # type: ignore[union-attr]
    notes = deliver(session)
    assert [(n.recipient_institution_id, n.kind) for n in notes] == [(w.hosp.id, "referral.submitted")]

    ep = service.do_accept(session, w.p("spec"), ep.id, EventIn(version=2), now=NOW + timedelta(hours=1))
    assert (ep.status, ep.version, ep.slot_state) == ("scheduled", 3, "booked")
    assert sorted(ep.benefits) == ["priority_admission", "priority_appointment", "priority_exam",
                                   "registration_fee_waiver"]
    session.refresh(appt)
    assert not appt.held and appt.registration_fee_waived and appt.priority
    assert (w.hosp.id, "referred", None) in _care(session, w.rid)
    assert [n.recipient_user_id for n in deliver(session)][-1] == w.users["gp"].id

    ep = service.do_check_in(session, w.p("spec2"), ep.id, CheckInIn(version=3, care_setting="outpatient"),
                             now=NOW + timedelta(days=1))
    session.refresh(appt)
    assert (ep.status, ep.care_setting, appt.status) == ("in_care", "outpatient", "checked_in")
    assert (w.hosp.id, "treated", None) in _care(session, w.rid)
    ep = service.do_note(session, w.p("spec"), ep.id, NoteIn(version=4, text="已完善冠脉造影"),
                         now=NOW + timedelta(days=1))
    ep = service.do_complete(session, w.p("spec"), ep.id, OutcomeIn(
        version=5, resident_id=w.rid, summary="PCI 术后稳定", diagnoses=["I21.901", "I10"],
        recommendations="双抗12个月"),
        now=NOW + timedelta(days=3))
    assert (ep.status, ep.version, ep.benefits, ep.outcome_diagnoses) == ("completed", 6, [], "I21.901|I10")
    assert ep.completed_at is not None and ep.benefits_ended_at is not None
    referred = {c for c in _care(session, w.rid) if c[1] == "referred"}
    assert referred == {(w.hosp.id, "referred", (NOW + timedelta(days=3)).date())}
    rows = events_of(session, ep)
    assert [(e.seq, e.event, e.from_status, e.to_status, e.party) for e in rows] == [
        (2, "submit", "draft", "requested", "sender"), (3, "accept", "requested", "scheduled", "receiver"),
        (4, "check_in", "scheduled", "in_care", "receiver"), (5, "note", "in_care", "in_care", "receiver"),
        (6, "complete", "in_care", "completed", "receiver"),
    ]
    audits = session.scalars(select(AuditLog.action).where(AuditLog.entity == "referral_episode",
                                                           AuditLog.entity_id == str(ep.id))).all()
    assert [a for a in audits if a.startswith("referral.")] == [
        "referral.submit", "referral.accept", "referral.check_in", "referral.note", "referral.complete"]
    # Both parties see the same timeline.
    seen_by_sender = reads.timeline(session, w.p("gp"), ep.id)
    assert [t.event for t in seen_by_sender] == [t.event for t in reads.timeline(session, w.p("spec"), ep.id)]
    assert deliver(session)[-1].kind == "referral.outcome"


def test_down_referral_to_the_own_team_is_accepted_in_the_submit_transaction(session: Session) -> None:
    w = world(session)
    team = contract_with(session, w, w.centre)
    hospital_treated(session, w)
    ep = down_draft(session, w, receiving_institution_id=None)  # receiver defaults to the contracted team's
    assert ep.receiving_institution_id == w.centre.id and ep.urgency == "routine"
    ep = service.do_submit(session, w.p("spec"), ep.id, SubmitIn(version=1), now=NOW)
    assert (ep.status, ep.version, ep.accepted_at) == ("accepted", 3, NOW)
    assert [(e.event, e.party, e.actor_user_id) for e in events_of(session, ep)] == [
        ("submit", "sender", w.users["spec"].id), ("auto_accept", "system", None)]
    task = session.scalar(select(ReferralFollowUpTask).where(ReferralFollowUpTask.referral_id == ep.id))
    assert task is not None and (task.team_id, task.status, task.due_at) == (team.id, "open", NOW + timedelta(days=7))
    assert ep.benefits == []  # no "一免三优先" on a down-referral
    ep = service.do_record_followup(session, w.p("gp"), ep.id, FollowUpIn(
        version=3, resident_id=w.rid, on=(NOW + timedelta(days=2)).date(), mode="home", findings="血压 130/80",
        plan="继续服药"), now=NOW + timedelta(days=2))
    session.refresh(task)
    assert ep.status == "completed"
    assert (task.status, task.on_time, task.mode, task.source) == ("done", True, "home", "recorded")


def test_down_referral_completed_by_an_encounter_at_a_village_clinic_of_the_receiver(session: Session) -> None:
    w = world(session)
    hospital_treated(session, w)
    ep = down_draft(session, w)
    ep = service.do_submit(session, w.p("spec"), ep.id, SubmitIn(version=1), now=NOW)
    assert ep.status == "requested"  # no contract: a receiver accepts
    ep = service.do_accept(session, w.p("gp"), ep.id, EventIn(version=2), now=NOW + timedelta(hours=3))
    task = session.scalar(select(ReferralFollowUpTask).where(ReferralFollowUpTask.referral_id == ep.id))
    assert task is not None and task.assignee_user_id == w.users["gp"].id
    late = NOW + timedelta(days=9)
    # An encounter elsewhere, or before acceptance, is not the follow-up.
    assert service.do_followup_seen(session, resident_id=w.rid, institution_id=w.hosp.id, on=late.date(),
                                    source=FollowUpSource.ENCOUNTER, evidence_id="encounter:1", now=late) == []
    assert service.do_followup_seen(session, resident_id=w.rid, institution_id=w.village.id, on=late.date(),
                                    source=FollowUpSource.ENCOUNTER, evidence_id="encounter:2", now=late) == [ep.id]
    session.refresh(ep)
    session.refresh(task)
    assert ep.status == "completed" and (task.on_time, task.source, task.evidence_id) == (False, "encounter",
                                                                                         "encounter:2")
    # Redelivered: nothing happens twice.
    assert service.do_followup_seen(session, resident_id=w.rid, institution_id=w.village.id, on=late.date(),
                                    source=FollowUpSource.ENCOUNTER, evidence_id="encounter:2", now=late) == []


def test_out_of_network_referral_waits_for_the_referral_office(session: Session) -> None:
    w = world(session)
    ep = submitted(session, w, receiver=w.far)
    assert (ep.status, ep.approval, ep.out_of_network) == ("awaiting_approval", "pending", True)
    notes = deliver(session)
    assert [(n.recipient_consortium_id, n.recipient_role) for n in notes] == [(w.x, "referral_officer")]
    ep = service.do_approve(session, w.p("officer_x"), ep.id, EventIn(version=2), now=NOW + timedelta(hours=2))
    assert (ep.status, ep.approval, ep.approved_at) == ("requested", "approved", NOW + timedelta(hours=2))
    assert {n.recipient_user_id or n.recipient_institution_id for n in deliver(session)[1:]} == {
        w.users["gp"].id, w.far.id}
    rejected = submitted(session, w, receiver=w.far)
    rejected = service.do_reject(session, w.p("officer_x"), rejected.id, ReasonIn(version=2, reason="县内可治疗"),
                                 now=NOW)
    assert (rejected.status, rejected.approval, rejected.end_reason) == ("declined", "rejected", "approval_rejected")


def test_out_of_network_diagnosis_nobody_in_network_treats_is_exempt(session: Session) -> None:
    w = world(session)
    ep = submitted(session, w, receiver=w.far, diagnoses=["C34.900"], reason="肺癌需省级医院手术")
    assert (ep.status, ep.approval, ep.principal_in_catalogue) == ("requested", "exempt", False)


def test_accepting_after_the_held_slot_passed_releases_it(session: Session) -> None:
    w = world(session)
    slot = w.slots_x[0]
    ep = submitted(session, w, slot=slot)
    ep = service.do_accept(session, w.p("spec"), ep.id, EventIn(version=2), now=slot.start_at + timedelta(hours=1))
    assert (ep.status, ep.slot_id, ep.slot_state) == ("accepted", None, None)
    session.refresh(slot)
    assert slot.booked_count == 0


def test_the_extract_attached_at_submission_is_read_through_the_referral_and_audited(session: Session) -> None:
    w = world(session)
    ep = submitted(session, w, medications="硝酸甘油 prn")
    extract = reads.read_extract(session, w.p("spec"), ep.id)
    assert extract["medications"] == "硝酸甘油 prn" and extract["encounters"] == []
    reads_logged = session.scalars(select(AuditLog.detail).where(AuditLog.action == "read",
                                                                 AuditLog.resident_id == w.rid)).all()
    assert f"通过转诊单 {ep.id} 查看共享病历摘要" in reads_logged


def test_accepted_referral_scheduled_then_checked_in(session: Session) -> None:
    w = world(session)
    ep = accepted(session, w)
    assert ep.status == "accepted"
    view = reads.get_referral(session, w.p("spec"), ep.id, now=NOW + timedelta(hours=1))
    assert {"schedule", "check_in", "decline", "note", "reassign"} <= set(view.allowed_events)
    assert "accept" not in view.allowed_events
    assert reads.get_referral(session, w.p("gp"), ep.id).allowed_events == ["request_cancel"]
