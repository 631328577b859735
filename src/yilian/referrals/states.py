"""The referral state machine of REFERRAL.md as data, its guards, and ``transition``.

``RULES`` is the document's transition table, one ``Rule`` per row: event,
parties allowed to fire it, source statuses, target(s), directions.  Two rows
have two targets chosen by a guard (submit: ``requested`` or
``awaiting_approval``; accept / auto-accept: ``accepted`` or ``scheduled``);
escalation rows have none (status unchanged).

``transition`` checks in the documented order — resident matches → actor →
``version`` → event allowed for status and direction → the row's guards — and
returns a ``Decision``: the target status and the side effects (hold, book or
release slots, benefits, care relationships, follow-up task, escalation row,
notifications) for the service to execute.  A refusal is raised and changes
nothing, because nothing has been written yet.

The vocabulary lives in ``records.py`` and is re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from yilian.core.clock import to_local
from yilian.core.errors import Conflict, Forbidden, InvalidTransition, NotFound, ValidationFailed
from yilian.identity.principal import Principal
from yilian.identity.roles import Role
from yilian.referrals.config import ReferralPolicy
from yilian.referrals.records import (
    EVENT_NAMES_ZH,
    STATUS_NAMES_ZH,
    SYSTEM,
    TERMINAL,
    ApplyBenefits,
    Approval,
    BookSlot,
    CareKind,
    CareSetting,
    CompleteFollowUpTask,
    CreateFollowUpTask,
    Decision,
    DeclineCode,
    Direction,
    Effect,
    EndReason,
    EscalationKind,
    Event,
    EventInput,
    FollowUpSource,
    HoldSlot,
    Notify,
    OpenCareRelationship,
    Party,
    RecordEscalation,
    ReferralSnapshot,
    ReleaseSlot,
    RouteInbox,
    SetAppointmentStatus,
    SlotState,
    Status,
    SystemActor,
    Urgency,
    next_snapshot,
)
from yilian.referrals.rules import (
    FOLLOWUP_STATUSES,
    approval_at_submission,
    auto_accept_applies,
    deadlines_for,
    deadlines_of,
    end_of_episode,
    episode_benefits,
    escalation_notice,
    followup_due_at,
    followup_on_time,
    pending_escalation,
    pending_final,
    slot_refusal,
    submission_refusal,
)
from yilian.scheduling.rules import PoolKind, booking_flags, effective_kind
from yilian.scheduling.states import AppointmentStatus

__all__ = [  # noqa: RUF022 - the vocabulary (from records.py) first, then the machine
    "EVENT_NAMES_ZH", "STATUS_NAMES_ZH", "SYSTEM", "TERMINAL", "Approval", "CareSetting", "DeclineCode",
    "Decision", "Direction", "EndReason", "EscalationKind", "Event", "EventInput", "Party",
    "ReferralSnapshot", "Status", "SystemActor", "Urgency",
    "EVENT_PARTIES", "RULES", "TRANSITIONS", "Actor", "Rule", "draft_author_refusal", "events_allowed",
    "find_rule", "next_snapshot", "require_found", "resolve_party", "transition",
]  # fmt: skip

Actor = Principal | SystemActor

_ALL: Final = frozenset(Direction)
_UP_LATERAL: Final = frozenset({Direction.UP, Direction.LATERAL})
_DOWN: Final = frozenset({Direction.DOWN})
S = Status


@dataclass(frozen=True, slots=True)
class Rule:
    row: int
    event: Event
    parties: frozenset[Party]
    sources: frozenset[Status]
    #: Possible targets; empty = the status is unchanged.
    targets: tuple[Status, ...]
    directions: frozenset[Direction] = _ALL


def _r(row: int, event: Event, parties: Iterable[Party], sources: Iterable[Status],
       targets: tuple[Status, ...], directions: frozenset[Direction] = _ALL) -> Rule:
    return Rule(row, event, frozenset(parties), frozenset(sources), targets, directions)


_SND, _RCV, _OFF, _SYS = Party.SENDER, Party.RECEIVER, Party.REFERRAL_OFFICE, Party.SYSTEM

RULES: Final[tuple[Rule, ...]] = (
    _r(1, Event.SUBMIT, [_SND], [S.DRAFT], (S.REQUESTED, S.AWAITING_APPROVAL)),
    _r(2, Event.APPROVE, [_OFF], [S.AWAITING_APPROVAL], (S.REQUESTED,)),
    _r(3, Event.REJECT, [_OFF], [S.AWAITING_APPROVAL], (S.DECLINED,)),
    _r(4, Event.CANCEL, [_SND], [S.DRAFT, S.AWAITING_APPROVAL, S.REQUESTED], (S.CANCELLED,)),
    _r(5, Event.ACCEPT, [_RCV], [S.REQUESTED], (S.ACCEPTED, S.SCHEDULED)),
    _r(6, Event.DECLINE, [_RCV], [S.REQUESTED, S.ACCEPTED, S.SCHEDULED, S.NO_SHOW], (S.DECLINED,)),
    _r(7, Event.SCHEDULE, [_RCV], [S.ACCEPTED, S.NO_SHOW], (S.SCHEDULED,)),
    _r(8, Event.RESCHEDULE, [_RCV], [S.SCHEDULED], (S.SCHEDULED,)),
    _r(9, Event.MARK_NO_SHOW, [_RCV], [S.SCHEDULED], (S.NO_SHOW,)),
    _r(10, Event.CHECK_IN, [_RCV], [S.ACCEPTED, S.SCHEDULED, S.CANCEL_REQUESTED], (S.IN_CARE,)),
    _r(11, Event.NOTE, [_RCV], [S.ACCEPTED, S.SCHEDULED, S.IN_CARE], ()),
    _r(12, Event.COMPLETE, [_RCV], [S.IN_CARE], (S.COMPLETED,), _UP_LATERAL),
    _r(13, Event.REQUEST_CANCEL, [_SND], [S.ACCEPTED, S.SCHEDULED, S.NO_SHOW], (S.CANCEL_REQUESTED,)),
    _r(14, Event.CONFIRM_CANCEL, [_RCV], [S.CANCEL_REQUESTED], (S.CANCELLED,)),
    _r(15, Event.REASSIGN, [_RCV, Party.RECEIVING_OFFICE], [S.REQUESTED, S.ACCEPTED], ()),
    _r(16, Event.ESCALATE, [_SYS], [S.REQUESTED], ()),
    # Row 17 from awaiting_approval only when routine: the deadline guard (pending_final) decides.
    _r(17, Event.EXPIRE, [_SYS], [S.REQUESTED, S.AWAITING_APPROVAL], (S.EXPIRED,)),
    _r(18, Event.AUTO_ACCEPT, [_SYS], [S.REQUESTED], (S.ACCEPTED, S.SCHEDULED), _DOWN),
    _r(19, Event.DEEM_APPROVAL, [_SYS], [S.AWAITING_APPROVAL], (S.REQUESTED,)),
    _r(20, Event.ESCALATE, [_SYS], [S.AWAITING_APPROVAL], ()),
    _r(21, Event.RECORD_FOLLOWUP, [_RCV], FOLLOWUP_STATUSES, (S.COMPLETED,), _DOWN),
    _r(22, Event.FOLLOWUP_SEEN, [_SYS], FOLLOWUP_STATUSES, (S.COMPLETED,), _DOWN),
    _r(23, Event.ESCALATE, [_SYS], FOLLOWUP_STATUSES, (), _DOWN),
    _r(24, Event.ESCALATE, [_SYS], [S.ACCEPTED], (), _UP_LATERAL),
    _r(25, Event.ESCALATE, [_SYS], [S.SCHEDULED], (), _UP_LATERAL),
    _r(26, Event.EXPIRE, [_SYS], [S.NO_SHOW], (S.EXPIRED,), _UP_LATERAL),
    _r(27, Event.ESCALATE, [_SYS], [S.IN_CARE], (), _UP_LATERAL),
    _r(28, Event.ESCALATE, [_SYS], [S.CANCEL_REQUESTED], ()),
)


def _index(rules: Iterable[Rule]) -> dict[tuple[Status, Event, Direction], Rule]:
    out: dict[tuple[Status, Event, Direction], Rule] = {}
    for rule in rules:
        for key in ((s, rule.event, d) for s in rule.sources for d in rule.directions):
            if key in out:  # the table must be a function; fail at import, not at run time
                raise AssertionError(f"rows {out[key].row} and {rule.row} overlap on {key}")
            out[key] = rule
    return out


_BY_KEY: Final = _index(RULES)

#: ``{(from_status, event): possible to_statuses}`` over all directions.
TRANSITIONS: Final[Mapping[tuple[Status, Event], frozenset[Status]]] = {
    key: frozenset(
        t for r in RULES if r.event == key[1] and key[0] in r.sources for t in r.targets or (key[0],)
    )
    for key in {(s, e) for (s, e, _d) in _BY_KEY}
}
#: Who may fire each event (the same for every row of an event).
EVENT_PARTIES: Final[Mapping[Event, frozenset[Party]]] = {r.event: r.parties for r in RULES}


def find_rule(status: Status, event: Event, direction: Direction) -> Rule | None:
    return _BY_KEY.get((status, event, direction))


def events_allowed(status: Status, direction: Direction) -> frozenset[Event]:
    """Events the table allows now (before actor and guards), e.g. to choose the buttons of a page."""
    return frozenset(e for (s, e, d) in _BY_KEY if s == status and d == direction)


# --------------------------------------------------------------------------- actor guards


def resolve_party(snap: ReferralSnapshot, event: Event, actor: Actor) -> Party | Forbidden:
    """The party ``actor`` acts as for ``event`` on this referral, or the refusal saying why not.

    Codes follow REFERRAL.md integrity cases 6–12: ``role_not_allowed`` (no role
    that could act), ``not_sender`` / ``not_receiver`` / ``not_approver`` (the
    role, but at the wrong institution or consortium), ``own_referral``,
    ``resident_out_of_scope``; ``system_only`` for a person firing a system event.
    """
    parties = EVENT_PARTIES[event]
    if isinstance(actor, SystemActor):
        return _SYS if _SYS in parties else Forbidden("该操作须由人员执行", code="role_not_allowed")
    if parties == {_SYS}:
        return Forbidden("该操作仅由系统执行", code="system_only")
    clinician_at = {g.institution_id for g in actor.grants if g.role == Role.CLINICIAN}
    officer_for = {g.consortium_id for g in actor.grants if g.role == Role.REFERRAL_OFFICER}
    own = actor.user_id is not None and actor.user_id == snap.sent_by
    if _SND in parties:
        if not clinician_at:
            return Forbidden("只有医生可以发起或撤回转诊", code="role_not_allowed")
        if snap.sending_institution_id not in clinician_at:
            return Forbidden("只有转出机构的医生可以执行此操作", code="not_sender")
        if event == Event.SUBMIT and not snap.facts.resident_in_sender_scope:
            return Forbidden("该居民与本机构无有效服务关系，不能发起转诊", code="resident_out_of_scope")
        return _SND
    if _OFF in parties:
        if not officer_for:
            return Forbidden("只有转诊办人员可以审批外转", code="role_not_allowed")
        if snap.governing_consortium_id is None or snap.governing_consortium_id not in officer_for:
            return Forbidden("只有主管医联体的转诊办可以审批该转诊", code="not_approver")
        if own:
            return Forbidden("不能审批本人发出的转诊", code="own_referral")
        return _OFF
    # Receiver side (rows 5–12, 14, 21); row 15 also the receiving institution's consortium office.
    as_clinician = snap.receiving_institution_id in clinician_at
    office_may = Party.RECEIVING_OFFICE in parties
    receiving_office = snap.receiving_consortium_id
    as_office = office_may and receiving_office is not None and receiving_office in officer_for
    if as_clinician or as_office:
        if own:  # a dispatched specialist holding roles at both ends still may not act on their own
            return Forbidden("不能处理本人发出的转诊", code="own_referral")
        return _RCV if as_clinician else Party.RECEIVING_OFFICE
    if not clinician_at and not (office_may and officer_for):
        return Forbidden("只有接收机构的医生可以执行此操作", code="role_not_allowed")
    return Forbidden("只有接收机构的医生可以执行此操作", code="not_receiver")


def draft_author_refusal(snap: ReferralSnapshot, actor: Principal) -> Forbidden | None:
    """Creating or editing a draft needs the sender checks of row 1 (role, institution, scope)."""
    party = resolve_party(snap, Event.SUBMIT, actor)
    return party if isinstance(party, Forbidden) else None


# --------------------------------------------------------------------------- decisions


def _blank(text: str | None) -> bool:
    return not (text or "").strip()


def _reason_required(what: str) -> ValidationFailed:
    return ValidationFailed(f"{what}须填写原因", code="reason_required")


def _not_due(what: str) -> InvalidTransition:
    # Refusals of system events: the job or handler skips them silently.
    return InvalidTransition(f"{what}尚未到期或不适用", code="not_due")


def _notify(*parties: Party, topic: str, office: int | None = None) -> Notify:
    return Notify(frozenset(parties), topic, office)


@dataclass(frozen=True, slots=True)
class _Ctx:
    snap: ReferralSnapshot
    inp: EventInput
    rule: Rule
    party: Party
    user_id: int | None
    now: datetime
    policy: ReferralPolicy

    def decide(
        self,
        to: Status | None,
        effects: Iterable[Effect] = (),
        *,
        approval: Approval | None = None,
        end_reason: EndReason | None = None,
        care_setting: CareSetting | None = None,
        follow_on: Event | None = None,
        submitted: bool = False,
    ) -> Decision:
        """Assemble the decision; a terminal target also releases what the episode still holds."""
        snap = self.snap
        target = snap.status if to is None else to
        out = (*effects, *end_of_episode(snap, target))
        escalation = self.inp.event == Event.ESCALATE  # an escalation row is not a transition row
        return Decision(
            row=self.rule.row,
            event=self.inp.event,
            party=self.party,
            from_status=snap.status,
            to_status=target,
            at=self.now,
            version=snap.version if escalation else snap.version + 1,
            new_status_entry=target != snap.status or self.inp.event == Event.RESCHEDULE,
            actor_user_id=self.user_id,
            reason=self.inp.reason,
            end_reason=end_reason,
            approval=approval,
            deadlines=deadlines_for(snap.direction, snap.urgency, self.policy) if submitted else None,
            care_setting=care_setting,
            effects=out,
            follow_on=follow_on,
        )


def _submit(c: _Ctx) -> Decision:
    snap, slot = c.snap, c.inp.slot
    refusal = submission_refusal(snap, slot, c.now, c.policy)
    if refusal is not None:
        raise refusal
    approval = approval_at_submission(snap, c.policy)
    waiting = approval == Approval.PENDING
    effects: list[Effect] = [] if slot is None else [HoldSlot(slot.slot_id, slot.institution_id, slot.start)]
    effects.append(
        _notify(Party.REFERRAL_OFFICE, topic="submitted", office=snap.governing_consortium_id)
        if waiting
        else _notify(Party.RECEIVER, topic="submitted")
    )
    # Row 18 runs in the same transaction: the service applies the follow-on next.
    follow = Event.AUTO_ACCEPT if not waiting and auto_accept_applies(snap, c.policy) else None
    target = Status.AWAITING_APPROVAL if waiting else Status.REQUESTED
    return c.decide(target, effects, approval=approval, follow_on=follow, submitted=True)


def _approve(c: _Ctx) -> Decision:
    notify = _notify(Party.SENDER, Party.RECEIVER, topic="approved")
    return c.decide(Status.REQUESTED, [notify], approval=Approval.APPROVED)


def _reject(c: _Ctx) -> Decision:
    if _blank(c.inp.reason):
        raise _reason_required("驳回外转申请")
    notify = _notify(Party.SENDER, topic="approval_rejected")
    end = EndReason.APPROVAL_REJECTED
    return c.decide(Status.DECLINED, [notify], approval=Approval.REJECTED, end_reason=end)


def _cancel(c: _Ctx) -> Decision:
    status = c.snap.status
    if status != Status.DRAFT and _blank(c.inp.reason):
        raise _reason_required("撤回转诊")
    notify: list[Effect] = []
    if status == Status.REQUESTED:
        notify.append(_notify(Party.RECEIVER, topic="cancelled"))
    elif status == Status.AWAITING_APPROVAL:
        office = c.snap.governing_consortium_id
        notify.append(_notify(Party.REFERRAL_OFFICE, topic="cancelled", office=office))
    return c.decide(Status.CANCELLED, notify, end_reason=EndReason.CANCELLED_BY_SENDER)


def _accept(c: _Ctx) -> Decision:
    """Rows 5 and 18: hold → booking (released if its start passed); benefits or a follow-up task."""
    snap, now = c.snap, c.now
    if c.inp.event == Event.AUTO_ACCEPT and not auto_accept_applies(snap, c.policy):
        raise _not_due("自动接收")
    benefits = episode_benefits(snap.direction, c.policy)
    effects: list[Effect] = [OpenCareRelationship(CareKind.REFERRED, snap.receiving_institution_id)]
    target = Status.ACCEPTED
    held = snap.slot if snap.slot is not None and snap.slot.state == SlotState.HELD else None
    if held is not None and held.start > now:
        flags = booking_flags(episode_benefits=benefits, referral_episode_id=snap.referral_id)
        effects.append(BookSlot(held.slot_id, held.institution_id, held.start, flags, PoolKind.REFERRAL))
        target = Status.SCHEDULED
    elif held is not None:
        effects.append(ReleaseSlot(held.slot_id))
    if benefits:
        effects.append(ApplyBenefits(benefits))
    due = deadlines_of(snap, c.policy).followup_due
    if snap.direction == Direction.DOWN and due is not None:
        # Auto-acceptance hands the task to the contracted team, otherwise to the accepting clinician.
        team = snap.facts.contract_team if c.inp.event == Event.AUTO_ACCEPT else None
        if team is not None:
            effects.append(CreateFollowUpTask(now + due, team_id=team.team_id))
        else:
            effects.append(CreateFollowUpTask(now + due, user_id=c.user_id))
    effects.append(_notify(Party.SENDER, topic="accepted"))
    return c.decide(target, effects)


def _decline(c: _Ctx) -> Decision:
    code = c.inp.decline_code
    if code is None or (code == DeclineCode.OTHER and _blank(c.inp.reason)):
        raise _reason_required("拒绝转诊")
    return c.decide(Status.DECLINED, [_notify(Party.SENDER, topic="declined")], end_reason=EndReason.DECLINED)


def _schedule(c: _Ctx) -> Decision:
    """Rows 7 and 8: book a slot or bed; the booking carries the episode's priority and fee flags."""
    snap, slot, event = c.snap, c.inp.slot, c.inp.event
    if slot is None:
        raise ValidationFailed("请选择号源或床位", code="slot_required")
    if event == Event.RESCHEDULE and snap.slot is not None and slot.slot_id == snap.slot.slot_id:
        raise ValidationFailed("新号源与原号源相同", code="same_slot")
    refusal = slot_refusal(snap, slot, c.now, hold=False)
    if refusal is not None:
        raise refusal
    flags = booking_flags(episode_benefits=snap.benefits, referral_episode_id=snap.referral_id)
    kind = effective_kind(slot.pool, slot.start, c.now)
    effects: list[Effect] = []
    if event == Event.RESCHEDULE and snap.slot is not None:
        effects.append(ReleaseSlot(snap.slot.slot_id))
    effects += [BookSlot(slot.slot_id, slot.institution_id, slot.start, flags, kind),
                _notify(Party.SENDER, topic=event.value)]
    return c.decide(Status.SCHEDULED, effects)


def _mark_no_show(c: _Ctx) -> Decision:
    slot = c.snap.slot
    if slot is None or c.now < slot.start:
        raise ValidationFailed("号源时间未到，不能标记爽约", code="slot_not_started")
    effects: list[Effect] = [
        SetAppointmentStatus(slot.slot_id, AppointmentStatus.NO_SHOW),
        _notify(Party.SENDER, topic="no_show"),
    ]
    return c.decide(Status.NO_SHOW, effects)


def _check_in(c: _Ctx) -> Decision:
    snap = c.snap
    if c.inp.care_setting is None:
        raise ValidationFailed("请选择门诊或住院", code="care_setting_required")
    effects: list[Effect] = []
    if snap.slot is not None and snap.slot.state == SlotState.BOOKED:
        effects.append(SetAppointmentStatus(snap.slot.slot_id, AppointmentStatus.CHECKED_IN))
    # `treated` lets the receiver later refer down (DOMAIN scope) and read the record after the loop.
    effects += [OpenCareRelationship(CareKind.TREATED, snap.receiving_institution_id),
                _notify(Party.SENDER, topic="checked_in")]
    return c.decide(Status.IN_CARE, effects, care_setting=c.inp.care_setting)


def _note(c: _Ctx) -> Decision:
    if _blank(c.inp.text):
        raise ValidationFailed("请填写备注内容", code="text_required")
    return c.decide(None, [_notify(Party.SENDER, topic="note")])


def _complete(c: _Ctx) -> Decision:
    o = c.inp.outcome
    if o is None or _blank(o.summary) or not o.diagnoses or _blank(o.recommendations):
        raise ValidationFailed("诊疗结果须包括摘要、诊断和建议", code="outcome_required")
    return c.decide(Status.COMPLETED, [_notify(Party.SENDER, topic="outcome")])


def _request_cancel(c: _Ctx) -> Decision:
    if _blank(c.inp.reason):
        raise _reason_required("申请撤回转诊")
    return c.decide(Status.CANCEL_REQUESTED, [_notify(Party.RECEIVER, topic="cancel_requested")])


def _confirm_cancel(c: _Ctx) -> Decision:
    notify = _notify(Party.SENDER, topic="cancel_confirmed")
    return c.decide(Status.CANCELLED, [notify], end_reason=EndReason.CANCEL_CONFIRMED)


def _reassign(c: _Ctx) -> Decision:
    r = c.inp.routing
    if r is None or r.institution_id != c.snap.receiving_institution_id:
        raise ValidationFailed("只能改派到接收机构的科室或医生", code="routing_not_at_receiver")
    return c.decide(None, [RouteInbox(r.department_id, r.practitioner_id)])


def _followup(c: _Ctx) -> Decision:
    """Rows 21 and 22: the follow-up closes a down-referral; on time when dated ≤ due."""
    snap, inp = c.snap, c.inp
    accepted_on = to_local(snap.accepted_at).date() if snap.accepted_at else None
    if inp.event == Event.RECORD_FOLLOWUP:
        f = inp.followup
        if f is None or _blank(f.findings) or _blank(f.plan):
            raise ValidationFailed("随访记录须填写随访方式、所见和处理计划", code="followup_incomplete")
        if accepted_on is None or not accepted_on <= f.on <= to_local(c.now).date():
            raise ValidationFailed("随访日期须在接收之后且不晚于今天", code="followup_date_invalid")
        on, source, evidence_id = f.on, FollowUpSource.RECORDED, None
    else:
        ev = inp.evidence
        places = () if ev is None else (ev.institution_id, ev.parent_institution_id)
        at_receiver = snap.receiving_institution_id in places
        if ev is None or not at_receiver or accepted_on is None or ev.on < accepted_on:
            raise _not_due("随访确认")  # not a follow-up of this referral: the handler ignores it
        on, source, evidence_id = ev.on, ev.source, ev.event_id
    due_at = followup_due_at(snap, c.policy)
    on_time = due_at is not None and followup_on_time(on, due_at)
    effects: list[Effect] = [
        CompleteFollowUpTask(on, on_time, source, evidence_id),
        _notify(Party.SENDER, topic="followup"),
    ]
    return c.decide(Status.COMPLETED, effects)


def _escalate(c: _Ctx) -> Decision:
    esc = pending_escalation(c.snap, c.policy)
    if esc is None or esc[1] > c.now:
        raise _not_due("督办")
    if esc[0] in c.snap.escalations:
        raise InvalidTransition("本阶段已督办过", code="already_escalated")
    key, due_at = esc
    return c.decide(None, [RecordEscalation(key, due_at), escalation_notice(c.snap, key.kind)])


_EXPIRY_REASONS: Final = {Status.REQUESTED: EndReason.EXPIRED_UNANSWERED,
                           Status.AWAITING_APPROVAL: EndReason.APPROVAL_EXPIRED,
                           Status.NO_SHOW: EndReason.NO_SHOW_LAPSED}  # fmt: skip


def _deadline_final(c: _Ctx) -> Decision:
    """Rows 17, 19, 26: only when ``due_actions`` would name this very event now."""
    snap = c.snap
    fin = pending_final(snap, c.policy)
    if fin is None or fin[0] != c.inp.event or fin[1] > c.now:
        raise _not_due("到期处理")
    if c.inp.event == Event.DEEM_APPROVAL:
        notify = _notify(Party.SENDER, Party.RECEIVER, topic="approval_deemed")
        return c.decide(Status.REQUESTED, [notify], approval=Approval.DEEMED)
    if snap.status == Status.AWAITING_APPROVAL:
        # The receiver never saw a request still waiting for approval: tell the office instead.
        office = snap.governing_consortium_id
        notify = _notify(Party.SENDER, Party.REFERRAL_OFFICE, topic="expired", office=office)
    else:
        notify = _notify(Party.SENDER, Party.RECEIVER, topic="expired")
    return c.decide(Status.EXPIRED, [notify], end_reason=_EXPIRY_REASONS[snap.status])


_HANDLERS: Final[Mapping[Event, Callable[[_Ctx], Decision]]] = {
    Event.SUBMIT: _submit,
    Event.APPROVE: _approve,
    Event.REJECT: _reject,
    Event.CANCEL: _cancel,
    Event.ACCEPT: _accept,
    Event.AUTO_ACCEPT: _accept,
    Event.DECLINE: _decline,
    Event.SCHEDULE: _schedule,
    Event.RESCHEDULE: _schedule,
    Event.MARK_NO_SHOW: _mark_no_show,
    Event.CHECK_IN: _check_in,
    Event.NOTE: _note,
    Event.COMPLETE: _complete,
    Event.REQUEST_CANCEL: _request_cancel,
    Event.CONFIRM_CANCEL: _confirm_cancel,
    Event.REASSIGN: _reassign,
    Event.RECORD_FOLLOWUP: _followup,
    Event.FOLLOWUP_SEEN: _followup,
    Event.ESCALATE: _escalate,
    Event.EXPIRE: _deadline_final,
    Event.DEEM_APPROVAL: _deadline_final,
}


def require_found(snap: ReferralSnapshot | None, referral_id: int) -> ReferralSnapshot:
    """Integrity case 1, first of the checks: the service's lookup came back empty."""
    if snap is None:
        raise NotFound("转诊单不存在", code="referral_not_found", referral_id=referral_id)
    return snap


def transition(
    snap: ReferralSnapshot, inp: EventInput, actor: Actor, now: datetime, policy: ReferralPolicy
) -> Decision:
    """Validate ``inp`` on ``snap`` by ``actor`` at ``now``; return the decision or raise the refusal.

    Order (REFERRAL.md "Integrity"): resident matches → actor → ``version`` →
    event allowed for status and direction → the row's guards.  ``policy`` is
    the governing consortium's (``ReferralPolicy()`` when there is none).
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime (UTC)")
    if inp.resident_id is not None and inp.resident_id != snap.resident_id:
        raise Conflict("所填居民与该转诊的居民不一致", code="resident_mismatch")
    party = resolve_party(snap, inp.event, actor)
    if isinstance(party, Forbidden):
        raise party
    if isinstance(actor, Principal):
        if inp.version is None:
            raise ValidationFailed("缺少版本号，请刷新后重试", code="version_required")
        if inp.version != snap.version:
            message = "该转诊已被他人更新，请刷新后重试"
            raise Conflict(message, code="stale_version", expected=snap.version, given=inp.version)
    rule = find_rule(snap.status, inp.event, snap.direction)
    if rule is None:
        raise InvalidTransition(
            f"转诊当前状态为“{STATUS_NAMES_ZH[snap.status]}”，不能{EVENT_NAMES_ZH[inp.event]}",
            code="invalid_transition",
            status=snap.status.value,
            event=inp.event.value,
        )
    user_id = actor.user_id if isinstance(actor, Principal) else None
    return _HANDLERS[inp.event](_Ctx(snap, inp, rule, party, user_id, now, policy))
