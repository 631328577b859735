"""Scorecard scoring rules (绩效考核): pure, Decimal, no database.

An item scores ``weight × attainment``; attainment is in [0, 1]:

- ``linear``: 0 at the floor, 1 at the target, linear between, capped at both ends (works for "lower is
  better" too: the floor is then above the target);
- ``threshold``: 1 when the target is met (≥ for ↑ and ·, ≤ for ↓), else 0;
- ``ratio``: value ÷ target (↑) or target ÷ value (↓), capped at 1.

An item whose indicator has no value for the unit (``no_data``) is never scored as zero silently: with
``redistribute`` (default) its weight is spread over the unit's other items in proportion to their
weights; with ``zero`` it scores 0 and the scorecard says so.  Scores are rounded half-up to 2 decimals;
ranking is competition ranking (ties share a rank, the next rank skips).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Final

from yilian.core.errors import ValidationFailed
from yilian.indicators.catalogue import Direction

ZERO: Final = Decimal(0)
ONE: Final = Decimal(1)
SCORE_STEP: Final = Decimal("0.01")
POINT_STEP: Final = Decimal("0.0001")


class Rule(StrEnum):
    LINEAR = "linear"
    THRESHOLD = "threshold"
    RATIO = "ratio"


RULE_NAMES_ZH: Final = {Rule.LINEAR: "线性（下限至目标）", Rule.THRESHOLD: "达标得分", Rule.RATIO: "按完成比例"}


class MissingPolicy(StrEnum):
    REDISTRIBUTE = "redistribute"
    ZERO = "zero"


MISSING_NAMES_ZH: Final = {MissingPolicy.REDISTRIBUTE: "权重按比例分摊给其他指标", MissingPolicy.ZERO: "计零分"}


class Level(StrEnum):
    INSTITUTION = "institution"
    CONSORTIUM = "consortium"


LEVEL_NAMES_ZH: Final = {Level.INSTITUTION: "机构", Level.CONSORTIUM: "医联体"}


@dataclass(frozen=True, slots=True)
class ItemRule:
    code: str
    group: str
    weight: Decimal
    rule: Rule
    target: Decimal
    floor: Decimal | None
    direction: Direction


@dataclass(frozen=True, slots=True)
class ItemScore:
    item: ItemRule
    value: Decimal | None
    attainment: Decimal | None
    effective_weight: Decimal
    points: Decimal


@dataclass(frozen=True, slots=True)
class UnitScore:
    score: Decimal
    items: tuple[ItemScore, ...]


def check_item(item: ItemRule) -> None:
    where = f"考核项“{item.code}”"
    if item.weight <= 0:
        raise ValidationFailed(f"{where}的权重必须大于 0。", code="scorecard_weight_invalid")
    if item.rule == Rule.LINEAR:
        if item.floor is None:
            raise ValidationFailed(f"{where}按线性评分，须给出下限（floor）。", code="scorecard_floor_required")
        if item.floor == item.target:
            raise ValidationFailed(f"{where}的下限不能等于目标值。", code="scorecard_floor_invalid")
        lower_better = item.direction == Direction.DOWN
        if (item.floor > item.target) != lower_better:
            side = "高于" if lower_better else "低于"
            raise ValidationFailed(f"{where}的下限应{side}目标值（指标方向决定）。", code="scorecard_floor_invalid")
    if item.rule == Rule.RATIO and item.target <= 0:
        raise ValidationFailed(f"{where}按完成比例评分，目标值须大于 0。", code="scorecard_target_invalid")


def check_items(items: Sequence[ItemRule]) -> None:
    if not items:
        raise ValidationFailed("考核表至少要有一个考核项。", code="scorecard_empty")
    seen: set[tuple[str, str]] = set()
    for item in items:
        check_item(item)
        key = (item.code, item.group)
        if key in seen:
            raise ValidationFailed(f"考核项“{item.code}”重复。", code="scorecard_item_duplicate")
        seen.add(key)


def _clamp(x: Decimal) -> Decimal:
    return max(ZERO, min(ONE, x))


def attainment(item: ItemRule, value: Decimal) -> Decimal:
    """How far the value reaches the target, in [0, 1]."""
    if item.rule == Rule.THRESHOLD:
        met = value <= item.target if item.direction == Direction.DOWN else value >= item.target
        return ONE if met else ZERO
    if item.rule == Rule.RATIO:
        if item.direction == Direction.DOWN:
            return ONE if value <= 0 else _clamp(item.target / value)
        return _clamp(value / item.target)
    assert item.floor is not None
    return _clamp((value - item.floor) / (item.target - item.floor))


def score_unit(items: Sequence[tuple[ItemRule, Decimal | None]], policy: MissingPolicy) -> UnitScore:
    total_weight = sum((i.weight for i, _ in items), ZERO)
    present = sum((i.weight for i, v in items if v is not None), ZERO)
    scale = total_weight / present if policy == MissingPolicy.REDISTRIBUTE and present > 0 else ONE
    out: list[ItemScore] = []
    for item, value in items:
        if value is None:
            effective = ZERO if policy == MissingPolicy.REDISTRIBUTE else item.weight
            out.append(ItemScore(item, None, None, effective, ZERO))
            continue
        effective = item.weight * scale
        reach = attainment(item, value)
        out.append(ItemScore(item, value, reach, effective, (effective * reach).quantize(POINT_STEP, ROUND_HALF_UP)))
    raw = sum((i.effective_weight * i.attainment for i in out if i.attainment is not None), ZERO)
    return UnitScore(raw.quantize(SCORE_STEP, ROUND_HALF_UP), tuple(out))


def rank(scores: Mapping[str, Decimal]) -> dict[str, int]:
    """Competition ranking by score, highest first: 1, 2, 2, 4."""
    ordered = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    out: dict[str, int] = {}
    previous: Decimal | None = None
    current = 0
    for position, (unit, score) in enumerate(ordered, start=1):
        if score != previous:
            current = position
            previous = score
        out[unit] = current
    return out
