"""Population stage: residents, insurance enrolment, key populations, registration.

Residents are generated in logical blocks (``rng.BLOCK``), each from its own stream, and
written in larger batches with ``copy_rows``.  ID numbers are never stored in clear: the
keyed hash, the ciphertext and the masked form only (ARCHITECTURE.md).  What the year of
care needs about each resident stays in compact arrays (``Population``), a few tens of
bytes a head, so a 1 M county fits well inside the memory budget.
"""

from __future__ import annotations

import random
from array import array
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from typing import Any
from zoneinfo import ZoneInfo

from yilian.db.models import CareRelationship, InsuranceEnrolment, KeyPopulation, Resident
from yilian.residents.crypto import cipher
from yilian.residents.idcard import make_id_number, mask_id_number, mask_phone
from yilian.simulation import demography as demo
from yilian.simulation import names
from yilian.simulation.pipeline import SimContext, Stage, Tracker, register_stage
from yilian.simulation.rng import BLOCK, stream
from yilian.simulation.writer import Writer

# Condition flags (bits of Population.flags).
HTN, T2DM, PREGNANT, DISABLED, POVERTY, MENTAL, TB = 1, 2, 4, 8, 16, 32, 64
FLAG_CODES = ((HTN, "hypertension"), (T2DM, "t2dm"), (PREGNANT, "pregnant"), (DISABLED, "disabled"),
              (POVERTY, "poverty"), (MENTAL, "severe_mental"), (TB, "tuberculosis"))
UNINSURED, RESIDENT_SCHEME, EMPLOYEE_SCHEME = 0, 1, 2
SCHEMES = ("self_pay", "resident", "employee")
WRITE_BLOCKS = 20  # blocks per write batch: memory vs. round trips; does not change the data
SHANGHAI = ZoneInfo("Asia/Shanghai")
PREGNANCY_DAYS, POSTPARTUM_DAYS = 280, 42


@dataclass
class Population:
    """Per-resident facts the year of care reads, indexed 0..n-1; resident id = first_id + index."""

    first_id: int
    n: int
    birth: array[int] = field(default_factory=lambda: array("i"))  # date ordinal
    sex: bytearray = field(default_factory=bytearray)
    township: array[int] = field(default_factory=lambda: array("H"))
    village: array[int] = field(default_factory=lambda: array("i"))  # index into Network villages
    scheme: bytearray = field(default_factory=bytearray)
    flags: bytearray = field(default_factory=bytearray)
    bypass: bytearray = field(default_factory=bytearray)  # 0..255: propensity to skip primary care
    visit_cum: array[float] = field(default_factory=lambda: array("d"))
    stay_cum: array[float] = field(default_factory=lambda: array("d"))
    deliveries: dict[int, list[int]] = field(default_factory=dict)  # due-day ordinal → residents
    newborn_stays: dict[int, list[tuple[int, int, int]]] = field(default_factory=dict)  # discharge → (i, adm, g)
    #: Date of death (ordinal), 0 while alive; filled by the lifecycle stage (``lifecycle.py``).  Residents
    #: are drawn for care only on days before it.
    death: array[int] = field(default_factory=lambda: array("i"))
    terminal: dict[int, list[int]] = field(default_factory=dict)  # death day → residents dying in hospital

    def alive_on(self, i: int, day: int) -> bool:
        """Born on or before ``day`` and not dead by then (a death day has no care but its last stay's)."""
        death = self.death
        return self.birth[i] <= day and (not death or death[i] == 0 or death[i] > day)

    def append(self, birth: int, sex: int, township: int, village: int, scheme: int, flags: int, bypass: int,
               death: int) -> None:
        """One more resident in the arrays (births; the care weights are rebuilt by ``care_weights``)."""
        self.birth.append(birth)
        self.sex.append(sex)
        self.township.append(township)
        self.village.append(village)
        self.scheme.append(scheme)
        self.flags.append(flags)
        self.bypass.append(bypass)
        self.death.append(death)
        self.n += 1


@dataclass(frozen=True)
class _Params:
    bands: list[demo.Band]
    band_cum: list[float]
    htn_k: float
    t2dm_k: float
    dis_k: float
    employee_p: float
    pregnancy_k: float


def _params(ctx: SimContext) -> _Params:
    r = ctx.preset.rates
    bands = demo.pyramid(r.rural_skew)
    # Employee scheme: working-age adults and retirees; the rate is scaled so the total lands.
    elig = ((18, 1.0), (60, 0.8))
    e_num, _ = demo.band_mean(bands, elig, 0)
    employee_p = r.insurance[1] / (1 - r.insurance[2]) / e_num if e_num else 0.0
    # Pregnancies with a due date in [1 Jan, 31 Dec + 273 days]: those due inside the year give
    # the year's deliveries, which should come to births_per_1000.
    f_num, _ = demo.band_mean(bands, demo.FERTILITY_SHAPE, 15, 49, female_only=True)
    window = 365 + PREGNANCY_DAYS - 7
    pregnancy_k = r.births_per_1000 / 1000 * window / 365 / f_num if f_num else 0.0
    dis_num, _ = demo.band_mean(bands, demo.DISABILITY_SHAPE, 0)
    return _Params(bands, list(accumulate(b.share for b in bands)),
                   demo.scale_to(bands, demo.HTN_SHAPE, r.hypertension_adult),
                   demo.scale_to(bands, demo.T2DM_SHAPE, r.t2dm_adult),
                   r.disability / dis_num if dis_num else 0.0, employee_p, pregnancy_k)


def run(ctx: SimContext, track: Tracker) -> None:
    net = ctx.network
    assert net is not None, "structure stage must run first"
    n = ctx.residents
    w = Writer(ctx.conn)
    first_id = w.reserve(Resident.__table__, n) if n else 1  # type: ignore[arg-type]
    pop = Population(first_id, n)
    ctx.population = pop
    params = _params(ctx)
    track.total(n)
    gen = _Generator(ctx, pop, params)
    blocks = (n + BLOCK - 1) // BLOCK
    for start in range(0, blocks, WRITE_BLOCKS):
        batch = _Batch()
        for b in range(start, min(blocks, start + WRITE_BLOCKS)):
            gen.block(b, batch)
        batch.write(w, ctx)
        track.advance(batch.residents)


class _Batch:
    def __init__(self) -> None:
        self.residents = 0
        self.resident_rows: list[tuple[Any, ...]] = []
        self.enrolments: list[tuple[Any, ...]] = []
        self.keypops: list[tuple[Any, ...]] = []
        self.relations: list[tuple[Any, ...]] = []

    def write(self, w: Writer, ctx: SimContext) -> None:
        ctx.add_rows("resident", w.rows(Resident.__table__, _RESIDENT_COLS, self.resident_rows))  # type: ignore[arg-type]
        ctx.add_rows("insurance_enrolment", w.rows(InsuranceEnrolment.__table__,  # type: ignore[arg-type]
                                                   _ENROL_COLS, self.enrolments))
        ctx.add_rows("key_population", w.rows(KeyPopulation.__table__, _KEYPOP_COLS, self.keypops))  # type: ignore[arg-type]
        ctx.add_rows("care_relationship", w.rows(CareRelationship.__table__,  # type: ignore[arg-type]
                                                 _REL_COLS, self.relations))


_RESIDENT_COLS = ("id", "id_hash", "id_cipher", "id_masked", "name", "sex", "birth_date", "phone_cipher",
                  "phone_masked", "address_division_code", "address_detail_cipher", "created_at", "updated_at")
_ENROL_COLS = ("resident_id", "scheme", "insured_division_code", "start_on", "end_on")
_KEYPOP_COLS = ("resident_id", "code", "since", "until")
_REL_COLS = ("resident_id", "institution_id", "kind", "since", "until")


class _Generator:
    def __init__(self, ctx: SimContext, pop: Population, params: _Params) -> None:
        net = ctx.network
        assert net is not None
        self.ctx, self.pop, self.p = ctx, pop, params
        self.r = ctx.preset.rates
        self.cipher = cipher()
        self.ref = date(ctx.year, 12, 31)  # ages are as of the year's last day
        self.start = date(ctx.year, 1, 1)
        self.start_ord, self.end_ord = self.start.toordinal(), self.ref.toordinal()
        self.created = datetime.combine(self.start, time(), SHANGHAI).astimezone(UTC)
        self.county = ctx.preset.county_code
        self.other_div = ctx.preset.place.city_district[0]
        self.town_cum = list(accumulate(t.weight for t in net.townships))
        self.townships = net.townships
        self.village_base: list[int] = list(accumulate([0] + [len(t.villages) for t in net.townships]))[:-1]
        self.seq: dict[tuple[str, int, int], int] = {}  # (division, birth ordinal, sex) → numbers issued

    def _id_number(self, rng: random.Random, birth: date, sex: int) -> str:
        division = self.county if rng.random() < 0.92 else self.other_div
        for div in (division, self.county, self.other_div, self.ctx.preset.place.city[0]):
            key = (div, birth.toordinal(), sex)
            k = self.seq.get(key, 0)
            if k < 500:  # 500 sequence codes per sex, division and birth date
                self.seq[key] = k + 1
                return make_id_number(div, birth, 2 * k, sex)
        raise RuntimeError("ID sequence space exhausted")  # > 2,000 people born on one day

    def block(self, b: int, batch: _Batch) -> None:
        rng = stream(self.ctx.seed, self.ctx.year, "population", b)
        lo, hi = b * BLOCK, min(self.pop.n, (b + 1) * BLOCK)
        for i in range(lo, hi):
            self._resident(rng, i, batch)
        batch.residents += hi - lo

    def _resident(self, rng: random.Random, i: int, batch: _Batch) -> None:
        p, pop, r = self.p, self.pop, self.r
        band = p.bands[_bisect(p.band_cum, rng.random() * p.band_cum[-1])]
        age = rng.randint(band.lo, band.hi)
        sex = 1 if rng.random() < band.male else 2
        # Born uniformly inside the year of life that makes them ``age`` on the reference day.
        first = date(self.ref.year - age - 1, 12, 31).toordinal() + 1
        born = date.fromordinal(rng.randint(first, date(self.ref.year - age, 12, 31).toordinal()))
        t = _bisect(self.town_cum, rng.random() * self.town_cum[-1])
        town = self.townships[t]
        v = rng.randrange(len(town.villages))
        rid = pop.first_id + i
        since = max(self.start, born)
        # Identity: ID number, name, phone, address — stored hashed, sealed and masked.
        idn = self._id_number(rng, born, sex)
        phone = names.mobile(rng) if rng.random() < 0.92 else None
        village_name = names.village_name(t, v)
        detail = f"{town.name}{village_name}{rng.randint(1, 12)}组{rng.randint(1, 80)}号"
        c = self.cipher
        batch.resident_rows.append((
            rid, c.lookup_hash(idn), c.encrypt(idn), mask_id_number(idn), names.person_name(rng, sex), sex, born,
            c.encrypt(phone) if phone else None, mask_phone(phone) if phone else None, town.code,
            c.encrypt(detail), self.created, self.created))
        # Insurance.
        u = rng.random()
        scheme = UNINSURED
        if u >= r.insurance[2]:
            elig = 0.0 if age < 18 else (1.0 if age < 60 else 0.8)
            scheme = EMPLOYEE_SCHEME if rng.random() < p.employee_p * elig else RESIDENT_SCHEME
            batch.enrolments.append((rid, SCHEMES[scheme], self.county, since, None))
        # Conditions recorded as key populations.
        flags = 0
        if age >= demo.ADULT:
            if rng.random() < demo.prevalence(demo.HTN_SHAPE, p.htn_k, age):
                flags |= HTN
            if rng.random() < demo.prevalence(demo.T2DM_SHAPE, p.t2dm_k, age):
                flags |= T2DM
            if rng.random() < r.severe_mental:
                flags |= MENTAL
        if rng.random() < demo.prevalence(demo.DISABILITY_SHAPE, p.dis_k, age):
            flags |= DISABLED
        if rng.random() < r.poverty:
            flags |= POVERTY
        if rng.random() < r.tuberculosis:
            flags |= TB
        due = None
        if sex == 2 and rng.random() < p.pregnancy_k * demo.rate(demo.FERTILITY_SHAPE, age):
            due = self.start_ord + rng.randrange(365 + PREGNANCY_DAYS - 7)
            if due - PREGNANCY_DAYS > born.toordinal() + 15 * 365:
                flags |= PREGNANT
            else:
                due = None
        for bit, code in FLAG_CODES:
            if flags & bit:
                batch.keypops.append((rid, code, *self._keypop_period(rng, bit, born, due)))
        if due is not None and due <= self.end_ord:
            pop.deliveries.setdefault(due, []).append(i)
        # Registration with the village clinic and the township centre (their public-health record).
        batch.relations.append((rid, town.centre.id, "registered", since, None))
        batch.relations.append((rid, town.villages[v].id, "registered", since, None))
        # What the year of care reads.
        pop.birth.append(born.toordinal())
        pop.sex.append(sex)
        pop.township.append(t)
        pop.village.append(self.village_base[t] + v)
        pop.scheme.append(scheme)
        pop.flags.append(flags)
        pop.bypass.append(min(255, int(rng.betavariate(2, 5) * 256)))
        vw, sw = care_weights(age, sex, flags)
        pop.visit_cum.append((pop.visit_cum[-1] if pop.visit_cum else 0.0) + vw)
        pop.stay_cum.append((pop.stay_cum[-1] if pop.stay_cum else 0.0) + sw)
        if born >= self.start and rng.random() < r.sick_newborn_share:
            self._newborn_stay(rng, i, born)

    def _keypop_period(self, rng: random.Random, bit: int, born: date, due: int | None) -> tuple[date, date | None]:
        if bit == PREGNANT and due is not None:
            return date.fromordinal(due - PREGNANCY_DAYS), date.fromordinal(due + POSTPARTUM_DAYS)
        if bit == POVERTY:
            return max(born, date(min(2014, self.ctx.year), 1, 1) + timedelta(days=rng.randrange(300))), None
        earliest = born.toordinal() + (30 * 365 if bit in (HTN, T2DM) else 0)
        latest = self.start_ord - 1
        if earliest >= latest:
            return date.fromordinal(max(born.toordinal(), min(earliest, latest))), None
        return date.fromordinal(rng.randint(earliest, latest)), None

    def _newborn_stay(self, rng: random.Random, i: int, born: date) -> None:
        stay = newborn_stay(rng, born.toordinal())
        if stay[0] <= self.end_ord:
            self.pop.newborn_stays.setdefault(stay[0], []).append((i, stay[1], stay[2]))


def care_weights(age: int, sex: int, flags: int) -> tuple[float, float]:
    """(visit, stay) weights of a resident: age gradient, conditions, women of child-bearing age."""
    vw = demo.rate(demo.VISIT_RATE, age) * (1.6 if flags & HTN else 1.0) * (1.6 if flags & T2DM else 1.0)
    if sex == 2 and 15 <= age < 50:
        vw *= 1.15
    if flags & PREGNANT:
        vw *= 2.0
    sw = demo.rate(demo.STAY_RATE, age) * (1.4 if flags & HTN else 1.0) * (1.5 if flags & T2DM else 1.0)
    return vw, sw


def newborn_stay(rng: random.Random, born: int) -> tuple[int, int, int]:
    """A sick newborn's stay: (discharge, admission, birth weight in grams), discharged within 28 days."""
    u = rng.random()
    if u < 0.03:
        weight = rng.randint(800, 1499)
    elif u < 0.10:
        weight = rng.randint(1500, 1999)
    elif u < 0.25:
        weight = rng.randint(2000, 2499)
    else:
        weight = max(2500, min(5000, round(rng.gauss(3350, 400))))
    admission = born + (0 if rng.random() < 0.6 else rng.randint(1, 10))
    los = max(2, round(rng.gauss(7 if weight >= 2500 else 14, 3)))
    return min(admission + los, born + 28), admission, weight  # still a newborn at discharge


def _bisect(cum: list[float], x: float) -> int:
    lo, hi = 0, len(cum) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cum[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


register_stage(Stage("population", "居民", 200, run))
