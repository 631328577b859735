"""Indicator rows and their exact values: Decimal, ROUND_HALF_UP, the decimals of INDICATORS.md "Output".

Pure: no database, no web.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Final

from yilian.indicators.catalogue import Cut, Indicator, Measure, Quantity, Reason

ONE: Final = Decimal(1)
CENT: Final = Decimal("0.01")
TEN_THOUSANDTH: Final = Decimal("0.0001")
_QUANTITY_STEP: Final = {Quantity.COUNT: ONE, Quantity.YUAN: CENT, Quantity.WEIGHT: TEN_THOUSANDTH}
_VALUE_STEP: Final = {
    Measure.FRACTION: TEN_THOUSANDTH, Measure.RATIO: TEN_THOUSANDTH, Measure.INDEX: TEN_THOUSANDTH,
    Measure.YUAN: CENT, Measure.DAYS: CENT, Measure.COUNT: ONE,
}


class Status(StrEnum):
    OK = "ok"
    NO_DATA = "no_data"


STATUS_NAMES_ZH: Final = {Status.OK: "正常", Status.NO_DATA: "无数据"}


@dataclass(frozen=True, slots=True)
class Figures:
    """What a query found for one (code, unit, group): raw numerator and denominator, or a reason."""

    numerator: Decimal | None
    denominator: Decimal | None
    reason: Reason | None = None


@dataclass(frozen=True, slots=True)
class IndicatorRow:
    """One output row (INDICATORS.md "Output"); ``unit_name`` is for pages only."""

    code: str
    name: str
    period: str
    cut: Cut
    unit: str
    group: str
    numerator: Decimal | None
    denominator: Decimal | None
    value: Decimal | None
    status: Status
    reason: str
    unit_name: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.code, self.unit, self.group)


def quantize(value: Decimal, step: Decimal) -> Decimal:
    return value.quantize(step, rounding=ROUND_HALF_UP)


def exact(value: Decimal | None, quantity: Quantity | None) -> Decimal | None:
    if value is None or quantity is None:
        return None
    return quantize(Decimal(value), _QUANTITY_STEP[quantity])


def value_step(ind: Indicator) -> Decimal:
    return _VALUE_STEP[ind.measure]


def finish(ind: Indicator, fig: Figures, *, growth: bool = False) -> tuple[
        Decimal | None, Decimal | None, Decimal | None, Status, str]:
    """(numerator, denominator, value, status, reason) of a row from what the query found."""
    num = exact(fig.numerator, ind.num_quantity)
    den = exact(fig.denominator, ind.den_quantity)
    if fig.reason is not None:
        return num, den, None, Status.NO_DATA, fig.reason.value
    if ind.is_count:
        count = num if num is not None else Decimal(0)
        return count, None, count, Status.OK, ""
    if num is None or den is None or den == 0:
        return num, den, None, Status.NO_DATA, Reason.ZERO_DENOMINATOR.value
    raw = num / den - ONE if growth else num / den
    return num, den, quantize(raw, value_step(ind)), Status.OK, ""


def pending(ind: Indicator, period: str, cut: Cut, unit: str, group: str, unit_name: str,
            reason: Reason = Reason.SOURCE_PENDING) -> IndicatorRow:
    return IndicatorRow(ind.code, ind.name, period, cut, unit, group, None, None, None, Status.NO_DATA, reason.value,
                        unit_name)


def per_unit_value(num: Decimal, den: Decimal, step: Decimal) -> Decimal | None:
    """A per-unit figure (cost per stay) from exact sums, or None without a denominator."""
    if den == 0:
        return None
    return quantize(num / den, step)
