"""Scoring rules (pure): linear between floor and target capped, threshold, ratio; missing data never
silently zero; competition ranking."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yilian.core.errors import ValidationFailed
from yilian.indicators.catalogue import Direction
from yilian.indicators.rules import ItemRule, MissingPolicy, Rule, attainment, check_item, rank, score_unit

D = Decimal


def item(rule: Rule = Rule.LINEAR, weight: str = "20", target: str = "0.90", floor: str | None = "0.80",
         direction: Direction = Direction.UP, code: str = "x") -> ItemRule:
    return ItemRule(code, "", D(weight), rule, D(target), None if floor is None else D(floor), direction)


def test_linear_between_floor_and_target_capped() -> None:
    i = item()
    assert attainment(i, D("0.85")) == D("0.5")  # halfway between 0.80 and 0.90
    assert attainment(i, D("0.95")) == 1 and attainment(i, D("0.70")) == 0
    lower = item(target="6000", floor="9000", direction=Direction.DOWN)  # cost per stay: lower is better
    assert attainment(lower, D("7500")) == D("0.5") and attainment(lower, D("5000")) == 1
    assert attainment(lower, D("9500")) == 0


def test_threshold_and_ratio() -> None:
    assert attainment(item(Rule.THRESHOLD, floor=None), D("0.90")) == 1
    assert attainment(item(Rule.THRESHOLD, floor=None), D("0.8999")) == 0
    assert attainment(item(Rule.THRESHOLD, target="8", floor=None, direction=Direction.DOWN), D("7.5")) == 1
    assert attainment(item(Rule.RATIO, target="0.50", floor=None), D("0.40")) == D("0.8")
    assert attainment(item(Rule.RATIO, target="0.50", floor=None), D("0.70")) == 1
    assert attainment(item(Rule.RATIO, target="5000", floor=None, direction=Direction.DOWN), D("6250")) == D("0.8")


def test_missing_weight_is_spread_over_the_others() -> None:
    a, b, c = item(code="a", weight="50"), item(code="b", weight="30"), item(code="c", weight="20")
    s = score_unit([(a, D("0.90")), (b, D("0.85")), (c, None)], MissingPolicy.REDISTRIBUTE)
    # a and b share c's 20: a 50 × 100/80 = 62.5 (full), b 37.5 × 0.5 = 18.75 → 81.25.
    assert s.score == D("81.25")
    assert [x.effective_weight for x in s.items] == [D("62.5"), D("37.5"), D(0)]
    assert s.items[2].value is None and s.items[2].points == 0
    zero = score_unit([(a, D("0.90")), (b, D("0.85")), (c, None)], MissingPolicy.ZERO)
    assert zero.score == D("65.00")  # 50 + 15 + 0: the scorecard says missing scores zero
    assert score_unit([(a, None)], MissingPolicy.REDISTRIBUTE).score == D("0.00")


def test_competition_ranking() -> None:
    assert rank({"A": D("90"), "B": D("85.5"), "C": D("90"), "D": D("70")}) == {"A": 1, "C": 1, "B": 3, "D": 4}


@pytest.mark.parametrize("bad,code", [
    (item(weight="0"), "scorecard_weight_invalid"),
    (item(floor=None), "scorecard_floor_required"),
    (item(floor="0.90"), "scorecard_floor_invalid"),
    (item(floor="0.95"), "scorecard_floor_invalid"),  # above the target of a "higher is better" code
    (item(target="6000", floor="5000", direction=Direction.DOWN), "scorecard_floor_invalid"),
    (item(Rule.RATIO, target="0", floor=None), "scorecard_target_invalid"),
])
def test_invalid_items_are_refused(bad: ItemRule, code: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        check_item(bad)
    assert exc.value.code == code


values = st.decimals(min_value=D("-10"), max_value=D("10"), places=4, allow_nan=False, allow_infinity=False)


@given(values, values, values)
def test_attainment_is_bounded_and_monotone(v: Decimal, w: Decimal, floor: Decimal) -> None:
    target = floor + D("1")
    up = item(target=str(target), floor=str(floor))
    a, b = attainment(up, min(v, w)), attainment(up, max(v, w))
    assert 0 <= a <= b <= 1


@given(st.lists(st.tuples(st.integers(1, 50), st.one_of(st.none(), values)), min_size=1, max_size=8))
def test_scores_stay_within_the_total_weight(spec: list[tuple[int, Decimal | None]]) -> None:
    items = [(item(code=f"c{i}", weight=str(w), target="1", floor="0"), v) for i, (w, v) in enumerate(spec)]
    total = sum(D(w) for w, _ in spec)
    s = score_unit(items, MissingPolicy.REDISTRIBUTE)
    assert 0 <= s.score <= total
    if any(v is not None for _, v in spec):
        assert sum(x.effective_weight for x in s.items) == pytest.approx(total)
