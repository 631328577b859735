"""Pure referral rules: direction, eligibility, network and approval, receivers, benefits, notices."""

from __future__ import annotations

from dataclasses import replace

import pytest
from referral_kit import CATALOGUES, CENTRE, FAR, HOSPITAL, POLICY, X, contract_team_at, draft

from yilian.contracts.config import PriorityBenefit
from yilian.referrals.config import Catalogues, ReferralPolicy
from yilian.referrals.records import EscalationKind, Notify, Party
from yilian.referrals.rules import (
    approval_at_submission,
    auto_accept_applies,
    catalogue_kinds,
    default_down_receiver,
    direction_refusal,
    eligibility_refusal,
    episode_benefits,
    escalation_kind,
    escalation_notice,
    is_out_of_network,
    nobody_in_network_treats,
    suggest_direction,
)
from yilian.referrals.states import Approval, Direction, Status


@pytest.mark.parametrize(
    ("sender", "receiver", "expected"),
    [(0, 1, Direction.UP), (1, 3, Direction.UP), (3, 1, Direction.DOWN), (2, 2, Direction.LATERAL)],
)
def test_suggest_direction_from_tiers(sender: int, receiver: int, expected: Direction) -> None:
    assert suggest_direction(sender, receiver) == expected


@pytest.mark.parametrize(
    ("direction", "sender", "receiver", "designated", "code"),
    [
        (Direction.UP, 1, 2, False, None),
        (Direction.UP, 0, 1, False, None),  # village clinic → township centre
        (Direction.UP, 2, 2, False, "not_higher_tier"),
        (Direction.UP, 2, 2, True, None),  # designated specialty centre
        (Direction.UP, 3, 1, False, "not_higher_tier"),
        (Direction.DOWN, 3, 1, False, None),
        (Direction.DOWN, 1, 1, False, "not_lower_tier"),
        (Direction.DOWN, 1, 3, True, "not_lower_tier"),  # designation does not help a down-referral
        (Direction.LATERAL, 3, 3, False, None),
        (Direction.LATERAL, None, None, False, None),  # no tier check at all
        (Direction.UP, None, 3, False, "tier_unknown"),
    ],
)
def test_direction_refusal(
    direction: Direction, sender: int | None, receiver: int | None, designated: bool, code: str | None
) -> None:
    refusal = direction_refusal(direction, sender, receiver, designated)
    assert (refusal.code if refusal else None) == code


def test_catalogues_by_direction() -> None:
    assert {k.value for k in catalogue_kinds(Direction.UP)} == {"up"}
    assert {k.value for k in catalogue_kinds(Direction.LATERAL)} == {"up"}
    assert {k.value for k in catalogue_kinds(Direction.DOWN)} == {"down", "rehab"}


@pytest.mark.parametrize(
    ("direction", "diagnoses", "reason", "code"),
    [
        (Direction.UP, ("I21.901",), None, None),
        (Direction.UP, ("i21.0",), None, None),  # case-insensitive
        (Direction.UP, ("K35.8",), None, "reason_required"),
        (Direction.UP, ("K35.8",), "  ", "reason_required"),
        (Direction.UP, ("K35.8",), "腹膜炎体征", None),
        (Direction.UP, ("K35.8", "I21.0"), None, "reason_required"),  # only the principal diagnosis counts
        (Direction.DOWN, ("I63.9",), None, None),
        (Direction.DOWN, ("S72.0",), None, None),
        (Direction.DOWN, ("I21.9",), None, "reason_required"),  # up-catalogue does not make a down-referral
        (Direction.UP, (), "理由", "diagnosis_required"),
    ],
)
def test_eligibility(
    direction: Direction, diagnoses: tuple[str, ...], reason: str | None, code: str | None
) -> None:
    refusal = eligibility_refusal(direction, diagnoses, reason, POLICY)
    assert (refusal.code if refusal else None) == code


@pytest.mark.parametrize(
    ("receiver", "network", "sender_county", "receiver_county", "out"),
    [
        (HOSPITAL, {CENTRE, HOSPITAL}, "341181", "320102", False),  # in network, other county
        (FAR, {CENTRE, HOSPITAL}, "341181", "341181", False),  # same county
        (FAR, {CENTRE, HOSPITAL}, "341181", "320102", True),
        (FAR, set(), None, None, True),
    ],
)
def test_out_of_network(
    receiver: int, network: set[int], sender_county: str | None, receiver_county: str | None, out: bool
) -> None:
    assert is_out_of_network(receiver, frozenset(network), sender_county, receiver_county) is out


def test_exemption_needs_loaded_must_treat_catalogues() -> None:
    assert nobody_in_network_treats("C92.0", POLICY)
    assert not nobody_in_network_treats("I21.0", POLICY)
    assert not nobody_in_network_treats("J18.9", POLICY)  # township must-treat counts too
    # Without must-treat catalogues nobody can tell: no blanket exemption.
    assert not nobody_in_network_treats("C92.0", ReferralPolicy())


def test_approval_at_submission() -> None:
    assert approval_at_submission(draft(), POLICY) == Approval.NOT_REQUIRED
    out = draft(out_of_network=True)
    assert approval_at_submission(out, POLICY) == Approval.PENDING
    assert approval_at_submission(replace(out, diagnoses=("C92.0",)), POLICY) == Approval.EXEMPT
    assert approval_at_submission(replace(out, governing_consortium_id=None), POLICY) == Approval.NOT_REQUIRED
    relaxed = ReferralPolicy(catalogues=CATALOGUES, out_of_network_approval=False)
    assert approval_at_submission(out, relaxed) == Approval.NOT_REQUIRED
    down_far = draft(
        Direction.DOWN, receiving_institution_id=FAR, facts=replace(draft().facts, receiver_county="320102")
    )
    assert approval_at_submission(down_far, POLICY) == Approval.NOT_REQUIRED


def test_default_down_receiver() -> None:
    assert default_down_receiver(contract_team_at(CENTRE), [55, 56]) == CENTRE
    assert default_down_receiver(None, [55]) == 55
    assert default_down_receiver(None, [55, 56]) is None
    assert default_down_receiver(None, []) is None


def test_auto_accept_applies_only_to_the_own_team_and_when_on() -> None:
    own = draft(
        Direction.DOWN, facts=replace(draft(Direction.DOWN).facts, contract_team=contract_team_at(CENTRE))
    )
    assert auto_accept_applies(own, POLICY)
    assert not auto_accept_applies(own, ReferralPolicy(down_auto_accept=False))
    other = replace(own, facts=replace(own.facts, contract_team=contract_team_at(99)))
    assert not auto_accept_applies(other, POLICY)
    up = replace(own, direction=Direction.UP)
    assert not auto_accept_applies(up, POLICY)


def test_episode_benefits() -> None:
    assert episode_benefits(Direction.UP, POLICY) == frozenset(PriorityBenefit)
    assert episode_benefits(Direction.LATERAL, POLICY) == frozenset(PriorityBenefit)
    assert episode_benefits(Direction.DOWN, POLICY) == frozenset()
    none = ReferralPolicy(benefits=frozenset())
    assert episode_benefits(Direction.UP, none) == frozenset()


@pytest.mark.parametrize(
    ("status", "direction", "kind"),
    [
        (Status.AWAITING_APPROVAL, Direction.UP, EscalationKind.APPROVAL),
        (Status.REQUESTED, Direction.DOWN, EscalationKind.ACCEPT),
        (Status.ACCEPTED, Direction.UP, EscalationKind.ARRANGE),
        (Status.SCHEDULED, Direction.LATERAL, EscalationKind.ATTENDANCE),
        (Status.IN_CARE, Direction.UP, EscalationKind.OUTCOME),
        (Status.CANCEL_REQUESTED, Direction.DOWN, EscalationKind.CANCEL),
        (Status.NO_SHOW, Direction.DOWN, EscalationKind.FOLLOWUP),
        (Status.IN_CARE, Direction.DOWN, EscalationKind.FOLLOWUP),
        (Status.NO_SHOW, Direction.UP, None),  # the patient stalled it, not a party
        (Status.DRAFT, Direction.UP, None),
        (Status.COMPLETED, Direction.UP, None),
    ],
)
def test_escalation_kind(status: Status, direction: Direction, kind: EscalationKind | None) -> None:
    assert escalation_kind(status, direction) == kind


def test_escalation_notice_recipients() -> None:
    snap = draft()
    assert escalation_notice(snap, EscalationKind.APPROVAL) == Notify(
        frozenset({Party.REFERRAL_OFFICE, Party.SENDER}), "escalation.approval", X
    )
    assert escalation_notice(snap, EscalationKind.ACCEPT) == Notify(
        frozenset({Party.RECEIVER, Party.SENDER, Party.RECEIVING_OFFICE}), "escalation.accept", X
    )
    no_receiving = replace(snap, receiving_consortium_id=None, governing_consortium_id=7)
    assert escalation_notice(no_receiving, EscalationKind.ACCEPT).office_consortium_id == 7
    alone = replace(snap, receiving_consortium_id=None, governing_consortium_id=None)
    assert escalation_notice(alone, EscalationKind.ACCEPT).recipients == {Party.RECEIVER, Party.SENDER}


def test_empty_catalogues_refuse_nothing_with_a_reason() -> None:
    policy = ReferralPolicy(catalogues=Catalogues())
    assert eligibility_refusal(Direction.UP, ("I21.0",), "胸痛", policy) is None
    refusal = eligibility_refusal(Direction.UP, ("I21.0",), None, policy)
    assert refusal is not None and refusal.code == "reason_required"
