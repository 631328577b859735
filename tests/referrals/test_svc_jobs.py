"""The deadline job: escalations and final actions once each, in deadline order, idempotent; notifications
only for what a run wrote; deadlines copied at submission."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from svc_world import NOW, accepted, deliver, down_draft, hospital_treated, submitted, world

from yilian.db.models import Appointment, Notification, ReferralEscalation, Slot
from yilian.identity.service import principal_of
from yilian.referrals import jobs, policy, service
from yilian.referrals.schemas import EventIn, PolicyIn, ReasonIn, SubmitIn

H = timedelta(hours=1)


def _esc(session, ep):  # type: ignore[no-untyped-def]
    return [(e.kind, e.entry_seq) for e in session.scalars(
        select(ReferralEscalation).where(ReferralEscalation.referral_id == ep.id).order_by(ReferralEscalation.id))]


def _zeros(result: jobs.TickResult) -> bool:
    return result.total == 0 and set(result.counts) == set(jobs.ACTION_KEYS)


def test_unanswered_referral_escalates_once_then_expires(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    ep = submitted(session, w, slot=w.slots_x[0])
    deliver(session)
    first = jobs.tick(session, NOW + 25 * H)
    assert first.counts["escalate.accept"] == 1 and first.total == 1
    assert _esc(session, ep) == [("accept", 2)]
    session.refresh(ep)
    assert (ep.status, ep.version) == ("requested", 2)  # an escalation is no transition
    notes = deliver(session)
    assert {(n.recipient_user_id, n.recipient_institution_id, n.recipient_consortium_id) for n in notes} == {
        (w.users["gp"].id, None, None), (None, w.hosp.id, None), (None, None, w.x)}
    assert _zeros(jobs.tick(session, NOW + 25 * H))  # the same now: nothing twice
    assert _zeros(jobs.tick(session, NOW + 50 * H))
    assert deliver(session) == notes
    final = jobs.tick(session, NOW + 73 * H)
    assert final.counts["expire"] == 1 and final.total == 1
    session.refresh(ep)
    assert (ep.status, ep.end_reason, ep.version, ep.slot_id) == ("expired", "expired_unanswered", 3, None)
    assert session.get(Slot, w.slots_x[0].id, populate_existing=True).booked_count == 0  # type: ignore[union-attr]
    assert session.scalar(select(Appointment.status).where(Appointment.referral_episode_id == ep.id)) == "cancelled"
    assert _zeros(jobs.tick(session, NOW + 100 * H))


def test_after_downtime_escalation_and_expiry_are_both_written(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    ep = submitted(session, w)
    result = jobs.tick(session, NOW + 200 * H)
    assert (result.counts["escalate.accept"], result.counts["expire"]) == (1, 1)
    session.refresh(ep)
    assert ep.status == "expired" and _esc(session, ep) == [("accept", 2)]


def test_urgent_out_of_network_referral_is_deemed_approved(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    ep = submitted(session, w, receiver=w.far, urgency="urgent")
    assert ep.status == "awaiting_approval"
    assert jobs.tick(session, NOW + timedelta(minutes=31)).counts["escalate.approval"] == 1
    result = jobs.tick(session, NOW + timedelta(minutes=61))
    assert result.counts["deem_approval"] == 1
    session.refresh(ep)
    assert (ep.status, ep.approval, ep.version) == ("requested", "deemed", 3)
    routine = submitted(session, w, receiver=w.far)
    jobs.tick(session, NOW + 73 * H)
    session.refresh(routine)
    assert (routine.status, routine.end_reason) == ("expired", "approval_expired")


def test_accepted_up_referral_escalates_but_never_expires(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    ep = accepted(session, w)
    assert jobs.tick(session, NOW + 80 * H).counts["escalate.arrange"] == 1
    assert _zeros(jobs.tick(session, NOW + 1000 * H))
    session.refresh(ep)
    assert ep.status == "accepted"


def test_no_show_lapses_after_the_final_deadline(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    slot = w.slots_x[0]
    ep = accepted(session, w, slot=slot)
    assert ep.status == "scheduled"
    after = slot.start_at + H
    ep = service.do_mark_no_show(session, w.p("spec"), ep.id, EventIn(version=ep.version), now=after)
    assert ep.status == "no_show"
    assert session.scalar(select(Appointment.status).where(Appointment.referral_episode_id == ep.id)) == "no_show"
    result = jobs.tick(session, after + timedelta(days=15))
    assert result.counts["expire"] == 1 and result.counts["escalate.attendance"] == 0
    session.refresh(ep)
    assert (ep.status, ep.end_reason) == ("expired", "no_show_lapsed")


def test_cancel_request_escalates(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    ep = accepted(session, w)
    ep = service.do_request_cancel(session, w.p("gp"), ep.id, ReasonIn(version=ep.version, reason="患者已在外院就诊"),
                                   now=NOW + 2 * H)
    assert jobs.tick(session, NOW + 27 * H).counts["escalate.cancel"] == 1
    ep = service.do_confirm_cancel(session, w.p("spec"), ep.id, EventIn(version=ep.version), now=NOW + 28 * H)
    assert (ep.status, ep.end_reason) == ("cancelled", "cancel_confirmed")


def test_overdue_down_referral_follow_up_escalates_once_per_referral(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    hospital_treated(session, w)
    ep = down_draft(session, w)
    ep = service.do_submit(session, w.p("spec"), ep.id, SubmitIn(version=1), now=NOW)
    ep = service.do_accept(session, w.p("gp"), ep.id, EventIn(version=2), now=NOW)
    assert jobs.tick(session, NOW + timedelta(days=8)).counts["escalate.followup"] == 1
    assert _zeros(jobs.tick(session, NOW + timedelta(days=30)))
    assert _esc(session, ep) == [("followup", 0)]
    session.refresh(ep)
    assert ep.status == "accepted"  # still owed: no expiry


def test_deadlines_are_copied_at_submission(session) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    early = submitted(session, w)
    manager = principal_of(w.users["manager_x"])
    policy.do_configure_policy(session, manager, w.x, PolicyIn(routine={"accept_escalate": 60}, valid_from=NOW.date()),
                               now=NOW)
    late = submitted(session, w)
    assert late.deadlines["accept_escalate"] == 3600 and early.deadlines["accept_escalate"] == 24 * 3600  # type: ignore[index]
    result = jobs.tick(session, NOW + 2 * H)
    assert result.counts["escalate.accept"] == 1
    assert _esc(session, early) == [] and _esc(session, late) == [("accept", 2)]
    assert session.scalar(select(Notification).limit(1)) is None  # nothing delivered before commit
