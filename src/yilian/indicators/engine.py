"""The engine: every catalogued code for a period and a cut, as output rows.

Providers compute the codes whose source exists, each with a few set-based queries for all units at
once; every other code is emitted ``no_data`` / ``source_pending``.  Care codes read the daily
pre-aggregate (built or refreshed on demand) or, with ``basis=FACTS``, the records themselves — the
two must agree, and a test checks that they do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from sqlalchemy.orm import Session

from yilian.indicators import aggregates, catalogue, repository
from yilian.indicators.catalogue import Attribution, Cut, Reason
from yilian.indicators.periods import Period
from yilian.indicators.queries import care, facts
from yilian.indicators.queries.units import Unit, units
from yilian.indicators.values import CENT, Figures, IndicatorRow, finish, pending, per_unit_value

Results = dict[tuple[str, str, str], Figures]
Progress = Callable[[str], None]


class Basis(StrEnum):
    AGGREGATE = "aggregate"
    FACTS = "facts"


@dataclass(frozen=True, slots=True)
class Context:
    session: Session
    period: Period
    cut: Cut
    units: list[Unit]
    basis: Basis = Basis.AGGREGATE
    progress: Progress | None = None

    def say(self, message: str) -> None:
        if self.progress:
            self.progress(message)


class Provider(Protocol):
    codes: frozenset[str]

    def compute(self, ctx: Context) -> Results: ...


def _yuan(cents: int) -> Decimal:
    return Decimal(cents) / 100


class CareProvider:
    """Care-pattern and fund codes over encounters and settlements."""

    codes = frozenset(care.CARE_CODES) | frozenset(care.GROWTH_CODES)

    def _measures(self, ctx: Context, period: Period, codes: Iterable[care.CareCode]) -> dict[str, dict[str, int]]:
        """unit → label → exact integer sum, for codes of one attribution at a time."""
        out: dict[str, dict[str, int]] = {}
        by_attr: dict[Attribution, list[care.CareCode]] = {}
        for c in codes:
            by_attr.setdefault(c.attribution, []).append(c)
        for attribution, group in by_attr.items():
            src = facts.AGGREGATE if ctx.basis == Basis.AGGREGATE else facts.fact_rows(period.start, period.end)
            stmt = care.measures_select(src, care.sums_for(group), ctx.cut, attribution, period.start, period.end)
            for unit, values in repository.unit_sums(ctx.session, stmt).items():
                out.setdefault(unit, {}).update(values)
        return out

    def compute(self, ctx: Context) -> Results:
        period = ctx.period
        prior = period.prior_year()
        if ctx.basis == Basis.AGGREGATE:
            ctx.say("刷新日汇总")
            aggregates.ensure(ctx.session, prior.start, prior.end, progress=ctx.progress)
            aggregates.ensure(ctx.session, period.start, period.end, progress=ctx.progress)
        ctx.say("计算诊疗与医保指标")
        now = self._measures(ctx, period, care.CARE_CODES.values())
        base_codes = [care.CARE_CODES[b] for b in care.GROWTH_CODES.values()]
        before = self._measures(ctx, prior, base_codes)
        out: Results = {}
        for u in ctx.units:
            vals = now.get(u.code, {})
            for c in care.CARE_CODES.values():
                n, d = int(vals.get(f"{c.code}__n", 0)), int(vals.get(f"{c.code}__d", 0))
                out[(c.code, u.code, "")] = Figures(
                    _yuan(n) if c.numerator.is_money else Decimal(n),
                    _yuan(d) if c.denominator.is_money else Decimal(d))
            old = before.get(u.code, {})
            for growth_code, base in care.GROWTH_CODES.items():
                out[(growth_code, u.code, "")] = _growth(vals, old, base)
        return out


def _growth(now: dict[str, int], before: dict[str, int], base: str) -> Figures:
    cur = per_unit_value(_yuan(int(now.get(f"{base}__n", 0))), Decimal(int(now.get(f"{base}__d", 0))), CENT)
    old = per_unit_value(_yuan(int(before.get(f"{base}__n", 0))), Decimal(int(before.get(f"{base}__d", 0))), CENT)
    if old is None:
        return Figures(cur, None, Reason.NO_PRIOR_YEAR)
    if cur is None:
        return Figures(None, old, Reason.ZERO_DENOMINATOR)
    return Figures(cur, old)


def providers() -> list[Provider]:
    """The providers of the features that have landed (the others' codes are ``source_pending``)."""
    return [CareProvider()]


def implemented_codes() -> frozenset[str]:
    out: frozenset[str] = frozenset()
    for p in providers():
        out |= p.codes
    return out


def compute(session: Session, period: Period, cut: Cut, *, basis: Basis = Basis.AGGREGATE,
            progress: Progress | None = None) -> list[IndicatorRow]:
    """Every catalogued code for ``period`` and ``cut``: catalogue order, then unit, then group."""
    unit_list = units(session, cut, period)
    ctx = Context(session, period, cut, unit_list, basis, progress)
    results: Results = {}
    implemented: set[str] = set()
    for p in providers():
        results.update(p.compute(ctx))
        implemented |= p.codes
    rows: list[IndicatorRow] = []
    for ind in catalogue.INDICATORS:
        for u in unit_list:
            for group in (*ind.groups, ""):
                if ind.code not in implemented:
                    rows.append(pending(ind, period.label, cut, u.code, group, u.name))
                    continue
                if cut not in ind.cuts:
                    rows.append(pending(ind, period.label, cut, u.code, group, u.name, Reason.NO_BUDGET))
                    continue
                default = Figures(Decimal(0), None if ind.is_count else Decimal(0))
                fig = results.get((ind.code, u.code, group), default)
                num, den, value, status, reason = finish(ind, fig, growth=ind.code in care.GROWTH_CODES)
                rows.append(IndicatorRow(ind.code, ind.name, period.label, cut, u.code, group, num, den, value,
                                         status, reason, u.name))
    return rows
