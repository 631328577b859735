"""Point method (按病组点数法): the published worked examples, strategies, clearing, refusals."""

from __future__ import annotations

import random
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yilian.core.errors import ValidationFailed
from yilian.payment.money import CENT, calc_context, round_cent
from yilian.payment.params import PointMethodParams
from yilian.payment.settlement.calc import (
    KIND_HIGH,
    KIND_LOW,
    KIND_NO_WEIGHT,
    KIND_NORMAL,
    KIND_UNGROUPED,
    PointScorer,
    blended_coefficient,
    case_money,
    case_money_by_institution,
    clear_year,
    cmi_by_institution,
    derive_weights,
    mean_grouped_cost,
    point_value,
    provisional_month,
    score_cases,
    sum_institution_points,
    weights_from_rows,
)
from yilian.payment.settlement.weights import Weights

D = Decimal
CITY = D("5270.76")
PV = D("53.8381")
LEVELS = {"T3": "3", "S2": "2", "P1": "1", "U0": "unrated"}


def demo_weights() -> Weights:
    # The published regional demo table of PAYMENT.md, as a weights file would carry it.
    return weights_from_rows(
        [
            {"drg": "*", "rw": "", "avg_cost": "5270.76"},
            {"drg": "FR23", "rw": "0.8010", "avg_cost": "4221.88"},
            {"drg": "GB11", "rw": "2.5000"},
        ],
        version="demo",
    )


def score(inst: str, code: str, cost: str, params: PointMethodParams | None = None) -> tuple[Decimal, str]:
    result = score_cases(
        [inst], [code], [D(cost)], weights=demo_weights(), params=params or PointMethodParams(),
        institution_levels=LEVELS,
    )  # fmt: skip
    return result.points[0], result.kinds[0]


def three(x: Decimal) -> Decimal:
    return x.quantize(D("0.001"), rounding=ROUND_HALF_UP)


# --- the worked examples of PAYMENT.md, exactly ------------------------------------------------


def test_worked_example_normal_case_fr23() -> None:
    points, kind = score("T3", "FR23", "4000")
    assert kind == KIND_NORMAL
    assert points == D("80.10")
    assert case_money([points], PV) == [D("4312.43")]


def test_worked_example_high_outlier_at_level_3() -> None:
    scorer = PointScorer(demo_weights(), PointMethodParams(), LEVELS)
    price = scorer.price("T3", "FR23")
    assert price is not None
    assert round_cent(price.high_threshold) == D("12665.64")
    points, kind = score("T3", "FR23", "15000")
    assert kind == KIND_HIGH
    assert three(points) == D("124.389")
    assert case_money([points], PV) == [D("6696.86")]
    # Points are unrounded: the money is not points rounded to 3 decimals × point value by accident.
    assert points != D("124.389")


def test_worked_example_low_outlier() -> None:
    scorer = PointScorer(demo_weights(), PointMethodParams(), LEVELS)
    price = scorer.price("T3", "FR23")
    assert price is not None and price.mean_cost == D("4221.88")
    assert round_cent(price.low_threshold) == D("1477.66")
    points, kind = score("T3", "FR23", "1200")
    assert kind == KIND_LOW
    assert three(points) == D("22.767")
    assert case_money([points], PV) == [D("1225.74")]


def test_worked_example_point_value() -> None:
    assert point_value(D("120000000"), D("2500000")) == D("48.00")


def test_threshold_edges_are_not_outliers() -> None:
    scorer = PointScorer(demo_weights(), PointMethodParams(), LEVELS)
    price = scorer.price("T3", "FR23")
    assert price is not None
    at_high = scorer.score(["T3"], ["FR23"], [price.high_threshold])
    at_low = scorer.score(["T3"], ["FR23"], [price.low_threshold])
    assert at_high.kinds == [KIND_NORMAL] and at_low.kinds == [KIND_NORMAL]


# --- coefficients, K, strategies -------------------------------------------------------------


def test_coefficient_by_level_scales_the_points() -> None:
    assert score("S2", "FR23", "4000")[0] == D("80.10") * D("0.85")
    assert score("P1", "FR23", "4000")[0] == D("80.10") * D("0.70")
    assert score("U0", "FR23", "4000")[0] == D("80.10") * D("0.70")


def test_k_is_two_below_level_3() -> None:
    # 9,000 is above 2 × standard cost (8,443.76) but below 3 ×: high at level 2, normal at level 3.
    assert score("S2", "FR23", "9000")[1] == KIND_HIGH
    assert score("T3", "FR23", "9000")[1] == KIND_NORMAL
    points, _ = score("S2", "FR23", "9000")
    with calc_context():
        standard = D("0.8010") * CITY
        assert points == D("80.10") * D("0.85") + (D(9000) - 2 * standard) * 100 / CITY


def test_strategy_none_pays_every_grouped_stay_base_points() -> None:
    params = PointMethodParams(outlier_strategy="none")
    assert score("T3", "FR23", "15000", params) == (D("80.10"), KIND_NORMAL)
    assert score("T3", "FR23", "1200", params) == (D("80.10"), KIND_NORMAL)


def test_strategy_proportional_scales_low_outliers_by_cost() -> None:
    params = PointMethodParams(outlier_strategy="proportional")
    points, kind = score("S2", "FR23", "1200", params)
    assert kind == KIND_LOW
    with calc_context():
        assert points == D("80.10") * D("0.85") * D(1200) / D("4221.88")
    assert score("T3", "FR23", "15000", params)[0] == score("T3", "FR23", "15000")[0]


def test_ungrouped_and_unpriced_stays_are_paid_by_cost_and_flagged() -> None:
    result = score_cases(
        ["T3", "S2", "T3"],
        ["0000", "ZZ99", "FR23"],
        [D("5270.76"), D("2635.38"), D("4000")],
        weights=demo_weights(),
        params=PointMethodParams(),
        institution_levels=LEVELS,
    )
    assert result.kinds == [KIND_UNGROUPED, KIND_NO_WEIGHT, KIND_NORMAL]
    assert result.points[:2] == [D(100), D(50)]  # no coefficient on cost-based points
    assert result.flagged == [0, 1]
    assert result.institution_points == {"T3": D("180.10"), "S2": D(50)}
    assert result.institution_cases == {"T3": 2, "S2": 1}
    assert result.total_points == D("230.10")


def test_coefficient_override_per_institution() -> None:
    blended = blended_coefficient(D("0.85"), D("1.20"), own_weight=D("0.5"), lower=D("0.7"), upper=D("1.0"))
    assert blended == D("1.0")  # 1.025 bounded by the upper limit
    assert blended_coefficient(D("0.85"), D("0.95"), own_weight=D("0.5"), lower=D("0.7"), upper=D("1")) == D(
        "0.9"
    )
    result = score_cases(
        ["S2"], ["FR23"], [D(4000)], weights=demo_weights(), params=PointMethodParams(),
        institution_levels=LEVELS, coefficients={"S2": D("0.9")},
    )  # fmt: skip
    assert result.points == [D("80.10") * D("0.9")]


# --- weights ---------------------------------------------------------------------------------


def test_derived_weights_borrow_the_parent_group_mean() -> None:
    codes = ["FR23"] * 5 + ["FR21"] * 2 + ["FB11"] + ["0000"]
    costs = [D(100)] * 5 + [D(300)] * 2 + [D(50)] + [D(99999)]
    w = derive_weights(codes, costs)
    with calc_context():  # expected values at the engine's 40 digits
        city = D(1150) / 8
        assert w.city_avg_cost == city  # ungrouped stays do not count
        assert w.source == {"FR23": "drg", "FR21": "adrg", "FB11": "mdc"}
        assert w.mean_cost["FR23"] == 100
        assert w.mean_cost["FR21"] == D(1100) / 7  # ADRG FR2 has 7 stays
        assert w.mean_cost["FB11"] == city  # ADRG FB1 has 1, MDC F has 8
        assert w.rw["FR23"] == D(100) / city
        assert w.rw["FB11"] == 1
        assert mean_grouped_cost(codes, costs) == city


def test_weights_file_without_city_row_needs_city_avg_cost() -> None:
    rows = [{"drg": "FR23", "rw": "0.8010"}]
    with pytest.raises(ValidationFailed) as info:
        weights_from_rows(rows)
    assert info.value.code == "weights_no_city_avg"
    w = weights_from_rows(rows, city_avg_cost=CITY)
    assert w.mean_cost["FR23"] == D("0.8010") * CITY
    assert w.source["FR23"] == "file"


@pytest.mark.parametrize(
    "rows",
    [
        [{"drg": "FR23", "rw": "abc"}],
        [{"drg": "FR23", "rw": "-1"}],
        [{"drg": "FR23", "rw": ""}],
        [{"drg": "", "rw": "1"}],
        [{"drg": "FR23", "rw": "1"}, {"drg": "FR23", "rw": "1"}],
        [{"drg": "FR23", "rw": "1", "avg_cost": "0"}],
    ],
)
def test_bad_weights_rows_are_refused_with_line(rows: list[dict[str, str]]) -> None:
    with pytest.raises(ValidationFailed) as info:
        weights_from_rows(rows, city_avg_cost=CITY)
    assert info.value.code == "weights_bad_row"
    assert "权重表第" in info.value.message


def test_no_grouped_stays_cannot_derive_weights() -> None:
    with pytest.raises(ValidationFailed) as info:
        derive_weights(["0000"], [D(1)])
    assert info.value.code == "weights_no_grouped_stays"


def test_cmi_per_institution() -> None:
    cmi = cmi_by_institution(["T3", "T3", "S2", "S2"], ["FR23", "GB11", "0000", "FR23"], demo_weights())
    assert cmi == {"T3": (D("0.8010") + D("2.5")) / 2, "S2": D("0.8010")}


# --- point value, provisional and year-end clearing --------------------------------------------


def test_year_end_clearing_pays_the_budget_exactly() -> None:
    points = {"A": D(1), "B": D(1), "C": D(1)}
    clearing = clear_year(points, budget=D("100.00"), provisional_paid={"A": D("30.00"), "B": D("40.00")})
    assert clearing.payments == {"A": D("33.34"), "B": D("33.33"), "C": D("33.33")}  # tie → first code
    assert sum(clearing.payments.values()) == D("100.00")
    assert clearing.balances == {"A": D("3.34"), "B": D("-6.67"), "C": D("33.33")}
    assert clearing.point_value_source == "budget"


def test_clearing_reports_rounding_against_case_money() -> None:
    institutions = ["A", "A", "B"]
    pts = [D(1), D(1), D(1)]
    value = point_value(D("100.00"), D(3))
    money = case_money(pts, value)
    assert money == [D("33.33")] * 3
    clearing = clear_year({"A": D(2), "B": D(1)}, budget=D("100.00"),
                          case_money_sums=case_money_by_institution(institutions, money))  # fmt: skip
    assert clearing.payments == {"A": D("66.67"), "B": D("33.33")}
    assert clearing.rounding == {"A": D("0.01"), "B": D("0.00")}


def test_fixed_point_value_wins_over_the_budget() -> None:
    clearing = clear_year({"A": D("80.10"), "B": D("124.389")}, budget=D("1.00"), fixed_point_value=PV)
    assert clearing.point_value == PV and clearing.point_value_source == "fixed"
    assert clearing.total_payment == round_cent(D("204.489") * PV)
    assert sum(clearing.payments.values()) == clearing.total_payment


def test_provisional_month_uses_last_years_point_value() -> None:
    month = provisional_month({"A": D("80.10"), "B": D("10")}, previous_point_value=PV)
    assert month.basis == "previous_year"
    assert month.payments == {"A": D("4312.43"), "B": D("538.38")}


def test_provisional_month_in_the_first_year_is_budget_over_12_over_points() -> None:
    month = provisional_month({"A": D(600), "B": D(400)}, annual_budget=D("1200000.00"))
    assert month.basis == "first_year"
    assert month.point_value == 100
    assert month.payments == {"A": D("60000.00"), "B": D("40000.00")}


def test_streamed_chunks_add_up_to_the_whole() -> None:
    scorer = PointScorer(demo_weights(), PointMethodParams(), LEVELS)
    insts, codes, costs = (
        ["T3", "S2", "T3", "P1"],
        ["FR23", "FR23", "0000", "GB11"],
        [D(v) for v in ("1", "9000", "7", "100000")],
    )
    whole = scorer.score(insts, codes, costs)
    parts = [scorer.score(insts[:2], codes[:2], costs[:2]), scorer.score(insts[2:], codes[2:], costs[2:])]
    assert sum_institution_points(p.institution_points for p in parts) == whole.institution_points


# --- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inst", "cost", "code"),
    [
        ("T3", "-1", "settle_bad_cost"),
        ("T3", "NaN", "settle_bad_cost"),
        ("T3", "Infinity", "settle_bad_cost"),
        ("XX", "100", "settle_unknown_institution"),
    ],
)
def test_bad_cases_are_refused(inst: str, cost: str, code: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        score(inst, "FR23", cost)
    assert info.value.code == code


def test_bad_level_and_lengths_are_refused() -> None:
    with pytest.raises(ValidationFailed) as info:
        PointScorer(demo_weights(), PointMethodParams(), {"H": "4"})
    assert info.value.code == "settle_bad_level" and "级别「4」无效" in info.value.message
    scorer = PointScorer(demo_weights(), PointMethodParams(), LEVELS)
    with pytest.raises(ValidationFailed) as info:
        scorer.score(["T3"], ["FR23", "FR23"], [D(1)])
    assert info.value.code == "settle_length_mismatch"


@pytest.mark.parametrize(
    ("budget", "points", "code"),
    [
        (D("-1.00"), D(10), "settle_bad_budget"),
        (D("0.00"), D(10), "settle_bad_budget"),
        (D("1.001"), D(10), "money_not_cents"),
        (D("100.00"), D(0), "settle_no_points"),
    ],
)
def test_point_value_refusals(budget: Decimal, points: Decimal, code: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        point_value(budget, points)
    assert info.value.code == code


def test_clearing_refusals() -> None:
    with pytest.raises(ValidationFailed) as info:
        clear_year({"A": D(1)})
    assert info.value.code == "settle_no_budget"
    with pytest.raises(ValidationFailed) as info:
        clear_year({"A": D(1)}, fixed_point_value=D(0))
    assert info.value.code == "settle_bad_point_value"
    with pytest.raises(ValidationFailed) as info:
        provisional_month({"A": D(1)})
    assert info.value.code == "settle_no_budget"


# --- properties --------------------------------------------------------------------------------

_points = st.decimals(min_value=D(0), max_value=D(10**7), places=6, allow_nan=False, allow_infinity=False)
_budget = st.integers(1, 10**13).map(lambda cents: D(cents) * CENT)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(st.text("ABCDEFGH", min_size=1, max_size=4), _points, min_size=1, max_size=30), _budget
)
def test_institution_payments_sum_exactly_to_the_budget(points: dict[str, Decimal], budget: Decimal) -> None:
    if sum(points.values()) == 0:
        points = {**points, "Z": D(1)}
    clearing = clear_year(points, budget=budget)
    assert sum(clearing.payments.values()) == budget
    total = sum(map(Fraction, points.values()))
    for code, paid in clearing.payments.items():
        exact = Fraction(budget) * Fraction(points[code]) / total
        assert abs(Fraction(paid) - exact) < Fraction(1, 100)  # within a cent of the exact share
    # Deterministic whatever the order the institutions come in.
    shuffled = dict(sorted(points.items(), key=lambda _: random.random()))
    assert clear_year(shuffled, budget=budget).payments == clearing.payments


_cost = st.integers(0, 10**7).map(lambda cents: D(cents) * CENT)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(sorted(LEVELS)), st.sampled_from(["FR23", "GB11", "0000", "QQ11"]), _cost),
        min_size=1,
        max_size=50,
    ),
    st.sampled_from(["default", "proportional", "none"]),
)  # fmt: skip
def test_scoring_is_deterministic_and_non_negative(
    rows: list[tuple[str, str, Decimal]], strategy: str
) -> None:
    params = PointMethodParams(outlier_strategy=strategy)
    insts, codes, costs = (list(col) for col in zip(*rows, strict=True))
    first = score_cases(insts, codes, costs, weights=demo_weights(), params=params, institution_levels=LEVELS)
    again = score_cases(insts, codes, costs, weights=demo_weights(), params=params, institution_levels=LEVELS)
    assert first == again
    assert all(p >= 0 for p in first.points)
    with calc_context():
        assert sum(first.institution_points.values()) == first.total_points
