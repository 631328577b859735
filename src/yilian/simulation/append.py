"""``simulate county --append``: the year after the last generated one, for the network in the database.

What it refuses (nothing written, stable codes): a database never simulated (``simulate_append_empty``,
naming the command without ``--append``), a ``--year`` other than the next one
(``simulate_append_year``), ``--residents`` (``simulate_append_residents``: the population is the
network's, it changes by births and deaths only).

What it loads instead of generating (``SimContext.overrides``): the structure (institutions,
departments, physicians by township and village, in the first run's preset order) and the population
(birth date, sex, home township and village, insurance, recorded conditions, deaths, pregnancies due in
the year) — everyone a year older since ages follow the fixed birth dates.  The first run's preset gives
the place; the preset of this run (default: the last run's) gives the care pattern, so another preset
changes how care is used, not the network.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yilian.core.errors import Conflict, ValidationFailed
from yilian.db.models import (
    CareRelationship,
    Department,
    Institution,
    InsuranceEnrolment,
    KeyPopulation,
    Practitioner,
    Resident,
    SimulationRun,
)
from yilian.simulation import lifecycle
from yilian.simulation import population as popmod
from yilian.simulation.pipeline import SimContext, Tracker
from yilian.simulation.presets import Preset, get_preset
from yilian.simulation.structure import PRIMARY, SECONDARY, TERTIARY, Inst, Network, Township

_FLAG_OF = {code: bit for bit, code in popmod.FLAG_CODES}
_SCHEME_OF = {name: k for k, name in enumerate(popmod.SCHEMES)}


@dataclass(frozen=True)
class AppendPlan:
    preset: Preset  # the care pattern of this year, placed in the network's county
    network_preset: str  # the first run's preset: where the network is
    year: int
    seed: int
    alive: int  # residents alive on 1 January


def check_options(residents: int | None) -> None:
    """Refusals that need no database."""
    if residents is not None:
        raise ValidationFailed("--append 沿用数据库中已有网络的居民（随出生和死亡变化），不能再指定 --residents。",
                               code="simulate_append_residents", residents=residents)


def plan(session: Session, preset_name: str | None, year: int | None, seed: int | None) -> AppendPlan:
    """The appended year's preset, year and seed, or a refusal (the database is left alone)."""
    runs = list(session.execute(select(SimulationRun.preset, SimulationRun.seed, SimulationRun.year)
                                .order_by(SimulationRun.id)))
    if not runs:
        raise Conflict("数据库中还没有生成过网络，无法追加年度：请先运行 yilian simulate county（不带 --append）"
                       "生成第一年。", code="simulate_append_empty")
    first_preset, first_seed, _ = runs[0]
    last = max(r[2] for r in runs)
    last_preset = next(r[0] for r in reversed(runs) if r[2] == last)
    if year is not None and year != last + 1:
        raise ValidationFailed(f"--append 只能生成最后一个已生成年度（{last} 年）的下一年，即 {last + 1} 年；"
                               f"不能指定 {year} 年（去掉 --year 即可）。", code="simulate_append_year",
                               year=year, expected=last + 1)
    if last + 1 > 2100:
        raise ValidationFailed("年份须在 2000 到 2100 之间。", code="simulate_year_out_of_range")
    home = get_preset(first_preset)
    care = get_preset(preset_name or last_preset)
    # The care pattern of ``care`` in the network's place (county, hospitals, communities).
    placed = replace(care, place=home.place, hospitals=home.hospitals, communities=home.communities,
                     out_of_county=home.out_of_county)
    alive = session.scalar(select(func.count()).select_from(Resident).where(Resident.deceased_on.is_(None))) or 0
    return AppendPlan(placed, first_preset, last + 1, first_seed if seed is None else seed, int(alive))


# ---- the network ---------------------------------------------------------------------------------------


def load_network(ctx: SimContext, track: Tracker) -> None:
    s, p = ctx.session, ctx.preset
    prefix = p.place.prefix
    track.total(1)
    i_ = Institution
    insts = {code: row for code, *row in s.execute(
        select(i_.code, i_.id, i_.name, i_.category, i_.level, i_.is_primary_care, i_.in_county, i_.division_code)
        .where(i_.code.like(prefix + "-%")))}
    by_id: dict[int, Inst] = {}

    def make(code: str, kind: str, township: int | None = None) -> Inst:
        iid, name, category, level, primary, in_county, _div = insts[code]
        lvl = PRIMARY if kind in ("township", "village") else (TERTIARY if level == "3" else SECONDARY)
        inst = Inst(iid, code, name, kind, lvl, category, bool(primary), bool(in_county), township)
        by_id[iid] = inst
        return inst

    hospitals = {h.key: make(f"{prefix}-{h.key}", "hospital") for h in p.hospitals}
    out = [make(f"{prefix}-{h.key}", "out") for h in p.out_of_county]
    townships: list[Township] = []
    counts: dict[str | None, int] = {div: int(n) for div, n in s.execute(
        select(Resident.address_division_code, func.count()).where(Resident.deceased_on.is_(None))
        .group_by(Resident.address_division_code))}
    t = 0
    while f"{prefix}-T{t + 1:02d}-WSY" in insts:
        centre = make(f"{prefix}-T{t + 1:02d}-WSY", "township", t)
        code = insts[centre.code][6]
        name = centre.name.removesuffix("卫生院").removesuffix("中心")
        town = Township(t, code, name, float(counts.get(code, 0)), centre)
        v = 0
        while f"{prefix}-T{t + 1:02d}-C{v + 1:02d}" in insts:
            town.villages.append(make(f"{prefix}-T{t + 1:02d}-C{v + 1:02d}", "village", t))
            v += 1
        townships.append(town)
        t += 1
    total = sum(town.weight for town in townships) or 1.0
    for town in townships:
        town.weight /= total
    ids = list(by_id)
    for iid, key, did in s.execute(select(Department.institution_id, Department.code, Department.id)
                                   .where(Department.institution_id.in_(ids)).order_by(Department.id)):
        by_id[iid].departments[key] = did
    for iid, did, pid in s.execute(select(Practitioner.home_institution_id, Practitioner.department_id,
                                          Practitioner.id)
                                   .where(Practitioner.home_institution_id.in_(ids),
                                          Practitioner.category == "physician").order_by(Practitioner.id)):
        by_id[iid].physicians.setdefault(did, []).append(pid)
    ctx.network = Network(p.county_code, townships, hospitals, out)
    track.advance()


# ---- the population ------------------------------------------------------------------------------------


def load_population(ctx: SimContext, track: Tracker) -> None:
    """Per-resident arrays of everyone the network ever had (the dead stay, never drawn), so resident id =
    ``first_id`` + index as in the first year; ids that are not the network's residents are placeholders."""
    s, net = ctx.session, ctx.network
    assert net is not None
    start, end = ctx.year_start, ctx.year_end
    r = Resident
    lo, hi = s.execute(select(func.min(r.id), func.max(r.id))).one()
    n = 0 if lo is None else hi - lo + 1
    first_id = lo or 1
    pop = popmod.Population(first_id, n)
    pop.birth = array("i", bytes(4 * n))
    pop.sex = bytearray(n)
    pop.township = array("H", bytes(2 * n))
    pop.village = array("i", bytes(4 * n))
    pop.scheme = bytearray(n)
    pop.flags = bytearray(n)
    pop.death = array("i", [1]) * n  # placeholders until read: dead long ago
    track.total(5)
    town_of = {t.code: t.index for t in net.townships}
    village_base, village_of = [], {}
    k = 0
    for t in net.townships:
        village_base.append(k)
        for v in t.villages:
            village_of[v.id] = k
            k += 1
    for rid, sex, born, division, deceased in s.execute(
            select(r.id, r.sex, r.birth_date, r.address_division_code, r.deceased_on).order_by(r.id)):
        home = town_of.get(division)
        if home is None:
            continue
        i = rid - first_id
        pop.birth[i] = born.toordinal()
        pop.sex[i] = sex
        pop.township[i] = home
        pop.village[i] = village_base[home]
        pop.death[i] = deceased.toordinal() if deceased is not None else 0
    track.advance()
    cr = CareRelationship
    for rid, inst in s.execute(select(cr.resident_id, func.min(cr.institution_id))
                               .where(cr.kind == "registered", cr.institution_id.in_(list(village_of)))
                               .group_by(cr.resident_id)):
        pop.village[rid - first_id] = village_of[inst]
    track.advance()
    ie = InsuranceEnrolment
    for rid, scheme in s.execute(select(ie.resident_id, ie.scheme).where(
            ie.insured_division_code == net.county_code, ie.start_on <= end,
            (ie.end_on.is_(None)) | (ie.end_on >= start)).order_by(ie.id)):
        pop.scheme[rid - first_id] = _SCHEME_OF.get(scheme, popmod.UNINSURED)
    track.advance()
    kp = KeyPopulation
    for rid, code, until in s.execute(select(kp.resident_id, kp.code, kp.until).where(
            kp.since <= end, (kp.until.is_(None)) | (kp.until >= start)).order_by(kp.id)):
        i = rid - first_id
        pop.flags[i] |= _FLAG_OF.get(code, 0)
        if code == "pregnant" and until is not None:
            due = until - timedelta(days=popmod.POSTPARTUM_DAYS)
            if start <= due <= end and pop.death[i] == 0:
                pop.deliveries.setdefault(due.toordinal(), []).append(i)
    track.advance()
    pop.bypass = bytearray(lifecycle.bypass_values(ctx.seed, 0, n))
    ctx.population = pop
    track.advance()

