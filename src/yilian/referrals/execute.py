"""Write one ``Decision`` of the pure state machine: the row, its transition row, the audit row, the effects.

Order matters for races.  The referral row is written first, by compare-and-set on its
``version`` (``UPDATE … WHERE id = :id AND version = :version``): whoever loses — a
second receiver, a job that a person beat, a person that the job beat — stops there
with Conflict ``stale_version`` before touching slots, care relationships or tasks.  On
PostgreSQL the winning UPDATE also holds the row lock until commit, so the loser's
UPDATE waits and then finds the version moved.  An escalation changes no version: its
compare-and-set only checks it (and takes the lock); its row is unique on its key.

Effects on other tables follow; notifications are returned as ``Notice`` records for
the caller to publish after the unit of work succeeded.
"""

from __future__ import annotations

from dataclasses import asdict, is_dataclass, replace
from datetime import date, datetime
from enum import Enum
from typing import Any, Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yilian.contracts.config import PriorityBenefit
from yilian.core.clock import to_local
from yilian.core.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from yilian.db.models import ReferralEpisode, ReferralEscalation, ReferralEvent, ReferralFollowUpTask
from yilian.identity import audit
from yilian.identity.principal import Principal
from yilian.referrals import repository
from yilian.referrals.notices import Notice
from yilian.referrals.records import (
    EVENT_NAMES_ZH,
    ApplyBenefits,
    BookSlot,
    CancelFollowUpTask,
    CloseCareRelationship,
    CompleteFollowUpTask,
    CreateFollowUpTask,
    Decision,
    EndBenefits,
    Event,
    EventInput,
    HoldSlot,
    Notify,
    OpenCareRelationship,
    Party,
    RecordEscalation,
    ReleaseSlot,
    RouteInbox,
    SetAppointmentStatus,
    SlotState,
    Status,
)
from yilian.residents import service as residents
from yilian.scheduling import service as scheduling
from yilian.scheduling.states import AppointmentStatus

__all__ = ["apply_decision", "payload_of"]

#: The first time a status is reached, its time stamp column is set (indicators, timelines).
_REACHED: Final[dict[Status, str]] = {
    Status.ACCEPTED: "accepted_at", Status.SCHEDULED: "scheduled_at", Status.NO_SHOW: "no_show_at",
    Status.IN_CARE: "in_care_at", Status.CANCEL_REQUESTED: "cancel_requested_at", Status.COMPLETED: "completed_at",
    Status.DECLINED: "declined_at", Status.CANCELLED: "cancelled_at", Status.EXPIRED: "expired_at",
}  # fmt: skip
_ROLE_OF: Final[dict[Party, str | None]] = {
    Party.SENDER: "clinician", Party.RECEIVER: "clinician", Party.REFERRAL_OFFICE: "referral_officer",
    Party.RECEIVING_OFFICE: "referral_officer", Party.SYSTEM: None,
}


def _json(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _json(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def payload_of(inp: EventInput) -> dict[str, Any] | None:
    """What the event carried, for the transition row (the version and event name are columns)."""
    out: dict[str, Any] = {}
    for name in ("decline_code", "care_setting", "text", "outcome", "followup", "evidence", "routing"):
        value = getattr(inp, name)
        if value is not None:
            out[name] = _json(value)
    if inp.slot is not None:
        out["slot_id"] = inp.slot.slot_id
        out["slot_start"] = inp.slot.start.isoformat()
    return out or None


def _stale(ep: ReferralEpisode, version: int) -> Conflict:
    return Conflict("该转诊已被他人更新，请刷新后重试", code="stale_version", expected=version, referral_id=ep.id)


def _episode_values(ep: ReferralEpisode, d: Decision, now: datetime) -> dict[str, Any]:
    """Columns of the referral row the decision changes (written by one compare-and-set)."""
    if d.event == Event.ESCALATE:
        return {"version": d.version}  # checks the version and takes the row lock; changes nothing
    values: dict[str, Any] = {"status": d.to_status.value, "version": d.version, "updated_at": now}
    if d.new_status_entry:
        values.update(status_entered_at=now, status_entry_seq=d.version)
    if d.event == Event.SUBMIT:
        values.update(sent_by=d.actor_user_id, submitted_at=now)
    if d.event in (Event.APPROVE, Event.DEEM_APPROVAL):
        values["approved_at"] = now
    if d.event in (Event.ACCEPT, Event.AUTO_ACCEPT) and ep.accepted_at is None:
        values["accepted_at"] = now
    column = _REACHED.get(d.to_status)
    if column is not None and d.to_status != d.from_status and getattr(ep, column) is None:
        values[column] = now
    if d.approval is not None:
        values["approval"] = d.approval.value
    if d.end_reason is not None:
        values["end_reason"] = d.end_reason.value
    if d.care_setting is not None:
        values["care_setting"] = d.care_setting.value
    if d.deadlines is not None:
        values["deadlines"] = d.deadlines.to_seconds()
    slot_id, slot_state = ep.slot_id, ep.slot_state
    for e in d.effects:
        if isinstance(e, HoldSlot):
            slot_id, slot_state = e.slot_id, SlotState.HELD.value
        elif isinstance(e, BookSlot):
            slot_id, slot_state = e.slot_id, SlotState.BOOKED.value
        elif isinstance(e, ReleaseSlot) and e.slot_id == slot_id:
            slot_id, slot_state = None, None
        elif isinstance(e, SetAppointmentStatus):
            slot_state = (SlotState.NO_SHOW if e.status == AppointmentStatus.NO_SHOW else SlotState.ATTENDED).value
        elif isinstance(e, ApplyBenefits):
            values.update(benefits=sorted(b.value for b in e.benefits), benefits_applied_at=now)
        elif isinstance(e, EndBenefits):
            values.update(benefits=[], benefits_ended_at=now)
        elif isinstance(e, RouteInbox):
            values.update(receiving_department_id=e.department_id, receiving_practitioner_id=e.practitioner_id)
    if (slot_id, slot_state) != (ep.slot_id, ep.slot_state):
        values.update(slot_id=slot_id, slot_state=slot_state)
    return values


def _care_relationship(session: Session, actor: Principal, ep: ReferralEpisode, kind: str, institution_id: int,
                       on: date, *, close: bool) -> None:
    if not close:
        residents.do_add_care_relationship(session, actor, ep.resident_id, institution_id, kind, since=on)
        return
    try:
        residents.do_end_care_relationship(session, actor, ep.resident_id, institution_id, kind, until=on)
    except (NotFound, ValidationFailed):  # none running (already ended elsewhere), or it began later
        return


def _escalation(session: Session, ep: ReferralEpisode, e: RecordEscalation, now: datetime) -> None:
    row = ReferralEscalation(referral_id=ep.id, kind=e.key.kind.value, entry_seq=e.key.status_entry_seq or 0,
                             due_at=e.due_at, at=now)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another run wrote this escalation first
        raise InvalidTransition("本阶段已督办过", code="already_escalated") from None


def _task(session: Session, ep: ReferralEpisode) -> ReferralFollowUpTask | None:
    return repository.followup_task(session, ep.id)


def _slot_effect(session: Session, actor: Principal, ep: ReferralEpisode, d: Decision,
                 e: HoldSlot | BookSlot | ReleaseSlot | SetAppointmentStatus, now: datetime) -> None:
    """Holds and bookings through scheduling's service (one booking path for every channel)."""
    account = scheduling.ReferralAccount(ep.id, ep.sending_institution_id,
                                         frozenset(PriorityBenefit(b) for b in ep.benefits or []))
    if isinstance(e, HoldSlot):
        scheduling.do_hold(session, actor, e.slot_id, ep.resident_id, replace(account, benefits=frozenset()), now)
        return
    appt = scheduling.episode_appointment(session, ep.id, e.slot_id)
    if isinstance(e, BookSlot):
        if appt is not None and appt.held:
            scheduling.do_confirm_hold(session, actor, appt.id, account.benefits, now)
        else:
            scheduling.do_book(session, actor, e.slot_id, ep.resident_id, referral=account, now=now)
    elif appt is None:
        return  # nothing of this episode occupies the slot any more
    elif isinstance(e, ReleaseSlot):
        scheduling.do_release(session, actor, appt.id, f"转诊{EVENT_NAMES_ZH[d.event]}", now)
    elif e.status == AppointmentStatus.NO_SHOW:
        scheduling.do_mark_no_show(session, actor, appt.id, now)
    else:
        scheduling.do_check_in(session, actor, appt.id, now)


def _run_effects(session: Session, ep: ReferralEpisode, d: Decision, inp: EventInput, actor: Principal,
                 now: datetime, notices: list[Notice], resident_name: str) -> None:
    on = to_local(now).date()
    for e in d.effects:
        if isinstance(e, HoldSlot | BookSlot | ReleaseSlot | SetAppointmentStatus):
            _slot_effect(session, actor, ep, d, e, now)
        elif isinstance(e, OpenCareRelationship | CloseCareRelationship):
            _care_relationship(session, actor, ep, e.kind.value, e.institution_id, on,
                               close=isinstance(e, CloseCareRelationship))
        elif isinstance(e, CreateFollowUpTask):
            session.add(ReferralFollowUpTask(
                referral_id=ep.id, resident_id=ep.resident_id, institution_id=ep.receiving_institution_id,
                team_id=e.team_id, assignee_user_id=e.user_id, status="open", due_at=e.due_at, created_at=now))
        elif isinstance(e, CompleteFollowUpTask):
            task = _task(session, ep)
            if task is not None:
                f = inp.followup
                task.status, task.done_on, task.on_time, task.completed_at = "done", e.on, e.on_time, now
                task.source, task.evidence_id = e.source.value, e.evidence_id
                if f is not None:
                    task.mode, task.findings, task.plan = f.mode.value, f.findings, f.plan
        elif isinstance(e, CancelFollowUpTask):
            task = _task(session, ep)
            if task is not None and task.status == "open":
                task.status = "cancelled"
        elif isinstance(e, RecordEscalation):
            _escalation(session, ep, e, now)
        elif isinstance(e, Notify):
            notices.append(Notice(ep.id, e.topic, tuple(sorted(p.value for p in e.recipients)),
                                  e.office_consortium_id, ep.sent_by, ep.receiving_institution_id, resident_name,
                                  now))
    session.flush()


def apply_decision(
    session: Session,
    ep: ReferralEpisode,
    d: Decision,
    inp: EventInput,
    *,
    actor: Principal,
    now: datetime,
    resident_name: str,
    extra: dict[str, Any] | None = None,
) -> list[Notice]:
    """Write ``d`` (already validated by ``transition``) or raise; ``actor`` signs the audit rows.

    ``extra`` holds columns the use case adds (decline code, outcome, the record extract).
    """
    before = {"status": ep.status, "version": ep.version}
    values = _episode_values(ep, d, now)
    if d.event != Event.ESCALATE and extra:
        values.update(extra)
    if not repository.compare_and_set(session, ep.id, ep.version, values):
        raise _stale(ep, ep.version)
    session.refresh(ep)
    notices: list[Notice] = []
    _run_effects(session, ep, d, inp, actor, now, notices, resident_name)
    if d.event != Event.ESCALATE:
        session.add(ReferralEvent(
            referral_id=ep.id, seq=d.version, row=d.row, event=d.event.value, from_status=d.from_status.value,
            to_status=d.to_status.value, party=d.party.value, actor_user_id=d.actor_user_id,
            actor_role=_ROLE_OF[d.party], at=now, reason=inp.reason, payload=payload_of(inp)))
        session.flush()
    after = {"status": ep.status, "version": ep.version, "row": d.row}
    if d.end_reason is not None:
        after["end_reason"] = d.end_reason.value
    audit.record(session, actor, f"referral.{d.event.value}", "referral_episode", ep.id, before=before, after=after,
                 resident_id=ep.resident_id, detail=f"转诊表第{d.row}行：{d.from_status.value} → {d.to_status.value}")
    return notices
