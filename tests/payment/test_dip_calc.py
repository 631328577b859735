"""DIP (按病种分值付费): chapters, weighted scores, folding, cost deviation, point value."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yilian.core.errors import ValidationFailed
from yilian.payment.dip.calc import (
    GROUP_CHAPTER,
    GROUP_COMBINATION,
    KIND_EXTREME,
    KIND_HIGH,
    KIND_LOW,
    KIND_NORMAL,
    KIND_UNSCORED,
    DipCatalogue,
    DipScorer,
    DipYear,
    chapter_group,
    chapter_of,
    combination_scores,
    dip_payments,
    dip_point_value,
)
from yilian.payment.money import CENT, calc_context
from yilian.payment.params import DipParams, PointMethodParams

D = Decimal
LEVELS = {"T3": "3", "S2": "2"}
COEFFICIENTS = PointMethodParams().coefficients


def year(*rows: tuple[str, str, int, int]) -> DipYear:
    """rows of (combination, diagnosis, cost, how many cases)."""
    combos, diags, costs = [], [], []
    for combination, diagnosis, cost, count in rows:
        combos += [combination] * count
        diags += [diagnosis] * count
        costs += [D(cost)] * count
    return DipYear(combos, diags, costs)


@pytest.mark.parametrize(
    ("code", "chapter"),
    [
        ("A01.0", "I"),
        ("B99", "I"),
        ("C50.900", "II"),
        ("D48.9", "II"),
        ("D50.0", "III"),
        ("E11.900", "IV"),
        ("F32", "V"),
        ("G40", "VI"),
        ("H59.9", "VII"),
        ("H60.0", "VIII"),
        ("I21.000x001", "IX"),
        ("j18.9", "X"),
        ("K35", "XI"),
        ("L03", "XII"),
        ("M17", "XIII"),
        ("N18", "XIV"),
        ("O80", "XV"),
        ("P07", "XVI"),
        ("Q21", "XVII"),
        ("R50", "XVIII"),
        ("S72.0", "XIX"),
        ("T98", "XIX"),
        ("V01", "XX"),
        ("Y98", "XX"),
        ("Z00", "XXI"),
        ("U07.1", "XXII"),
    ],
)
def test_icd10_chapter_table(code: str, chapter: str) -> None:
    assert chapter_of(code) == chapter
    assert chapter_group(code) == f"chapter:{chapter}"


@pytest.mark.parametrize("code", ["", "1A2", "I2", "IXX", "U99", "P97"])
def test_unreadable_codes_have_no_chapter(code: str) -> None:
    assert chapter_of(code) is None


def test_three_years_weighted_1_2_7_with_small_combinations_folded() -> None:
    history = [
        year(("K1", "K35.9", 100, 5), ("S1", "I21.0", 400, 2)),
        year(("K1", "K35.9", 200, 5)),
        year(("K1", "K35.9", 300, 5), ("S2", "I50.0", 1000, 1)),
    ]
    catalogue = combination_scores(history, DipParams())
    with calc_context():
        overall = (D(1300) / 7 + 2 * D(200) + 7 * D(2500) / 6) / 10
        assert catalogue.overall_mean_cost == overall
        k1 = catalogue.groups["K1"]
        assert (k1.kind, k1.standard_cost, k1.cases, k1.years) == (GROUP_COMBINATION, D(260), 15, (0, 1, 2))
        assert k1.score == D(260) / overall * 100
        folded = catalogue.groups["chapter:IX"]
        assert folded.kind == GROUP_CHAPTER
        assert folded.standard_cost == D(7400) / 8  # years 0 and 2 only, reweighted 1:7
        assert folded.cases == 3
    assert "S1" not in catalogue.groups and "S2" not in catalogue.groups
    assert catalogue.year_weights == (D(1), D(2), D(7))


def test_fewer_years_reweight_the_newest_weights() -> None:
    catalogue = combination_scores([year(("K1", "K35", 100, 5)), year(("K1", "K35", 190, 5))], DipParams())
    assert catalogue.year_weights == (D(2), D(7))
    assert catalogue.groups["K1"].standard_cost == D(170)  # (2×100 + 7×190) ÷ 9
    assert catalogue.groups["K1"].score == 100


def test_a_combination_folds_only_in_the_years_it_is_small() -> None:
    catalogue = combination_scores(
        [year(("K1", "K35", 100, 5)), year(("K1", "K35", 999, 4), ("K2", "K80", 50, 5))], DipParams()
    )
    assert catalogue.groups["K1"].years == (0,)
    assert catalogue.groups["K1"].standard_cost == 100
    assert catalogue.groups["chapter:XI"].standard_cost == 999


def simple_catalogue() -> DipCatalogue:
    # Overall mean 1,000 and K1 mean 1,000: K1 scores 100; chapter IX (folded) 1,000 → 100 too.
    return combination_scores([year(("K1", "K35", 1000, 5), ("S1", "I21.0", 1000, 1))], DipParams())


@pytest.mark.parametrize(
    ("cost", "expected", "kind"),
    [
        (1000, D(100), KIND_NORMAL),
        (500, D(100), KIND_NORMAL),  # exactly 50 %: not a deviation
        (400, D(40), KIND_LOW),  # ratio 0.4 → score × 0.4
        (2000, D(100), KIND_NORMAL),  # exactly 2×
        (3000, D(200), KIND_HIGH),  # ratio 3 → score × (3 − 2 + 1)
        (5000, D(400), KIND_HIGH),  # exactly 5×: high, not yet flagged
        (6000, D(500), KIND_EXTREME),  # ratio 6 → × 5, flagged
    ],
)
def test_cost_deviation_rules(cost: int, expected: Decimal, kind: str) -> None:
    scorer = DipScorer(simple_catalogue(), DipParams(), LEVELS, COEFFICIENTS)
    result = scorer.score(["T3"], ["K1"], ["K35"], [D(cost)])
    assert result.scores == [expected]
    assert result.kinds == [kind]
    assert result.flagged == ([0] if kind == KIND_EXTREME else [])


def test_coefficient_chapter_fallback_and_unscored_cases() -> None:
    scorer = DipScorer(simple_catalogue(), DipParams(), LEVELS, COEFFICIENTS)
    result = scorer.score(
        ["S2", "T3", "T3"], ["K1", "NEW", "NEW"], ["K35", "I25.1", "Z99"], [D(1000), D(1000), D(250)]
    )
    assert result.scores == [D("85.00"), D(100), D(25)]
    assert result.groups == ["K1", "chapter:IX", ""]
    assert result.kinds == [KIND_NORMAL, KIND_NORMAL, KIND_UNSCORED]
    assert result.flagged == [2]
    assert result.institution_scores == {"S2": D(85), "T3": D(125)}
    assert result.total_scores == D(210)


def test_point_value_fund_and_total_basis() -> None:
    assert dip_point_value(D("1000.00"), D(400)) == D("2.5")
    assert dip_point_value(D("900.00"), D(400), basis="total", reimbursement_ratio=D("0.9")) == D("2.5")


def test_payments_fund_basis_sum_exactly_and_total_basis_subtracts_patient_share() -> None:
    fund = dip_payments({"A": D(1), "B": D(2)}, D("100.00"))
    assert fund.payments == {"A": D("33.33"), "B": D("66.67")}
    total = dip_payments(
        {"A": D(100), "B": D(300)},
        D("900.00"),
        basis="total",
        reimbursement_ratio=D("0.9"),
        patient_paid={"A": D("30.00"), "B": D("800.00")},
    )
    assert total.point_value == D("2.5")
    assert total.payments == {"A": D("220.00"), "B": D("0.00")}


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda: combination_scores([], DipParams()), "dip_no_history"),
        (lambda: combination_scores([year(("K", "K35", 1, 5))] * 4, DipParams()), "dip_too_many_years"),
        (lambda: combination_scores([year(("K", "K35", -1, 5))], DipParams()), "dip_bad_cost"),
        (lambda: combination_scores([year(("chapter:IX", "I21", 1, 5))], DipParams()), "dip_bad_combination"),
        (lambda: DipYear(["K"], [], [D(1)]), "dip_length_mismatch"),
        (lambda: dip_point_value(D("-1.00"), D(1)), "dip_bad_fund"),
        (lambda: dip_point_value(D("1.00"), D(0)), "dip_no_scores"),
        (lambda: dip_point_value(D("1.00"), D(1), basis="total"), "dip_bad_ratio"),
        (lambda: dip_point_value(D("1.00"), D(1), basis="other"), "dip_bad_basis"),
        (
            lambda: dip_payments({"A": D(1)}, D("1.00"), basis="total", reimbursement_ratio=D(1)),
            "dip_no_patient_paid",
        ),
        (
            lambda: DipScorer(simple_catalogue(), DipParams(), LEVELS, COEFFICIENTS).score(
                ["NOPE"], ["K1"], ["K35"], [D(1)]
            ),
            "dip_unknown_institution",
        ),
        (
            lambda: DipScorer(simple_catalogue(), DipParams(), LEVELS, COEFFICIENTS).score(
                ["T3"], ["K1"], ["K35"], [D(-1)]
            ),
            "dip_bad_cost",
        ),
        (lambda: DipScorer(simple_catalogue(), DipParams(), {"X": "9"}, COEFFICIENTS), "dip_bad_level"),
    ],
)
def test_refusals(call: object, code: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        call()  # type: ignore[operator]
    assert info.value.code == code


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.text("ABC", min_size=1, max_size=3),
        st.decimals(min_value=0, max_value=10**6, places=4),
        min_size=1,
        max_size=20,
    ),
    st.integers(1, 10**12).map(lambda cents: D(cents) * CENT),
)
def test_fund_basis_payments_sum_exactly_to_the_fund(scores: dict[str, Decimal], fund: Decimal) -> None:
    if sum(scores.values()) == 0:
        scores = {**scores, "Z": D(1)}
    result = dip_payments(scores, fund)
    assert sum(result.payments.values()) == fund
    assert all(amount >= 0 for amount in result.payments.values())
