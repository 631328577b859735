"""Pure referral rules: direction, eligibility, network and approval, receivers, benefits, deadlines.

The state machine (``states.py``) calls these as the guards and effects of its
rows; the service calls them to build snapshots, to prefill forms and to run
the deadline job (``due_actions``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from yilian.contracts.config import PriorityBenefit
from yilian.core.clock import to_local
from yilian.core.errors import DomainError, Forbidden, ValidationFailed
from yilian.referrals.config import CatalogueKind, DeadlineSet, ReferralPolicy
from yilian.referrals.records import (
    TERMINAL,
    Approval,
    CancelFollowUpTask,
    CareKind,
    CareSetting,
    CloseCareRelationship,
    ContractTeam,
    Direction,
    Effect,
    EndBenefits,
    EscalationKey,
    EscalationKind,
    Event,
    Notify,
    Party,
    ReferralSnapshot,
    ReleaseSlot,
    SlotState,
    Status,
    Urgency,
)
from yilian.scheduling.rules import Booker, BookingChannel, PoolKind, SlotInfo, slot_access_refusal

__all__ = [
    "FOLLOWUP_STATUSES",
    "DueAction",
    "approval_at_submission",
    "auto_accept_applies",
    "catalogue_kinds",
    "deadlines_for",
    "deadlines_of",
    "default_down_receiver",
    "direction_refusal",
    "due_actions",
    "eligibility_refusal",
    "end_of_episode",
    "episode_benefits",
    "escalation_kind",
    "escalation_notice",
    "followup_due_at",
    "followup_on_time",
    "is_out_of_network",
    "nobody_in_network_treats",
    "pending_escalation",
    "pending_final",
    "slot_refusal",
    "submission_refusal",
    "suggest_direction",
]

#: Down-referral statuses between acceptance and the follow-up (rows 21–23).
FOLLOWUP_STATUSES: Final = frozenset({Status.ACCEPTED, Status.SCHEDULED, Status.NO_SHOW, Status.IN_CARE})


def _blank(text: str | None) -> bool:
    return not (text or "").strip()


# --------------------------------------------------------------------------- direction


def suggest_direction(sender_tier: int, receiver_tier: int) -> Direction:
    """The direction the tiers imply, to prefill the form (a specialty centre may still be ``up``)."""
    if receiver_tier > sender_tier:
        return Direction.UP
    if receiver_tier < sender_tier:
        return Direction.DOWN
    return Direction.LATERAL


def direction_refusal(
    direction: Direction, sender_tier: int | None, receiver_tier: int | None, receiver_designated: bool
) -> ValidationFailed | None:
    """Row 1: up needs a higher tier or a designated centre; down a lower tier; lateral skips the check.

    Tiers (DOMAIN.md): village clinics and stations 0, other primary care and
    一级/unrated hospitals 1, 二级 2, 三级 3; the grade 甲乙丙 is not compared.
    """
    if direction == Direction.LATERAL:
        return None
    if sender_tier is None or receiver_tier is None:
        return ValidationFailed("无法确定机构级别，不能判断转诊方向", code="tier_unknown")
    if direction == Direction.UP and not (receiver_tier > sender_tier or receiver_designated):
        return ValidationFailed(
            "上转须转往级别更高的机构或指定的专科中心",
            code="not_higher_tier",
            sender_tier=sender_tier,
            receiver_tier=receiver_tier,
        )
    if direction == Direction.DOWN and not receiver_tier < sender_tier:
        return ValidationFailed(
            "下转须转往级别更低的机构",
            code="not_lower_tier",
            sender_tier=sender_tier,
            receiver_tier=receiver_tier,
        )
    return None


# --------------------------------------------------------------------------- eligibility


def catalogue_kinds(direction: Direction) -> frozenset[CatalogueKind]:
    """Catalogues that make a diagnosis eligible: lateral referrals use the up-referral catalogue."""
    if direction == Direction.DOWN:
        return frozenset({CatalogueKind.DOWN, CatalogueKind.REHAB})
    return frozenset({CatalogueKind.UP})


def eligibility_refusal(
    direction: Direction, diagnoses: Sequence[str], reason: str | None, policy: ReferralPolicy
) -> ValidationFailed | None:
    """Principal diagnosis in the direction's catalogue, or a stated clinical reason."""
    if not diagnoses:
        return ValidationFailed("转诊须填写诊断（主要诊断在前）", code="diagnosis_required")
    if policy.catalogues.contains(catalogue_kinds(direction), diagnoses[0]) or not _blank(reason):
        return None
    return ValidationFailed(
        f"主要诊断 {diagnoses[0]} 不在转诊病种目录内，须填写转诊理由", code="reason_required"
    )


def slot_refusal(snap: ReferralSnapshot, slot: SlotInfo, now: datetime, *, hold: bool) -> DomainError | None:
    """Rows 1, 7, 8: a slot or bed of the receiver, free, in the future, its pool open to the sender.

    A hold at submission must come from a referral pool (the receiver's reserved
    号源); scheduling may also use public slots and, for a contracted resident,
    the contract pool.  The pool rules themselves are scheduling's.
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


def submission_refusal(
    snap: ReferralSnapshot, slot: SlotInfo | None, now: datetime, policy: ReferralPolicy
) -> DomainError | None:
    """Row 1's content guards, in the order of REFERRAL.md integrity case 19 (one answer per case)."""
    if snap.sending_institution_id == snap.receiving_institution_id:
        return ValidationFailed("转出机构与接收机构不能相同", code="same_institution")
    if snap.direction == Direction.DOWN and snap.urgency == Urgency.URGENT:
        return ValidationFailed("下转只能为常规转诊", code="urgency_not_allowed")
    if snap.direction != Direction.DOWN and snap.urgency is None:
        return ValidationFailed("上转和平转须选择常规或急诊", code="urgency_required")
    designated = snap.receiving_institution_id in policy.designated_centres
    refusal = direction_refusal(snap.direction, snap.facts.sender_tier, snap.facts.receiver_tier, designated)
    refusal = refusal or eligibility_refusal(snap.direction, snap.diagnoses, snap.reason, policy)
    if refusal is not None:
        return refusal
    h = snap.handover
    if snap.direction == Direction.DOWN and (
        h is None or any(_blank(t) for t in (h.summary, h.care_plan, h.medications, h.followup_instructions))
    ):
        return ValidationFailed("下转须填写诊疗摘要、治疗方案、用药和随访要求", code="handover_required")
    return None if slot is None else slot_refusal(snap, slot, now, hold=True)


# --------------------------------------------------------------------------- network and approval


def is_out_of_network(
    receiver_id: int, network: frozenset[int], sender_county: str | None, receiver_county: str | None
) -> bool:
    """Neither in the governing network nor in the sender's county (same 6-digit county code)."""
    if receiver_id in network:
        return False
    return not (sender_county is not None and sender_county == receiver_county)


def nobody_in_network_treats(principal: str | None, policy: ReferralPolicy) -> bool:
    """The diagnosis is on none of the network's must-treat catalogues.

    Only answerable when must-treat catalogues are loaded: without them we do
    not know that nobody treats it, and exempting every out-of-network
    referral would defeat "严格外转审批".
    """
    kinds = (CatalogueKind.MUST_TREAT_COUNTY, CatalogueKind.MUST_TREAT_TOWNSHIP)
    loaded = any(policy.catalogues.of(k) for k in kinds)
    return loaded and principal is not None and not policy.catalogues.contains(kinds, principal)


def approval_at_submission(snap: ReferralSnapshot, policy: ReferralPolicy) -> Approval:
    """The approval value a submission starts with (``pending`` → ``awaiting_approval``)."""
    facts = snap.facts
    if (
        snap.direction == Direction.DOWN
        or snap.governing_consortium_id is None
        or not is_out_of_network(
            snap.receiving_institution_id, facts.network, facts.sender_county, facts.receiver_county
        )
    ):
        return Approval.NOT_REQUIRED
    if nobody_in_network_treats(snap.principal_diagnosis, policy):
        return Approval.EXEMPT
    return Approval.PENDING if policy.out_of_network_approval else Approval.NOT_REQUIRED


# --------------------------------------------------------------------------- receivers and benefits


def default_down_receiver(contract_team: ContractTeam | None, home_centres: Sequence[int]) -> int | None:
    """Down-referral receiver: the contracted team's institution, else the one centre of the home
    township; ``None`` (the sender picks) when there is none or several."""
    if contract_team is not None:
        return contract_team.institution_id
    return home_centres[0] if len(home_centres) == 1 else None


def auto_accept_applies(snap: ReferralSnapshot, policy: ReferralPolicy) -> bool:
    """Row 18: a down-referral to the resident's own contracted team, with auto-acceptance on."""
    team = snap.facts.contract_team
    return (
        snap.direction == Direction.DOWN
        and policy.down_auto_accept
        and team is not None
        and team.institution_id == snap.receiving_institution_id
    )


def episode_benefits(direction: Direction, policy: ReferralPolicy) -> frozenset[PriorityBenefit]:
    """The "一免三优先" of an accepted up or lateral episode; a down-referral gets none."""
    return frozenset() if direction == Direction.DOWN else policy.benefits


# --------------------------------------------------------------------------- deadlines


def deadlines_for(direction: Direction, urgency: Urgency | None, policy: ReferralPolicy) -> DeadlineSet:
    """The set copied onto a referral at submission (a down-referral is always routine)."""
    return policy.deadline_set(down=direction == Direction.DOWN, urgent=urgency == Urgency.URGENT)


def deadlines_of(snap: ReferralSnapshot, policy: ReferralPolicy) -> DeadlineSet:
    """The referral's copied deadlines; the policy's only for a referral not yet submitted."""
    return (
        snap.deadlines if snap.deadlines is not None else deadlines_for(snap.direction, snap.urgency, policy)
    )


def escalation_kind(status: Status, direction: Direction) -> EscalationKind | None:
    """The one escalation watched in a status (REFERRAL.md "What the deadline job does")."""
    if status == Status.AWAITING_APPROVAL:
        return EscalationKind.APPROVAL
    if status == Status.REQUESTED:
        return EscalationKind.ACCEPT
    if status == Status.CANCEL_REQUESTED:
        return EscalationKind.CANCEL
    if direction == Direction.DOWN:
        return EscalationKind.FOLLOWUP if status in FOLLOWUP_STATUSES else None
    return {
        Status.ACCEPTED: EscalationKind.ARRANGE,
        Status.SCHEDULED: EscalationKind.ATTENDANCE,
        Status.IN_CARE: EscalationKind.OUTCOME,
    }.get(status)


def followup_due_at(snap: ReferralSnapshot, policy: ReferralPolicy) -> datetime | None:
    due = deadlines_of(snap, policy).followup_due
    if snap.direction != Direction.DOWN or snap.accepted_at is None or due is None:
        return None
    return snap.accepted_at + due


def followup_on_time(on: date, due_at: datetime) -> bool:
    """A follow-up dated (local date) on or before the due moment's local date is on time."""
    return on <= to_local(due_at).date()


def pending_escalation(
    snap: ReferralSnapshot, policy: ReferralPolicy
) -> tuple[EscalationKey, datetime] | None:
    """The escalation the current status watches and when it falls due (recorded or not)."""
    kind = escalation_kind(snap.status, snap.direction)
    entry = snap.status_entered_at
    if kind is None or entry is None:
        return None
    if kind == EscalationKind.FOLLOWUP:
        at = followup_due_at(snap, policy)
        return None if at is None else (EscalationKey(kind, None), at)
    d = deadlines_of(snap, policy)
    base = entry
    lead = {
        EscalationKind.APPROVAL: d.approval_escalate,
        EscalationKind.ACCEPT: d.accept_escalate,
        EscalationKind.ARRANGE: d.arrange_escalate,
        EscalationKind.ATTENDANCE: d.attendance_escalate,
        EscalationKind.CANCEL: d.cancel_escalate,
    }.get(kind)
    if kind == EscalationKind.ATTENDANCE and snap.slot is not None:
        base = snap.slot.start  # the attendance clock runs from the slot's start
    if kind == EscalationKind.OUTCOME:
        inpatient = snap.care_setting == CareSetting.INPATIENT
        lead = d.outcome_escalate_inpatient if inpatient else d.outcome_escalate_outpatient
    if lead is None:
        return None
    return EscalationKey(kind, snap.status_entry_seq), base + lead


def pending_final(snap: ReferralSnapshot, policy: ReferralPolicy) -> tuple[Event, datetime] | None:
    """The final action the current status watches (expire, deemed approval) and when it falls due."""
    entry = snap.status_entered_at
    if entry is None:
        return None
    d = deadlines_of(snap, policy)
    if snap.status == Status.AWAITING_APPROVAL and d.approval_final is not None:
        # An urgent patient must not wait on paperwork: deemed approval instead of expiry.
        event = Event.DEEM_APPROVAL if snap.urgency == Urgency.URGENT else Event.EXPIRE
        return event, entry + d.approval_final
    if snap.status == Status.REQUESTED and d.accept_final is not None:
        return Event.EXPIRE, entry + d.accept_final
    if snap.status == Status.NO_SHOW and snap.direction != Direction.DOWN and d.no_show_final is not None:
        return Event.EXPIRE, entry + d.no_show_final
    return None


@dataclass(frozen=True, slots=True)
class DueAction:
    """One thing the deadline job must do now; apply with ``states.transition(…, SYSTEM, …)``."""

    event: Event
    due_at: datetime
    #: Set for an escalation: the unique key of its row.
    escalation: EscalationKey | None = None


def due_actions(snap: ReferralSnapshot, now: datetime, policy: ReferralPolicy) -> tuple[DueAction, ...]:
    """What the deadline job must do for ``snap`` at ``now``, in deadline order.

    Idempotent by construction: the answer depends only on the snapshot and
    ``now``; an escalation whose key the snapshot already holds is left out,
    and a final action changes the status, so once the service has applied the
    actions (``states.next_snapshot``) the same call returns nothing.  After
    downtime an escalation and the final action may both be due; both are
    returned, escalation first.
    """
    if snap.status in TERMINAL or snap.status == Status.DRAFT:
        return ()
    actions: list[tuple[datetime, int, DueAction]] = []
    esc = pending_escalation(snap, policy)
    if esc is not None and esc[1] <= now and esc[0] not in snap.escalations:
        actions.append((esc[1], 0, DueAction(Event.ESCALATE, esc[1], esc[0])))
    fin = pending_final(snap, policy)
    if fin is not None and fin[1] <= now:
        actions.append((fin[1], 1, DueAction(fin[0], fin[1])))
    return tuple(a for _, _, a in sorted(actions, key=lambda t: (t[0], t[1])))


def end_of_episode(snap: ReferralSnapshot, target: Status) -> tuple[Effect, ...]:
    """What a referral still holds is let go when it reaches a terminal ``target``.

    REFERRAL.md: at every terminal status the open hold or booking is released
    and the ``referred`` relationship closed.  Benefits cannot outlive their
    episode either, and nobody owes the follow-up of a declined or cancelled
    down-referral.
    """
    if target not in TERMINAL:
        return ()
    out: list[Effect] = []
    slot = snap.slot
    if slot is not None and slot.state in (SlotState.HELD, SlotState.BOOKED):
        out.append(ReleaseSlot(slot.slot_id))
    if snap.benefits:
        out.append(EndBenefits())
    if snap.accepted_at is not None:
        out.append(CloseCareRelationship(CareKind.REFERRED, snap.receiving_institution_id))
        if snap.direction == Direction.DOWN and target != Status.COMPLETED:
            out.append(CancelFollowUpTask())
    return tuple(out)


def escalation_notice(snap: ReferralSnapshot, kind: EscalationKind) -> Notify:
    """Who an escalation notifies: the party that must act, the responsible referral office, the sender.

    Approval: the governing consortium's office.  Otherwise the receiving
    institution's tight consortium's office, or the governing one when it has none.
    """
    if kind == EscalationKind.APPROVAL:
        office, party = snap.governing_consortium_id, Party.REFERRAL_OFFICE
        recipients = {Party.REFERRAL_OFFICE, Party.SENDER}
    else:
        if snap.receiving_consortium_id is not None:
            office, party = snap.receiving_consortium_id, Party.RECEIVING_OFFICE
        else:
            office, party = snap.governing_consortium_id, Party.REFERRAL_OFFICE
        recipients = {Party.RECEIVER, Party.SENDER}
    if office is not None:
        recipients.add(party)
    return Notify(frozenset(recipients), f"escalation.{kind.value}", office)
