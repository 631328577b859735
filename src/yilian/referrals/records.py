"""The referral's vocabulary and the frozen records the state machine reads and writes.

This module is plain data, below both ``rules.py`` and ``states.py``: the rules
(eligibility, deadlines) read snapshots, and the state machine calls the rules,
so the records they share cannot live in either without an import cycle.
``states.py`` re-exports the vocabulary and the snapshot, input and decision
types; the effect records are imported from here.

Ids are the database's integer ids (as ``identity.Grant`` uses them).  Times are
aware UTC datetimes; dates of care are plain dates.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Final, TypeAlias

from yilian.contracts.config import PriorityBenefit
from yilian.referrals.config import DeadlineSet
from yilian.scheduling.rules import BookingFlags, PoolKind, SlotInfo
from yilian.scheduling.states import AppointmentStatus

__all__ = [
    "EVENT_NAMES_ZH", "STATUS_NAMES_ZH", "SYSTEM", "TERMINAL", "ApplyBenefits", "Approval", "BookSlot",
    "CancelFollowUpTask", "CareKind", "CareSetting", "CloseCareRelationship", "CompleteFollowUpTask",
    "ContractTeam", "CreateFollowUpTask", "Decision", "DeclineCode", "Direction", "Effect", "EndBenefits",
    "EndReason", "EscalationKey", "EscalationKind", "Event", "EventInput", "FollowUp", "FollowUpEvidence",
    "FollowUpMode", "FollowUpSource", "Handover", "HoldSlot", "Notify", "OpenCareRelationship", "Outcome",
    "Party", "RecordEscalation", "ReferralFacts", "ReferralSnapshot", "ReleaseSlot", "RouteInbox",
    "Routing", "SetAppointmentStatus", "SlotRef", "SlotState", "Status", "SystemActor", "Urgency",
    "next_snapshot",
]

# --------------------------------------------------------------------------- vocabulary


class Status(StrEnum):
    DRAFT = "draft"
    AWAITING_APPROVAL = "awaiting_approval"
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    NO_SHOW = "no_show"
    IN_CARE = "in_care"
    CANCEL_REQUESTED = "cancel_requested"
    COMPLETED = "completed"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


TERMINAL: Final = frozenset({Status.COMPLETED, Status.DECLINED, Status.CANCELLED, Status.EXPIRED})

STATUS_NAMES_ZH: Final[dict[Status, str]] = {
    Status.DRAFT: "草稿", Status.AWAITING_APPROVAL: "待外转审批", Status.REQUESTED: "待接收",
    Status.ACCEPTED: "已接收", Status.SCHEDULED: "已预约", Status.NO_SHOW: "患者爽约",
    Status.IN_CARE: "诊疗中", Status.CANCEL_REQUESTED: "申请撤回中", Status.COMPLETED: "已闭环",
    Status.DECLINED: "已拒绝", Status.CANCELLED: "已撤回", Status.EXPIRED: "已超时",
}  # fmt: skip


class Event(StrEnum):
    SUBMIT = "submit"  # row 1
    APPROVE = "approve"  # row 2
    REJECT = "reject"  # row 3
    CANCEL = "cancel"  # row 4
    ACCEPT = "accept"  # row 5
    DECLINE = "decline"  # row 6
    SCHEDULE = "schedule"  # row 7
    RESCHEDULE = "reschedule"  # row 8
    MARK_NO_SHOW = "mark_no_show"  # row 9
    CHECK_IN = "check_in"  # row 10
    NOTE = "note"  # row 11
    COMPLETE = "complete"  # row 12
    REQUEST_CANCEL = "request_cancel"  # row 13
    CONFIRM_CANCEL = "confirm_cancel"  # row 14
    REASSIGN = "reassign"  # row 15
    ESCALATE = "escalate"  # rows 16, 20, 23-25, 27, 28 (the kind follows from status and direction)
    EXPIRE = "expire"  # rows 17, 26
    AUTO_ACCEPT = "auto_accept"  # row 18
    DEEM_APPROVAL = "deem_approval"  # row 19
    RECORD_FOLLOWUP = "record_followup"  # row 21
    FOLLOWUP_SEEN = "followup_seen"  # row 22


EVENT_NAMES_ZH: Final[dict[Event, str]] = {
    Event.SUBMIT: "提交", Event.APPROVE: "审批同意", Event.REJECT: "审批驳回", Event.CANCEL: "撤回",
    Event.ACCEPT: "接收", Event.DECLINE: "拒绝", Event.SCHEDULE: "预约", Event.RESCHEDULE: "改约",
    Event.MARK_NO_SHOW: "标记爽约", Event.CHECK_IN: "到诊/入院", Event.NOTE: "备注",
    Event.COMPLETE: "反馈诊疗结果", Event.REQUEST_CANCEL: "申请撤回", Event.CONFIRM_CANCEL: "确认撤回",
    Event.REASSIGN: "改派", Event.ESCALATE: "督办", Event.EXPIRE: "超时关闭", Event.AUTO_ACCEPT: "自动接收",
    Event.DEEM_APPROVAL: "视同同意", Event.RECORD_FOLLOWUP: "记录随访", Event.FOLLOWUP_SEEN: "确认随访",
}  # fmt: skip


class Party(StrEnum):
    """The parties of REFERRAL.md "Actors"; a person's party is decided per referral."""

    SENDER = "sender"
    RECEIVER = "receiver"
    REFERRAL_OFFICE = "referral_office"  # referral_officer of the governing consortium (rows 2, 3)
    RECEIVING_OFFICE = "receiving_office"  # referral_officer of the receiving institution's consortium (15)
    SYSTEM = "system"


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"
    LATERAL = "lateral"


class Urgency(StrEnum):
    ROUTINE = "routine"
    URGENT = "urgent"


class Approval(StrEnum):
    NOT_REQUIRED = "not_required"
    APPROVED = "approved"
    DEEMED = "deemed"
    EXEMPT = "exempt"
    REJECTED = "rejected"
    PENDING = "pending"


class EndReason(StrEnum):
    DECLINED = "declined"
    APPROVAL_REJECTED = "approval_rejected"
    CANCELLED_BY_SENDER = "cancelled_by_sender"
    CANCEL_CONFIRMED = "cancel_confirmed"
    EXPIRED_UNANSWERED = "expired_unanswered"
    APPROVAL_EXPIRED = "approval_expired"
    NO_SHOW_LAPSED = "no_show_lapsed"


class EscalationKind(StrEnum):
    APPROVAL = "approval"
    ACCEPT = "accept"
    ARRANGE = "arrange"
    ATTENDANCE = "attendance"
    OUTCOME = "outcome"
    CANCEL = "cancel"
    FOLLOWUP = "followup"


class DeclineCode(StrEnum):
    NO_CAPACITY = "no_capacity"
    NOT_INDICATED = "not_indicated"
    WRONG_RECEIVER = "wrong_receiver"
    PATIENT_REFUSED = "patient_refused"
    OTHER = "other"  # text required


class CareSetting(StrEnum):
    OUTPATIENT = "outpatient"
    INPATIENT = "inpatient"


class FollowUpMode(StrEnum):
    CLINIC = "clinic"
    HOME = "home"
    PHONE = "phone"
    WARD = "ward"


class FollowUpSource(StrEnum):
    RECORDED = "recorded"  # row 21
    ENCOUNTER = "encounter"  # row 22, from care
    DELIVERY = "delivery"  # row 22, from contracts


class SlotState(StrEnum):
    HELD = "held"  # held by the sender at submission, not yet a booking
    BOOKED = "booked"
    NO_SHOW = "no_show"
    ATTENDED = "attended"


class CareKind(StrEnum):
    """Care-relationship kinds this feature opens (the residents feature owns the table)."""

    REFERRED = "referred"
    TREATED = "treated"


# --------------------------------------------------------------------------- the referral


@dataclass(frozen=True, slots=True)
class SlotRef:
    """The slot or bed a referral holds or has booked."""

    slot_id: int
    institution_id: int
    start: datetime
    state: SlotState = SlotState.HELD


@dataclass(frozen=True, slots=True)
class ContractTeam:
    team_id: int
    institution_id: int


@dataclass(frozen=True, slots=True)
class ReferralFacts:
    """Registry and residents facts the service looks up when it builds a snapshot."""

    #: An active care relationship (registered, contracted, referred, treated)
    #: between the resident and the sending institution.
    resident_in_sender_scope: bool = True
    sender_tier: int | None = None
    receiver_tier: int | None = None
    #: 6-digit county codes of the two institutions (out-of-network test).
    sender_county: str | None = None
    receiver_county: str | None = None
    #: Institutions of the governing consortium's network (its direct leads and
    #: members, plus those of county communities that joined it as a whole).
    network: frozenset[int] = frozenset()
    #: Consortia whose referral pools are open to the sending institution.
    sender_consortia: frozenset[int] = frozenset()
    #: The resident's contracted team, while a contract is in force.
    contract_team: ContractTeam | None = None
    #: Consortia whose network holds that team's institution (contract pools).
    contract_consortia: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Handover:
    """What a down-referral must carry (REFERRAL.md "Down-referral")."""

    summary: str = ""
    care_plan: str = ""
    medications: str = ""
    followup_instructions: str = ""


@dataclass(frozen=True, slots=True)
class EscalationKey:
    """Unique key of an escalation row: per status entry, or per referral for ``followup``."""

    kind: EscalationKind
    status_entry_seq: int | None


@dataclass(frozen=True, slots=True)
class ReferralSnapshot:
    """Everything the guards and the deadline rules read about one referral, frozen."""

    referral_id: int
    resident_id: int
    direction: Direction
    sending_institution_id: int
    receiving_institution_id: int
    #: The author of the draft, then the submitter.
    sent_by: int
    status: Status = Status.DRAFT
    version: int = 1
    urgency: Urgency | None = None
    governing_consortium_id: int | None = None
    #: The receiving institution's tight consortium (rows 15 and escalation recipients).
    receiving_consortium_id: int | None = None
    #: ICD-10, principal first.
    diagnoses: tuple[str, ...] = ()
    reason: str | None = None
    handover: Handover | None = None
    slot: SlotRef | None = None
    #: The status entry: time and sequence number of the transition row that
    #: last changed the status (or rescheduled); deadlines count from it.
    status_entered_at: datetime | None = None
    status_entry_seq: int = 1
    accepted_at: datetime | None = None
    approval: Approval | None = None
    #: Copied from the governing consortium's policy at submission.
    deadlines: DeadlineSet | None = None
    care_setting: CareSetting | None = None
    benefits: frozenset[PriorityBenefit] = frozenset()
    escalations: frozenset[EscalationKey] = frozenset()
    end_reason: EndReason | None = None
    facts: ReferralFacts = ReferralFacts()

    @property
    def principal_diagnosis(self) -> str | None:
        return self.diagnoses[0] if self.diagnoses else None


@dataclass(frozen=True, slots=True)
class SystemActor:
    """The submit service's chained step, the deadline job and event handlers.

    A distinct type, not a role: a ``system_admin`` is a person and performs no
    transition, while this actor can only come from code.
    """

    name: str = "system"


SYSTEM = SystemActor()


# --------------------------------------------------------------------------- event input


@dataclass(frozen=True, slots=True)
class Outcome:
    summary: str
    diagnoses: tuple[str, ...]
    recommendations: str


@dataclass(frozen=True, slots=True)
class FollowUp:
    on: date
    mode: FollowUpMode
    findings: str
    plan: str


@dataclass(frozen=True, slots=True)
class FollowUpEvidence:
    """An encounter or delivery record that counts as the follow-up (row 22)."""

    source: FollowUpSource
    on: date
    institution_id: int
    #: The station's or village clinic's parent centre, if any.
    parent_institution_id: int | None
    event_id: str


@dataclass(frozen=True, slots=True)
class Routing:
    """Where a reassignment points: resolved by the service from department / practitioner."""

    institution_id: int
    department_id: int | None = None
    practitioner_id: int | None = None


@dataclass(frozen=True, slots=True)
class EventInput:
    """One event and its payload; fields not used by the event are ignored."""

    event: Event
    #: The referral version the person saw (required for every event by a person).
    version: int | None = None
    #: A resident id the payload names (outcome, follow-up): must be the referral's.
    resident_id: int | None = None
    reason: str | None = None
    decline_code: DeclineCode | None = None
    #: Submit: the slot to hold; schedule / reschedule: the slot or bed to book.
    slot: SlotInfo | None = None
    care_setting: CareSetting | None = None
    text: str | None = None
    outcome: Outcome | None = None
    followup: FollowUp | None = None
    evidence: FollowUpEvidence | None = None
    routing: Routing | None = None


# --------------------------------------------------------------------------- effects


@dataclass(frozen=True, slots=True)
class HoldSlot:
    slot_id: int
    institution_id: int
    start: datetime


@dataclass(frozen=True, slots=True)
class ReleaseSlot:
    """Give back a hold or an open booking."""

    slot_id: int


@dataclass(frozen=True, slots=True)
class BookSlot:
    """Book a slot for the episode (or turn the episode's hold into a booking)."""

    slot_id: int
    institution_id: int
    start: datetime
    flags: BookingFlags
    pool_kind: PoolKind


@dataclass(frozen=True, slots=True)
class SetAppointmentStatus:
    slot_id: int
    status: AppointmentStatus


@dataclass(frozen=True, slots=True)
class ApplyBenefits:
    benefits: frozenset[PriorityBenefit]


@dataclass(frozen=True, slots=True)
class EndBenefits:
    pass


@dataclass(frozen=True, slots=True)
class OpenCareRelationship:
    kind: CareKind
    institution_id: int


@dataclass(frozen=True, slots=True)
class CloseCareRelationship:
    kind: CareKind
    institution_id: int


@dataclass(frozen=True, slots=True)
class CreateFollowUpTask:
    due_at: datetime
    team_id: int | None = None
    user_id: int | None = None


@dataclass(frozen=True, slots=True)
class CompleteFollowUpTask:
    on: date
    on_time: bool
    source: FollowUpSource
    evidence_id: str | None = None


@dataclass(frozen=True, slots=True)
class CancelFollowUpTask:
    """The episode ended without a follow-up being owed any more (declined, cancelled)."""


@dataclass(frozen=True, slots=True)
class RecordEscalation:
    """Insert the escalation row (unique on ``key``); ``due_at`` is the deadline that passed."""

    key: EscalationKey
    due_at: datetime


@dataclass(frozen=True, slots=True)
class RouteInbox:
    department_id: int | None
    practitioner_id: int | None


@dataclass(frozen=True, slots=True)
class Notify:
    """An inbox message after commit.  ``office_consortium_id`` names whose referral officers."""

    recipients: frozenset[Party]
    topic: str
    office_consortium_id: int | None = None


Effect: TypeAlias = (
    HoldSlot
    | ReleaseSlot
    | BookSlot
    | SetAppointmentStatus
    | ApplyBenefits
    | EndBenefits
    | OpenCareRelationship
    | CloseCareRelationship
    | CreateFollowUpTask
    | CompleteFollowUpTask
    | CancelFollowUpTask
    | RecordEscalation
    | RouteInbox
    | Notify
)


@dataclass(frozen=True, slots=True)
class Decision:
    """A validated transition: what to write, and the side effects for the service to run."""

    row: int
    event: Event
    party: Party
    from_status: Status
    to_status: Status
    at: datetime
    #: Version after the transition (unchanged for an escalation, which is not a transition row).
    version: int
    #: Whether this starts a new status entry (status changed, or a reschedule).
    new_status_entry: bool
    actor_user_id: int | None = None
    reason: str | None = None
    end_reason: EndReason | None = None
    #: The new approval value, when it changes.
    approval: Approval | None = None
    #: Submit only: the deadlines copied onto the referral.
    deadlines: DeadlineSet | None = None
    care_setting: CareSetting | None = None
    effects: tuple[Effect, ...] = ()
    #: A system event the service applies next in the same transaction (row 18 after row 1).
    follow_on: Event | None = None


def next_snapshot(snap: ReferralSnapshot, d: Decision) -> ReferralSnapshot:
    """The snapshot after ``d`` is written: what the service would read back (chaining, tests)."""
    slot, benefits, escalations = snap.slot, snap.benefits, snap.escalations
    for e in d.effects:
        if isinstance(e, HoldSlot):
            slot = SlotRef(e.slot_id, e.institution_id, e.start, SlotState.HELD)
        elif isinstance(e, BookSlot):
            slot = SlotRef(e.slot_id, e.institution_id, e.start, SlotState.BOOKED)
        elif isinstance(e, ReleaseSlot) and slot is not None and slot.slot_id == e.slot_id:
            slot = None
        elif isinstance(e, SetAppointmentStatus) and slot is not None:
            no_show = e.status == AppointmentStatus.NO_SHOW
            slot = replace(slot, state=SlotState.NO_SHOW if no_show else SlotState.ATTENDED)
        elif isinstance(e, ApplyBenefits):
            benefits = e.benefits
        elif isinstance(e, EndBenefits):
            benefits = frozenset()
        elif isinstance(e, RecordEscalation):
            escalations = escalations | {e.key}
    submitted_by = d.actor_user_id if d.event == Event.SUBMIT else None
    return replace(
        snap,
        status=d.to_status,
        version=d.version,
        sent_by=submitted_by if submitted_by is not None else snap.sent_by,
        status_entered_at=d.at if d.new_status_entry else snap.status_entered_at,
        status_entry_seq=d.version if d.new_status_entry else snap.status_entry_seq,
        accepted_at=d.at if d.event in (Event.ACCEPT, Event.AUTO_ACCEPT) else snap.accepted_at,
        approval=d.approval or snap.approval,
        deadlines=d.deadlines or snap.deadlines,
        care_setting=d.care_setting or snap.care_setting,
        end_reason=d.end_reason or snap.end_reason,
        slot=slot,
        benefits=benefits,
        escalations=escalations,
    )
