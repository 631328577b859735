"""Relative weights (RW) of a region and year: from a published table or derived from the year.

A weights file is CSV ``drg,rw`` (optional ``avg_cost``, ``avg_los``) plus one row
``drg = *`` whose ``avg_cost`` is ``city_avg_cost``.  Without a file, RW are derived
from the settled year (:func:`derive_weights`).  Values are unrounded ``Decimal`` at
40 digits (see :mod:`yilian.payment.money`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Final

from yilian.core.errors import ValidationFailed
from yilian.payment.money import CALC_CONTEXT, ZERO, calc_context

UNGROUPED_CODE: Final = "0000"
CITY_ROW: Final = "*"


def is_ungrouped(drg: str) -> bool:
    return not drg or drg == UNGROUPED_CODE


@dataclass(frozen=True, slots=True)
class Weights:
    """Relative weights of one region and year.

    ``mean_cost`` is the DRG's mean cost per stay (the low-outlier reference);
    ``source`` says where a DRG's figure came from: ``file`` (published table),
    or, when derived, ``drg`` / ``adrg`` / ``mdc`` (the level whose mean was used).
    """

    rw: Mapping[str, Decimal]
    mean_cost: Mapping[str, Decimal]
    city_avg_cost: Decimal
    source: Mapping[str, str]
    version: str = "derived"

    def __post_init__(self) -> None:
        for name in ("rw", "mean_cost", "source"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))
        if not (self.city_avg_cost.is_finite() and self.city_avg_cost > ZERO):
            raise ValidationFailed(
                "地区次均住院费用（city_avg_cost）必须为正数。", code="weights_bad_city_avg"
            )
        if set(self.rw) != set(self.mean_cost):
            raise ValidationFailed("权重表的 RW 与均次费用病组不一致。", code="weights_inconsistent")


def mean_grouped_cost(drgs: Sequence[str], costs: Sequence[Decimal]) -> Decimal:
    """Mean cost of the grouped stays: ``city_avg_cost`` when the weights file has no ``*`` row."""
    total, count = ZERO, 0
    with calc_context():
        for drg, cost in zip(drgs, costs, strict=True):
            if not is_ungrouped(drg):
                total += cost
                count += 1
        if count == 0:
            raise ValidationFailed(
                "没有已入组的住院病例，无法计算地区次均费用。", code="weights_no_grouped_stays"
            )
        return total / count


def derive_weights(
    drgs: Sequence[str], costs: Sequence[Decimal], *, min_cases: int = 5, version: str = "derived"
) -> Weights:
    """RW from a settled year: RW(d) = mean cost of d ÷ mean cost of all grouped stays.

    A DRG with fewer than ``min_cases`` stays takes its ADRG's mean (first three
    characters of the code), an ADRG with fewer its MDC's (first character).  The
    MDC is the last level: its mean is used whatever its count, since a stay that
    was grouped must be priced.
    """
    # One pass over the stays keeps per-DRG sums only (one dict update per stay); the ADRG
    # (first three characters) and MDC (first one) sums are rolled up from the few hundred DRGs.
    drg_sums: dict[str, Decimal] = {}
    drg_counts: dict[str, int] = {}
    with calc_context():
        for drg, cost in zip(drgs, costs, strict=True):
            if is_ungrouped(drg):
                continue
            if not (cost.is_finite() and cost >= ZERO):
                raise ValidationFailed(f"病组「{drg}」的费用「{cost}」无效。", code="settle_bad_cost")
            drg_sums[drg] = drg_sums.get(drg, ZERO) + cost
            drg_counts[drg] = drg_counts.get(drg, 0) + 1
        if not drg_counts:
            raise ValidationFailed("没有已入组的住院病例，无法计算权重。", code="weights_no_grouped_stays")
        levels: tuple[tuple[str, int | None], ...] = (("drg", None), ("adrg", 3), ("mdc", 1))
        sums: tuple[dict[str, Decimal], ...] = ({}, {}, {})
        counts: tuple[dict[str, int], ...] = ({}, {}, {})
        for drg in drg_sums:
            for (_, width), level_sums, level_counts in zip(levels, sums, counts, strict=True):
                key = drg[:width]
                level_sums[key] = level_sums.get(key, ZERO) + drg_sums[drg]
                level_counts[key] = level_counts.get(key, 0) + drg_counts[drg]
        city = sum(drg_sums.values(), ZERO) / sum(drg_counts.values())
        rw: dict[str, Decimal] = {}
        mean: dict[str, Decimal] = {}
        source: dict[str, str] = {}
        for drg in sorted(drg_sums):
            for (name, width), level_sums, level_counts in zip(levels, sums, counts, strict=True):
                key = drg[:width]
                # The MDC is the last level: a grouped stay must be priced whatever the count.
                if level_counts[key] >= min_cases or name == "mdc":
                    mean[drg] = level_sums[key] / level_counts[key]
                    source[drg] = name
                    break
            rw[drg] = mean[drg] / city
    return Weights(rw=rw, mean_cost=mean, city_avg_cost=city, source=source, version=version)


def _row_decimal(row: Mapping[str, str], column: str, line: int) -> Decimal | None:
    text = (row.get(column) or "").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not (value.is_finite() and value > ZERO):
        raise ValidationFailed(
            f"权重表第 {line} 行「{column}」的值「{text}」无效：应为正数。", code="weights_bad_row", line=line
        )
    return value


def weights_from_rows(
    rows: Iterable[Mapping[str, str]], *, city_avg_cost: Decimal | None = None, version: str = ""
) -> Weights:
    """Weights from the rows of a ``drg,rw[,avg_cost,avg_los]`` CSV (already read, header as keys).

    The ``*`` row's ``avg_cost`` is ``city_avg_cost``; without it the caller passes
    the year's mean grouped cost (:func:`mean_grouped_cost`).  A DRG without
    ``avg_cost`` has mean cost RW × city_avg_cost.  Line numbers in messages count
    the header as line 1.
    """
    rw: dict[str, Decimal] = {}
    given_mean: dict[str, Decimal] = {}
    city_from_file: Decimal | None = None
    for line, row in enumerate(rows, start=2):
        drg = (row.get("drg") or "").strip()
        if drg == CITY_ROW:
            city_from_file = _row_decimal(row, "avg_cost", line)
            continue
        if not drg or drg in rw:
            raise ValidationFailed(
                f"权重表第 {line} 行病组编码为空或重复：「{drg}」。", code="weights_bad_row", line=line
            )
        value = _row_decimal(row, "rw", line)
        if value is None:
            raise ValidationFailed(f"权重表第 {line} 行缺少 rw。", code="weights_bad_row", line=line)
        rw[drg] = value
        avg = _row_decimal(row, "avg_cost", line)
        if avg is not None:
            given_mean[drg] = avg
    city = city_from_file if city_from_file is not None else city_avg_cost
    if city is None:
        raise ValidationFailed(
            "权重表没有「*」行，也未给出地区次均费用（city_avg_cost）。", code="weights_no_city_avg"
        )
    mean = {drg: given_mean.get(drg) or CALC_CONTEXT.multiply(value, city) for drg, value in rw.items()}
    return Weights(
        rw=rw, mean_cost=mean, city_avg_cost=city, source=dict.fromkeys(rw, "file"), version=version
    )
