"""Contract statuses: every transition, every guard, terminal statuses closed."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from yilian.contracts.config import ContractPolicy
from yilian.contracts.states import (
    TERMINAL,
    TRANSITIONS,
    ContractEvent,
    ContractEventInput,
    ContractSnapshot,
    ContractStatus,
    Successor,
    TerminationReason,
    contract_transition,
    initial_status,
)
from yilian.core.errors import DomainError, InvalidTransition, ValidationFailed

POLICY = ContractPolicy()
START, END = date(2025, 1, 1), date(2025, 12, 31)
TEAM, OTHER_TEAM = 5, 6


def contract(status: ContractStatus = ContractStatus.ACTIVE) -> ContractSnapshot:
    return ContractSnapshot(contract_id=1, resident_id=7, team_id=TEAM, status=status, start=START, end=END)


def successor(team: int = TEAM, start: date = date(2026, 1, 1), end: date = date(2026, 12, 31)) -> Successor:
    return Successor(team, start, end)


def refusal(snap: ContractSnapshot, inp: ContractEventInput, today: date) -> DomainError:
    with pytest.raises(DomainError) as err:
        contract_transition(snap, inp, today, POLICY)
    return err.value


def test_initial_status() -> None:
    assert initial_status(START, START) == ContractStatus.ACTIVE
    assert initial_status(START, START - timedelta(days=1)) == ContractStatus.SIGNED


def test_activate_on_the_first_day() -> None:
    snap = contract(ContractStatus.SIGNED)
    err = refusal(snap, ContractEventInput(ContractEvent.ACTIVATE), START - timedelta(days=1))
    assert isinstance(err, InvalidTransition) and err.code == "not_due"
    d = contract_transition(snap, ContractEventInput(ContractEvent.ACTIVATE), START, POLICY)
    assert d.to_status == ContractStatus.ACTIVE and d.stop is None


def test_expire_the_day_after_the_last_day() -> None:
    err = refusal(contract(), ContractEventInput(ContractEvent.EXPIRE), END)
    assert isinstance(err, InvalidTransition) and err.code == "not_due"
    d = contract_transition(
        contract(), ContractEventInput(ContractEvent.EXPIRE), END + timedelta(days=1), POLICY
    )
    assert d.to_status == ContractStatus.EXPIRED and d.stop == END + timedelta(days=1)


@pytest.mark.parametrize(
    ("event", "today", "succ", "code"),
    [
        (ContractEvent.RENEW, END, None, "successor_required"),
        (ContractEvent.RENEW, END - timedelta(days=91), successor(), "renewal_too_early"),
        (ContractEvent.RENEW, END + timedelta(days=1), successor(), "term_ended"),
        (ContractEvent.RENEW, END, successor(start=date(2026, 1, 2)), "successor_not_contiguous"),
        (ContractEvent.RENEW, END, successor(end=date(2026, 6, 30)), "term_too_short"),
        (ContractEvent.RENEW, END, successor(team=OTHER_TEAM), "team_changed"),
        (ContractEvent.SWITCH, END, successor(team=TEAM), "team_unchanged"),
    ],
)
def test_renew_and_switch_guards(
    event: ContractEvent, today: date, succ: Successor | None, code: str
) -> None:
    err = refusal(contract(), ContractEventInput(event, successor=succ), today)
    assert isinstance(err, ValidationFailed) and err.code == code


def test_renew_keeps_the_team_and_switch_changes_it() -> None:
    window_opens = END - timedelta(days=90)
    d = contract_transition(
        contract(), ContractEventInput(ContractEvent.RENEW, successor=successor()), window_opens, POLICY
    )
    assert d.to_status == ContractStatus.RENEWED and d.stop == date(2026, 1, 1) and d.successor == successor()
    d = contract_transition(
        contract(), ContractEventInput(ContractEvent.SWITCH, successor=successor(OTHER_TEAM)), END, POLICY
    )
    assert (
        d.to_status == ContractStatus.SWITCHED
        and d.successor is not None
        and d.successor.team_id == OTHER_TEAM
    )


@pytest.mark.parametrize(
    ("reason", "text", "on", "code"),
    [
        (None, None, None, "reason_required"),
        (TerminationReason.OTHER, "  ", None, "reason_required"),
        (TerminationReason.MOVED_AWAY, None, START - timedelta(days=1), "termination_date_invalid"),
        (TerminationReason.MOVED_AWAY, None, date(2025, 7, 2), "termination_date_invalid"),  # after today
    ],
)
def test_terminate_guards(
    reason: TerminationReason | None, text: str | None, on: date | None, code: str
) -> None:
    inp = ContractEventInput(ContractEvent.TERMINATE, on=on, reason=reason, reason_text=text)
    err = refusal(contract(), inp, date(2025, 7, 1))
    assert isinstance(err, ValidationFailed) and err.code == code


def test_terminate_records_the_coded_reason_and_the_stop() -> None:
    today = date(2025, 7, 1)
    inp = ContractEventInput(
        ContractEvent.TERMINATE, reason=TerminationReason.OTHER, reason_text="长期外出务工"
    )
    d = contract_transition(contract(), inp, today, POLICY)
    assert (d.to_status, d.stop, d.reason, d.reason_text) == (
        ContractStatus.TERMINATED,
        today,
        TerminationReason.OTHER,
        "长期外出务工",
    )
    backdated = ContractEventInput(
        ContractEvent.TERMINATE, on=date(2025, 6, 1), reason=TerminationReason.DECEASED
    )
    assert contract_transition(contract(), backdated, today, POLICY).stop == date(2025, 6, 1)
    # A contract that never started leaves an empty interval.
    signed = contract(ContractStatus.SIGNED)
    inp = ContractEventInput(ContractEvent.TERMINATE, reason=TerminationReason.RESIDENT_REQUEST)
    assert contract_transition(signed, inp, START - timedelta(days=10), POLICY).stop == START


@pytest.mark.parametrize(
    ("status", "event"),
    [(s, e) for s in ContractStatus for e in ContractEvent if (s, e) not in TRANSITIONS],
)
def test_events_outside_the_table_are_refused(status: ContractStatus, event: ContractEvent) -> None:
    inp = ContractEventInput(event, reason=TerminationReason.DUPLICATE, successor=successor())
    err = refusal(contract(status), inp, END)
    assert isinstance(err, InvalidTransition) and err.code == "invalid_transition"


def test_terminal_statuses_have_no_exit() -> None:
    assert {
        ContractStatus.RENEWED,
        ContractStatus.SWITCHED,
        ContractStatus.TERMINATED,
        ContractStatus.EXPIRED,
    } == TERMINAL
    assert not any(s in TERMINAL for (s, _e) in TRANSITIONS)
    assert set(TRANSITIONS.values()) | {ContractStatus.SIGNED} == set(ContractStatus)
