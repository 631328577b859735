"""Parameter set of a settlement year: PAYMENT.md defaults, what-if keys, JSON round trip."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yilian.core.errors import ValidationFailed
from yilian.payment.params import (
    LEVELS,
    OUTLIER_STRATEGIES,
    PLACES,
    TIANCHANG_OVERSPEND_TIERS,
    WHATIF_KEYS,
    GlobalBudgetParams,
    OverspendTier,
    PaymentParams,
    PointMethodParams,
    ReimbursementParams,
    apply_overrides,
    default_params,
    from_dict,
    parse_assignments,
    to_dict,
)
from yilian.payment.settlement.calc import OUTLIER_STRATEGY_REGISTRY

D = Decimal


def test_defaults_are_those_of_payment_md() -> None:
    p = default_params(2024)
    pm = p.point_method
    assert dict(pm.coefficients) == {"3": D("1.00"), "2": D("0.85"), "1": D("0.70"), "unrated": D("0.70")}
    assert dict(pm.outlier_high_k) == {"3": 3, "2": 2, "1": 2, "unrated": 2}
    assert pm.outlier_low_ratio == D("0.35")
    assert pm.outlier_strategy == "default"
    assert pm.rw_min_cases == 5
    gb = p.global_budget
    assert gb.surplus_retained == 1
    assert gb.surplus_tiers == ("county_hospital", "township_centre", "village_clinic")
    assert gb.surplus_split == (D(6), D(3), D(1))
    assert gb.overspend_tiers == (OverspendTier(D("0.10"), D("0.5")), OverspendTier(None, D(1)))
    assert gb.per_capita == D("792")
    r = p.reimbursement
    assert dict(r.inpatient_ratio) == {
        "primary": D("0.90"),
        "county": D("0.75"),
        "out_of_county": D("0.55"),
        "out_of_county_unreferred": D("0.45"),
    }
    assert dict(r.inpatient_deductible) == {
        "primary": 200,
        "county": 500,
        "out_of_county": 1000,
        "out_of_county_unreferred": 1000,
    }
    assert dict(r.outpatient_ratio) == {
        "primary": D("0.60"),
        "county": D("0.50"),
        "out_of_county": 0,
        "out_of_county_unreferred": 0,
    }
    assert p.capitation.per_capita == 120
    assert p.capitation.outside_deduction == D("0.5")
    assert p.dip.year_weights == (D(1), D(2), D(7))
    assert p.dip.min_cases == 5
    assert (p.dip.low_deviation, p.dip.high_deviation, p.dip.extreme_deviation) == (D("0.5"), D(2), D(5))
    assert p.year == 2024 and p.budget is None and p.point_value is None


def test_strategy_names_match_the_registry() -> None:
    assert tuple(OUTLIER_STRATEGY_REGISTRY) == OUTLIER_STRATEGIES
    assert "default" in OUTLIER_STRATEGIES and len(OUTLIER_STRATEGIES) >= 2


def test_whatif_keys_are_exactly_those_of_payment_md() -> None:
    expected = {
        "budget",
        "point_value",
        "outlier.low",
        "outlier.strategy",
        "surplus.retained",
        "surplus.split",
    }
    expected |= {f"coefficient.{level}" for level in ("1", "2", "3", "unrated")}
    expected |= {f"outlier.high.{level}" for level in ("1", "2", "3", "unrated")}
    places = ("primary", "county", "out_of_county", "out_of_county_unreferred")
    expected |= {f"reimbursement.{place}" for place in places}
    expected |= {f"deductible.{place}" for place in places}
    assert set(WHATIF_KEYS) == expected
    assert len(WHATIF_KEYS) == len(expected)


def test_every_whatif_key_changes_its_parameter() -> None:
    base = default_params(2024)
    p = apply_overrides(
        base,
        {
            "budget": "120000000",
            "point_value": "53.8381",
            "coefficient.2": "0.9",
            "coefficient.unrated": "0.65",
            "outlier.high.3": "4",
            "outlier.high.1": "2.5",
            "outlier.low": "0.3",
            "outlier.strategy": "none",
            "surplus.retained": "80%",
            "surplus.split": "5:3:2",
            "reimbursement.primary": "0.95",
            "reimbursement.out_of_county_unreferred": "40%",
            "deductible.county": "600",
            "deductible.out_of_county": "1200.50",
        },
    )
    assert p.budget == D("120000000.00")
    assert p.point_value == D("53.8381")
    assert p.point_method.coefficients["2"] == D("0.9")
    assert p.point_method.coefficients["unrated"] == D("0.65")
    assert p.point_method.coefficients["3"] == D("1.00")  # untouched keys keep their value
    assert p.point_method.outlier_high_k["3"] == 4
    assert p.point_method.outlier_high_k["1"] == D("2.5")
    assert p.point_method.outlier_low_ratio == D("0.3")
    assert p.point_method.outlier_strategy == "none"
    assert p.global_budget.surplus_retained == D("0.8")
    assert p.global_budget.surplus_split == (D(5), D(3), D(2))
    assert p.reimbursement.inpatient_ratio["primary"] == D("0.95")
    assert p.reimbursement.inpatient_ratio["out_of_county_unreferred"] == D("0.4")
    assert p.reimbursement.inpatient_deductible["county"] == 600
    assert p.reimbursement.inpatient_deductible["out_of_county"] == D("1200.50")
    # The base is frozen and unchanged.
    assert base == default_params(2024)
    assert base.point_method.coefficients["2"] == D("0.85")


def test_split_accepts_full_width_colon() -> None:
    params = apply_overrides(default_params(), {"surplus.split": "7：2：1"})
    assert params.global_budget.surplus_split == (D(7), D(2), D(1))


def test_unknown_key_is_refused_with_the_list_of_valid_keys() -> None:
    with pytest.raises(ValidationFailed) as info:
        apply_overrides(default_params(), {"coefficient.4": "1"})
    error = info.value
    assert error.code == "whatif_bad_key"
    assert "未知的假设参数「coefficient.4」" in error.message
    assert "可用的参数" in error.message
    for key in ("budget", "coefficient.unrated", "outlier.strategy", "deductible.out_of_county_unreferred"):
        assert key in error.message
    assert error.details["valid_keys"] == WHATIF_KEYS


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("budget", "-1"),
        ("budget", "0"),
        ("budget", "abc"),
        ("budget", "1.001"),
        ("budget", "NaN"),
        ("budget", "Infinity"),
        ("point_value", "0"),
        ("point_value", "-3"),
        ("coefficient.3", "-0.1"),
        ("coefficient.1", "0"),
        ("outlier.high.2", "0.5"),
        ("outlier.low", "1"),
        ("outlier.low", "-0.1"),
        ("outlier.strategy", "magic"),
        ("surplus.retained", "120%"),
        ("surplus.retained", "1.5"),
        ("surplus.split", "6:3"),
        ("surplus.split", "0:0:0"),
        ("surplus.split", "6:-3:1"),
        ("surplus.split", "6:x:1"),
        ("reimbursement.county", "1.5"),
        ("reimbursement.primary", ""),
        ("deductible.primary", "-5"),
        ("deductible.primary", "10.001"),
    ],
)
def test_bad_value_is_refused_with_reason_and_valid_keys(key: str, value: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        apply_overrides(default_params(), {key: value})
    error = info.value
    assert error.code == "whatif_bad_value"
    assert f"假设参数「{key}」的值「{value}」无效" in error.message
    assert "可用的参数" in error.message and "surplus.split" in error.message


def test_parse_assignments() -> None:
    assert parse_assignments(["budget=100", " surplus.split = 6:3:1 "]) == {
        "budget": "100",
        "surplus.split": "6:3:1",
    }
    with pytest.raises(ValidationFailed) as info:
        parse_assignments(["budget"])
    assert info.value.code == "whatif_bad_value"
    with pytest.raises(ValidationFailed) as info:
        parse_assignments(["budget=1", "budget=2"])
    assert info.value.code == "whatif_bad_key"


def test_round_trip_through_json_reproduces_the_params() -> None:
    p = apply_overrides(
        default_params(2023), {"budget": "98765.43", "surplus.split": "5:4:1", "outlier.low": "30%"}
    )
    p = PaymentParams(
        year=p.year,
        budget=p.budget,
        point_method=p.point_method,
        global_budget=GlobalBudgetParams(overspend_tiers=TIANCHANG_OVERSPEND_TIERS),
    )
    stored = json.dumps(p.to_dict(), ensure_ascii=False)
    again = PaymentParams.from_dict(json.loads(stored))
    assert again == p
    assert to_dict(again) == to_dict(p)
    assert from_dict(to_dict(p)) == p
    assert json.loads(stored)["schema"] == 1
    assert json.loads(stored)["point_method"]["coefficients"]["3"] == "1.00"


def test_from_dict_fills_missing_fields_with_defaults() -> None:
    assert PaymentParams.from_dict({"year": 2022}) == default_params(2022)


@pytest.mark.parametrize(
    "data",
    [
        {"schema": 2},
        {"colour": "red"},
        {"budget": 1.5},
        {"budget": True},
        {"point_method": {"coefficients": {"3": "1"}}},
        {"point_method": {"outlier_low_ratio": "lots"}},
        {"point_method": []},
        {"global_budget": {"surplus_split": ["1", "1"]}},
        {"global_budget": {"overspend_tiers": [{"up_to": "0.1", "consortium_share": "0.5"}]}},
        {"dip": {"min_cases": "5"}},
        {"year": "2024"},
    ],
)
def test_from_dict_refuses_bad_data(data: dict[str, object]) -> None:
    with pytest.raises(ValidationFailed) as info:
        PaymentParams.from_dict(data)
    assert info.value.code == "params_invalid"


def test_direct_construction_validates() -> None:
    with pytest.raises(ValidationFailed, match="预算不能为负数") as info:
        PaymentParams(budget=D("-1.00"))
    assert info.value.code == "params_invalid"
    with pytest.raises(ValidationFailed, match="预算必须为正数"):
        PaymentParams(budget=D("0.00"))
    with pytest.raises(ValidationFailed, match="结余分配比例之和必须为正数"):
        GlobalBudgetParams(surplus_split=(D(0), D(0), D(0)))
    with pytest.raises(ValidationFailed, match="机构差异系数必须且只能包含"):
        PointMethodParams(coefficients={"3": D(1)})
    with pytest.raises(ValidationFailed, match="Decimal"):
        PointMethodParams(outlier_low_ratio=0.35)  # type: ignore[arg-type]
    with pytest.raises(ValidationFailed, match="最后一档"):
        GlobalBudgetParams(overspend_tiers=(OverspendTier(D("0.1"), D("0.5")),))
    with pytest.raises(ValidationFailed, match="递增"):
        GlobalBudgetParams(
            overspend_tiers=(
                OverspendTier(D("0.2"), D("0.5")),
                OverspendTier(D("0.1"), D("0.5")),
                OverspendTier(None, D(1)),
            )
        )
    with pytest.raises(ValidationFailed, match="精确到分"):
        ReimbursementParams(
            inpatient_deductible={
                "primary": D("1.001"),
                "county": D(1),
                "out_of_county": D(1),
                "out_of_county_unreferred": D(1),
            }
        )


def test_params_are_frozen() -> None:
    p = default_params()
    with pytest.raises(AttributeError):
        p.budget = D(1)  # type: ignore[misc]
    with pytest.raises(TypeError):
        p.point_method.coefficients["3"] = D(2)  # type: ignore[index]


_share_text = st.integers(0, 100).map(lambda n: f"{n}%")
_whatif_values = st.fixed_dictionaries(
    {},
    optional={
        "budget": st.integers(1, 10**12).map(lambda c: str(Decimal(c).scaleb(-2))),
        "point_value": st.decimals(min_value=D("0.0001"), max_value=D(1000), places=4).map(str),
        **{f"coefficient.{level}": st.sampled_from(["0.5", "0.7", "1", "1.2"]) for level in LEVELS},
        **{f"outlier.high.{level}": st.sampled_from(["1", "2", "3", "4.5"]) for level in LEVELS},
        "outlier.low": st.sampled_from(["0", "0.2", "0.35", "50%"]),
        "outlier.strategy": st.sampled_from(OUTLIER_STRATEGIES),
        "surplus.retained": _share_text,
        "surplus.split": st.tuples(st.integers(1, 9), st.integers(0, 9), st.integers(0, 9)).map(
            lambda t: ":".join(map(str, t))
        ),
        **{f"reimbursement.{place}": _share_text for place in PLACES},
        **{
            f"deductible.{place}": st.integers(0, 500000).map(lambda c: str(Decimal(c).scaleb(-2)))
            for place in PLACES
        },
    },
)


@settings(max_examples=150, deadline=None)
@given(_whatif_values)
def test_any_valid_whatif_round_trips_and_is_deterministic(overrides: dict[str, str]) -> None:
    p = apply_overrides(default_params(2024), overrides)
    assert apply_overrides(default_params(2024), overrides) == p
    assert PaymentParams.from_dict(json.loads(json.dumps(p.to_dict()))) == p
