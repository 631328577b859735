"""``simulate county`` as a use case: refuse what it must, run the stages, record the run.

The CLI opens the transaction (ARCHITECTURE.md: transactions belong to the edge); everything
here happens inside it, so a refusal or a failure leaves the database as it was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from rich.progress import Progress
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session

from yilian.contracts import simulate_append as contracts_append
from yilian.core.config import get_settings
from yilian.core.errors import ConfigurationError, Conflict, ValidationFailed
from yilian.db import migrate
from yilian.db.bulk import is_postgres, sync_sequence
from yilian.db.models import CareRelationship, Encounter, Institution, Resident, SimulationRun
from yilian.identity.principal import Principal, system_principal
from yilian.simulation import append, care, indexes, lifecycle, population, resettle, structure  # noqa: F401
from yilian.simulation.codes import code_source, resolve_rules
from yilian.simulation.measure import measure
from yilian.simulation.pipeline import SimContext, Stage, Tracker, register_stage, run_stages
from yilian.simulation.presets import DEFAULT_PRESET, Preset, get_preset

GENERATOR_VERSION = "1.0.0"
_ANALYZED = ("resident", "insurance_enrolment", "key_population", "care_relationship", "encounter", "settlement",
             "contract", "contract_package", "contract_delivery", "referral_episode", "referral_event")
MIN_RESIDENTS, MAX_RESIDENTS = 100, 10_000_000


@dataclass(frozen=True)
class Request:
    """What was asked.  ``None`` means the default: without ``--append`` the ``target-2025`` preset,
    100,000 residents, the preset's year and seed 1; with it the last run's preset, the next year and
    the network's seed (``--residents`` is refused there)."""

    preset: str | None
    residents: int | None
    year: int | None
    seed: int | None
    rules: Path | None = None
    append: bool = False
    builtin_codes: bool = False  # ignore every pack and use the built-in list (tests, benchmarks)


DEFAULT_RESIDENTS = 100_000


def check_request(req: Request) -> tuple[Preset, int]:
    """Refusals that need no database; returns the preset and year (with ``--append`` only the asked
    ones, checked — the appended year's come from the database, ``append.plan``)."""
    if req.append:
        append.check_options(req.residents)
    preset = get_preset(req.preset or DEFAULT_PRESET)
    residents = DEFAULT_RESIDENTS if req.residents is None else req.residents
    if not MIN_RESIDENTS <= residents <= MAX_RESIDENTS:
        raise ValidationFailed(f"居民人数须在 {MIN_RESIDENTS:,} 到 {MAX_RESIDENTS:,} 之间。",
                               code="simulate_residents_out_of_range")
    year = req.year if req.year is not None else preset.year
    if not 2000 <= year <= 2100:
        raise ValidationFailed("年份须在 2000 到 2100 之间。", code="simulate_year_out_of_range")
    return preset, year


def check_migrated(session: Session) -> None:
    conn = session.connection()
    insp = inspect(conn)
    current: set[str] = set()
    if insp.has_table("alembic_version"):
        current = {r[0] for r in conn.execute(text("select version_num from alembic_version"))}
    if not current or current != set(migrate.current_heads()):
        raise ConfigurationError("数据库尚未迁移到最新结构：请先运行 yilian db upgrade。",
                                 code="simulate_db_not_migrated")


def check_database(session: Session) -> None:
    check_migrated(session)
    institutions = session.scalar(select(func.count()).select_from(Institution)) or 0
    residents = session.scalar(select(func.count()).select_from(Resident)) or 0
    if institutions or residents:
        raise Conflict(f"数据库不是空的（已有 {institutions} 家机构、{residents} 名居民）："
                       "simulate county 只写入空数据库；要在已有网络上追加一年，请使用 --append。",
                       code="simulate_database_not_empty",
                       institutions=institutions, residents=residents)


def _treated(ctx: SimContext, track: Tracker) -> None:
    """One ``treated`` relationship per resident × institution seen in the year and not before, set-based."""
    sql = ("insert into care_relationship (resident_id, institution_id, kind, since) "
           "select e.resident_id, e.institution_id, 'treated', min(e.start_date) from encounter e "
           "where coalesce(e.end_date, e.start_date) >= :start and not exists (select 1 from care_relationship c "
           "where c.resident_id = e.resident_id and c.institution_id = e.institution_id and c.kind = 'treated') "
           "group by e.resident_id, e.institution_id")
    track.total(1)
    ctx.add_rows("care_relationship", int(ctx.conn.execute(text(sql), {"start": ctx.year_start}).rowcount))
    track.advance()


register_stage(Stage("treated", "就诊关系", 800, _treated))


#: SQLite sorts in memory up to this many residents (a 1 M-resident year's sorts take ≈ 400 MiB).
SORT_IN_MEMORY_UP_TO: Final = 200_000


def simulate(session: Session, req: Request, progress: Progress | None = None,
             actor: Principal | None = None) -> dict[str, Any]:
    """Generate the county and its year into an empty, migrated database — or, with ``--append``, the
    next year of the network already there; returns the summary."""
    preset, year = check_request(req)
    seed = 1 if req.seed is None else req.seed
    residents = DEFAULT_RESIDENTS if req.residents is None else req.residents
    started_at, t0 = datetime.now(UTC), time.perf_counter()
    planned: append.AppendPlan | None = None
    if req.append:
        check_migrated(session)
        planned = append.plan(session, req.preset, req.year, req.seed)
        preset, year, seed, residents = planned.preset, planned.year, planned.seed, planned.alive
    rules_dir = None if req.builtin_codes else resolve_rules(req.rules, get_settings().drg_rules)
    r = preset.rates
    codes = code_source(rules_dir, r.cc_rate, r.mcc_rate, r.long_tail)
    if planned is None:
        check_database(session)
    conn = session.connection()
    if is_postgres(conn):
        # The final GROUP BY and index maintenance spill to disk with the default 4 MB.
        conn.exec_driver_sql("SET LOCAL work_mem = '256MB'")
    else:
        # Index maintenance of a big year needs more than SQLite's 2 MB page cache.  Sorts (the ``treated``
        # GROUP BY, index builds) stay in memory only for small counties: above ``SORT_IN_MEMORY_UP_TO``
        # residents they spill to temporary files, so the run's memory does not grow with the year.
        conn.exec_driver_sql("PRAGMA cache_size=-262144")
        conn.exec_driver_sql(f"PRAGMA temp_store={'MEMORY' if residents <= SORT_IN_MEMORY_UP_TO else 'FILE'}")
    ctx = SimContext(session, actor or system_principal("simulate"), preset, seed, year, residents, codes)
    if planned is not None:
        ctx.appending = True
        ctx.overrides.update({"structure": append.load_network, "population": append.load_population,
                              "contracts": contracts_append.run})
    run_stages(ctx, progress)
    session.flush()
    for table in (Resident.__table__, Encounter.__table__, CareRelationship.__table__):
        sync_sequence(conn, table)  # type: ignore[arg-type]
    if is_postgres(conn):
        # Fresh statistics: without them the first queries on millions of new rows (the
        # self-check below, the demo's first pages) pick nested loops and take minutes.
        conn.exec_driver_sql("ANALYZE " + ", ".join(_ANALYZED))
    duration = time.perf_counter() - t0
    counts = dict(sorted(ctx.counts.items()))
    if planned is not None:  # the population at the year's end
        residents = session.scalar(select(func.count()).select_from(Resident)
                                   .where(Resident.deceased_on.is_(None))) or 0
    session.add(SimulationRun(preset=preset.name, seed=seed, year=year, residents=residents,
                              generator_version=GENERATOR_VERSION, code_source=codes.label[:200],
                              row_counts=counts, duration_s=Decimal(f"{duration:.2f}"), started_at=started_at))
    session.flush()
    return {
        "preset": preset.name, "year": year, "seed": seed, "residents": residents,
        "appended": planned is not None, "births": ctx.extras.get("lifecycle.births", 0),
        "deaths": ctx.extras.get("lifecycle.deaths", 0), "resettled": ctx.extras.get("resettle.stays", 0),
        "generator_version": GENERATOR_VERSION, "code_source": codes.label,
        "row_counts": counts, "duration_s": round(duration, 2),
        "stages": [s.as_dict() for s in ctx.stats],
        "targets": measure(session, preset, year),
    }
