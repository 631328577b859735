"""Consortium global budget: clearing, overspend bands, surplus split, Luohu, communities."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yilian.core.errors import ValidationFailed
from yilian.payment.budget.calc import (
    Member,
    charge_by_community,
    charged_spending,
    clear_budget,
    community_budgets,
    distribute_surplus,
    insured_by_community,
    luohu_clearing,
    per_capita_budget,
    signed_inpatient_spending,
)
from yilian.payment.money import CENT
from yilian.payment.params import (
    TIANCHANG_OVERSPEND_TIERS,
    GlobalBudgetParams,
    apply_overrides,
    default_params,
)

D = Decimal
DEFAULTS = GlobalBudgetParams()


def members() -> list[Member]:
    return [
        Member("county", "county_hospital", score=D(90), workload=D(500)),
        Member("town-a", "township_centre", score=D(80), workload=D(100)),
        Member("town-b", "township_centre", score=D(70), workload=D(300)),
        Member("vil-1", "village_clinic", score=D(60), workload=D(1)),
        Member("vil-2", "village_clinic", score=D(60), workload=D(1)),
        Member("vil-3", "village_clinic", score=D(60), workload=D(1)),
    ]


def test_per_capita_budget_zhejiang_figure() -> None:
    assert per_capita_budget(DEFAULTS.per_capita, 1_000_000) == D("792000000.00")


def test_charged_spending_includes_out_of_network_care() -> None:
    spent = charged_spending([D("100.00"), D("50.50")], [D("1000.00"), D("-10.00")])
    assert (spent.member, spent.out_of_network, spent.total) == (D("150.50"), D("990.00"), D("1140.50"))


def test_surplus_fully_retained_by_default() -> None:
    clearing = clear_budget(D("1000000.00"), D("900000.00"), DEFAULTS)
    assert (clearing.surplus, clearing.retained, clearing.returned_to_fund) == (D(100000), D(100000), D(0))
    assert clearing.overspend == 0 and clearing.consortium_overspend == 0


def test_surplus_retained_share_from_whatif() -> None:
    params = apply_overrides(default_params(), {"surplus.retained": "80%"}).global_budget
    clearing = clear_budget(D("1000000.00"), D("900000.01"), params)
    assert clearing.surplus == D("99999.99")
    assert clearing.retained == D("79999.99")  # 79,999.992 rounded half up to the cent
    assert clearing.retained + clearing.returned_to_fund == clearing.surplus


def test_overspend_shared_in_bands() -> None:
    clearing = clear_budget(D("1000000.00"), D("1150000.00"), DEFAULTS)
    assert clearing.overspend == D(150000)
    first, second = clearing.bands
    assert (first.amount, first.consortium, first.fund) == (D(100000), D(50000), D(50000))
    assert (second.amount, second.consortium, second.fund) == (D(50000), D(50000), D(0))
    assert (clearing.consortium_overspend, clearing.fund_overspend) == (D(100000), D(50000))
    assert clearing.surplus == 0 and clearing.retained == 0


def test_small_overspend_stays_in_the_first_band() -> None:
    clearing = clear_budget(D("1000000.00"), D("1000000.03"), DEFAULTS)
    assert len(clearing.bands) == 1
    assert (clearing.consortium_overspend, clearing.fund_overspend) == (D("0.02"), D("0.01"))


def test_tianchang_overspend_borne_by_the_lead() -> None:
    params = GlobalBudgetParams(overspend_tiers=TIANCHANG_OVERSPEND_TIERS)
    clearing = clear_budget(D("1000000.00"), D("1150000.00"), params)
    assert (clearing.consortium_overspend, clearing.fund_overspend) == (D(150000), D(0))


def test_tianchang_6_3_1_split_by_score_within_tiers() -> None:
    result = distribute_surplus(D("100000.00"), members(), DEFAULTS)
    assert result.by_tier == {
        "county_hospital": D(60000),
        "township_centre": D(30000),
        "village_clinic": D(10000),
    }
    assert result.by_member["county"] == D(60000)
    assert result.by_member["town-a"] == D("16000.00")  # 80 ÷ 150 of 30,000
    assert result.by_member["town-b"] == D("14000.00")
    assert [result.by_member[f"vil-{i}"] for i in (1, 2, 3)] == [D("3333.34"), D("3333.33"), D("3333.33")]
    assert sum(result.by_member.values()) == D("100000.00")
    assert result.basis == "score"


def test_split_by_workload() -> None:
    result = distribute_surplus(D("100000.00"), members(), DEFAULTS, within="workload")
    assert result.by_member["town-a"] == D(7500) and result.by_member["town-b"] == D(22500)


def test_a_tier_without_members_gives_way_to_the_others() -> None:
    result = distribute_surplus(D("900.00"), members()[:3], DEFAULTS)
    assert result.by_tier == {"county_hospital": D(600), "township_centre": D(300)}


def test_whatif_split_is_used() -> None:
    params = apply_overrides(default_params(), {"surplus.split": "5:4:1"}).global_budget
    result = distribute_surplus(D("1000.00"), members(), params)
    assert result.by_tier["township_centre"] == D(400)


@pytest.mark.parametrize(
    ("amount", "group", "code"),
    [
        (D("-1.00"), None, "budget_negative_amount"),
        (D("1.005"), None, "money_not_cents"),
        (D("1.00"), [], "surplus_no_members"),
        (D("1.00"), [Member("x", "hospital", score=D(1))], "surplus_bad_tier"),
        (D("1.00"), [Member("x", "village_clinic")], "surplus_bad_weight"),
        (D("1.00"), [Member("x", "village_clinic", score=D(-1))], "surplus_bad_weight"),
        (D("1.00"), [Member("x", "village_clinic", score=D(1))] * 2, "surplus_duplicate_member"),
        (D("1.00"), [Member("x", "village_clinic", score=D(0))], "surplus_zero_weights"),
    ],
)
def test_surplus_refusals(amount: Decimal, group: list[Member] | None, code: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        distribute_surplus(amount, members() if group is None else group, DEFAULTS)
    assert info.value.code == code


def test_zero_split_for_the_present_tiers_is_refused() -> None:
    params = GlobalBudgetParams(surplus_split=(D(1), D(0), D(0)))
    with pytest.raises(ValidationFailed) as info:
        distribute_surplus(D("1.00"), [Member("x", "village_clinic", score=D(1))], params)
    assert info.value.code == "surplus_zero_split"
    assert "比例均为 0" in info.value.message


def test_clearing_refusals() -> None:
    for budget, code in ((D("-5.00"), "budget_negative_amount"), (D("0.00"), "budget_bad_budget")):
        with pytest.raises(ValidationFailed) as info:
            clear_budget(budget, D("1.00"), DEFAULTS)
        assert info.value.code == code
    with pytest.raises(ValidationFailed) as info:
        per_capita_budget(D("792.00"), -1)
    assert info.value.code == "budget_bad_insured"


def test_luohu_saving_stays_with_the_group() -> None:
    spent = signed_inpatient_spending(
        [True, True, False, True], ["inpatient", "outpatient", "inpatient", "inpatient"],
        [D("100.00"), D("50.00"), D("70.00"), D("30.00")],
    )  # fmt: skip
    assert spent == D("130.00")
    clearing = luohu_clearing(spent, D("200.00"))
    assert (clearing.saving, clearing.excess) == (D("70.00"), D("0.00"))
    assert luohu_clearing(D("250.00"), D("200.00")).excess == D("50.00")


def test_several_communities_in_one_county() -> None:
    community_of = {"t1": "north", "t2": "north", "t3": "south", "t4": "west"}
    assert insured_by_community({"t1": 10, "t2": 5, "t3": 7}, community_of) == {
        "north": 15,
        "south": 7,
        "west": 0,
    }
    assert community_budgets(D("792.00"), {"t1": 10, "t2": 5, "t3": 7}, community_of) == {
        "north": D("11880.00"),
        "south": D("5544.00"),
        "west": D("0.00"),
    }
    charged = charge_by_community(["t1", "t3", "t3"], [D("1.00"), D("2.00"), D("3.00")], community_of)
    assert charged == {"north": D("1.00"), "south": D("5.00"), "west": D("0.00")}
    with pytest.raises(ValidationFailed) as info:
        community_budgets(D("792.00"), {"t9": 1}, community_of)
    assert info.value.code == "budget_township_unattributed" and "t9" in info.value.message


_cents = st.integers(0, 10**11).map(lambda c: D(c) * CENT)
_member_rows = st.lists(
    st.tuples(
        st.sampled_from(["county_hospital", "township_centre", "village_clinic"]),
        st.decimals(min_value=D("0.01"), max_value=D(1000), places=2),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(
    _cents,
    _member_rows,
    st.tuples(st.integers(1, 9), st.integers(0, 9), st.integers(0, 9)),
)
def test_surplus_shares_sum_exactly_to_the_surplus(
    amount: Decimal, rows: list[tuple[str, Decimal]], split: tuple[int, int, int]
) -> None:
    params = GlobalBudgetParams(surplus_split=tuple(D(x) for x in split))
    group = [Member(f"m{i}", tier, score=score) for i, (tier, score) in enumerate(rows)]
    if all(split[("county_hospital", "township_centre", "village_clinic").index(m.tier)] == 0 for m in group):
        group.append(Member("lead", "county_hospital", score=D(1)))
    result = distribute_surplus(amount, group, params)
    assert sum(result.by_member.values()) == amount
    assert sum(result.by_tier.values()) == amount
    assert all(share >= 0 for share in result.by_member.values())
    assert distribute_surplus(amount, list(reversed(group)), params) == result


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 10**11).map(lambda c: D(c) * CENT), _cents, st.integers(0, 100))
def test_clearing_parts_always_add_up(budget: Decimal, spending: Decimal, retained_pct: int) -> None:
    params = GlobalBudgetParams(surplus_retained=D(retained_pct) / 100)
    clearing = clear_budget(budget, spending, params)
    assert clearing.balance == budget - spending
    assert clearing.retained + clearing.returned_to_fund == clearing.surplus
    assert clearing.consortium_overspend + clearing.fund_overspend == clearing.overspend
    assert sum(band.amount for band in clearing.bands) == clearing.overspend
    assert min(clearing.surplus, clearing.overspend) == 0
