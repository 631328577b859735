"""Pure scheduling rules: pool release, who may book which pool, the no-show rule, booking flags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yilian.contracts.config import PriorityBenefit
from yilian.core.errors import Conflict, DomainError, Forbidden, ValidationFailed
from yilian.scheduling.config import SchedulingPolicy
from yilian.scheduling.rules import (
    Booker,
    BookingChannel,
    BookingFlags,
    Pool,
    PoolKind,
    SlotInfo,
    booking_flags,
    booking_refusal,
    check_booking,
    effective_kind,
    make_pool,
    no_show_blocked_until,
    pool_access_refusal,
    released_at,
)

POLICY = SchedulingPolicy()
NOW = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)
START = NOW + timedelta(days=3)
HOSPITAL, CENTRE = 20, 10
X, Y = 1, 2

PUBLIC = make_pool(PoolKind.PUBLIC, HOSPITAL, POLICY)
REFERRAL_X = make_pool(PoolKind.REFERRAL, HOSPITAL, POLICY, consortium_id=X)
CONTRACT_OWN = make_pool(PoolKind.CONTRACT, HOSPITAL, POLICY)
CONTRACT_X = make_pool(PoolKind.CONTRACT, HOSPITAL, POLICY, consortium_id=X)

ANYONE = Booker(BookingChannel.PUBLIC, self_booking=True)
REFERRED_FROM_X = Booker(BookingChannel.REFERRAL, referral_consortia=frozenset({X}))
REFERRED_FROM_Y = Booker(BookingChannel.REFERRAL, referral_consortia=frozenset({Y}))
CONTRACTED_HERE = Booker(BookingChannel.CONTRACT, contract_institution_id=HOSPITAL)
CONTRACTED_IN_X = Booker(
    BookingChannel.CONTRACT, contract_institution_id=CENTRE, contract_consortia=frozenset({X})
)


def test_make_pool_takes_release_leads_from_the_policy() -> None:
    assert PUBLIC.release_before is None
    assert REFERRAL_X.release_before == POLICY.referral_release_before == timedelta(hours=24)
    assert CONTRACT_OWN.release_before == POLICY.contract_release_before
    with pytest.raises(ValidationFailed, match="pool_consortium_required"):
        make_pool(PoolKind.REFERRAL, HOSPITAL, POLICY)


def test_reserved_pools_are_released_to_the_public_before_the_slot() -> None:
    assert released_at(PUBLIC, START) is None
    assert released_at(REFERRAL_X, START) == START - timedelta(hours=24)
    assert effective_kind(REFERRAL_X, START, START - timedelta(hours=24, seconds=1)) == PoolKind.REFERRAL
    assert effective_kind(REFERRAL_X, START, START - timedelta(hours=24)) == PoolKind.PUBLIC
    held_to_the_end = Pool(PoolKind.REFERRAL, HOSPITAL, X, None)
    assert effective_kind(held_to_the_end, START, START) == PoolKind.REFERRAL


@pytest.mark.parametrize(
    ("pool", "booker", "allowed"),
    [
        (PUBLIC, ANYONE, True),
        (PUBLIC, REFERRED_FROM_Y, True),
        (REFERRAL_X, REFERRED_FROM_X, True),
        (REFERRAL_X, REFERRED_FROM_Y, False),
        (REFERRAL_X, ANYONE, False),
        (REFERRAL_X, CONTRACTED_IN_X, False),  # a contract is not a referral
        (CONTRACT_OWN, CONTRACTED_HERE, True),
        (CONTRACT_OWN, CONTRACTED_IN_X, False),
        (CONTRACT_X, CONTRACTED_IN_X, True),
        (CONTRACT_X, CONTRACTED_HERE, False),
        (CONTRACT_X, ANYONE, False),
        (
            CONTRACT_X,
            Booker(
                BookingChannel.REFERRAL,
                referral_consortia=frozenset({X}),
                contract_institution_id=CENTRE,
                contract_consortia=frozenset({X}),
            ),
            True,
        ),
    ],
)
def test_who_may_book_which_pool(pool: Pool, booker: Booker, allowed: bool) -> None:
    refusal = pool_access_refusal(pool, START, booker, NOW)
    assert (refusal is None) is allowed
    if refusal is not None:
        assert isinstance(refusal, Forbidden) and refusal.code == "pool_not_open"


def test_a_released_slot_is_open_to_anyone() -> None:
    assert pool_access_refusal(REFERRAL_X, START, ANYONE, START - timedelta(hours=2)) is None


def test_no_show_rule_blocks_self_booking_until_the_window_moves_on() -> None:
    shows = [NOW - timedelta(days=d) for d in (80, 40, 10)]
    until = no_show_blocked_until(shows, NOW, POLICY)
    assert until == NOW - timedelta(days=80) + timedelta(days=90)
    assert no_show_blocked_until(shows, until, POLICY) is None
    assert no_show_blocked_until(shows[1:], NOW, POLICY) is None
    assert no_show_blocked_until([NOW - timedelta(days=100), *shows[1:]], NOW, POLICY) is None
    strict = SchedulingPolicy(no_show_limit=2, no_show_window_days=30)
    assert no_show_blocked_until(shows, NOW, strict) is None
    assert no_show_blocked_until([NOW - timedelta(days=1), *shows], NOW, strict) is not None
    assert no_show_blocked_until(shows, NOW, SchedulingPolicy(no_show_limit=0)) is None


def slot_info(pool: Pool = PUBLIC, start: datetime = START, free: bool = True) -> SlotInfo:
    return SlotInfo(1, HOSPITAL, start, free, pool)


@pytest.mark.parametrize(
    ("info", "booker", "no_shows", "error", "code"),
    [
        (slot_info(start=NOW), ANYONE, [], ValidationFailed, "slot_in_past"),
        (slot_info(free=False), ANYONE, [], Conflict, "slot_taken"),
        (slot_info(REFERRAL_X), ANYONE, [], Forbidden, "pool_not_open"),
        (slot_info(), ANYONE, [NOW - timedelta(days=d) for d in (1, 2, 3)], Forbidden, "no_show_blocked"),
    ],
)
def test_booking_refusals(
    info: SlotInfo, booker: Booker, no_shows: list[datetime], error: type[DomainError], code: str
) -> None:
    refusal = booking_refusal(info, booker, NOW, POLICY, no_shows)
    assert isinstance(refusal, error) and refusal.code == code


def test_no_show_rule_does_not_block_bookings_made_for_the_resident() -> None:
    shows = [NOW - timedelta(days=d) for d in (1, 2, 3)]
    desk = Booker(BookingChannel.PUBLIC, self_booking=False)
    assert booking_refusal(slot_info(), desk, NOW, POLICY, shows) is None
    assert booking_refusal(slot_info(REFERRAL_X), REFERRED_FROM_X, NOW, POLICY, shows) is None


def test_check_booking_returns_the_pool_booked_from() -> None:
    assert check_booking(slot_info(REFERRAL_X), REFERRED_FROM_X, NOW, POLICY) == PoolKind.REFERRAL
    late = START - timedelta(hours=1)
    assert check_booking(slot_info(REFERRAL_X), ANYONE, late, POLICY) == PoolKind.PUBLIC
    with pytest.raises(Forbidden):
        check_booking(slot_info(REFERRAL_X), ANYONE, NOW, POLICY)


def test_booking_flags_from_an_episode_and_a_contract() -> None:
    assert booking_flags() == BookingFlags()
    episode = booking_flags(episode_benefits=frozenset(PriorityBenefit), referral_episode_id=9)
    assert episode == BookingFlags(registration_fee_waived=True, priority=True, referral_episode_id=9)
    contract = booking_flags(contract_rights=frozenset({PriorityBenefit.PRIORITY_APPOINTMENT}))
    assert contract == BookingFlags(registration_fee_waived=False, priority=True)
    exams_only = booking_flags(episode_benefits=frozenset({PriorityBenefit.PRIORITY_EXAM}))
    assert exams_only == BookingFlags()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 200), max_size=8), st.integers(1, 5), st.integers(1, 120))
def test_no_show_block_matches_a_count_in_the_window(ages: list[int], limit: int, window: int) -> None:
    policy = SchedulingPolicy(no_show_limit=limit, no_show_window_days=window)
    shows = [NOW - timedelta(days=a, hours=1) for a in ages]
    recent = sum(1 for s in shows if NOW - timedelta(days=window) < s)
    until = no_show_blocked_until(shows, NOW, policy)
    assert (until is not None) == (recent >= limit)
    if until is not None:
        assert until > NOW
        assert no_show_blocked_until(shows, until, policy) is None or until < NOW + timedelta(days=window)
