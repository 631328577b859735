"""The transition table: every row accepted for the right actor, refused for the wrong actor or status."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from referral_kit import (
    ADMIN,
    DUAL,
    GP,
    LATER,
    MANAGER_X,
    OFFICER_X,
    OFFICER_Y,
    OUTSIDER,
    PHARMACIST_B,
    POLICY,
    contract_team_at,
    fellow_of_sender,
    payload,
    reach,
    receiver_of,
    sender_of,
    uid,
)

from yilian.core.errors import DomainError, Forbidden, InvalidTransition
from yilian.identity.principal import Principal
from yilian.referrals.states import (
    EVENT_PARTIES,
    RULES,
    SYSTEM,
    TERMINAL,
    TRANSITIONS,
    Actor,
    Direction,
    Event,
    Party,
    ReferralSnapshot,
    Rule,
    Status,
    Urgency,
    events_allowed,
    find_rule,
    resolve_party,
    transition,
)


def right_actor(event: Event, snap: ReferralSnapshot) -> Actor:
    parties = EVENT_PARTIES[event]
    if Party.SYSTEM in parties:
        return SYSTEM
    if Party.SENDER in parties:
        return sender_of(snap)
    if Party.REFERRAL_OFFICE in parties:
        return OFFICER_X
    return receiver_of(snap)


def when(event: Event, after: datetime) -> datetime:
    # Deadlines and no-shows need time to have passed; everything else happens an hour later.
    late = event in (Event.ESCALATE, Event.EXPIRE, Event.DEEM_APPROVAL, Event.MARK_NO_SHOW)
    return LATER if late else after + timedelta(hours=1)


def case(rule: Rule, status: Status, direction: Direction) -> tuple[ReferralSnapshot, datetime]:
    urgency = Urgency.URGENT if rule.event == Event.DEEM_APPROVAL else Urgency.ROUTINE
    snap, t = reach(status, direction, urgency=urgency)
    if rule.event == Event.AUTO_ACCEPT:
        snap = replace(
            snap, facts=replace(snap.facts, contract_team=contract_team_at(snap.receiving_institution_id))
        )
    return snap, when(rule.event, t)


def _reachable(status: Status, direction: Direction) -> bool:
    # A down-referral never needs approval, so it never waits in awaiting_approval.
    return not (status == Status.AWAITING_APPROVAL and direction == Direction.DOWN)


ACCEPTED_CASES = [
    pytest.param(rule, status, direction, id=f"row{rule.row}-{rule.event}-{status}-{direction}")
    for rule in RULES
    for status in sorted(rule.sources)
    for direction in sorted(rule.directions)
    if _reachable(status, direction)
]


@pytest.mark.parametrize(("rule", "status", "direction"), ACCEPTED_CASES)
def test_every_row_is_accepted_for_the_right_actor(rule: Rule, status: Status, direction: Direction) -> None:
    snap, now = case(rule, status, direction)
    decision = transition(snap, payload(rule.event, snap, now), right_actor(rule.event, snap), now, POLICY)
    assert decision.row == rule.row
    assert decision.to_status in (rule.targets or (status,))
    assert decision.to_status in TRANSITIONS[(status, rule.event)]
    expected_version = snap.version if rule.event == Event.ESCALATE else snap.version + 1
    assert decision.version == expected_version


def _wrong_actors(event: Event, snap: ReferralSnapshot) -> list[tuple[Actor, str]]:
    parties = EVENT_PARTIES[event]
    if parties == {Party.SYSTEM}:
        return [(sender_of(snap), "system_only"), (receiver_of(snap), "system_only"), (ADMIN, "system_only")]
    if Party.SENDER in parties:
        return [
            (receiver_of(snap), "not_sender"),
            (OUTSIDER, "not_sender"),
            (PHARMACIST_B, "role_not_allowed"),
            (OFFICER_X, "role_not_allowed"),
            (SYSTEM, "role_not_allowed"),
        ]
    if Party.REFERRAL_OFFICE in parties:
        return [
            (OFFICER_Y, "not_approver"),
            (sender_of(snap), "role_not_allowed"),
            (receiver_of(snap), "role_not_allowed"),
            (SYSTEM, "role_not_allowed"),
        ]
    wrong: list[tuple[Actor, str]] = [
        (fellow_of_sender(snap), "not_receiver"),
        (OUTSIDER, "not_receiver"),
        (PHARMACIST_B, "role_not_allowed"),
        (MANAGER_X, "role_not_allowed"),
        (SYSTEM, "role_not_allowed"),
    ]
    if Party.RECEIVING_OFFICE not in parties:
        wrong.append((OFFICER_X, "role_not_allowed"))
    else:
        wrong.append((OFFICER_Y, "not_receiver"))
    return wrong


WRONG_ACTOR_CASES = [
    pytest.param(rule, id=f"row{rule.row}-{rule.event}")
    for rule in RULES
    # one representative row per event is enough: parties are per event
    if rule is next(r for r in RULES if r.event == rule.event)
]


@pytest.mark.parametrize("rule", WRONG_ACTOR_CASES)
def test_every_event_is_refused_for_wrong_actors(rule: Rule) -> None:
    status, direction = next(
        (s, d) for s in sorted(rule.sources) for d in sorted(rule.directions) if _reachable(s, d)
    )
    snap, now = case(rule, status, direction)
    for actor, code in _wrong_actors(rule.event, snap):
        with pytest.raises(Forbidden) as err:
            transition(snap, payload(rule.event, snap, now), actor, now, POLICY)
        assert err.value.code == code, (actor, code)


WRONG_STATUS_CASES = [
    pytest.param(event, status, direction, id=f"{event}-{status}-{direction}")
    for event in Event
    for status in Status
    for direction in Direction
    if find_rule(status, event, direction) is None and _reachable(status, direction)
]


@pytest.mark.parametrize(("event", "status", "direction"), WRONG_STATUS_CASES)
def test_every_event_is_refused_from_a_status_or_direction_not_in_the_table(
    event: Event, status: Status, direction: Direction
) -> None:
    snap, t = reach(status, direction)
    now = when(event, t)
    with pytest.raises(InvalidTransition) as err:
        transition(snap, payload(event, snap, now), right_actor(event, snap), now, POLICY)
    assert err.value.code == "invalid_transition"


@pytest.mark.parametrize("status", sorted(TERMINAL))
def test_terminal_statuses_accept_no_event(status: Status) -> None:
    for direction in Direction:
        assert events_allowed(status, direction) == frozenset()
        snap, t = reach(status, direction)
        for event in Event:
            with pytest.raises(DomainError):
                transition(
                    snap, payload(event, snap, when(event, t)), right_actor(event, snap), LATER, POLICY
                )


def test_table_rows_match_the_document() -> None:
    assert [r.row for r in RULES] == list(range(1, 29))
    # Escalation rows change no status; every other row names at least one target.
    for rule in RULES:
        assert (rule.event == Event.ESCALATE or rule.event in (Event.NOTE, Event.REASSIGN)) == (
            not rule.targets
        )
    # Each (status, event, direction) is decided by one row only (the table is a function).
    keys = [(s, r.event, d) for r in RULES for s in r.sources for d in r.directions]
    assert len(keys) == len(set(keys))


def test_transitions_table_lists_every_reachable_target() -> None:
    assert TRANSITIONS[(Status.DRAFT, Event.SUBMIT)] == {Status.REQUESTED, Status.AWAITING_APPROVAL}
    assert TRANSITIONS[(Status.REQUESTED, Event.ACCEPT)] == {Status.ACCEPTED, Status.SCHEDULED}
    assert TRANSITIONS[(Status.IN_CARE, Event.NOTE)] == {Status.IN_CARE}
    assert TRANSITIONS[(Status.NO_SHOW, Event.EXPIRE)] == {Status.EXPIRED}
    assert all(s not in TERMINAL for (s, _e) in TRANSITIONS)


def test_events_allowed_depend_on_direction() -> None:
    assert Event.COMPLETE in events_allowed(Status.IN_CARE, Direction.UP)
    assert Event.COMPLETE not in events_allowed(Status.IN_CARE, Direction.DOWN)
    assert Event.RECORD_FOLLOWUP in events_allowed(Status.IN_CARE, Direction.DOWN)
    assert Event.EXPIRE not in events_allowed(Status.NO_SHOW, Direction.DOWN)


def test_office_of_the_receiving_consortium_may_reassign() -> None:
    snap, t = reach(Status.REQUESTED)
    decision = transition(snap, payload(Event.REASSIGN, snap, t), OFFICER_X, t, POLICY)
    assert decision.party == Party.RECEIVING_OFFICE
    assert decision.to_status == Status.REQUESTED


def test_any_clinician_of_the_sending_institution_acts_for_it() -> None:
    snap, t = reach(Status.REQUESTED)
    decision = transition(snap, payload(Event.CANCEL, snap, t), fellow_of_sender(snap), t, POLICY)
    assert decision.to_status == Status.CANCELLED


def test_resolve_party_for_a_dual_clinician() -> None:
    snap, _t = reach(Status.REQUESTED)
    # Not the author: a clinician at both ends may receive someone else's referral.
    assert resolve_party(snap, Event.ACCEPT, DUAL) == Party.RECEIVER
    own = replace(snap, sent_by=uid(DUAL))
    refusal = resolve_party(own, Event.ACCEPT, DUAL)
    assert isinstance(refusal, Forbidden) and refusal.code == "own_referral"


def test_a_person_cannot_pose_as_the_system() -> None:
    # A system_admin is a person: performs no transition (REFERRAL.md "Actors").
    snap, _t = reach(Status.REQUESTED)
    refusal = resolve_party(snap, Event.EXPIRE, ADMIN)
    assert isinstance(refusal, Forbidden) and refusal.code == "system_only"
    assert isinstance(resolve_party(snap, Event.ACCEPT, ADMIN), Forbidden)
    assert isinstance(GP, Principal)
