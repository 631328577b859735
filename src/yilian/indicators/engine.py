"""The engine: every catalogued code for a period and a cut, as output rows.

Providers compute the codes whose source exists, each with a few set-based queries for all units at
once; every other code is emitted ``no_data`` / ``source_pending``.  Care codes read the daily
pre-aggregate (built or refreshed on demand) or, with ``basis=FACTS``, the records themselves — the
two must agree, and a test checks that they do.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import FromClause
from sqlalchemy.orm import Session

from yilian.core.clock import utcnow
from yilian.indicators import aggregates, catalogue, repository
from yilian.indicators.catalogue import Attribution, Cut, Reason
from yilian.indicators.config import DEFAULT_POLICY, IndicatorPolicy
from yilian.indicators.periods import Period
from yilian.indicators.queries import care, contracts, facts, payment, records, referrals, scheduling
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
    as_of: datetime = field(default_factory=utcnow)
    policy: IndicatorPolicy = DEFAULT_POLICY
    ensured: set[str] = field(default_factory=set)

    def say(self, message: str) -> None:
        if self.progress:
            self.progress(message)

    def ensure(self, period: Period) -> None:
        """Refresh the pre-aggregate for a period once per computation."""
        if self.basis == Basis.AGGREGATE and period.label not in self.ensured:
            aggregates.ensure(self.session, period.start, period.end, progress=self.progress)
            self.ensured.add(period.label)

    def request(self) -> records.Request:
        return records.Request(self.period, self.cut, self.as_of, self.policy)

    def care_source(self, period: Period) -> FromClause:
        self.ensure(period)
        return facts.AGGREGATE if self.basis == Basis.AGGREGATE else facts.fact_rows(period.start, period.end)


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
            src = ctx.care_source(period)
            stmt = care.measures_select(src, care.sums_for(group), ctx.cut, attribution, period.start, period.end)
            for unit, values in repository.unit_sums(ctx.session, stmt).items():
                out.setdefault(unit, {}).update(values)
        return out

    def compute(self, ctx: Context) -> Results:
        period = ctx.period
        prior = period.prior_year()
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


class RecordsProvider:
    """Codes computed from per-record subqueries (contracts, referrals, scheduling)."""

    def __init__(self, label: str, builders: Mapping[str, records.Builder],
                 codes: Sequence[records.RecordCode],
                 measures: Mapping[str, Callable[[records.Request, Sequence[records.RecordCode]], Any]] | None = None
                 ) -> None:
        self.label = label
        self.builders = builders
        self.measures = measures or {}
        self.defs = tuple(codes)
        self.codes = frozenset(c.code for c in codes)

    def compute(self, ctx: Context) -> Results:
        ctx.say(self.label)
        out: Results = {}
        req = ctx.request()
        by_source: dict[str, list[records.RecordCode]] = {}
        for c in self.defs:
            by_source.setdefault(c.source, []).append(c)
        for source, group in by_source.items():
            if source in self.measures and ctx.basis == Basis.AGGREGATE:
                stmt = self.measures[source](req, group)
            else:
                stmt = records.measures_select(self.builders[source](req), group)
            sums = repository.unit_sums(ctx.session, stmt)
            for u in ctx.units:
                vals = sums.get(u.code, {})
                for i, c in enumerate(group):
                    num = Decimal(vals.get(f"c{i}_n", 0))
                    den = None if c.denominator is None else Decimal(vals.get(f"c{i}_d", 0))
                    out[(c.code, u.code, c.group)] = Figures(num, den)
        return out


class AppointmentProvider:
    """``appointment_rate``: visits matched to appointments ÷ outpatient visits (care fact rows)."""

    codes = frozenset({"appointment_rate"})

    def compute(self, ctx: Context) -> Results:
        ctx.say("计算预约诊疗率")
        matched = records.RecordCode("appointment_rate", "matched_visits", records.Tally(), None)
        rec = scheduling.matched_visits(ctx.request())
        nums = repository.unit_sums(ctx.session, records.measures_select(rec, [matched]))
        src = ctx.care_source(ctx.period)
        stmt = care.measures_select(src, {"den": care.OUTPATIENT_VISITS}, ctx.cut, Attribution.CARE,
                                    ctx.period.start, ctx.period.end)
        dens = repository.unit_sums(ctx.session, stmt)
        return {("appointment_rate", u.code, ""): Figures(Decimal(nums.get(u.code, {}).get("c0_n", 0)),
                                                          Decimal(dens.get(u.code, {}).get("den", 0)))
                for u in ctx.units}


class PaymentProvider:
    """``cmi`` from the latest DRG grouping of the stays, ``budget_surplus_rate`` from consortium budgets."""

    codes = frozenset({"cmi", "budget_surplus_rate"})

    def compute(self, ctx: Context) -> Results:
        ctx.say("计算医保支付指标")
        out: Results = {}
        req = ctx.request()
        if not repository.exists(ctx.session, payment.grouping_runs(ctx.period.year)):
            for u in ctx.units:
                out[("cmi", u.code, "")] = Figures(None, None, Reason.NOT_GROUPED)
        else:
            rec = payment.grouped_stays(req)
            sums = repository.unit_sums(ctx.session, records.measures_select(rec, payment.CODES))
            for u in ctx.units:
                vals = sums.get(u.code, {})
                out[("cmi", u.code, "")] = Figures(Decimal(vals.get("c0_n", 0)) / payment.MICRO,
                                                   Decimal(vals.get("c0_d", 0)))
        lines = repository.budget_lines(ctx.session, payment.budget_lines(req))
        share = Decimal(ctx.period.days) / Decimal(366 if calendar.isleap(ctx.period.year) else 365)
        for u in ctx.units:
            found = _budget_of(ctx, u, lines)
            if found is None:
                out[("budget_surplus_rate", u.code, "")] = Figures(None, None, Reason.NO_BUDGET)
                continue
            budget = (Decimal(found[0]) / 100 * share).quantize(CENT, rounding=ROUND_HALF_UP)
            out[("budget_surplus_rate", u.code, "")] = Figures(budget - Decimal(found[1]) / 100, budget)
        return out


def _budget_of(ctx: Context, unit: Unit, lines: dict[int, tuple[int, int]]) -> tuple[int, int] | None:
    """(budget, spending) in cents for a unit, or None without a budget."""
    if ctx.cut == Cut.COUNTY:
        if not lines:
            return None
        return sum(b for b, _ in lines.values()), sum(s for _, s in lines.values())
    if ctx.cut == Cut.CONSORTIUM and unit.id is not None:
        return lines.get(unit.id)
    if ctx.cut == Cut.GRID and unit.id is not None:
        group = repository.grid_group(ctx.session, unit.id)
        return lines.get(group) if group is not None else None
    return None


def providers() -> list[Provider]:
    """The providers of the features that have landed (the others' codes are ``source_pending``)."""
    return [
        CareProvider(),
        RecordsProvider("计算家庭医生签约指标", contracts.BUILDERS, contracts.CODES, contracts.MEASURES),
        RecordsProvider("计算双向转诊指标", referrals.BUILDERS, referrals.CODES),
        RecordsProvider("计算号源指标", scheduling.BUILDERS, scheduling.CODES),
        AppointmentProvider(),
        PaymentProvider(),
    ]


def implemented_codes() -> frozenset[str]:
    out: frozenset[str] = frozenset()
    for p in providers():
        out |= p.codes
    return out


def compute(session: Session, period: Period, cut: Cut, *, basis: Basis = Basis.AGGREGATE,
            progress: Progress | None = None, as_of: datetime | None = None,
            policy: IndicatorPolicy = DEFAULT_POLICY) -> list[IndicatorRow]:
    """Every catalogued code for ``period`` and ``cut``: catalogue order, then unit, then group.

    ``as_of`` is the computing moment for outcomes that come later (default: now)."""
    repository.tune_for_reports(session)
    unit_list = units(session, cut, period)
    ctx = Context(session, period, cut, unit_list, basis, progress, as_of or utcnow(), policy)
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
