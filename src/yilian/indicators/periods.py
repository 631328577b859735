"""Reporting periods: ``2025`` (year), ``2025Q1`` (quarter), ``2025-03`` (month) → a date range.

Pure: no database, no web.  Bad input is refused with a Chinese message and the stable code
``period_invalid``.
"""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from yilian.core.errors import ValidationFailed

_YEAR: Final = re.compile(r"(\d{4})")
_QUARTER: Final = re.compile(r"(\d{4})[Qq]([1-4])")
_MONTH: Final = re.compile(r"(\d{4})-(\d{2})")
MIN_YEAR: Final = 1990
MAX_YEAR: Final = 2100


class PeriodKind(StrEnum):
    YEAR = "year"
    QUARTER = "quarter"
    MONTH = "month"


PERIOD_KIND_NAMES_ZH: Final = {PeriodKind.YEAR: "年", PeriodKind.QUARTER: "季度", PeriodKind.MONTH: "月"}


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """A calendar period; ``start`` and ``end`` are both inclusive."""

    start: date
    end: date
    kind: PeriodKind
    label: str

    def __str__(self) -> str:
        return self.label

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def year(self) -> int:
        return self.start.year

    def months(self) -> list[Period]:
        """The calendar months inside the period, in order."""
        return [month(self.start.year, m) for m in range(self.start.month, self.end.month + 1)]

    def prior_year(self) -> Period:
        """The same period a year earlier (for growth rates)."""
        return parse(self.label.replace(str(self.year), str(self.year - 1), 1))

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def title_zh(self) -> str:
        if self.kind == PeriodKind.YEAR:
            return f"{self.year}年"
        if self.kind == PeriodKind.QUARTER:
            return f"{self.year}年第{self.label[-1]}季度"
        return f"{self.year}年{self.start.month}月"


def _refuse(raw: str) -> ValidationFailed:
    shown = raw if len(raw) <= 20 else raw[:20] + "…"
    return ValidationFailed(
        f"统计期“{shown}”格式不正确：应为年（如 2025）、季度（如 2025Q1）或月（如 2025-03），"
        f"年份在 {MIN_YEAR}–{MAX_YEAR} 之间",
        code="period_invalid",
    )


def _check_year(y: int, raw: str) -> int:
    if not MIN_YEAR <= y <= MAX_YEAR:
        raise _refuse(raw)
    return y


def year(y: int) -> Period:
    return Period(date(y, 1, 1), date(y, 12, 31), PeriodKind.YEAR, f"{y:04d}")


def quarter(y: int, q: int) -> Period:
    first = 3 * (q - 1) + 1
    return Period(date(y, first, 1), date(y, first + 2, monthrange(y, first + 2)[1]), PeriodKind.QUARTER,
                  f"{y:04d}Q{q}")


def month(y: int, m: int) -> Period:
    return Period(date(y, m, 1), date(y, m, monthrange(y, m)[1]), PeriodKind.MONTH, f"{y:04d}-{m:02d}")


def parse(raw: str) -> Period:
    """``2025`` → the year, ``2025Q1`` → the first quarter, ``2025-03`` → March 2025."""
    text = (raw or "").strip()
    if m := _YEAR.fullmatch(text):
        return year(_check_year(int(m.group(1)), raw))
    if m := _QUARTER.fullmatch(text):
        return quarter(_check_year(int(m.group(1)), raw), int(m.group(2)))
    if m := _MONTH.fullmatch(text):
        mm = int(m.group(2))
        if not 1 <= mm <= 12:
            raise _refuse(raw)
        return month(_check_year(int(m.group(1)), raw), mm)
    raise _refuse(raw)


def month_of(day: date) -> Period:
    return month(day.year, day.month)
