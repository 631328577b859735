"""Pure contract rules: terms, one contract at a time, panels, family and "1+1+1" signing, delivery."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yilian.contracts.config import (
    DEFAULT_BASIC_PACKAGE,
    ContractPolicy,
    Frequency,
    PackageItem,
    PriorityBenefit,
)
from yilian.contracts.rules import (
    ContractInterval,
    DeliveryState,
    FamilyMember,
    InstitutionRef,
    TeamPanel,
    add_months,
    add_years,
    check_combination,
    check_delivery,
    check_signing,
    combination_refusal,
    contract_in_force,
    delivery_refusal,
    delivery_schedule,
    items_owed,
    occurrences,
    overlap_refusal,
    panel_refusal,
    plan_family_signing,
    priority_rights,
    term_refusal,
)
from yilian.core.errors import Conflict, ValidationFailed

POLICY = ContractPolicy()
TEAM = TeamPanel(team_id=5, institution_id=10, contracted=10)
START, END = date(2025, 2, 15), date(2026, 2, 14)
BP = PackageItem("htn_followup", "高血压患者随访", Frequency.QUARTERLY, frozenset({"hypertension"}))


def interval(cid: int, start: date, end: date, team: int = 5) -> ContractInterval:
    return ContractInterval.for_term(cid, team, start, end)


# --------------------------------------------------------------------------- dates and terms


def test_month_arithmetic_clamps_to_the_month_end() -> None:
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2025, 11, 15), 3) == date(2026, 2, 15)
    assert add_years(date(2024, 2, 29), 1) == date(2025, 2, 28)


@pytest.mark.parametrize(
    ("start", "end", "code"),
    [
        (date(2025, 1, 1), date(2025, 12, 31), None),
        (date(2025, 1, 1), date(2026, 6, 30), None),
        (date(2025, 1, 1), date(2025, 12, 30), "term_too_short"),
        (date(2025, 1, 1), date(2024, 12, 31), "term_invalid"),
        (date(2024, 2, 29), date(2025, 2, 27), None),
    ],
)
def test_term_at_least_one_year(start: date, end: date, code: str | None) -> None:
    refusal = term_refusal(start, end, POLICY)
    assert (refusal.code if refusal else None) == code


def test_minimum_term_is_configurable() -> None:
    refusal = term_refusal(date(2025, 1, 1), date(2025, 12, 31), ContractPolicy(min_term_years=2))
    assert refusal is not None and refusal.code == "term_too_short"


# --------------------------------------------------------------------------- one contract at a time


def test_overlap_with_an_existing_contract_is_refused() -> None:
    existing = [interval(1, date(2024, 3, 1), date(2025, 2, 28))]
    refusal = overlap_refusal(START, END, existing)
    assert isinstance(refusal, Conflict) and refusal.code == "contract_overlap"
    assert refusal.details["contracts"] == [1]


def test_adjacent_terminated_empty_and_excluded_contracts_do_not_clash() -> None:
    adjacent = interval(1, date(2024, 2, 15), date(2025, 2, 14))
    terminated = ContractInterval(2, 5, date(2024, 6, 1), START)  # terminated on the new start
    never_started = ContractInterval(3, 5, date(2025, 5, 1), date(2025, 5, 1))
    changing = interval(4, START, END)
    assert overlap_refusal(START, END, [adjacent, terminated, never_started, changing], exclude=4) is None


def test_contract_in_force() -> None:
    c = interval(1, START, END)
    assert contract_in_force(START, [c]) == c
    assert contract_in_force(END, [c]) == c
    assert contract_in_force(END + timedelta(days=1), [c]) is None


@settings(max_examples=200, deadline=None)
@given(
    st.dates(date(2020, 1, 1), date(2030, 1, 1)),
    st.integers(0, 800),
    st.dates(date(2020, 1, 1), date(2030, 1, 1)),
    st.integers(0, 800),
)
def test_overlap_is_symmetric(a_start: date, a_len: int, b_start: date, b_len: int) -> None:
    a_end, b_end = a_start + timedelta(days=a_len), b_start + timedelta(days=b_len)
    ab = overlap_refusal(a_start, a_end, [interval(2, b_start, b_end)]) is not None
    ba = overlap_refusal(b_start, b_end, [interval(1, a_start, a_end)]) is not None
    assert ab == ba == (a_start <= b_end and b_start <= a_end)


# --------------------------------------------------------------------------- panels and signing


def test_panel_limit_per_team_with_override() -> None:
    full = TeamPanel(5, 10, contracted=2000)
    refusal = panel_refusal(full, 1, POLICY)
    assert isinstance(refusal, Conflict) and refusal.code == "panel_full"
    assert panel_refusal(TeamPanel(5, 10, contracted=2000, limit=2500), 1, POLICY) is None
    assert panel_refusal(TeamPanel(5, 10, contracted=9, limit=10), 2, POLICY) is not None


def test_check_signing_order_term_then_overlap_then_panel() -> None:
    full = TeamPanel(5, 10, contracted=2000)
    existing = [interval(1, START, END)]
    with pytest.raises(ValidationFailed, match="term_too_short"):
        check_signing(full, START, START + timedelta(days=30), existing, POLICY)
    with pytest.raises(Conflict, match="contract_overlap"):
        check_signing(full, START, END, existing, POLICY)
    with pytest.raises(Conflict, match="panel_full"):
        check_signing(full, START, END, [], POLICY)
    check_signing(TEAM, START, END, [], POLICY)


def test_family_signing_is_all_or_nothing() -> None:
    mother = FamilyMember(1)
    father = FamilyMember(2, (interval(9, date(2024, 6, 1), date(2025, 5, 31), team=5),))  # same team
    child = FamilyMember(3)
    plan = plan_family_signing(TEAM, [mother, father, child], START, END, POLICY)
    assert plan.to_sign == (1, 3) and plan.already_with_team == (2,)
    grandma = FamilyMember(4, (interval(8, date(2024, 6, 1), date(2025, 5, 31), team=6),))
    with pytest.raises(Conflict) as err:
        plan_family_signing(TEAM, [mother, grandma], START, END, POLICY)
    assert err.value.code == "family_member_contracted" and err.value.details["residents"] == [4]


@pytest.mark.parametrize(
    ("members", "team", "code"),
    [
        ([], TEAM, "family_empty"),
        ([FamilyMember(1), FamilyMember(1)], TEAM, "family_duplicate"),
        ([FamilyMember(1), FamilyMember(2)], TeamPanel(5, 10, contracted=1999), "panel_full"),
    ],
)
def test_family_signing_refusals(members: list[FamilyMember], team: TeamPanel, code: str) -> None:
    with pytest.raises((ValidationFailed, Conflict)) as err:
        plan_family_signing(team, members, START, END, POLICY)
    assert err.value.code == code


# --------------------------------------------------------------------------- "1+1+1"

CENTRE = InstitutionRef(10, "B100", 1)
DISTRICT = InstitutionRef(20, "A100", 2)
CITY = InstitutionRef(30, "A100", 3)


@pytest.mark.parametrize(
    ("chosen", "policy", "code"),
    [
        ([CENTRE, DISTRICT, CITY], POLICY, None),
        ([CENTRE, DISTRICT, CITY], ContractPolicy(combination_enabled=False), "combination_disabled"),
        ([CENTRE, DISTRICT], POLICY, "combination_incomplete"),
        ([CENTRE, DISTRICT, DISTRICT], POLICY, "combination_duplicate"),
        ([CENTRE, CITY, DISTRICT], POLICY, "combination_slot_mismatch"),
        ([InstitutionRef(11, "D600", 0), DISTRICT, CITY], POLICY, "combination_slot_mismatch"),
        ([InstitutionRef(12, "C210", 1), DISTRICT, CITY], POLICY, "combination_not_team_institution"),
    ],
)
def test_combination_signing(chosen: list[InstitutionRef], policy: ContractPolicy, code: str | None) -> None:
    refusal = combination_refusal(chosen, team_institution_id=10, policy=policy)
    assert (refusal.code if refusal else None) == code


def test_check_combination_raises() -> None:
    with pytest.raises(ValidationFailed):
        check_combination([CENTRE], 10, POLICY)
    check_combination([CENTRE, DISTRICT, CITY], 10, POLICY)


# --------------------------------------------------------------------------- delivery (履约)


def test_quarterly_periods_count_from_the_term_start_and_the_last_is_cut() -> None:
    occ = occurrences(BP, START, END)
    assert [(o.window_start, o.due_on) for o in occ] == [
        (date(2025, 2, 15), date(2025, 5, 14)),
        (date(2025, 5, 15), date(2025, 8, 14)),
        (date(2025, 8, 15), date(2025, 11, 14)),
        (date(2025, 11, 15), date(2026, 2, 14)),
    ]
    once = PackageItem("x", "x", Frequency.ONCE)
    assert [(o.window_start, o.due_on) for o in occurrences(once, START, END)] == [(START, END)]
    long = occurrences(BP, START, date(2026, 3, 31))
    assert long[-1].window_start == date(2026, 2, 15) and long[-1].due_on == date(2026, 3, 31)


def test_delivery_states_and_no_carry_over() -> None:
    today = date(2025, 9, 1)
    delivered = [date(2025, 3, 1), date(2025, 4, 1)]  # two in Q1, none in Q2
    states = [o.state for o in delivery_schedule(BP, START, END, delivered, today)]
    assert states == [
        DeliveryState.DELIVERED,
        DeliveryState.OVERDUE,
        DeliveryState.DUE,
        DeliveryState.UPCOMING,
    ]
    assert delivery_schedule(BP, START, END, delivered, today)[0].delivered_on == date(2025, 3, 1)


@settings(max_examples=200, deadline=None)
@given(st.dates(date(2020, 1, 1), date(2030, 1, 1)), st.integers(364, 1100), st.sampled_from(list(Frequency)))
def test_periods_partition_the_term(start: date, days: int, frequency: Frequency) -> None:
    end = start + timedelta(days=days)
    occ = occurrences(PackageItem("x", "x", frequency), start, end)
    assert occ[0].window_start == start and occ[-1].due_on == end
    for a, b in itertools.pairwise(occ):
        assert b.window_start == a.due_on + timedelta(days=1)
    assert [o.seq for o in occ] == list(range(1, len(occ) + 1))


@pytest.mark.parametrize(
    ("code", "on", "today", "expected"),
    [
        ("htn_followup", date(2025, 3, 1), date(2025, 3, 2), None),
        ("dental", date(2025, 3, 1), date(2025, 3, 2), "item_not_in_package"),
        ("htn_followup", date(2025, 3, 3), date(2025, 3, 2), "delivery_in_future"),
        ("htn_followup", date(2025, 2, 1), date(2025, 3, 2), "delivery_outside_term"),
    ],
)
def test_delivery_refusal(code: str, on: date, today: date, expected: str | None) -> None:
    refusal = delivery_refusal(code, on, DEFAULT_BASIC_PACKAGE, interval(1, START, END), today)
    assert (refusal.code if refusal else None) == expected


def test_check_delivery_raises() -> None:
    with pytest.raises(ValidationFailed, match="item_not_in_package"):
        check_delivery("dental", START, DEFAULT_BASIC_PACKAGE, interval(1, START, END), END)


def test_items_owed_by_key_population() -> None:
    codes = {i.code for i in items_owed(DEFAULT_BASIC_PACKAGE, ["hypertension"])}
    assert codes == {"health_assessment", "htn_followup"}
    assert {i.code for i in items_owed(DEFAULT_BASIC_PACKAGE, [])} == {"health_assessment"}


def test_priority_rights_while_a_contract_is_in_force() -> None:
    c = [interval(1, START, END)]
    rights = priority_rights(c, START, POLICY)
    assert rights == {
        PriorityBenefit.PRIORITY_APPOINTMENT,
        PriorityBenefit.PRIORITY_EXAM,
        PriorityBenefit.PRIORITY_ADMISSION,
    }
    assert priority_rights(c, END + timedelta(days=1), POLICY) == frozenset()
    generous = ContractPolicy(priority_rights=frozenset(PriorityBenefit))
    assert PriorityBenefit.REGISTRATION_FEE_WAIVER in priority_rights(c, START, generous)
