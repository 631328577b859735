"""The daily care pre-aggregate: a cache of the records, built by month, never a second truth.

``ensure`` builds the months of a date range that are missing or whose records changed since they
were built (per-month counts of visits, stays and settlements, and the county's divisions, differ from
the fingerprint stored at build time); ``rebuild`` builds them on request.  Both are set-based
(DELETE + INSERT … SELECT … GROUP BY) inside the caller's transaction.  A rebuild from the same
records gives the same rows.

Not seen by the fingerprint: corrections that change amounts, a resident's home or insurance in place
without adding or removing records.  Whoever corrects records in place calls ``mark_stale`` for the
days concerned (or runs ``yilian indicators aggregate --period P``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from yilian.core.clock import utcnow
from yilian.db.models import Encounter, Settlement
from yilian.db.models.indicators import IndicatorAggMonth
from yilian.indicators import repository
from yilian.indicators.periods import Period, month, month_of
from yilian.indicators.queries import facts
from yilian.indicators.queries.units import county_codes

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class BuildReport:
    built: list[str]
    fresh: list[str]


def months_between(start: date, end: date) -> list[Period]:
    out: list[Period] = []
    m = month_of(start)
    while m.start <= end:
        out.append(m)
        m = month(m.end.year + (m.end.month == 12), 1 if m.end.month == 12 else m.end.month + 1)
    return out


def _lock(session: Session) -> None:
    """One builder at a time (SQLite already serialises writers with BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("select pg_advisory_xact_lock(hashtext('yilian.indicator_daily_care'))"))


def change_token(session: Session) -> tuple[str, str]:
    """(county, ids): the county's divisions, and a cheap token that changes whenever care records are
    added — the highest encounter and settled encounter ids (primary-key lookups).  Care records are
    insert-only and an encounter's settlement is written with it; whoever deletes or corrects records in
    place calls ``mark_stale``."""
    top = session.execute(select(func.max(Encounter.id))).scalar() or 0
    settled = session.execute(select(func.max(Settlement.encounter_id))).scalar() or 0
    county = ",".join(sorted(session.scalars(county_codes())))
    return county, f"e{top}/s{settled}"


def fingerprints(session: Session, start: date, end: date) -> dict[str, str]:
    """Per month ``YYYY-MM``: the counts of the month's records (visits by visit month, stays by discharge
    month, settlements by settlement month)."""
    counts: dict[str, list[int]] = {m.label: [0, 0, 0] for m in months_between(start, end)}
    for i, stmt in enumerate(facts.fingerprint_selects(start, end)):
        for key, n in session.execute(stmt):
            if key in counts:
                counts[key][i] = int(n)
    return {k: f"v{v[0]}/s{v[1]}/p{v[2]}" for k, v in counts.items()}


def _build_month(session: Session, m: Period, fingerprint: str) -> None:
    for stmt in facts.rebuild_statements(m.start, m.end):
        session.execute(stmt)
    rows = session.scalar(select(func.count()).select_from(facts.AGGREGATE)
                          .where(facts.AGGREGATE.c.day >= m.start, facts.AGGREGATE.c.day <= m.end)) or 0
    session.execute(delete(IndicatorAggMonth).where(IndicatorAggMonth.month == m.start))
    session.add(IndicatorAggMonth(month=m.start, fingerprint=fingerprint, rows=int(rows), built_at=utcnow()))
    session.flush()


def ensure(session: Session, start: date, end: date, *, force: bool = False,
           progress: Progress | None = None) -> BuildReport:
    """Build the months of [start, end] that are missing or stale (all of them with ``force``).

    A stored fingerprint is ``<counts>/c<county>|<ids>``.  When every month ends with the current county
    and ids nothing was added since they were checked: no counting.  Otherwise the months are counted;
    those whose counts or county differ are rebuilt, the others take the new ids."""
    months = months_between(start, end)
    _lock(session)
    repository.tune_for_reports(session)
    county, ids = change_token(session)
    stored: dict[date, str] = {
        m: f for m, f in session.execute(select(IndicatorAggMonth.month, IndicatorAggMonth.fingerprint)
                                         .where(IndicatorAggMonth.month >= months[0].start,
                                                IndicatorAggMonth.month <= months[-1].end))}
    tail = f"/c{county}|{ids}"
    if not force and all(stored.get(m.start, "").endswith(tail) for m in months):
        return BuildReport([], [m.label for m in months])
    current = fingerprints(session, months[0].start, months[-1].end)
    built: list[str] = []
    fresh: list[str] = []
    for m in months:
        head = f"{current[m.label]}/c{county}|"
        previous = stored.get(m.start)
        if force or previous is None or not previous.startswith(head):
            if progress:
                progress(m.label)
            _build_month(session, m, head + ids)
            built.append(m.label)
        else:
            session.execute(update(IndicatorAggMonth).where(IndicatorAggMonth.month == m.start)
                            .values(fingerprint=head + ids))
            fresh.append(m.label)
    if built:
        analyze(session)
    return BuildReport(built, fresh)


def analyze(session: Session) -> None:
    """PostgreSQL: refresh the planner's statistics of the aggregate after a build (a stale estimate turns
    the per-unit joins into nested loops, ten times slower)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE indicator_daily_care"))


def mark_stale(session: Session, days: Iterable[date]) -> int:
    """Forget the build of the months containing ``days``; the next computation rebuilds them."""
    starts = {month_of(d).start for d in days}
    if not starts:
        return 0
    result = session.execute(delete(IndicatorAggMonth).where(IndicatorAggMonth.month.in_(starts)))
    return int(getattr(result, "rowcount", 0) or 0)
