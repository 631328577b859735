"""Structure stage: divisions, institutions, departments, staff and consortia of one county.

Written through the registry services (with the ``simulate`` system principal), so the
generated network obeys the same rules and audit trail as one typed in by hand — it is
small (hundreds to a few thousand rows), so the per-row service cost does not matter.

Scaling (SYNTHETIC.md): one township centre per ≈ 30 k residents (at least 3, so each
community has one), one village clinic per ≈ 1,500 residents (2–20 per township); staff
follow the residents; the county and out-of-county hospitals do not multiply.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from yilian.core.errors import Conflict
from yilian.registry import consortia, service
from yilian.registry.schemas import ConsortiumIn, DivisionIn, InstitutionIn, MemberIn, PracticeSiteIn, PractitionerIn
from yilian.simulation import names
from yilian.simulation.pipeline import SimContext, Stage, Tracker, register_stage
from yilian.simulation.presets import Hospital, Preset
from yilian.simulation.rng import stream

RESIDENTS_PER_TOWNSHIP = 30_000
RESIDENTS_PER_VILLAGE = 1_500
MIN_TOWNSHIPS = 3

# Care levels used by costs, lengths of stay and case mix.
PRIMARY, SECONDARY, TERTIARY = 0, 1, 2

# Departments by kind of institution: (key, name).  Keys are what encounters ask for.
_DEPTS = {
    "A100": (("NK", "内科"), ("WK", "外科"), ("FCK", "妇产科"), ("EK", "儿科"), ("JZK", "急诊科"),
             ("ZYK", "中医科")),
    "A210": (("NK", "内科"), ("WK", "外科"), ("ZYK", "中医科"), ("ZJK", "针灸推拿科"), ("JZK", "急诊科")),
    "G100": (("FCK", "妇产科"), ("EK", "儿科"), ("ERBJ", "儿童保健科"), ("JZK", "急诊科")),
    "township": (("QK", "全科医疗科"), ("ZYK", "中医科"), ("FCK", "妇产科")),
}
# Where a department key falls back to when an institution lacks it.
_FALLBACK = {"NK": ("QK", "ZYK", "FCK", "EK"), "WK": ("QK", "NK", "FCK"), "FCK": ("QK", "NK", "WK"),
             "EK": ("QK", "NK", "ERBJ", "FCK"), "JZK": ("QK", "NK", "WK", "FCK"), "ZYK": ("QK", "NK"),
             "QK": ("NK", "ZYK", "FCK")}
_TITLES_HOSPITAL = (("junior", 35), ("intermediate", 35), ("associate_senior", 20), ("senior", 10))
_TITLES_PRIMARY = (("junior", 55), ("intermediate", 35), ("associate_senior", 9), ("senior", 1))


@dataclass
class Inst:
    id: int
    code: str
    name: str
    kind: str  # village | township | hospital | out
    level: int  # PRIMARY | SECONDARY | TERTIARY
    category: str
    is_primary: bool
    in_county: bool
    township: int | None = None
    departments: dict[str, int] = field(default_factory=dict)
    physicians: dict[int | None, list[int]] = field(default_factory=dict)  # department id → practitioner ids

    @property
    def source_system(self) -> str:
        return f"HIS-{self.code}"

    def department(self, key: str) -> int | None:
        if not self.departments:
            return None
        if key in self.departments:
            return self.departments[key]
        for alt in _FALLBACK.get(key, ()):
            if alt in self.departments:
                return self.departments[alt]
        return next(iter(self.departments.values()))

    def physician(self, rng: random.Random, department_id: int | None) -> int | None:
        pool = self.physicians.get(department_id) or self.physicians.get(None)
        if not pool:
            pool = [p for ps in self.physicians.values() for p in ps]
        return rng.choice(pool) if pool else None


@dataclass
class Township:
    index: int
    code: str  # 9-digit division
    name: str
    weight: float  # share of the county's residents
    centre: Inst
    villages: list[Inst] = field(default_factory=list)


@dataclass
class Network:
    county_code: str
    townships: list[Township]
    hospitals: dict[str, Inst]  # in-county hospitals by Hospital.key
    out_of_county: list[Inst]  # city tertiary hospitals, then the provincial one
    insurance_source: str = "YB-CLAIMS"

    @property
    def institutions(self) -> list[Inst]:
        out = list(self.hospitals.values()) + self.out_of_county
        for t in self.townships:
            out.append(t.centre)
            out.extend(t.villages)
        return out


def township_count(residents: int) -> int:
    return max(MIN_TOWNSHIPS, round(residents / RESIDENTS_PER_TOWNSHIP))


def run(ctx: SimContext, track: Tracker) -> None:
    p = ctx.preset
    rng = stream(ctx.seed, ctx.year, "structure")
    n_town = township_count(ctx.residents)
    weights = [rng.uniform(0.6, 1.5) * (1.8 if i == 0 else 1.0) for i in range(n_town)]
    total_w = sum(weights)
    weights = [w / total_w for w in weights]
    villages_per = [max(2, min(20, round(ctx.residents * w / RESIDENTS_PER_VILLAGE))) for w in weights]
    # One unit of progress per institution and per practitioner batch.
    track.total(len(p.hospitals) + len(p.out_of_county) + n_town + sum(villages_per) + len(p.communities))
    b = _Builder(ctx, rng)
    b.divisions(n_town)
    hospitals = {h.key: b.hospital(h, p.place.county[0], in_county=True, track=track) for h in p.hospitals}
    out = [b.hospital(h, p.place.capital_district[0] if i == len(p.out_of_county) - 1 else p.place.city_district[0],
                      in_county=False, track=track) for i, h in enumerate(p.out_of_county)]
    townships = []
    for i in range(n_town):
        name = p.place.townships[i] if i < len(p.place.townships) else names.township_name(i)
        code = f"{p.county_code}{100 + i:03d}"
        pop = ctx.residents * weights[i]
        centre = b.township_centre(i, code, name, pop, track)
        t = Township(i, code, name, weights[i], centre)
        for v in range(villages_per[i]):
            t.villages.append(b.village(t, v, pop / villages_per[i], track))
        townships.append(t)
    b.communities(p, hospitals, townships, track)
    ctx.network = Network(p.county_code, townships, hospitals, out)


class _Builder:
    def __init__(self, ctx: SimContext, rng: random.Random) -> None:
        self.ctx, self.rng, self.s, self.actor = ctx, rng, ctx.session, ctx.actor
        self.prefix = ctx.preset.place.prefix
        self.on = ctx.year_start

    def divisions(self, n_town: int) -> None:
        pl = self.ctx.preset.place
        rows = [(pl.province, "province", None), (pl.city, "city", pl.province[0]),
                (pl.county, "county", pl.city[0]), (pl.city_district, "county", pl.city[0])]
        if pl.capital[0] != pl.city[0]:
            rows.append((pl.capital, "city", pl.province[0]))
        rows.append((pl.capital_district, "county", pl.capital[0]))
        for (code, name), level, parent in rows:
            service.do_upsert_division(self.s, self.actor, DivisionIn(code=code, name=name, level=level,
                                                                       parent_code=parent))
        for i in range(n_town):
            name = pl.townships[i] if i < len(pl.townships) else names.township_name(i)
            service.do_upsert_division(self.s, self.actor, DivisionIn(
                code=f"{pl.county[0]}{100 + i:03d}", name=name, level="township", parent_code=pl.county[0]))
        self.ctx.add_rows("division", len(rows) + n_town)

    def _create(self, data: InstitutionIn, kind: str, level: int, township: int | None = None) -> Inst:
        inst = service.do_create_institution(self.s, self.actor, data)
        self.ctx.add_rows("institution", 1)
        return Inst(inst.id, inst.code, inst.name, kind, level, inst.category, inst.is_primary_care,
                    inst.in_county, township)

    def _departments(self, inst: Inst, kinds: tuple[tuple[str, str], ...]) -> None:
        for key, name in kinds:
            dept = service.do_create_department(self.s, self.actor, inst.code, key, name)
            inst.departments[key] = dept.id
        self.ctx.add_rows("department", len(kinds))

    def _staff(self, inst: Inst, physicians: int, others: dict[str, int], primary: bool) -> None:
        titles = _TITLES_PRIMARY if primary else _TITLES_HOSPITAL
        depts: list[tuple[str, int | None]] = list(inst.departments.items()) or [("", None)]
        n = 0
        for category, count in (("physician", physicians), *others.items()):
            for _ in range(count):
                n += 1
                sex = 1 if self.rng.random() < (0.55 if category == "physician" else 0.15) else 2
                dept_key, dept_id = depts[(n - 1) % len(depts)] if category == "physician" else ("", None)
                title = self.rng.choices([t for t, _ in titles], [w for _, w in titles])[0]
                p = service.do_create_practitioner(self.s, self.actor, PractitionerIn(
                    code=f"{inst.code}-{n:03d}", name=names.person_name(self.rng, sex), category=category,
                    title_level=title, institution_code=inst.code,
                    department_code=dept_key or None), registered_on=self.on)
                if category == "physician":
                    inst.physicians.setdefault(dept_id, []).append(p.id)
        self.ctx.add_rows("practitioner", n)

    def hospital(self, h: Hospital, division: str, *, in_county: bool, track: Tracker) -> Inst:
        level = TERTIARY if h.level == "3" else SECONDARY
        inst = self._create(InstitutionIn(
            code=f"{self.prefix}-{h.key}", name=h.name, category=h.category, level=h.level, grade=h.grade,
            ownership=h.ownership, beds=h.beds, division_code=division, in_county=in_county),
            "hospital" if in_county else "out", level)
        self._departments(inst, _DEPTS.get(h.category, _DEPTS["A100"]))
        staff = h.physicians if in_county else 12  # out-of-county staff only sign their claims
        self._staff(inst, staff, {"nurse": staff // 2 if in_county else 0, "pharmacist": 3 if in_county else 0,
                                  "technician": 3 if in_county else 0}, primary=False)
        track.advance()
        return inst

    def township_centre(self, i: int, division: str, name: str, pop: float, track: Tracker) -> Inst:
        central = i == 0 or i % 4 == 0
        inst = self._create(InstitutionIn(
            code=f"{self.prefix}-T{i + 1:02d}-WSY", name=f"{name}{'中心' if central else ''}卫生院",
            category="C210" if central else "C220", level="unrated", beds=max(20, round(pop / 800)),
            division_code=division), "township", PRIMARY, i)
        self._departments(inst, _DEPTS["township"])
        self._staff(inst, max(4, round(pop / 2500)), {"nurse": max(3, round(pop / 3000)), "pharmacist": 1,
                                                      "public_health": 1}, primary=True)
        track.advance()
        return inst

    def village(self, t: Township, v: int, pop: float, track: Tracker) -> Inst:
        inst = self._create(InstitutionIn(
            code=f"{self.prefix}-T{t.index + 1:02d}-C{v + 1:02d}",
            name=f"{t.name}{names.village_name(t.index, v)}卫生室",
            category="D600", level="unrated", division_code=t.code, parent_code=t.centre.code),
            "village", PRIMARY, t.index)
        self._staff(inst, 2 if pop > 2000 else 1, {}, primary=True)
        track.advance()
        return inst

    def communities(self, p: Preset, hospitals: dict[str, Inst], townships: list[Township], track: Tracker) -> None:
        county = p.county_code
        for ci, c in enumerate(p.communities):
            code = f"{self.prefix}-{c.key}"
            consortia.do_create_consortium(self.s, self.actor, ConsortiumIn(
                code=code, name=c.name, mode="county_community", integration="tight", level="county",
                type=c.type, division_code=county, lead_code=hospitals[c.lead].code,
                established_on=self.on))
            members = [hospitals[k].code for k in c.extra_members]
            mine = [t for t in townships if t.index % len(p.communities) == ci]
            for t in mine:
                members.append(t.centre.code)
                members.extend(v.code for v in t.villages)
            for m in members:
                consortia.do_add_member(self.s, self.actor, code, MemberIn(institution_code=m, joined_on=self.on))
            self.ctx.add_rows("consortium", 1)
            self.ctx.add_rows("consortium_membership", 1 + len(members))
            self._dispatch(hospitals[c.lead], mine)
            track.advance()

    def _dispatch(self, lead: Inst, townships: list[Township]) -> None:
        """Lead-hospital doctors posted to the community's townships: one long-term (≥ 6 months)
        and one short support posting per township (SYNTHETIC.md; fed by the consortium rule)."""
        pool = [p for ps in lead.physicians.values() for p in ps]
        if not pool:
            return
        from yilian.db.models import Practitioner

        for k, t in enumerate(townships):
            for j, (start, end) in enumerate(((self.on, self.on.replace(month=9, day=30)),
                                              (self.on.replace(month=3), self.on.replace(month=3, day=31)))):
                doctor = self.s.get(Practitioner, pool[(2 * k + j) % len(pool)])
                assert doctor is not None
                try:
                    service.do_add_practice_site(self.s, self.actor, doctor.code, PracticeSiteIn(
                        institution_code=t.centre.code, valid_from=start, valid_to=end))
                except Conflict:  # the same doctor already posted there (small counties reuse doctors)
                    continue
                self.ctx.add_rows("practice_site", 1)


register_stage(Stage("structure", "机构与人员", 100, run))
