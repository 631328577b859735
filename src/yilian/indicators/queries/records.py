"""Codes computed from a per-record subquery: each record carries its ``unit`` and 0/1 flags, a code is
a sum over the records where a condition holds (numerator, denominator).  One select per records source
computes every code of that source for all units; the drill-down filters the same subquery.

Every records subquery has the display columns ``record_kind``, ``record_id``, ``resident_id``, ``day``,
``institution_id`` and ``unit``; flags and weights are further columns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.sql import Subquery

from yilian.indicators.catalogue import Cut
from yilian.indicators.config import IndicatorPolicy
from yilian.indicators.periods import Period

DISPLAY = ("record_kind", "record_id", "resident_id", "day", "institution_id", "unit")


@dataclass(frozen=True, slots=True)
class Request:
    period: Period
    cut: Cut
    as_of: datetime  # outcomes that come later are counted as of this moment
    policy: IndicatorPolicy

    @property
    def start(self) -> date:
        return self.period.start

    @property
    def end(self) -> date:
        return self.period.end


Builder = Callable[[Request], Subquery]


@dataclass(frozen=True, slots=True)
class Tally:
    """Σ ``weight`` (1 when None) over the records where ``flag`` (a 0/1 column, or None = every record) is 1."""

    flag: str | None = None
    weight: str | None = None

    def condition(self, rec: Subquery) -> ColumnElement[bool]:
        cond: ColumnElement[bool] = rec.c[self.flag] == 1 if self.flag else rec.c.record_id.is_not(None)
        return cond

    def amount(self, rec: Subquery) -> Any:
        return rec.c[self.weight] if self.weight else 1


@dataclass(frozen=True, slots=True)
class RecordCode:
    code: str
    source: str  # key of the records builder
    numerator: Tally
    denominator: Tally | None
    group: str = ""


def measures_select(rec: Subquery, codes: Sequence[RecordCode]) -> Select[Any]:
    cols: list[Any] = []
    for i, c in enumerate(codes):
        for part, tally in (("n", c.numerator), ("d", c.denominator)):
            if tally is not None:
                cols.append(func.coalesce(func.sum(case((tally.condition(rec), tally.amount(rec)), else_=0)), 0)
                            .label(f"c{i}_{part}"))
    return select(rec.c.unit, *cols).group_by(rec.c.unit)


def drill_select(rec: Subquery, code: RecordCode, part: str, unit: str) -> Select[Any]:
    tally = code.numerator if part == "numerator" or code.denominator is None else code.denominator
    flag = case((code.numerator.condition(rec), 1), else_=0).label("in_numerator")
    extra = [rec.c[tally.weight].label("weight")] if tally.weight else []
    return (select(*[rec.c[c] for c in DISPLAY], *extra, flag)
            .where(rec.c.unit == unit, tally.condition(rec)))
