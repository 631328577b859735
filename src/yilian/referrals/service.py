"""Referral use cases: one ``do_*`` function per transition of REFERRAL.md, plus drafts.

Each function loads the referral, builds the pure snapshot (``snapshot``), lets
``states.transition`` decide — in the documented order: referral exists → resident
matches → actor → ``version`` → event allowed for the status and direction → guards —
and writes the decision (``execute.apply_decision``: compare-and-set on the version,
a transition row, an audit row, the effects).  A refusal raises before anything is
written.  Notifications are published on the session and go out after the edge's
commit (``notices``); nothing here commits.

``now`` defaults to the clock; tests and the deadline job pass it in.  The reads
(detail, timeline, inbox, record extract) live in ``referrals.reads``, the deadline job
in ``referrals.jobs``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from yilian.care import service as care
from yilian.core.clock import to_local, utcnow
from yilian.core.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from yilian.core.paging import PageRequest
from yilian.db.models import ReferralEpisode
from yilian.identity import audit
from yilian.identity.principal import Principal, system_principal
from yilian.identity.roles import Role
from yilian.referrals import repository, slots
from yilian.referrals.config import normalise_diagnosis
from yilian.referrals.execute import apply_decision
from yilian.referrals.notices import Notice, publish_notices
from yilian.referrals.policy import policy_for
from yilian.referrals.records import (
    CareSetting,
    Decision,
    DeclineCode,
    Direction,
    Event,
    EventInput,
    FollowUp,
    FollowUpEvidence,
    FollowUpMode,
    FollowUpSource,
    Outcome,
    ReferralSnapshot,
    Routing,
    Status,
    Urgency,
)
from yilian.referrals.rules import catalogue_kinds, default_down_receiver, is_out_of_network, suggest_direction
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
from yilian.referrals.snapshot import facts_for, snapshot_of
from yilian.referrals.states import (
    SYSTEM,
    Actor,
    draft_author_refusal,
    find_rule,
    next_snapshot,
    require_found,
    resolve_party,
    transition,
)
from yilian.scheduling.rules import SlotInfo

__all__ = [
    "SYSTEM_AUDIT", "do_accept", "do_approve", "do_cancel", "do_check_in", "do_complete", "do_confirm_cancel",
    "do_create_draft", "do_decline", "do_followup_seen", "do_mark_no_show", "do_note", "do_reassign",
    "do_record_followup", "do_reject", "do_request_cancel", "do_reschedule", "do_schedule", "do_submit",
    "do_update_draft", "record_extract_for",
]

#: Who signs the audit rows of system transitions (the deadline job, event handlers, auto-acceptance).
SYSTEM_AUDIT = system_principal("system:referrals")
Extra = Callable[[ReferralEpisode, ReferralSnapshot, Decision], dict[str, Any]]


def _resident_name(session: Session, resident_id: int) -> str:
    r = repository.resident(session, resident_id)
    return r.name if r is not None else str(resident_id)


def _snapshot(session: Session, ep: ReferralEpisode, now: datetime, *, with_facts: bool) -> ReferralSnapshot:
    facts = None
    if with_facts:
        facts = facts_for(session, resident_id=ep.resident_id, sending_id=ep.sending_institution_id,
                          receiving_id=ep.receiving_institution_id, governing_id=ep.governing_consortium_id,
                          on=to_local(now).date())
    return snapshot_of(session, ep, facts)


def _precheck(snap: ReferralSnapshot, event: Event, actor: Actor, data: EventIn) -> None:
    """Steps 1–4 of the check order, for inputs that need a lookup (a slot) before ``transition``."""
    transition_free = EventInput(event, version=data.version, resident_id=data.resident_id)
    if transition_free.resident_id is not None and transition_free.resident_id != snap.resident_id:
        raise Conflict("所填居民与该转诊的居民不一致", code="resident_mismatch")
    party = resolve_party(snap, event, actor)
    if isinstance(party, Forbidden):
        raise party
    if data.version is None:
        raise ValidationFailed("缺少版本号，请刷新后重试", code="version_required")
    if data.version != snap.version:
        raise Conflict("该转诊已被他人更新，请刷新后重试", code="stale_version", expected=snap.version,
                       given=data.version)
    if find_rule(snap.status, event, snap.direction) is None:
        raise InvalidTransition("当前状态不能执行该操作", code="invalid_transition", status=snap.status.value,
                                event=event.value)


def _slot_input(session: Session, snap: ReferralSnapshot, event: Event, actor: Actor, data: EventIn,
                slot_id: int | None) -> SlotInfo | None:
    if slot_id is None:
        return None
    try:
        return slots.slot_info(session, slot_id)
    except NotFound:
        _precheck(snap, event, actor, data)  # an entitled actor with the right version learns the slot is unknown
        raise


def _act(
    session: Session,
    actor: Principal,
    referral_id: int,
    event: Event,
    data: EventIn,
    now: datetime | None,
    *,
    build: Callable[[ReferralSnapshot], EventInput] | None = None,
    extra: Extra | None = None,
    adjust: Callable[[ReferralSnapshot], ReferralSnapshot] | None = None,
) -> ReferralEpisode:
    """Load → snapshot → ``transition`` → write; then any system follow-on (auto-acceptance)."""
    now = now or utcnow()
    ep = repository.episode(session, referral_id)
    snap = require_found(None if ep is None else _snapshot(session, ep, now, with_facts=True), referral_id)
    assert ep is not None
    if adjust is not None:
        snap = adjust(snap)
    inp = build(snap) if build is not None else EventInput(event, version=data.version, resident_id=data.resident_id)
    policy = policy_for(session, snap.governing_consortium_id, to_local(now).date())
    decision = transition(snap, inp, actor, now, policy)
    columns = extra(ep, snap, decision) if extra is not None else None
    name = _resident_name(session, ep.resident_id)
    notices = apply_decision(session, ep, decision, inp, actor=actor, now=now, resident_name=name, extra=columns)
    if decision.follow_on is not None:
        chained = next_snapshot(snap, decision)
        follow = transition(chained, EventInput(decision.follow_on), SYSTEM, now, policy)
        notices += apply_decision(session, ep, follow, EventInput(decision.follow_on), actor=SYSTEM_AUDIT, now=now,
                                  resident_name=name)
    publish_notices(session, notices)
    return ep


# ---- drafts -------------------------------------------------------------------------------


def _clean_dx(codes: list[str]) -> list[str]:
    return [normalise_diagnosis(c) for c in codes if c.strip()]


def _sending_institution(actor: Principal, given: int | None) -> int:
    at = sorted({g.institution_id for g in actor.grants if g.role == Role.CLINICIAN and g.institution_id})
    if given is not None:
        return given
    if len(at) == 1:
        return at[0]
    if not at:
        raise Forbidden("只有医生可以发起转诊", code="role_not_allowed")
    raise ValidationFailed("您在多个机构执业，请选择转出机构", code="sending_institution_required")


def _draft_snapshot(session: Session, actor: Principal, data: DraftIn, now: datetime) -> ReferralSnapshot:
    """The snapshot a draft would have, with the row 1 sender checks (role, institution, scope) applied."""
    today = to_local(now).date()
    sending_id = _sending_institution(actor, data.sending_institution_id)
    resident = repository.resident(session, data.resident_id)
    if resident is None:
        raise NotFound("居民不存在。", code="resident_not_found", resident_id=data.resident_id)
    governing = repository.tight_consortium_of(session, sending_id, today)
    receiving_id = data.receiving_institution_id
    probe = facts_for(session, resident_id=resident.id, sending_id=sending_id, receiving_id=receiving_id or sending_id,
                      governing_id=governing, on=today)
    if receiving_id is None and data.direction == Direction.DOWN.value:
        receiving_id = default_down_receiver(probe.contract_team,
                                             repository.home_centres(session, resident.address_division_code))
    if receiving_id is None:
        raise ValidationFailed("请选择接收机构", code="receiver_required")
    insts = repository.institutions(session, {sending_id, receiving_id})
    if sending_id not in insts or receiving_id not in insts:
        raise NotFound("医疗机构不存在。", code="institution_not_found")
    direction = Direction(data.direction) if data.direction else suggest_direction(
        insts[sending_id].tier, insts[receiving_id].tier)
    facts = facts_for(session, resident_id=resident.id, sending_id=sending_id, receiving_id=receiving_id,
                      governing_id=governing, on=today)
    snap = ReferralSnapshot(
        referral_id=0, resident_id=resident.id, direction=direction, sending_institution_id=sending_id,
        receiving_institution_id=receiving_id, sent_by=actor.user_id or 0,
        urgency=Urgency(data.urgency) if data.urgency else (Urgency.ROUTINE if direction == Direction.DOWN else None),
        governing_consortium_id=governing,
        receiving_consortium_id=repository.tight_consortium_of(session, receiving_id, today),
        diagnoses=tuple(_clean_dx(data.diagnoses)), reason=data.reason, facts=facts,
    )
    refusal = draft_author_refusal(snap, actor)
    if refusal is not None:
        raise refusal
    return snap


def _draft_columns(snap: ReferralSnapshot, data: DraftIn) -> dict[str, Any]:
    return {
        "resident_id": snap.resident_id, "direction": snap.direction.value,
        "urgency": snap.urgency.value if snap.urgency else None,
        "sending_institution_id": snap.sending_institution_id,
        "receiving_institution_id": snap.receiving_institution_id,
        "receiving_department_id": data.receiving_department_id,
        "receiving_practitioner_id": data.receiving_practitioner_id,
        "governing_consortium_id": snap.governing_consortium_id,
        "receiving_consortium_id": snap.receiving_consortium_id,
        "principal_dx": snap.diagnoses[0] if snap.diagnoses else None,
        "diagnoses": "|".join(snap.diagnoses) or None, "reason": data.reason or None,
        "summary": data.summary, "care_plan": data.care_plan, "medications": data.medications,
        "followup_instructions": data.followup_instructions,
    }


def do_create_draft(session: Session, actor: Principal, data: DraftIn, now: datetime | None = None) -> ReferralEpisode:
    """A draft by a clinician of the sending institution about a resident in its scope (row 1's checks)."""
    now = now or utcnow()
    snap = _draft_snapshot(session, actor, data, now)
    ep = ReferralEpisode(**_draft_columns(snap, data), status=Status.DRAFT.value, version=1, created_by=actor.user_id,
                         sent_by=actor.user_id, created_at=now, updated_at=now, status_entered_at=now,
                         status_entry_seq=1, benefits=[])
    session.add(ep)
    session.flush()
    audit.record(session, actor, "create", "referral_episode", ep.id, after=audit.snapshot(ep),
                 resident_id=ep.resident_id, detail="新建转诊草稿")
    return ep


def do_update_draft(
    session: Session, actor: Principal, referral_id: int, version: int | None, data: DraftIn,
    now: datetime | None = None,
) -> ReferralEpisode:
    """Edit a draft (same checks as creating one); compare-and-set on the version, no transition row."""
    now = now or utcnow()
    ep = repository.episode(session, referral_id)
    old = require_found(None if ep is None else _snapshot(session, ep, now, with_facts=True), referral_id)
    assert ep is not None
    if data.resident_id != ep.resident_id:
        raise Conflict("所填居民与该转诊的居民不一致", code="resident_mismatch")
    refusal = draft_author_refusal(old, actor)
    if refusal is not None:
        raise refusal
    if version is None:
        raise ValidationFailed("缺少版本号，请刷新后重试", code="version_required")
    if ep.status != Status.DRAFT.value:
        raise InvalidTransition("只有草稿可以修改", code="invalid_transition", status=ep.status)
    snap = _draft_snapshot(session, actor, data, now)
    before = audit.snapshot(ep)
    if not repository.compare_and_set(session, ep.id, version, {**_draft_columns(snap, data), "version": version + 1,
                                                                 "updated_at": now}):
        raise Conflict("该转诊已被他人更新，请刷新后重试", code="stale_version", expected=ep.version, given=version)
    session.refresh(ep)
    audit.record(session, actor, "update", "referral_episode", ep.id, before=before, after=audit.snapshot(ep),
                 resident_id=ep.resident_id, detail="修改转诊草稿")
    return ep


# ---- row 1: submit -------------------------------------------------------------------------


def record_extract_for(session: Session, actor: Principal, ep: ReferralEpisode, now: datetime) -> dict[str, Any]:
    """The shared-record extract the sender attaches: recent encounters, their diagnoses, medications.

    Read through care's service as the sender (who has the resident in scope), so the read is
    audited under the sender's name.
    """
    page = care.list_encounters_of_resident(session, actor, ep.resident_id, PageRequest(1, 5))
    encounters = [
        {"id": e.id, "institution": e.institution_name, "kind": e.kind_name, "start_date": e.start_date.isoformat(),
         "end_date": e.end_date.isoformat() if e.end_date else None, "diagnoses": e.diagnoses}
        for e in page.items
    ]
    diagnoses = list(dict.fromkeys(d for e in page.items for d in e.diagnoses))
    return {"attached_at": now.isoformat(), "encounters": encounters, "diagnoses": diagnoses,
            "medications": ep.medications}


def do_submit(session: Session, actor: Principal, referral_id: int, data: SubmitIn,
              now: datetime | None = None) -> ReferralEpisode:
    """Row 1 (and row 18 in the same transaction when the down-referral goes to the own contracted team)."""
    now = now or utcnow()
    today = to_local(now).date()

    def adjust(snap: ReferralSnapshot) -> ReferralSnapshot:
        # The governing consortium is the one the sending institution belongs to at submission.
        governing = repository.tight_consortium_of(session, snap.sending_institution_id, today)
        receiving = repository.tight_consortium_of(session, snap.receiving_institution_id, today)
        facts = facts_for(session, resident_id=snap.resident_id, sending_id=snap.sending_institution_id,
                          receiving_id=snap.receiving_institution_id, governing_id=governing, on=today)
        return replace(snap, governing_consortium_id=governing, receiving_consortium_id=receiving, facts=facts)

    def build(snap: ReferralSnapshot) -> EventInput:
        slot = _slot_input(session, snap, Event.SUBMIT, actor, data, data.slot_id)
        return EventInput(Event.SUBMIT, version=data.version, resident_id=data.resident_id, slot=slot)

    def extra(ep: ReferralEpisode, snap: ReferralSnapshot, d: Decision) -> dict[str, Any]:
        policy = policy_for(session, snap.governing_consortium_id, today)
        f = snap.facts
        out_of_network = None if snap.governing_consortium_id is None else is_out_of_network(
            snap.receiving_institution_id, f.network, f.sender_county, f.receiver_county)
        return {
            "governing_consortium_id": snap.governing_consortium_id,
            "receiving_consortium_id": snap.receiving_consortium_id, "out_of_network": out_of_network,
            "principal_in_catalogue": policy.catalogues.contains(catalogue_kinds(snap.direction),
                                                                 snap.principal_diagnosis),
            "record_extract": record_extract_for(session, actor, ep, now),
        }

    return _act(session, actor, referral_id, Event.SUBMIT, data, now, build=build, extra=extra, adjust=adjust)


# ---- rows 2–4: the referral office and the sender ------------------------------------------


def do_approve(session: Session, actor: Principal, referral_id: int, data: EventIn,
               now: datetime | None = None) -> ReferralEpisode:
    """Row 2: the governing consortium's referral office approves an out-of-network referral."""
    return _act(session, actor, referral_id, Event.APPROVE, data, now)


def _with_reason(event: Event, data: ReasonIn) -> Callable[[ReferralSnapshot], EventInput]:
    return lambda _s: EventInput(event, version=data.version, resident_id=data.resident_id,
                                 reason=(data.reason or None))


def do_reject(session: Session, actor: Principal, referral_id: int, data: ReasonIn,
              now: datetime | None = None) -> ReferralEpisode:
    """Row 3: the referral office rejects (reason required)."""
    return _act(session, actor, referral_id, Event.REJECT, data, now, build=_with_reason(Event.REJECT, data))


def do_cancel(session: Session, actor: Principal, referral_id: int, data: ReasonIn,
              now: datetime | None = None) -> ReferralEpisode:
    """Row 4: the sender withdraws before acceptance (a reason unless it is a draft)."""
    return _act(session, actor, referral_id, Event.CANCEL, data, now, build=_with_reason(Event.CANCEL, data))


def do_request_cancel(session: Session, actor: Principal, referral_id: int, data: ReasonIn,
                      now: datetime | None = None) -> ReferralEpisode:
    """Row 13: after acceptance the sender can only ask to cancel."""
    return _act(session, actor, referral_id, Event.REQUEST_CANCEL, data, now,
                build=_with_reason(Event.REQUEST_CANCEL, data))


# ---- rows 5–15, 21: the receiver -----------------------------------------------------------


def do_accept(session: Session, actor: Principal, referral_id: int, data: EventIn,
              now: datetime | None = None) -> ReferralEpisode:
    """Row 5: a clinician of the receiving institution (not the sender) takes responsibility."""
    return _act(session, actor, referral_id, Event.ACCEPT, data, now)


def do_decline(session: Session, actor: Principal, referral_id: int, data: DeclineIn,
               now: datetime | None = None) -> ReferralEpisode:
    """Row 6: refuse with a reason code (``other`` needs text) until the patient is in care."""
    code = DeclineCode(data.code) if data.code else None

    def build(_s: ReferralSnapshot) -> EventInput:
        return EventInput(Event.DECLINE, version=data.version, resident_id=data.resident_id, decline_code=code,
                          reason=data.reason or None)

    return _act(session, actor, referral_id, Event.DECLINE, data, now, build=build,
                extra=lambda *_: {"decline_code": code.value if code else None})


def _slot_event(event: Event) -> Callable[..., ReferralEpisode]:
    def do(session: Session, actor: Principal, referral_id: int, data: SlotIn,
           now: datetime | None = None) -> ReferralEpisode:
        def build(snap: ReferralSnapshot) -> EventInput:
            slot = _slot_input(session, snap, event, actor, data, data.slot_id)
            return EventInput(event, version=data.version, resident_id=data.resident_id, slot=slot)

        return _act(session, actor, referral_id, event, data, now, build=build)

    return do


#: Row 7: book a slot or bed of the receiving institution (a referral pool only if open to the sender).
do_schedule: Callable[..., ReferralEpisode] = _slot_event(Event.SCHEDULE)
#: Row 8: move to another slot; a new status entry (the attendance clock restarts).
do_reschedule: Callable[..., ReferralEpisode] = _slot_event(Event.RESCHEDULE)


def do_mark_no_show(session: Session, actor: Principal, referral_id: int, data: EventIn,
                    now: datetime | None = None) -> ReferralEpisode:
    """Row 9: the patient did not come (only after the slot's start)."""
    return _act(session, actor, referral_id, Event.MARK_NO_SHOW, data, now)


def do_check_in(session: Session, actor: Principal, referral_id: int, data: CheckInIn,
                now: datetime | None = None) -> ReferralEpisode:
    """Row 10: arrived (outpatient) or admitted (inpatient); a pending cancel request lapses."""
    setting = CareSetting(data.care_setting) if data.care_setting else None
    return _act(session, actor, referral_id, Event.CHECK_IN, data, now,
                build=lambda _s: EventInput(Event.CHECK_IN, version=data.version, resident_id=data.resident_id,
                                            care_setting=setting))


def do_note(session: Session, actor: Principal, referral_id: int, data: NoteIn,
            now: datetime | None = None) -> ReferralEpisode:
    """Row 11: an interim note to the sender; repeats freely, restarts no clock."""
    return _act(session, actor, referral_id, Event.NOTE, data, now,
                build=lambda _s: EventInput(Event.NOTE, version=data.version, resident_id=data.resident_id,
                                            text=data.text or None))


def do_complete(session: Session, actor: Principal, referral_id: int, data: OutcomeIn,
                now: datetime | None = None) -> ReferralEpisode:
    """Row 12: the outcome (summary, diagnoses, recommendations) goes back to the sender; the loop closes."""
    dx = tuple(_clean_dx(data.diagnoses))
    outcome = Outcome(data.summary or "", dx, data.recommendations or "")

    def extra(*_: Any) -> dict[str, Any]:
        return {"outcome_summary": outcome.summary, "outcome_diagnoses": "|".join(dx) or None,
                "outcome_recommendations": outcome.recommendations}

    return _act(session, actor, referral_id, Event.COMPLETE, data, now, extra=extra,
                build=lambda _s: EventInput(Event.COMPLETE, version=data.version, resident_id=data.resident_id,
                                            outcome=outcome))


def do_confirm_cancel(session: Session, actor: Principal, referral_id: int, data: EventIn,
                      now: datetime | None = None) -> ReferralEpisode:
    """Row 14: the receiver confirms the sender's cancel request."""
    return _act(session, actor, referral_id, Event.CONFIRM_CANCEL, data, now)


def do_reassign(session: Session, actor: Principal, referral_id: int, data: ReassignIn,
                now: datetime | None = None) -> ReferralEpisode:
    """Row 15: route the inbox to a department / practitioner of the receiving institution."""

    def build(_s: ReferralSnapshot) -> EventInput:
        places: set[int] = set()
        if data.department_id is not None:
            dep = repository.department(session, data.department_id)
            places.add(dep.institution_id if dep is not None else -1)
        if data.practitioner_id is not None:
            prac = repository.practitioner(session, data.practitioner_id)
            places.add(prac.home_institution_id if prac is not None else -1)
        routing = None if not places else Routing(places.pop() if len(places) == 1 else -1, data.department_id,
                                                  data.practitioner_id)
        return EventInput(Event.REASSIGN, version=data.version, resident_id=data.resident_id, routing=routing)

    return _act(session, actor, referral_id, Event.REASSIGN, data, now, build=build)


def do_record_followup(session: Session, actor: Principal, referral_id: int, data: FollowUpIn,
                       now: datetime | None = None) -> ReferralEpisode:
    """Row 21: the receiving clinician records the down-referral's follow-up; it closes the loop."""
    now = now or utcnow()
    on = data.on or to_local(now).date()
    f = None
    if data.mode is not None:
        f = FollowUp(on, FollowUpMode(data.mode), data.findings or "", data.plan or "")
    return _act(session, actor, referral_id, Event.RECORD_FOLLOWUP, data, now,
                build=lambda _s: EventInput(Event.RECORD_FOLLOWUP, version=data.version,
                                            resident_id=data.resident_id, followup=f))


# ---- row 22: a follow-up seen in care or contracts data ------------------------------------


def do_followup_seen(
    session: Session, *, resident_id: int, institution_id: int, on: Any, source: FollowUpSource, evidence_id: str,
    now: datetime | None = None,
) -> list[int]:
    """Row 22: an encounter or delivery record of the resident at the receiving institution (or one of its
    stations / village clinics), on or after acceptance, completes the open down-referral.  Returns the
    referrals completed; anything that does not qualify is skipped (the handler is idempotent)."""
    now = now or utcnow()
    place = repository.institution(session, institution_id)
    if place is None:
        return []
    parent = place.parent_id
    done: list[int] = []
    notices: list[Notice] = []
    for ep in repository.down_referrals_awaiting_followup(session, [resident_id], {institution_id, parent or -1}):
        snap = snapshot_of(session, ep)
        evidence = FollowUpEvidence(source, on, institution_id, parent, evidence_id)
        inp = EventInput(Event.FOLLOWUP_SEEN, evidence=evidence)
        policy = policy_for(session, ep.governing_consortium_id, to_local(now).date())
        try:
            with session.begin_nested():
                d = transition(snap, inp, SYSTEM, now, policy)
                notices += apply_decision(session, ep, d, inp, actor=SYSTEM_AUDIT, now=now,
                                          resident_name=_resident_name(session, ep.resident_id))
        except (InvalidTransition, Conflict):
            continue  # not a follow-up of this referral (too early, elsewhere), or someone else closed it
        done.append(ep.id)
    publish_notices(session, notices)
    return done
