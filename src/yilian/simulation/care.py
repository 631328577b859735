"""The year of care, day by day: visits, stays, their costs and settlements.

Each day is generated from its own streams (visits, stays, costs), written with ``COPY`` /
``executemany`` under ids reserved for that day, and dropped — memory stays flat whatever the
county's size.  Tiers are chosen by quota (``quota.py``) so each preset's targets land:
in-county visits over village clinics / township centres / hospitals, insured residents' stays
in or out of the county, in-county stays at primary or county level.

Out-of-county care arrives as the insurance bureau's claims (``source_system`` ``YB-CLAIMS``,
settlement ``source`` ``insurance``): the stays quota sends there, and ≈ 3 % of insured
residents' visits.  Uninsured residents' out-of-county care is never seen, so never generated.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from typing import Any

from yilian.db.models import Encounter, Settlement
from yilian.simulation import population as popmod
from yilian.simulation.codes_data import HTN, PREGNANT, STAY_MIX, T2DM
from yilian.simulation.pipeline import DAY_HOOKS, SimContext, Stage, Tracker, register_stage
from yilian.simulation.quota import Quota, assign
from yilian.simulation.rng import lognormal_mean, pick, poisson, stream
from yilian.simulation.settle import SETTLEMENT_COLS, Settler, cents_to_float
from yilian.simulation.structure import PRIMARY, SECONDARY, TERTIARY, Inst
from yilian.simulation.writer import BackgroundWriter, Writer

VILLAGE, TOWNSHIP, HOSPITAL, OUT = 0, 1, 2, 3
_WEEKDAY = (1.15, 1.05, 1.05, 1.05, 1.05, 0.85, 0.75)  # Monday first
_WEEKDAY_MEAN = sum(_WEEKDAY) / 7
ENCOUNTER_COLS = ("id", "source_system", "source_id", "resident_id", "institution_id", "department_id",
                  "practitioner_id", "kind", "start_date", "end_date", "los_days", "discharge_mode", "age_years",
                  "age_days", "birth_weight_g", "principal_dx", "diagnoses", "principal_proc", "procedures",
                  "referral_episode_id", "received_at")
SHANGHAI = popmod.SHANGHAI
_PREFIX = {"outpatient": "MZ", "emergency": "JZ", "inpatient": "ZY"}  # 门诊 / 急诊 / 住院 numbers


@dataclass
class Item:
    """One encounter on its way to the database."""

    i: int  # resident index
    inst: Inst
    kind: str
    start: int  # date ordinal
    end: int | None
    dx: list[str]
    dept_key: str
    procs: list[str] = field(default_factory=list)
    age: int = 0
    age_days: int | None = None
    weight_g: int | None = None
    mode: str | None = None
    cost: int = 0  # cents
    claim: bool = False  # arrives as an insurance claim (out of county)


@dataclass
class DayRows:
    day: date
    items: list[Item]
    encounters: list[tuple[Any, ...]]
    settlements: list[tuple[Any, ...]]


@dataclass
class DayBatch:
    """What a day hook sees: the day's encounters with their ids (resident index → id: first_id + i)."""

    day: date
    first_id: int
    items: list[Item]


def _season(day: date) -> float:
    # Winter peak of respiratory illness, ±12 %.
    return 1.0 + 0.12 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 15) / 365)


class CareYear:
    def __init__(self, ctx: SimContext) -> None:
        assert ctx.network is not None and ctx.population is not None
        self.ctx, self.net, self.pop = ctx, ctx.network, ctx.population
        p = ctx.preset
        self.p, self.r = p, p.rates
        self.w = Writer(ctx.conn)
        pg = self.w.postgres
        # Money as float yuan on both databases: every amount is whole cents far below 2**53, so the
        # double's shortest repr (what psycopg sends in COPY) is the exact decimal — cheaper than text.
        self.money: Callable[[int], Any] = cents_to_float
        self.settler = Settler(p, self.money, (lambda d: d) if pg else float)
        self.visit_quota = Quota([p.village_visit_share, p.township_visit_share,
                                  1 - p.village_visit_share - p.township_visit_share])
        self.out_quota = Quota([1 - p.out_of_county_stay_share, p.out_of_county_stay_share])
        self.primary_quota = Quota([1 - p.primary_inpatient_share, p.primary_inpatient_share])
        self.seq: dict[str, int] = {}
        self.villages = [v for t in self.net.townships for v in t.villages]
        self.hospitals = list(self.net.hospitals.values())
        self._hospital_cum: dict[tuple[bool, bool, bool, str], list[float]] = {}
        self._staff_cache: dict[tuple[int, str], tuple[int | None, list[int]]] = {}
        n = ctx.residents  # alive at the year's start (an appended year's arrays also hold the dead)
        self.days = (date(ctx.year, 12, 31) - date(ctx.year, 1, 1)).days + 1
        self.visit_base = n * self.r.visits_per_resident / self.days / _WEEKDAY_MEAN
        planned = sum(len(v) for v in self.pop.deliveries.values()) + sum(
            len(v) for v in self.pop.newborn_stays.values()) + sum(len(v) for v in self.pop.terminal.values())
        self.stay_base = max(0.0, n * self.r.stays_per_100 / 100 - planned) / self.days
        self.cost_norm = self._cost_norms()
        self.date_value: Callable[[date], Any] = (lambda d: d) if pg else (lambda d: d.isoformat())

    # ---- helpers ---------------------------------------------------------------------------

    def _cost_norms(self) -> list[float]:
        """Mean case-mix cost factor per level, so the level's mean cost per stay stays as configured."""
        out = []
        tail = self.ctx.codes.long_tail
        for level in (PRIMARY, SECONDARY, TERTIARY):
            w = sum(e.weights[level] for e in STAY_MIX)
            mean = sum(e.weights[level] * e.cost for e in STAY_MIX) / w if w else 1.0
            out.append(mean * (1 - tail[level]) + 1.35 * tail[level])
        return out

    def _age(self, i: int, on: int) -> tuple[int, int | None]:
        b = date.fromordinal(self.pop.birth[i])
        d = date.fromordinal(on)
        years = d.year - b.year - ((d.month, d.day) < (b.month, b.day))
        return years, (on - self.pop.birth[i] if years == 0 else None)

    def _tags(self, i: int) -> list[str]:
        f = self.pop.flags[i]
        tags = []
        if f & popmod.HTN:
            tags.append(HTN)
        if f & popmod.T2DM:
            tags.append(T2DM)
        if f & popmod.PREGNANT:
            tags.append(PREGNANT)
        return tags

    def _draw(self, rng: random.Random, cum: Any, k: int, latest_birth: int, on: int) -> list[int]:
        """k residents weighted by ``cum`` among those born on or before ``latest_birth`` and alive
        after ``on`` (deaths: ``Population.death``)."""
        pop = range(self.pop.n)
        death = self.pop.death

        def ok(i: int) -> bool:
            return self.pop.birth[i] <= latest_birth and (not death or death[i] == 0 or death[i] > on)

        out = rng.choices(pop, cum_weights=cum, k=k) if k else []
        for j, i in enumerate(out):
            tries = 0
            while not ok(i) and tries < 50:
                i = rng.choices(pop, cum_weights=cum)[0]
                tries += 1
            out[j] = i
        return [i for i in out if ok(i)]

    def _hospital(self, rng: random.Random, age: int, sex: int, purpose: str) -> Inst:
        key = (age < 15, sex == 2 and age < 50, age >= 60, purpose)
        cum = self._hospital_cum.get(key)
        if cum is None:
            cum = self._hospital_cum[key] = list(accumulate(self._hospital_weights(age, sex, purpose)))
        return pick(rng, self.hospitals, cum)

    def _hospital_weights(self, age: int, sex: int, purpose: str) -> list[float]:
        weights = []
        for h in self.hospitals:
            if h.category == "G100":  # maternal and child health: children, women, births
                w = 1.1 if age < 15 else (0.5 if sex == 2 and age < 50 else 0.02)
                if purpose in ("delivery", "newborn"):
                    w = 1.0
            elif h.category == "A210":
                w = 0.1 if purpose in ("delivery", "newborn") else (0.6 if age >= 60 else 0.4)
            else:
                w = (1.0 if h.level == TERTIARY else 0.8) * (0.5 if h.code.endswith("TKYY") else 1.0)
            weights.append(w)
        return weights

    def _township_of(self, rng: random.Random, i: int) -> Inst:
        t = self.pop.township[i]
        if rng.random() < 0.12 and len(self.net.townships) > 1:
            t = rng.randrange(len(self.net.townships))
        return self.net.townships[t].centre

    def _village_of(self, rng: random.Random, i: int) -> Inst:
        if rng.random() < 0.10:
            return rng.choice(self.net.townships[self.pop.township[i]].villages)
        return self.villages[self.pop.village[i]]

    def _out(self, rng: random.Random) -> Inst:
        out = self.net.out_of_county
        return out[-1] if rng.random() < 0.3 else rng.choice(out[:-1])

    def _bypass(self, i: int) -> float:
        return self.pop.bypass[i] / 255

    # ---- visits ----------------------------------------------------------------------------

    def visits(self, day: date) -> list[Item]:
        rng = stream(self.ctx.seed, self.ctx.year, "visits", day.toordinal())
        lam = self.visit_base * _WEEKDAY[day.weekday()] * _season(day)
        o = day.toordinal()
        people = self._draw(rng, self.pop.visit_cum, poisson(rng, lam), o, o)
        claims: list[int] = []
        local: list[int] = []
        for i in people:
            if self.pop.scheme[i] != popmod.UNINSURED and rng.random() < self.r.out_of_county_visit_share:
                claims.append(i)
            else:
                local.append(i)
        counts = self.visit_quota.split(len(local))
        tiers = assign(rng, local, counts, lambda i, c: self._visit_weight(i, c, o))
        items: list[Item] = []
        for i, tier in zip(local, tiers, strict=True):
            items.append(self._visit(rng, i, tier, o))
        for i in claims:
            items.append(self._visit(rng, i, OUT, o))
        return items

    def _visit_weight(self, i: int, c: int, on: int) -> float:
        age = (on - self.pop.birth[i]) // 365
        f = self.pop.flags[i]
        b = self._bypass(i)
        if c == HOSPITAL:
            w = 1.4 if age < 7 else (0.7 if age >= 60 else 1.0)
            if f & (popmod.HTN | popmod.T2DM):
                w *= 0.6
            return w * (0.4 + 2.0 * b)
        # Township rather than village: children and the working-age more, chronic refills less.
        w = 1.5 if age < 15 else (0.8 if age >= 60 else 1.1)
        if f & (popmod.HTN | popmod.T2DM):
            w *= 0.6
        return w * (0.7 + b)

    def _visit(self, rng: random.Random, i: int, tier: int, on: int) -> Item:
        age, age_days = self._age(i, on)
        sex = self.pop.sex[i]
        if tier == VILLAGE:
            inst = self._village_of(rng, i)
        elif tier == TOWNSHIP:
            inst = self._township_of(rng, i)
        elif tier == HOSPITAL:
            inst = self._hospital(rng, age, sex, "visit")
        else:
            inst = self._out(rng)
        em_share = self.r.emergency_share[min(tier, HOSPITAL)]
        emergency = tier != OUT and rng.random() < em_share
        dx, dept = self.ctx.codes.visit(rng, min(tier, HOSPITAL), age, sex, self._tags(i), emergency)
        if emergency and inst.kind != "township":
            dept = "JZK"
        return Item(i, inst, "emergency" if emergency else "outpatient", on, None, [dx], dept, age=age,
                    age_days=age_days, claim=tier == OUT)

    # ---- stays -----------------------------------------------------------------------------

    def stays(self, day: date) -> list[Item]:
        rng = stream(self.ctx.seed, self.ctx.year, "stays", day.toordinal())
        o = day.toordinal()
        plans: list[tuple[int, str, int | None, int | None]] = []  # (resident, kind, admission, weight)
        alive = self.pop.alive_on
        for i in self.pop.deliveries.get(o, ()):
            if alive(i, o):
                plans.append((i, "delivery", None, None))
        for i, admission, weight in self.pop.newborn_stays.get(o, ()):
            if alive(i, o):
                plans.append((i, "newborn", admission, weight))
        for i in self.pop.terminal.get(o, ()):  # the last stay of a resident dying in hospital today
            plans.append((i, "terminal", None, None))
        for i in self._draw(rng, self.pop.stay_cum, poisson(rng, self.stay_base * _season(day)), o - 90, o):
            plans.append((i, "general", None, None))
        insured = [k for k, pl in enumerate(plans) if self.pop.scheme[pl[0]] != popmod.UNINSURED]
        out_counts = self.out_quota.split(len(insured))
        out_cat = assign(rng, insured, out_counts, lambda k, c: self._out_weight(plans[k], o))
        is_out = {k for k, c in zip(insured, out_cat, strict=True) if c == 1}
        local = [k for k in range(len(plans)) if k not in is_out]
        prim_counts = self.primary_quota.split(len(local))
        prim_cat = assign(rng, local, prim_counts, lambda k, c: self._primary_weight(plans[k], o))
        level_of = {k: (PRIMARY if c == 1 else SECONDARY) for k, c in zip(local, prim_cat, strict=True)}
        items = []
        for k, (i, kind, planned_admission, birth_weight) in enumerate(plans):
            items.append(self._stay(rng, i, kind, planned_admission, birth_weight, o,
                                    OUT if k in is_out else level_of[k]))
        return items

    def _out_weight(self, plan: tuple[int, str, int | None, int | None], on: int) -> float:
        i, kind = plan[0], plan[1]
        age = (on - self.pop.birth[i]) // 365
        w = 1.2 if 15 <= age < 60 else 0.8
        if self.pop.scheme[i] == popmod.EMPLOYEE_SCHEME:
            w *= 1.5
        w *= {"delivery": 0.6, "newborn": 1.5}.get(kind, 1.0)
        return w * (0.4 + 2.0 * self._bypass(i))

    def _primary_weight(self, plan: tuple[int, str, int | None, int | None], on: int) -> float:
        i, kind = plan[0], plan[1]
        age = (on - self.pop.birth[i]) // 365
        w = 1.5 if age >= 60 else (0.7 if age < 15 else 1.0)
        w *= {"delivery": 0.5, "newborn": 0.3}.get(kind, 1.0)
        return w * (1.6 - self._bypass(i))

    def _stay(self, rng: random.Random, i: int, kind: str, admission: int | None, weight: int | None, discharge: int,
              where: int) -> Item:
        sex = self.pop.sex[i]
        age_now = (discharge - self.pop.birth[i]) // 365
        if where == OUT:
            inst = self._out(rng)
        elif where == PRIMARY:
            inst = self._township_of(rng, i)
        else:
            inst = self._hospital(rng, age_now, sex, kind)
        level = TERTIARY if where == OUT else inst.level
        codes = self.ctx.codes
        if kind == "newborn":
            assert weight is not None
            sc = codes.newborn(rng, weight)
        else:
            age0, _ = self._age(i, discharge)
            sc = codes.stay(rng, level, age0, sex, self._tags(i),
                            "delivery" if kind == "delivery" else ("infant" if age0 == 0 else "general"))
        if admission is None:
            mean = self.r.los_days[level] * sc.los
            los = max(1, min(60, round(lognormal_mean(rng, mean, 0.45))))
            admission = max(self.pop.birth[i], discharge - los)
        age, age_days = self._age(i, admission)
        if kind == "newborn" or (age_days is not None and age_days <= 28):
            weight = weight or max(2500, min(4500, round(rng.gauss(3300, 400))))
        else:
            weight = None
        # 离院方式: "5" (死亡) only for the last stay of a resident dying in hospital (``lifecycle.py``).
        u = rng.random()
        mode = "2" if u < 0.02 else ("4" if u < 0.04 else ("3" if u < 0.05 and where != PRIMARY else "1"))
        if kind == "terminal":
            mode = "5"
        it = Item(i, inst, "inpatient", admission, discharge, sc.diagnoses, sc.dept, sc.procedures, age, age_days,
                  weight, mode, claim=where == OUT)
        mean_cost = self.r.inpatient_cost[level] * sc.cost / self.cost_norm[level]
        it.cost = max(30_000, round(lognormal_mean(rng, mean_cost, 0.5) * 100))
        return it

    # ---- writing ---------------------------------------------------------------------------

    def _visit_cost(self, rng: random.Random, it: Item) -> int:
        oc = self.r.outpatient_cost
        if it.claim:
            mean = oc[3] * 1.15
        elif it.inst.kind == "village":
            mean = oc[0]
        elif it.inst.kind == "township":
            mean = oc[1]
        else:
            mean = oc[3] if it.inst.level == TERTIARY else oc[2]
        if it.kind == "emergency":
            mean *= 1.4
        return max(500, round(lognormal_mean(rng, mean, 0.6) * 100))

    def build(self, day: date, items: list[Item]) -> DayRows:
        """The day's encounter and settlement rows, driver-ready, without their ids (the writer
        reserves those when it writes, so generation never touches the connection)."""
        ctx = self.ctx
        rng = stream(ctx.seed, ctx.year, "costs", day.toordinal())
        received = datetime.combine(day + timedelta(days=1), time(2, 0), SHANGHAI).astimezone(UTC)
        received_v: Any = received if self.w.postgres else received.strftime("%Y-%m-%d %H:%M:%S.%f")
        dates: dict[int, Any] = {}

        def dv(o: int) -> Any:  # a date ordinal as the driver takes it, once per distinct day
            v = dates.get(o)
            if v is None:
                v = dates[o] = self.date_value(date.fromordinal(o))
            return v

        enc_rows, set_rows = [], []
        year = ctx.year
        seq, first_id, scheme_of = self.seq, self.pop.first_id, self.pop.scheme
        settle, row, staff = self.settler.settle, self.settler.row, self._staff
        for it in items:
            inst = it.inst
            kind, end, claim = it.kind, it.end, it.claim
            source_system = self.net.insurance_source if claim else inst.source_system
            n = seq.get(source_system, 0) + 1
            seq[source_system] = n
            prefix = "YB" if claim else _PREFIX[kind]
            dept_id, pool = staff(inst, "JZK" if kind == "emergency" and "JZK" in inst.departments else it.dept_key)
            procs = it.procs
            enc_rows.append((
                source_system, f"{prefix}{year}{n:08d}", first_id + it.i, inst.id, dept_id,
                rng.choice(pool) if pool else None, kind, dv(it.start), dv(end) if end is not None else None,
                max(1, end - it.start) if end is not None else None, it.mode, it.age, it.age_days,
                it.weight_g, it.dx[0], "|".join(it.dx), procs[0] if procs else None,
                "|".join(procs) if procs else None, None, received_v))
            inpatient = kind == "inpatient"
            total = it.cost if inpatient else self._visit_cost(rng, it)
            place = ("out_of_county_unreferred" if claim else ("primary" if inst.is_primary else "county"))
            st = settle(rng, total, inpatient, place, scheme_of[it.i], inst.kind == "village")
            settled_on = dv(end if end is not None else it.start)
            set_rows.append(row(settled_on, not claim, "insurance" if claim else "his", st))
        return DayRows(day, items, enc_rows, set_rows)

    def _staff(self, inst: Inst, dept_key: str) -> tuple[int | None, list[int]]:
        """(department id, its physicians) — ``Inst.department`` and ``Inst.physician``'s pool, cached:
        ``rng.choice(pool)`` then draws exactly as ``Inst.physician`` does."""
        key = (inst.id, dept_key)
        got = self._staff_cache.get(key)
        if got is None:
            dept_id = inst.department(dept_key)
            pool = inst.physicians.get(dept_id) or inst.physicians.get(None)
            if not pool:
                pool = [p for ps in inst.physicians.values() for p in ps]
            got = self._staff_cache[key] = (dept_id, pool or [])
        return got


#: Days are written together until this many encounters: small counties then make a few dozen
#: round trips instead of a thousand.  Ids are reserved in day order, so batching never changes them.
WRITE_BATCH = 20_000


def run(ctx: SimContext, track: Tracker) -> None:
    year = CareYear(ctx)
    track.total(year.days)
    day = date(ctx.year, 1, 1)
    pending: list[DayRows] = []
    size = 0
    # Generation (Python) overlaps with the database's work on the previous days (index
    # maintenance, constraint checks): the writer thread holds the connection alone.
    with BackgroundWriter(ctx, year.w, _flush) as writer:
        for _ in range(year.days):
            items = year.visits(day) + year.stays(day)
            if items:
                pending.append(year.build(day, items))
                size += len(items)
            if size >= WRITE_BATCH:
                writer.submit(pending)
                pending, size = [], 0
            day += timedelta(days=1)
            track.advance()
        if pending:
            writer.submit(pending)


def _flush(ctx: SimContext, w: Writer, days: list[DayRows]) -> None:
    first = w.reserve(Encounter.__table__, sum(len(d.encounters) for d in days))  # type: ignore[arg-type]
    enc: list[tuple[Any, ...]] = []
    sett: list[tuple[Any, ...]] = []
    starts = []
    for d in days:
        base = first + len(enc)
        starts.append(base)
        enc.extend((base + k, *r) for k, r in enumerate(d.encounters))
        sett.extend((base + k, *r) for k, r in enumerate(d.settlements))
    ctx.add_rows("encounter", w.rows(Encounter.__table__, ENCOUNTER_COLS, enc, adapt=False))  # type: ignore[arg-type]
    ctx.add_rows("settlement", w.rows(Settlement.__table__, SETTLEMENT_COLS, sett, adapt=False))  # type: ignore[arg-type]
    for d, base in zip(days, starts, strict=True):
        batch = DayBatch(d.day, base, d.items)
        for hook in DAY_HOOKS:
            hook(ctx, d.day, batch)


register_stage(Stage("care", "一年的门诊与住院", 400, run))
