"""Lifecycle stage (出生与死亡): deaths every year; in an appended year also pregnancies, births and new
chronic cases, so the pyramid and the prevalences hold year after year.

Runs after the population (order 250), before contracts and care read it:

- **Deaths** at ``Rates.deaths_per_1000`` of the residents alive on 1 January, by the age shape
  ``demography.MORTALITY_SHAPE`` (more at older ages), on a day drawn in the year; a share
  (``Rates.in_hospital_death_share``) die in hospital: the care stage ends their last stay on that day
  with 离院方式 ``5`` (死亡).  Women pregnant in the year do not die in it (their deliveries are
  planned).  Written set-based: ``resident.deceased_on``, and the enrolment, registration and recorded
  key populations still open end on that day.  Care draws residents only on days before their death.
- **Pregnancies** (appended years): like the first year's, with due dates in the next 365-day window
  after the previous year's (so each year's deliveries come to ``births_per_1000``).
- **Births** (appended years): one newborn per delivery of the year, born on the due day, in the
  mother's village and township, insured under the resident scheme when the mother is insured; a valid
  ID number (GB 11643), name, registration with the village clinic and township centre; sick newborns
  get their neonatal stay.
- **New chronic cases** (appended years): hypertension and type 2 diabetes among adults alive at the
  year's end, so many that the adult prevalences are back on the preset's rates, picked by the age shape.

Every draw from ``rng.stream(seed, year, stage, block or day)``.
"""

from __future__ import annotations

import heapq
from array import array
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import BigInteger, Column, Date, MetaData, Table, text

from yilian.db.bulk import copy_rows, is_postgres
from yilian.db.models import CareRelationship, InsuranceEnrolment, KeyPopulation, Resident
from yilian.residents.crypto import cipher
from yilian.residents.idcard import make_id_number, mask_id_number
from yilian.simulation import demography as demo
from yilian.simulation import names
from yilian.simulation import population as popmod
from yilian.simulation.pipeline import SimContext, Stage, Tracker, register_stage
from yilian.simulation.rng import BLOCK, stream, weighted_key
from yilian.simulation.writer import Writer

#: Pregnancies of the first year have due dates in [1 Jan, 1 Jan + 638 days); an appended year adds the
#: next 365 days of due dates, starting this many days after its 1 January.
PREGNANCY_WINDOW_OFFSET = 365 + popmod.PREGNANCY_DAYS - 7 - 365


def age_at_year_end(year: int, birth_ordinal: int) -> int:
    """Age on 31 December of ``year`` (the population's convention)."""
    return year - date.fromordinal(birth_ordinal).year


def run(ctx: SimContext, track: Tracker) -> None:
    pop = ctx.population
    assert pop is not None, "the population stage must run first"
    track.total(5)
    if not pop.death:
        pop.death = array("i", bytes(4 * pop.n))
    if ctx.appending:
        pregnancies(ctx)
    track.advance()
    deaths(ctx)
    track.advance()
    if ctx.appending:
        births(ctx)
        track.advance()
        chronic(ctx)
        track.advance()
        care_weights(ctx)
    track.advance()


# ---- deaths ------------------------------------------------------------------------------------------


def deaths(ctx: SimContext) -> None:
    pop = ctx.population
    assert pop is not None
    r = ctx.preset.rates
    start, end = ctx.year_start.toordinal(), ctx.year_end.toordinal()
    death = pop.death
    alive = [i for i in range(pop.n) if death[i] == 0]
    spared = {i for i in alive if pop.flags[i] & popmod.PREGNANT}  # their deliveries are planned
    total = sum(demo.rate(demo.MORTALITY_SHAPE, age_at_year_end(ctx.year, pop.birth[i]))
                for i in alive if i not in spared)
    k = r.deaths_per_1000 / 1000 * len(alive) / total if total else 0.0
    rows: list[tuple[int, date]] = []
    for b in range((pop.n + BLOCK - 1) // BLOCK):
        rng = stream(ctx.seed, ctx.year, "deaths", b)
        for i in range(b * BLOCK, min(pop.n, (b + 1) * BLOCK)):
            if death[i] or i in spared:
                continue
            u = rng.random()
            if u >= k * demo.rate(demo.MORTALITY_SHAPE, age_at_year_end(ctx.year, pop.birth[i])):
                continue
            first = max(start, pop.birth[i] + 1)
            if first > end:
                continue
            day = rng.randint(first, end)
            death[i] = day
            if rng.random() < r.in_hospital_death_share:
                pop.terminal.setdefault(day, []).append(i)
            rows.append((pop.first_id + i, date.fromordinal(day)))
    record_deaths(ctx, rows)
    ctx.extras["lifecycle.deaths"] = len(rows)


def record_deaths(ctx: SimContext, rows: Sequence[tuple[int, date]]) -> None:
    """``deceased_on``, and the enrolments, registrations and recorded key populations still open then
    end on the day of death — through a temporary table and ``UPDATE … FROM`` (both databases)."""
    if not rows:
        return
    conn = ctx.conn
    pg = is_postgres(conn)
    conn.execute(text("CREATE TEMPORARY TABLE sim_death (resident_id BIGINT PRIMARY KEY, died_on DATE NOT NULL)"))
    tmp = Table("sim_death", MetaData(), Column("resident_id", BigInteger), Column("died_on", Date))
    copy_rows(conn, tmp, ("resident_id", "died_on"), [(rid, d if pg else d.isoformat()) for rid, d in rows])
    for sql in (
        "UPDATE resident SET deceased_on = d.died_on FROM sim_death d WHERE resident.id = d.resident_id",
        "UPDATE insurance_enrolment SET end_on = d.died_on FROM sim_death d "
        "WHERE insurance_enrolment.resident_id = d.resident_id AND insurance_enrolment.end_on IS NULL",
        "UPDATE care_relationship SET until = d.died_on FROM sim_death d "
        "WHERE care_relationship.resident_id = d.resident_id AND care_relationship.kind = 'registered' "
        "AND care_relationship.until IS NULL",
        "UPDATE key_population SET until = d.died_on FROM sim_death d "
        "WHERE key_population.resident_id = d.resident_id AND key_population.since <= d.died_on "
        "AND (key_population.until IS NULL OR key_population.until > d.died_on)",
    ):
        conn.execute(text(sql))
    conn.execute(text("DROP TABLE sim_death"))


# ---- pregnancies and births (appended years) ---------------------------------------------------------


def pregnancies(ctx: SimContext) -> None:
    pop = ctx.population
    assert pop is not None
    r = ctx.preset.rates
    start, end = ctx.year_start.toordinal(), ctx.year_end.toordinal()
    lo = start + PREGNANCY_WINDOW_OFFSET
    alive = sum(1 for i in range(pop.n) if pop.death[i] == 0)

    def fertility(i: int) -> float:
        if pop.death[i] or pop.sex[i] != 2 or pop.flags[i] & popmod.PREGNANT:
            return 0.0
        return demo.rate(demo.FERTILITY_SHAPE, age_at_year_end(ctx.year, pop.birth[i]))

    total = sum(fertility(i) for i in range(pop.n))
    k = r.births_per_1000 / 1000 * alive / total if total else 0.0
    rows: list[tuple[int, str, date, date | None]] = []
    for b in range((pop.n + BLOCK - 1) // BLOCK):
        rng = stream(ctx.seed, ctx.year, "pregnancies", b)
        for i in range(b * BLOCK, min(pop.n, (b + 1) * BLOCK)):
            f = fertility(i)
            if not f or rng.random() >= k * f:
                continue
            due = lo + rng.randrange(365)
            if due - popmod.PREGNANCY_DAYS <= pop.birth[i] + 15 * 365:
                continue
            rows.append((pop.first_id + i, "pregnant", date.fromordinal(due - popmod.PREGNANCY_DAYS),
                         date.fromordinal(due + popmod.POSTPARTUM_DAYS)))
            if due - popmod.PREGNANCY_DAYS <= end:
                pop.flags[i] |= popmod.PREGNANT
            if due <= end:
                pop.deliveries.setdefault(due, []).append(i)
    ctx.add_rows("key_population", Writer(ctx.conn).rows(KeyPopulation.__table__,  # type: ignore[arg-type]
                                                         ("resident_id", "code", "since", "until"), rows))


def births(ctx: SimContext) -> None:
    """A newborn per delivery of the year (mothers are alive: pregnant women do not die in the year)."""
    pop, net = ctx.population, ctx.network
    assert pop is not None and net is not None
    r = ctx.preset.rates
    end = ctx.year_end.toordinal()
    deliveries = [(due, i) for due in sorted(pop.deliveries) for i in pop.deliveries[due]]
    if not deliveries:
        return
    w = Writer(ctx.conn)
    first = w.reserve(Resident.__table__, len(deliveries))  # type: ignore[arg-type]
    pad = first - pop.first_id - pop.n
    for _ in range(max(0, pad)):  # ids taken by residents that are not the network's: never drawn
        pop.append(0, 1, 0, 0, 0, 0, 0, 1)
    c = cipher()
    county, other = ctx.preset.county_code, ctx.preset.place.city_district[0]
    seq: dict[tuple[str, int, int], int] = {}
    p_male = r.sex_ratio_births / (1 + r.sex_ratio_births)
    villages = [(t, v) for t in net.townships for v in range(len(t.villages))]
    residents: list[tuple[Any, ...]] = []
    enrolments: list[tuple[Any, ...]] = []
    relations: list[tuple[Any, ...]] = []
    by_day: dict[int, list[int]] = {}
    for due, mother in deliveries:
        by_day.setdefault(due, []).append(mother)
    rid = first
    habits = iter(bypass_values(ctx.seed, pop.n, pop.n + len(deliveries)))
    for due in sorted(by_day):
        rng = stream(ctx.seed, ctx.year, "births", due)
        born = date.fromordinal(due)
        created = datetime.combine(born, time(12), popmod.SHANGHAI).astimezone(UTC)
        for mother in by_day[due]:
            sex = 1 if rng.random() < p_male else 2
            division = county if rng.random() < 0.92 else other
            key = (division, due, sex)
            n = seq.get(key, 0)
            seq[key] = n + 1
            idn = make_id_number(division, born, 2 * n, sex)
            town, v = villages[pop.village[mother]]
            detail = f"{town.name}{names.village_name(town.index, v)}{rng.randint(1, 12)}组{rng.randint(1, 80)}号"
            residents.append((rid, c.lookup_hash(idn), c.encrypt(idn), mask_id_number(idn),
                              names.person_name(rng, sex), sex, born, None, None, town.code, c.encrypt(detail),
                              created, created))
            scheme = popmod.RESIDENT_SCHEME if pop.scheme[mother] != popmod.UNINSURED else popmod.UNINSURED
            if scheme:
                enrolments.append((rid, popmod.SCHEMES[scheme], county, born, None))
            relations.append((rid, town.centre.id, "registered", born, None))
            relations.append((rid, town.villages[v].id, "registered", born, None))
            i = pop.n
            pop.append(due, sex, pop.township[mother], pop.village[mother], scheme, 0, next(habits), 0)
            if rng.random() < r.sick_newborn_share:
                discharge, admission, weight = popmod.newborn_stay(rng, due)
                if discharge <= end:
                    pop.newborn_stays.setdefault(discharge, []).append((i, admission, weight))
            rid += 1
    ctx.add_rows("resident", w.rows(Resident.__table__, popmod._RESIDENT_COLS, residents))  # type: ignore[arg-type]
    ctx.add_rows("insurance_enrolment", w.rows(InsuranceEnrolment.__table__,  # type: ignore[arg-type]
                                               popmod._ENROL_COLS, enrolments))
    ctx.add_rows("care_relationship", w.rows(CareRelationship.__table__,  # type: ignore[arg-type]
                                             popmod._REL_COLS, relations))
    ctx.extras["lifecycle.births"] = len(residents)


def bypass_values(seed: int, lo: int, hi: int) -> list[int]:
    """The "bypass" habit (Beta(2, 5), 0..255) of resident indices lo..hi-1 in an appended network: one
    stream per block of indices, independent of the year, so a resident keeps the habit year after year."""
    out: list[int] = []
    for b in range(lo // BLOCK, (hi + BLOCK - 1) // BLOCK):
        rng = stream(seed, 0, "bypass", b)
        for i in range(b * BLOCK, (b + 1) * BLOCK):
            v = min(255, int(rng.betavariate(2, 5) * 256))
            if lo <= i < hi:
                out.append(v)
            if i >= hi - 1:
                break
    return out


# ---- new chronic cases (appended years) --------------------------------------------------------------


def chronic(ctx: SimContext) -> None:
    pop = ctx.population
    assert pop is not None
    r = ctx.preset.rates
    start = ctx.year_start
    rows: list[tuple[int, str, date, None]] = []
    for bit, code, shape, rate in ((popmod.HTN, "hypertension", demo.HTN_SHAPE, r.hypertension_adult),
                                   (popmod.T2DM, "t2dm", demo.T2DM_SHAPE, r.t2dm_adult)):
        adults = [i for i in range(pop.n) if pop.death[i] == 0
                  and age_at_year_end(ctx.year, pop.birth[i]) >= demo.ADULT]
        need = round(rate * len(adults)) - sum(1 for i in adults if pop.flags[i] & bit)
        if need <= 0:
            continue
        keyed: list[tuple[float, int, int]] = []
        for b in range((pop.n + BLOCK - 1) // BLOCK):
            rng = stream(ctx.seed, ctx.year, f"chronic-{code}", b)
            for i in range(b * BLOCK, min(pop.n, (b + 1) * BLOCK)):
                if pop.death[i] or pop.flags[i] & bit:
                    continue
                age = age_at_year_end(ctx.year, pop.birth[i])
                if age < demo.ADULT:
                    continue
                keyed.append((weighted_key(rng, demo.rate(shape, age)), i, rng.randrange(365)))
        for _key, i, day in heapq.nlargest(need, keyed):
            pop.flags[i] |= bit
            rows.append((pop.first_id + i, code, min(ctx.year_end, start + timedelta(days=day)), None))
    rows.sort(key=lambda row: (row[0], row[1]))
    ctx.add_rows("key_population", Writer(ctx.conn).rows(KeyPopulation.__table__,  # type: ignore[arg-type]
                                                         ("resident_id", "code", "since", "until"), rows))
    ctx.extras["lifecycle.chronic"] = len(rows)


def care_weights(ctx: SimContext) -> None:
    """Visit and stay weights of an appended year, from each resident's age on 31 December; none for the
    residents dead before the year (they are never drawn)."""
    pop = ctx.population
    assert pop is not None
    start = ctx.year_start.toordinal()
    visit, stay = array("d"), array("d")
    v_total = s_total = 0.0
    for i in range(pop.n):
        if not (pop.death[i] and pop.death[i] < start):
            vw, sw = popmod.care_weights(age_at_year_end(ctx.year, pop.birth[i]), pop.sex[i], pop.flags[i])
            v_total += vw
            s_total += sw
        visit.append(v_total)
        stay.append(s_total)
    pop.visit_cum, pop.stay_cum = visit, stay


register_stage(Stage("lifecycle", "出生与死亡", 250, run))
