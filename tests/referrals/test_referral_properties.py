"""Properties of the referral machine over random event sequences (hypothesis).

- A sequence of events, by random actors at random times, only ever moves along
  the table: every accepted decision's target is a target of its row.
- Terminal statuses accept no event, from anyone.
- ``version`` grows by one per transition and never for an escalation.
- ``due_actions`` is idempotent: the same snapshot and time give the same
  actions; once they are applied, the same call returns nothing; each action it
  names is accepted by ``transition``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from referral_kit import (
    DUAL,
    GP,
    GP2,
    OFFICER_X,
    OFFICER_Y,
    OUTSIDER,
    PHARMACIST_B,
    POLICY,
    SPEC,
    SPEC2,
    T0,
    contract_team_at,
    draft,
    payload,
    receiver_of,
    sender_of,
    slot,
)

from yilian.core.errors import DomainError
from yilian.referrals.rules import due_actions
from yilian.referrals.states import (
    EVENT_PARTIES,
    RULES,
    SYSTEM,
    TERMINAL,
    TRANSITIONS,
    Actor,
    Direction,
    Event,
    EventInput,
    Party,
    ReferralSnapshot,
    Status,
    Urgency,
    events_allowed,
    find_rule,
    next_snapshot,
    transition,
)
from yilian.scheduling.rules import PoolKind

REACHABLE = {Status.DRAFT} | {t for r in RULES for t in r.targets}
OTHERS: tuple[Actor, ...] = (GP, GP2, SPEC, SPEC2, DUAL, OUTSIDER, OFFICER_X, OFFICER_Y, PHARMACIST_B, SYSTEM)
STEPS = [
    timedelta(0),
    timedelta(minutes=40),
    timedelta(hours=5),
    timedelta(days=1),
    timedelta(days=8),
    timedelta(days=20),
]


def right_actor(event: Event, snap: ReferralSnapshot) -> Actor:
    parties = EVENT_PARTIES[event]
    if Party.SYSTEM in parties:
        return SYSTEM
    if Party.SENDER in parties:
        return sender_of(snap)
    if Party.REFERRAL_OFFICE in parties:
        return OFFICER_X
    return receiver_of(snap)


@st.composite
def starts(draw: st.DrawFn) -> ReferralSnapshot:
    direction = draw(st.sampled_from(list(Direction)))
    out = direction != Direction.DOWN and draw(st.booleans())
    urgency = Urgency.ROUTINE if direction == Direction.DOWN else draw(st.sampled_from(list(Urgency)))
    snap = draft(direction, out_of_network=out, urgency=urgency)
    if direction == Direction.DOWN and draw(st.booleans()):
        snap = replace(
            snap, facts=replace(snap.facts, contract_team=contract_team_at(snap.receiving_institution_id))
        )
    return snap


def walk(data: st.DataObject, start: ReferralSnapshot, hold: bool) -> list[tuple[ReferralSnapshot, datetime]]:
    """Draw and run up to 14 events; check each accepted decision against the table.

    Events are drawn mostly among those the table allows now, preferring those
    that do not end the referral (so walks get deep), sometimes among all
    events; actors are mostly entitled, sometimes anyone.
    """
    snap, now = start, T0
    seen = [(snap, now)]
    for _ in range(data.draw(st.integers(0, 14))):
        allowed = sorted(events_allowed(snap.status, snap.direction))
        onward = [e for e in allowed if not TRANSITIONS[(snap.status, e)] <= TERMINAL]
        pick = data.draw(st.integers(0, 5))
        pool = list(Event) if pick == 0 or not allowed else allowed if pick == 1 or not onward else onward
        event = data.draw(st.sampled_from(pool))
        who = data.draw(st.one_of(st.just(None), st.just(None), st.sampled_from(OTHERS)))
        now = now + data.draw(st.sampled_from(STEPS))
        fresh = data.draw(st.integers(0, 9)) > 0  # mostly the current version
        actor = right_actor(event, snap) if who is None else who
        extra: dict[str, object] = {} if fresh else {"version": snap.version - 1}
        if event == Event.SUBMIT and hold:
            extra["slot"] = slot(
                77, now + timedelta(days=3), institution=snap.receiving_institution_id, kind=PoolKind.REFERRAL
            )
        try:
            decision = transition(snap, payload(event, snap, now, **extra), actor, now, POLICY)
        except DomainError:
            continue
        rule = find_rule(snap.status, event, snap.direction)
        assert rule is not None and decision.row == rule.row
        assert decision.to_status in TRANSITIONS[(snap.status, event)]
        assert decision.version == snap.version + (0 if event == Event.ESCALATE else 1)
        snap = next_snapshot(snap, decision)
        if decision.follow_on is not None:
            snap = next_snapshot(snap, transition(snap, EventInput(decision.follow_on), SYSTEM, now, POLICY))
        assert snap.status in REACHABLE
        seen.append((snap, now))
    return seen


@settings(max_examples=300, deadline=None)
@given(st.data(), starts(), st.booleans())
def test_random_sequences_stay_inside_the_table(
    data: st.DataObject, start: ReferralSnapshot, hold: bool
) -> None:
    for snap, now in walk(data, start, hold):
        if snap.status in TERMINAL:
            for event in Event:
                for actor in (right_actor(event, snap), *OTHERS):
                    try:
                        transition(
                            snap,
                            payload(event, snap, now + timedelta(days=60)),
                            actor,
                            now + timedelta(days=60),
                            POLICY,
                        )
                    except DomainError:
                        continue
                    raise AssertionError(f"terminal {snap.status} accepted {event}")


@settings(max_examples=300, deadline=None)
@given(st.data(), starts(), st.booleans(), st.sampled_from([*STEPS, timedelta(days=400)]))
def test_due_actions_are_idempotent(
    data: st.DataObject, start: ReferralSnapshot, hold: bool, later: timedelta
) -> None:
    for snap, at in walk(data, start, hold):
        now = at + later
        actions = due_actions(snap, now, POLICY)
        assert due_actions(snap, now, POLICY) == actions
        assert [a.due_at for a in actions] == sorted(a.due_at for a in actions)
        after = snap
        for action in actions:
            decision = transition(after, EventInput(action.event), SYSTEM, now, POLICY)
            after = next_snapshot(after, decision)
        assert due_actions(after, now, POLICY) == ()
        # Nothing new comes due while time stands still, even if the job runs again.
        assert due_actions(after, now, POLICY) == ()
