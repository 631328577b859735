"""Contract statuses, the transition table, and the guards that refuse with a reason.

A contract is ``signed`` until its term starts, then ``active``.  It ends in one
of four ways, each a terminal status so the indicators can tell them apart
(``contract_renewal_rate`` excludes early terminations):

- ``renewed``: at the end of the term the resident stays with the same team;
- ``switched``: at the end of the term the resident moves to another team;
- ``terminated``: ended early with a coded reason;
- ``expired``: the term ran out with nothing recorded.

A renewal or switch names its successor; the service signs the successor as a
new contract (``rules.check_signing``) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Final

from yilian.contracts.config import ContractPolicy
from yilian.contracts.rules import term_refusal
from yilian.core.errors import DomainError, InvalidTransition, ValidationFailed

__all__ = [
    "CONTRACT_EVENT_NAMES_ZH",
    "CONTRACT_STATUS_NAMES_ZH",
    "TERMINAL",
    "TERMINATION_REASON_NAMES_ZH",
    "TRANSITIONS",
    "ContractDecision",
    "ContractEvent",
    "ContractEventInput",
    "ContractSnapshot",
    "ContractStatus",
    "Successor",
    "TerminationReason",
    "contract_transition",
    "initial_status",
]


class ContractStatus(StrEnum):
    SIGNED = "signed"
    ACTIVE = "active"
    RENEWED = "renewed"
    SWITCHED = "switched"
    TERMINATED = "terminated"
    EXPIRED = "expired"


TERMINAL: Final = frozenset(
    {ContractStatus.RENEWED, ContractStatus.SWITCHED, ContractStatus.TERMINATED, ContractStatus.EXPIRED}
)


CONTRACT_STATUS_NAMES_ZH: Final[dict[ContractStatus, str]] = {
    ContractStatus.SIGNED: "已签约待生效",
    ContractStatus.ACTIVE: "履约中",
    ContractStatus.RENEWED: "已续约",
    ContractStatus.SWITCHED: "已转签",
    ContractStatus.TERMINATED: "已解约",
    ContractStatus.EXPIRED: "已到期",
}


class ContractEvent(StrEnum):
    ACTIVATE = "activate"  # system, on the first day of the term
    RENEW = "renew"
    SWITCH = "switch"
    TERMINATE = "terminate"
    EXPIRE = "expire"  # system, the day after the term's last day


CONTRACT_EVENT_NAMES_ZH: Final[dict[ContractEvent, str]] = {
    ContractEvent.ACTIVATE: "生效",
    ContractEvent.RENEW: "续约",
    ContractEvent.SWITCH: "转签",
    ContractEvent.TERMINATE: "解约",
    ContractEvent.EXPIRE: "到期",
}

TRANSITIONS: Final[Mapping[tuple[ContractStatus, ContractEvent], ContractStatus]] = {
    (ContractStatus.SIGNED, ContractEvent.ACTIVATE): ContractStatus.ACTIVE,
    (ContractStatus.SIGNED, ContractEvent.TERMINATE): ContractStatus.TERMINATED,
    (ContractStatus.ACTIVE, ContractEvent.RENEW): ContractStatus.RENEWED,
    (ContractStatus.ACTIVE, ContractEvent.SWITCH): ContractStatus.SWITCHED,
    (ContractStatus.ACTIVE, ContractEvent.TERMINATE): ContractStatus.TERMINATED,
    (ContractStatus.ACTIVE, ContractEvent.EXPIRE): ContractStatus.EXPIRED,
}


class TerminationReason(StrEnum):
    RESIDENT_REQUEST = "resident_request"
    CHANGED_TEAM = "changed_team"  # 改签: the resident moves to another team mid-term
    MOVED_AWAY = "moved_away"
    DECEASED = "deceased"
    TEAM_DISSOLVED = "team_dissolved"
    DUPLICATE = "duplicate"  # signed twice by mistake
    OTHER = "other"  # text required


TERMINATION_REASON_NAMES_ZH: Final[dict[TerminationReason, str]] = {
    TerminationReason.RESIDENT_REQUEST: "居民申请解约",
    TerminationReason.CHANGED_TEAM: "居民改签其他团队",
    TerminationReason.MOVED_AWAY: "居民迁出服务区域",
    TerminationReason.DECEASED: "居民死亡",
    TerminationReason.TEAM_DISSOLVED: "团队解散",
    TerminationReason.DUPLICATE: "重复签约",
    TerminationReason.OTHER: "其他",
}


@dataclass(frozen=True, slots=True)
class ContractSnapshot:
    contract_id: int
    resident_id: int
    team_id: int
    status: ContractStatus
    start: date
    end: date  # last day of the term, inclusive


@dataclass(frozen=True, slots=True)
class Successor:
    """The contract that follows a renewal or switch."""

    team_id: int
    start: date
    end: date


@dataclass(frozen=True, slots=True)
class ContractEventInput:
    event: ContractEvent
    #: Termination date: the first day the contract is no longer in force; default today.
    on: date | None = None
    reason: TerminationReason | None = None
    reason_text: str | None = None
    successor: Successor | None = None


@dataclass(frozen=True, slots=True)
class ContractDecision:
    contract_id: int
    event: ContractEvent
    from_status: ContractStatus
    to_status: ContractStatus
    #: Set when the contract ends: first day not in force (closes the ``contracted``
    #: care relationship; ``until`` = this day).
    stop: date | None = None
    reason: TerminationReason | None = None
    reason_text: str | None = None
    successor: Successor | None = None


def initial_status(start: date, today: date) -> ContractStatus:
    """A contract signed today for a term starting later waits as ``signed``."""
    return ContractStatus.SIGNED if start > today else ContractStatus.ACTIVE


def _not_due(message: str) -> InvalidTransition:
    # System events refused as "not due" are skipped by the job, not reported.
    return InvalidTransition(message, code="not_due")


def _successor_refusal(
    snap: ContractSnapshot, inp: ContractEventInput, today: date, policy: ContractPolicy
) -> DomainError | None:
    succ = inp.successor
    if succ is None:
        return ValidationFailed("续约或转签须给出新合同的团队和期限", code="successor_required")
    window_opens = snap.end - timedelta(days=policy.renewal_window_days)
    if today < window_opens:
        return ValidationFailed(
            f"合同到期前{policy.renewal_window_days}天内才能办理续约或转签（{window_opens}起）",
            code="renewal_too_early",
        )
    if today > snap.end:
        # The job expires the contract the next morning; a later signing is a new
        # contract, which the renewal indicator still counts within its 30 days.
        return ValidationFailed("合同已到期，请重新签约", code="term_ended")
    if succ.start != snap.end + timedelta(days=1):
        return ValidationFailed(
            f"新合同须自{snap.end + timedelta(days=1)}起，与原合同首尾相接", code="successor_not_contiguous"
        )
    term = term_refusal(succ.start, succ.end, policy)
    if term is not None:
        return term
    same_team = succ.team_id == snap.team_id
    if inp.event == ContractEvent.RENEW and not same_team:
        return ValidationFailed("续约须为同一团队；更换团队请办理转签", code="team_changed")
    if inp.event == ContractEvent.SWITCH and same_team:
        return ValidationFailed("转签须更换团队；同一团队请办理续约", code="team_unchanged")
    return None


def _termination_refusal(snap: ContractSnapshot, inp: ContractEventInput, today: date) -> DomainError | None:
    if inp.reason is None or (inp.reason == TerminationReason.OTHER and not (inp.reason_text or "").strip()):
        return ValidationFailed("解约须选择原因（选择“其他”时须填写说明）", code="reason_required")
    on = inp.on or today
    if snap.status == ContractStatus.ACTIVE and not (snap.start <= on <= min(today, snap.end)):
        return ValidationFailed(
            f"解约日期须在合同期内且不晚于今天（{snap.start}至{min(today, snap.end)}）",
            code="termination_date_invalid",
        )
    return None


def contract_transition(
    snap: ContractSnapshot, inp: ContractEventInput, today: date, policy: ContractPolicy
) -> ContractDecision:
    """Validate one event against the table and its guard; the decision says what to write."""
    target = TRANSITIONS.get((snap.status, inp.event))
    if target is None:
        raise InvalidTransition(
            f"合同当前状态为“{CONTRACT_STATUS_NAMES_ZH[snap.status]}”，不能{CONTRACT_EVENT_NAMES_ZH[inp.event]}",
            code="invalid_transition",
            status=snap.status.value,
            event=inp.event.value,
        )
    refusal: DomainError | None = None
    stop: date | None = None
    if inp.event == ContractEvent.ACTIVATE:
        refusal = None if today >= snap.start else _not_due(f"合同自{snap.start}起生效")
    elif inp.event == ContractEvent.EXPIRE:
        refusal = None if today > snap.end else _not_due(f"合同有效期至{snap.end}")
        stop = snap.end + timedelta(days=1)
    elif inp.event in (ContractEvent.RENEW, ContractEvent.SWITCH):
        refusal = _successor_refusal(snap, inp, today, policy)
        stop = snap.end + timedelta(days=1)
    else:  # TERMINATE
        refusal = _termination_refusal(snap, inp, today)
        # A contract that never started was never in force: its interval is empty.
        stop = snap.start if snap.status == ContractStatus.SIGNED else (inp.on or today)
    if refusal is not None:
        raise refusal
    return ContractDecision(
        contract_id=snap.contract_id,
        event=inp.event,
        from_status=snap.status,
        to_status=target,
        stop=stop,
        reason=inp.reason if inp.event == ContractEvent.TERMINATE else None,
        reason_text=inp.reason_text if inp.event == ContractEvent.TERMINATE else None,
        successor=inp.successor if inp.event in (ContractEvent.RENEW, ContractEvent.SWITCH) else None,
    )
