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

The vocabulary and records live in ``records.py`` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

from yilian.core.clock import to_local
from yilian.core.errors import Conflict, DomainError, Forbidden, InvalidTransition, ValidationFailed
from yilian.identity.principal import Principal
from yilian.identity.roles import Role
from yilian.referrals.config import ReferralPolicy
from yilian.referrals.records import (
    SYSTEM,
    TERMINAL,
    ApplyBenefits,
    Approval,
    BookSlot,
    CareKind,
    CareSetting,
    CloseCareRelationship,
    CompleteFollowUpTask,
    ContractTeam,
    CreateFollowUpTask,
    Decision,
    DeclineCode,
    Direction,
    Effect,
    EndBenefits,
    EndReason,
    EscalationKey,
    EscalationKind,
    Event,
    EventInput,
    FollowUp,
    FollowUpEvidence,
    FollowUpMode,
    FollowUpSource,
    Handover,
    HoldSlot,
    Notify,
    OpenCareRelationship,
    Outcome,
    Party,
    RecordEscalation,
    ReferralFacts,
    ReferralSnapshot,
    ReleaseSlot,
    RouteInbox,
    Routing,
    SetAppointmentStatus,
    SlotRef,
    SlotState,
    Status,
    SystemActor,
    Urgency,
)
from yilian.referrals.rules import (
    FOLLOWUP_STATUSES,
    approval_at_submission,
    auto_accept_applies,
    deadlines_of,
    direction_refusal,
    eligibility_refusal,
    episode_benefits,
    escalation_notice,
    followup_due_at,
    followup_on_time,
    pending_escalation,
    pending_final,
)
from yilian.scheduling.rules import Booker, BookingChannel, PoolKind, SlotInfo, booking_flags, slot_access_refusal
from yilian.scheduling.states import AppointmentStatus

__all__ = [  # noqa: RUF022 - the records' vocabulary first, then the machine
    "SYSTEM",
    "TERMINAL",
    "ApplyBenefits",
    "Approval",
    "BookSlot",
    "CareKind",
    "CareSetting",
    "CloseCareRelationship",
    "CompleteFollowUpTask",
    "ContractTeam",
    "CreateFollowUpTask",
    "Decision",
    "DeclineCode",
    "Direction",
    "Effect",
    "EndBenefits",
    "EndReason",
    "EscalationKey",
    "EscalationKind",
    "Event",
    "EventInput",
    "FollowUp",
    "FollowUpEvidence",
    "FollowUpMode",
    "FollowUpSource",
    "Handover",
    "HoldSlot",
    "Notify",
    "OpenCareRelationship",
    "Outcome",
    "Party",
    "RecordEscalation",
    "ReferralFacts",
    "ReferralSnapshot",
    "ReleaseSlot",
    "RouteInbox",
    "Routing",
    "SetAppointmentStatus",
    "SlotRef",
    "SlotState",
    "Status",
    "SystemActor",
    "Urgency",
    "EVENT_PARTIES",
    "RULES",
    "TRANSITIONS",
    "Actor",
    "Rule",
    "actor_refusal",
    "draft_author_refusal",
    "events_allowed",
    "find_rule",
    "next_snapshot",
    "slot_refusal",
    "transition",
]

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
    key: frozenset(r.targets or (key[0],) for r in RULES if r.event == key[1] and key[0] in r.sources)
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


def _grants(actor: Principal, role: Role, attr: str) -> set[int]:
    return {v for g in actor.grants if g.role == role and (v := getattr(g, attr)) is not None}


def actor_refusal(snap: ReferralSnapshot, event: Event, actor: Actor) -> tuple[Party | None, DomainError | None]:
    """Which party ``actor`` acts as for ``event`` on this referral, or why it may not act."""
    parties = EVENT_PARTIES[event]
    if isinstance(actor, SystemActor):
        if _SYS in parties:
            return _SYS, None
        return None, Forbidden("该操作须由人员执行", code="role_not_allowed")
    if parties == {_SYS}:
        return None, Forbidden("该操作仅由系统执行", code="system_only")
    clinician_at = _grants(actor, Role.CLINICIAN, "institution_id")
    officer_for = _grants(actor, Role.REFERRAL_OFFICER, "consortium_id")
    own = actor.user_id is not None and actor.user_id == snap.sent_by
    if _SND in parties:
        if not clinician_at:
            return None, Forbidden("只有医生可以发起或撤回转诊", code="role_not_allowed")
        if snap.sending_institution_id not in clinician_at:
            return None, Forbidden("只有转出机构的医生可以执行此操作", code="not_sender")
        if event == Event.SUBMIT and not snap.facts.resident_in_sender_scope:
            return None, Forbidden("该居民与本机构无有效服务关系，不能发起转诊", code="resident_out_of_scope")
        return _SND, None
    if _OFF in parties:
        if not officer_for:
            return None, Forbidden("只有转诊办人员可以审批外转", code="role_not_allowed")
        if snap.governing_consortium_id not in officer_for:
            return None, Forbidden("只有主管医联体的转诊办可以审批该转诊", code="not_approver")
        if own:
            return None, Forbidden("不能审批本人发出的转诊", code="own_referral")
        return _OFF, None
    # Receiver side (rows 5–12, 14, 21; row 15 also the receiving consortium's office).
    office_ok = Party.RECEIVING_OFFICE in parties and snap.receiving_consortium_id in officer_for
    if snap.receiving_institution_id in clinician_at or office_ok:
        if own:  # a dispatched specialist holding roles at both ends still may not act on their own
            return None, Forbidden("不能处理本人发出的转诊", code="own_referral")
        party = _RCV if snap.receiving_institution_id in clinician_at else Party.RECEIVING_OFFICE
        return party, None
    if not clinician_at and not (Party.RECEIVING_OFFICE in parties and officer_for):
        return None, Forbidden("只有接收机构的医生可以执行此操作", code="role_not_allowed")
    return None, Forbidden("只有接收机构的医生可以执行此操作", code="not_receiver")


def draft_author_refusal(snap: ReferralSnapshot, actor: Principal) -> DomainError | None:
    """Creating or editing a draft needs the sender checks of row 1 (role, institution, scope)."""
    _party, refusal = actor_refusal(snap, Event.SUBMIT, actor)
    return refusal


# --------------------------------------------------------------------------- content guards


def _blank(text: str | None) -> bool:
    return not (text or "").strip()


def _reason_required(what: str) -> ValidationFailed:
    return ValidationFailed(f"{what}须填写原因", code="reason_required")


def slot_refusal(snap: ReferralSnapshot, slot: SlotInfo, now: datetime, *, hold: bool) -> DomainError | None:
    """Rows 1, 7, 8: a slot or bed of the receiver, free, in the future, its pool open to the sender.

    A hold at submission must come from a referral pool (the receiver's reserved
    号源); scheduling may also use public slots and, for a contracted resident,
    the contract pool.
    """
    if slot.institution_id != snap.receiving_institution_id:
        return ValidationFailed("号源不属于接收机构", code="slot_not_at_receiver", slot_id=slot.slot_id)
    if hold and slot.pool.kind != PoolKind.REFERRAL:
        return Forbidden("转诊时只能预占接收机构的转诊预留号源", code="pool_not_open", slot_id=slot.slot_id)
    facts = snap.facts
    booker = Booker(
        BookingChannel.REFERRAL,
        referral_consortia=facts.sender_consortia,
        contract_institution_id=facts.contract_team.institution_id if facts.contract_team else None,
        contract_consortia=facts.contract_consortia,
    )
    return slot_access_refusal(slot, booker, now)


def _submit_refusal(snap: ReferralSnapshot, inp: EventInput, now: datetime, policy: ReferralPolicy) -> DomainError | None:
    """Row 1, in the order of the integrity cases (one answer per case)."""
    if snap.sending_institution_id == snap.receiving_institution_id:
        return ValidationFailed("转出机构与接收机构不能相同", code="same_institution")
    if snap.direction == Direction.DOWN and snap.urgency == Urgency.URGENT:
        return ValidationFailed("下转只能为常规转诊", code="urgency_not_allowed")
    if snap.direction != Direction.DOWN and snap.urgency is None:
        return ValidationFailed("上转和平转须选择常规或急诊", code="urgency_required")
    designated = snap.receiving_institution_id in policy.designated_centres
    refusal = direction_refusal(snap.direction, snap.facts.sender_tier, snap.facts.receiver_tier, designated) or (
        eligibility_refusal(snap.direction, snap.diagnoses, snap.reason, policy)
    )
    if refusal is not None:
        return refusal
    h = snap.handover
    if snap.direction == Direction.DOWN and (
        h is None or any(_blank(t) for t in (h.summary, h.care_plan, h.medications, h.followup_instructions))
    ):
        return ValidationFailed("下转须填写诊疗摘要、治疗方案、用药和随访要求", code="handover_required")
    return None if inp.slot is None else slot_refusal(snap, inp.slot, now, hold=True)


def _not_due(what: str) -> InvalidTransition:
    # Refusals of system events: the job or handler skips them silently.
    return InvalidTransition(f"{what}尚未到期或不适用", code="not_due")


# --------------------------------------------------------------------------- decisions


@dataclass(frozen=True, slots=True)
class _Ctx:
    snap: ReferralSnapshot
    inp: EventInput
    rule: Rule
    party: Party
    user_id: int | None
    now: datetime
    policy: ReferralPolicy


def _decide(c: _Ctx, to: Status | None, effects: Iterable[Effect] = (), **fields: object) -> Decision:
    """Assemble a decision; a terminal target also releases what the episode still holds."""
    snap = c.snap
    target = snap.status if to is None else to
    out = list(effects)
    if target in TERMINAL:
        # REFERRAL.md: at every terminal status the open hold or booking is released and the
        # `referred` relationship closed; benefits cannot outlive their episode either.
        slot = snap.slot
        if slot is not None and slot.state in (SlotState.HELD, SlotState.BOOKED):
            if not any(isinstance(e, ReleaseSlot) and e.slot_id == slot.slot_id for e in out):
                out.append(ReleaseSlot(slot.slot_id))
        if snap.benefits:
            out.append(EndBenefits())
        if snap.accepted_at is not None:
            out.append(CloseCareRelationship(CareKind.REFERRED, snap.receiving_institution_id))
    escalation = c.inp.event == Event.ESCALATE
    return Decision(
        row=c.rule.row,
        event=c.inp.event,
        party=c.party,
        from_status=snap.status,
        to_status=target,
        at=c.now,
        version=snap.version if escalation else snap.version + 1,
        new_status_entry=target != snap.status or c.inp.event == Event.RESCHEDULE,
        actor_user_id=c.user_id,
        reason=c.inp.reason,
        effects=tuple(out),
        **fields,  # type: ignore[arg-type]
    )


def _notify(*parties: Party, topic: str, office: int | None = None) -> Notify:
    return Notify(frozenset(parties), topic, office)


def _accept(c: _Ctx) -> Decision:
    """Rows 5 and 18: hold → booking (or released if its start passed), benefits or follow-up task."""
    snap, now = c.snap, c.now
    benefits = episode_benefits(snap.direction, c.policy)
    effects: list[Effect] = [OpenCareRelationship(CareKind.REFERRED, snap.receiving_institution_id)]
    target = S.ACCEPTED
    if snap.slot is not None and snap.slot.state == SlotState.HELD:
        if snap.slot.start > now:
            flags = booking_flags(episode_benefits=benefits, referral_episode_id=snap.referral_id)
            effects.append(BookSlot(snap.slot.slot_id, snap.slot.institution_id, snap.slot.start, flags,
                                    PoolKind.REFERRAL))
            target = S.SCHEDULED
        else:
            effects.append(ReleaseSlot(snap.slot.slot_id))
    if benefits:
        effects.append(ApplyBenefits(benefits))
    due = deadlines_of(snap, c.policy).followup_due
    if snap.direction == Direction.DOWN and due is not None:
        team = snap.facts.contract_team if c.inp.event == Event.AUTO_ACCEPT else None
        effects.append(CreateFollowUpTask(now + due, team_id=team.team_id if team else None,
                                          user_id=None if team else c.user_id))
    effects.append(_notify(_SND, topic="accepted"))
    return _decide(c, target, effects)


def _followup(c: _Ctx) -> Decision:
    """Rows 21 and 22: the follow-up closes a down-referral; on time when dated ≤ due."""
    snap, inp = c.snap, c.inp
    accepted_on = to_local(snap.accepted_at).date() if snap.accepted_at else None
    due_at = followup_due_at(snap, c.policy)
    if inp.event == Event.RECORD_FOLLOWUP:
        f = inp.followup
        if f is None or _blank(f.findings) or _blank(f.plan):
            raise ValidationFailed("随访记录须填写随访方式、所见和处理计划", code="followup_incomplete")
        if accepted_on is None or not accepted_on <= f.on <= to_local(c.now).date():
            raise ValidationFailed("随访日期须在接收之后且不晚于今天", code="followup_date_invalid")
        on, source, evidence_id = f.on, FollowUpSource.RECORDED, None
    else:
        ev = inp.evidence
        at_receiver = ev is not None and snap.receiving_institution_id in (ev.institution_id,
                                                                           ev.parent_institution_id)
        if ev is None or not at_receiver or accepted_on is None or ev.on < accepted_on:
            raise _not_due("随访确认")
        on, source, evidence_id = ev.on, ev.source, ev.event_id
    on_time = due_at is not None and followup_on_time(on, due_at)
    return _decide(c, S.COMPLETED, [CompleteFollowUpTask(on, on_time, source, evidence_id),
                                    _notify(_SND, topic="followup")])


def _system_deadline(c: _Ctx) -> Decision:
    """Escalations, expiry and deemed approval: only when ``due_actions`` would name them."""
    snap, now = c.snap, c.now
    if c.inp.event == Event.ESCALATE:
        esc = pending_escalation(snap, c.policy)
        if esc is None or esc[1] > now:
            raise _not_due("督办")
        if esc[0] in snap.escalations:
            raise InvalidTransition("本阶段已督办过", code="already_escalated")
        return _decide(c, None, [RecordEscalation(esc[0]), escalation_notice(snap, esc[0].kind)])
    fin = pending_final(snap, c.policy)
    if fin is None or fin[0] != c.inp.event or fin[1] > now:
        raise _not_due("到期处理")
    if c.inp.event == Event.DEEM_APPROVAL:
        return _decide(c, S.REQUESTED, [_notify(_SND, _RCV, topic="approval_deemed")], approval=Approval.DEEMED)
    end = {S.REQUESTED: EndReason.EXPIRED_UNANSWERED, S.AWAITING_APPROVAL: EndReason.APPROVAL_EXPIRED,
           S.NO_SHOW: EndReason.NO_SHOW_LAPSED}[snap.status]
    # An expired approval request never reached the receiver: tell the office instead.
    waiting = snap.status == S.AWAITING_APPROVAL
    notify = (_notify(_SND, _OFF, topic="expired", office=snap.governing_consortium_id) if waiting
              else _notify(_SND, _RCV, topic="expired"))
    return _decide(c, S.EXPIRED, [notify], end_reason=end)


def _booking_effect(c: _Ctx, slot: SlotInfo) -> BookSlot:
    flags = booking_flags(episode_benefits=c.snap.benefits, referral_episode_id=c.snap.referral_id)
    refusal = slot_refusal(c.snap, slot, c.now, hold=False)
    if refusal is not None:
        raise refusal
    kind = PoolKind.PUBLIC if slot.pool.release_before is not None and (
        c.now >= slot.start - slot.pool.release_before) else slot.pool.kind
    return BookSlot(slot.slot_id, slot.institution_id, slot.start, flags, kind)


def _decide_event(c: _Ctx) -> Decision:  # noqa: C901 - one branch per row reads like the table
    snap, inp, now, policy = c.snap, c.inp, c.now, c.policy
    ev = inp.event
    if ev == Event.SUBMIT:
        refusal = _submit_refusal(snap, inp, now, policy)
        if refusal is not None:
            raise refusal
        approval = approval_at_submission(snap, policy)
        waiting = approval == Approval.PENDING
        effects: list[Effect] = []
        if inp.slot is not None:
            effects.append(HoldSlot(inp.slot.slot_id, inp.slot.institution_id, inp.slot.start))
        effects.append(_notify(_OFF, topic="submitted", office=snap.governing_consortium_id) if waiting
                       else _notify(_RCV, topic="submitted"))
        follow = Event.AUTO_ACCEPT if not waiting and auto_accept_applies(snap, policy) else None
        return _decide(c, S.AWAITING_APPROVAL if waiting else S.REQUESTED, effects, approval=approval,
                       deadlines=deadlines_of(replace(snap, deadlines=None), policy), follow_on=follow)
    if ev == Event.APPROVE:
        return _decide(c, S.REQUESTED, [_notify(_SND, _RCV, topic="approved")], approval=Approval.APPROVED)
    if ev == Event.REJECT:
        if _blank(inp.reason):
            raise _reason_required("驳回外转申请")
        return _decide(c, S.DECLINED, [_notify(_SND, topic="approval_rejected")], approval=Approval.REJECTED,
                       end_reason=EndReason.APPROVAL_REJECTED)
    if ev == Event.CANCEL:
        if snap.status != S.DRAFT and _blank(inp.reason):
            raise _reason_required("撤回转诊")
        notify = {S.REQUESTED: [_notify(_RCV, topic="cancelled")],
                  S.AWAITING_APPROVAL: [_notify(_OFF, topic="cancelled", office=snap.governing_consortium_id)]}
        return _decide(c, S.CANCELLED, notify.get(snap.status, []), end_reason=EndReason.CANCELLED_BY_SENDER)
    if ev in (Event.ACCEPT, Event.AUTO_ACCEPT):
        if ev == Event.AUTO_ACCEPT and not auto_accept_applies(snap, policy):
            raise _not_due("自动接收")
        return _accept(c)
    if ev == Event.DECLINE:
        if inp.decline_code is None or (inp.decline_code == DeclineCode.OTHER and _blank(inp.reason)):
            raise _reason_required("拒绝转诊")
        return _decide(c, S.DECLINED, [_notify(_SND, topic="declined")], end_reason=EndReason.DECLINED)
    if ev in (Event.SCHEDULE, Event.RESCHEDULE):
        if inp.slot is None:
            raise ValidationFailed("请选择号源或床位", code="slot_required")
        if ev == Event.RESCHEDULE and snap.slot is not None and inp.slot.slot_id == snap.slot.slot_id:
            raise ValidationFailed("新号源与原号源相同", code="same_slot")
        effects = [_booking_effect(c, inp.slot)]
        if ev == Event.RESCHEDULE and snap.slot is not None:
            effects.insert(0, ReleaseSlot(snap.slot.slot_id))
        return _decide(c, S.SCHEDULED, [*effects, _notify(_SND, topic=ev.value)])
    if ev == Event.MARK_NO_SHOW:
        if snap.slot is None or now < snap.slot.start:
            raise ValidationFailed("号源时间未到，不能标记爽约", code="slot_not_started")
        return _decide(c, S.NO_SHOW, [SetAppointmentStatus(snap.slot.slot_id, AppointmentStatus.NO_SHOW),
                                      _notify(_SND, topic="no_show")])
    if ev == Event.CHECK_IN:
        if inp.care_setting is None:
            raise ValidationFailed("请选择门诊或住院", code="care_setting_required")
        effects = []
        if snap.slot is not None and snap.slot.state == SlotState.BOOKED:
            effects.append(SetAppointmentStatus(snap.slot.slot_id, AppointmentStatus.CHECKED_IN))
        effects += [OpenCareRelationship(CareKind.TREATED, snap.receiving_institution_id),
                    _notify(_SND, topic="checked_in")]
        return _decide(c, S.IN_CARE, effects, care_setting=inp.care_setting)
    if ev == Event.NOTE:
        if _blank(inp.text):
            raise ValidationFailed("请填写备注内容", code="text_required")
        return _decide(c, None, [_notify(_SND, topic="note")])
    if ev == Event.COMPLETE:
        o = inp.outcome
        if o is None or _blank(o.summary) or not o.diagnoses or _blank(o.recommendations):
            raise ValidationFailed("诊疗结果须包括摘要、诊断和建议", code="outcome_required")
        return _decide(c, S.COMPLETED, [_notify(_SND, topic="outcome")])
    if ev == Event.REQUEST_CANCEL:
        if _blank(inp.reason):
            raise _reason_required("申请撤回转诊")
        return _decide(c, S.CANCEL_REQUESTED, [_notify(_RCV, topic="cancel_requested")])
    if ev == Event.CONFIRM_CANCEL:
        return _decide(c, S.CANCELLED, [_notify(_SND, topic="cancel_confirmed")],
                       end_reason=EndReason.CANCEL_CONFIRMED)
    if ev == Event.REASSIGN:
        r = inp.routing
        if r is None or r.institution_id != snap.receiving_institution_id:
            raise ValidationFailed("只能改派到接收机构的科室或医生", code="routing_not_at_receiver")
        return _decide(c, None, [RouteInbox(r.department_id, r.practitioner_id)])
    if ev in (Event.RECORD_FOLLOWUP, Event.FOLLOWUP_SEEN):
        return _followup(c)
    return _system_deadline(c)  # ESCALATE, EXPIRE, DEEM_APPROVAL


def transition(
    snap: ReferralSnapshot, inp: EventInput, actor: Actor, now: datetime, policy: ReferralPolicy
) -> Decision:
    """Validate ``inp`` on ``snap`` by ``actor`` at ``now``; return the decision or raise the refusal.

    ``policy`` is the governing consortium's (``ReferralPolicy()`` when none).
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime (UTC)")
    if inp.resident_id is not None and inp.resident_id != snap.resident_id:
        raise Conflict("所填居民与该转诊的居民不一致", code="resident_mismatch")
    party, refusal = actor_refusal(snap, inp.event, actor)
    if refusal is not None or party is None:
        raise refusal or Forbidden("无权执行此操作", code="forbidden")
    if isinstance(actor, Principal):
        if inp.version is None:
            raise ValidationFailed("缺少版本号，请刷新后重试", code="version_required")
        if inp.version != snap.version:
            raise Conflict("该转诊已被他人更新，请刷新后重试", code="stale_version",
                           expected=snap.version, given=inp.version)
    rule = find_rule(snap.status, inp.event, snap.direction)
    if rule is None:
        raise InvalidTransition(
            f"转诊当前状态（{snap.status.value}）不能执行“{inp.event.value}”",
            code="invalid_transition", status=snap.status.value, event=inp.event.value,
        )
    user_id = actor.user_id if isinstance(actor, Principal) else None
    return _decide_event(_Ctx(snap, inp, rule, party, user_id, now, policy))


def next_snapshot(snap: ReferralSnapshot, d: Decision) -> ReferralSnapshot:
    """The snapshot after ``d`` is written: what the service would read back (chaining, tests)."""
    slot = snap.slot
    benefits = snap.benefits
    escalations = snap.escalations
    for e in d.effects:
        if isinstance(e, HoldSlot):
            slot = SlotRef(e.slot_id, e.institution_id, e.start, SlotState.HELD)
        elif isinstance(e, BookSlot):
            slot = SlotRef(e.slot_id, e.institution_id, e.start, SlotState.BOOKED)
        elif isinstance(e, ReleaseSlot) and slot is not None and slot.slot_id == e.slot_id:
            slot = None
        elif isinstance(e, SetAppointmentStatus) and slot is not None:
            state = SlotState.NO_SHOW if e.status == AppointmentStatus.NO_SHOW else SlotState.ATTENDED
            slot = replace(slot, state=state)
        elif isinstance(e, ApplyBenefits):
            benefits = e.benefits
        elif isinstance(e, EndBenefits):
            benefits = frozenset()
        elif isinstance(e, RecordEscalation):
            escalations = escalations | {e.key}
    accepted = d.event in (Event.ACCEPT, Event.AUTO_ACCEPT)
    return replace(
        snap,
        status=d.to_status,
        version=d.version,
        sent_by=d.actor_user_id if d.event == Event.SUBMIT and d.actor_user_id is not None else snap.sent_by,
        status_entered_at=d.at if d.new_status_entry else snap.status_entered_at,
        status_entry_seq=d.version if d.new_status_entry else snap.status_entry_seq,
        accepted_at=d.at if accepted else snap.accepted_at,
        approval=d.approval or snap.approval,
        deadlines=d.deadlines or snap.deadlines,
        care_setting=d.care_setting or snap.care_setting,
        end_reason=d.end_reason or snap.end_reason,
        slot=slot,
        benefits=benefits,
        escalations=escalations,
    )
