"""Where diagnoses and procedures come from: a CHS-DRG rule pack when found, else the built-in list.

Lookup (SYNTHETIC.md, ARCHITECTURE.md): ``--rules DIR``, ``YILIAN_DRG_RULES``, the shared
CHS-DRG 1.1 pack (``../shared/data/chs-drg-1.1`` from the project root), else the built-in
tables of ``codes_data.py``.  The pack is read at run time, never copied into the repo.

With a pack, a stay picks an ADRG from the mix (by level, age, sex and condition), then a
principal diagnosis from that ADRG's list (the MDC's list for procedure-defined ADRGs) —
restricted to codes that enter the ADRG's MDC first, so the case reaches it instead of an
earlier MDC — and for a surgical ADRG a principal procedure from its table 1.  Secondary
diagnoses come from the CC / MCC lists.  That is what keeps ungrouped stays under 2 %.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from itertools import accumulate
from pathlib import Path

from yilian.core.errors import ConfigurationError
from yilian.simulation import codes_data as cd
from yilian.simulation.rng import pick

_PACK_FILES = ("mdc.tsv", "mdc_dx.tsv", "adrg.tsv", "adrg_dx.tsv", "adrg_proc.tsv", "cc.tsv", "mcc.tsv",
               "icd10.tsv", "icd9cm3.tsv")
_SIMPLE_RULES = {"pdx", "pproc", "pdx & pproc"}
# MDCs never drawn from the long tail: pre-MDC, newborns, HIV, multiple trauma, pregnancy.
_TAIL_EXCLUDED = {"MDCA", "MDCP", "MDCY", "MDCZ", "MDCO"}
# Entries whose principal diagnosis *is* the recorded condition: only for residents who have it.
REQUIRES_TAG = {"FV2", "KS1"}
MAX_AGE = 100
# Share of a chronic patient's / pregnant woman's visits that are for that condition.
_TAG_VISIT_SHARE = {cd.HTN: 0.45, cd.T2DM: 0.40, cd.PREGNANT: 0.35}


def project_root() -> Path:
    root = Path(__file__).resolve().parents[3]
    return root if (root / "pyproject.toml").is_file() else Path.cwd()


def resolve_rules(explicit: Path | None, configured: Path | None, root: Path | None = None) -> Path | None:
    """The pack folder to use, or None for the built-in list.  An explicit or configured folder
    must be a complete pack (refused otherwise); the shared pack is used only when present."""
    for given, origin in ((explicit, "--rules"), (configured, "YILIAN_DRG_RULES")):
        if given is not None:
            missing = [f for f in _PACK_FILES if not (given / f).is_file()]
            if missing:
                raise ConfigurationError(f"{origin} 指定的规则包目录 {given} 不完整，缺少：{'、'.join(missing)}。",
                                         code="simulate_rules_incomplete")
            return given
    shared = (root or project_root()).parent / "shared" / "data" / "chs-drg-1.1"
    return shared if all((shared / f).is_file() for f in _PACK_FILES) else None


def _rows(path: Path) -> list[list[str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines[1:] if line]


@dataclass
class Pack:
    """The parts of a rule pack the generator reads."""

    directory: Path
    mdc_order: dict[str, int]
    mdc_dx: dict[str, set[str]]
    adrg_mdc: dict[str, str]
    adrg_rule: dict[str, str]
    adrg_dx: dict[str, set[str]]
    adrg_proc1: dict[str, set[str]]
    cc: list[str]
    mcc: list[str]
    icd10: set[str]
    icd9: set[str]
    _blocked: dict[tuple[str, int], set[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, d: Path) -> Pack:
        mdc_order = {r[1]: int(r[0]) for r in _rows(d / "mdc.tsv")}
        mdc_dx: dict[str, set[str]] = {}
        for mdc, code, *_ in _rows(d / "mdc_dx.tsv"):
            mdc_dx.setdefault(mdc, set()).add(code)
        adrg_mdc, adrg_rule = {}, {}
        for mdc, _order, adrg, _name, _kind, rule in _rows(d / "adrg.tsv"):
            adrg_mdc[adrg], adrg_rule[adrg] = mdc, " ".join(rule.split())
        adrg_dx: dict[str, set[str]] = {}
        for adrg, _list, code in _rows(d / "adrg_dx.tsv"):
            adrg_dx.setdefault(adrg, set()).add(code)
        proc1: dict[str, set[str]] = {}
        for adrg, table, code in _rows(d / "adrg_proc.tsv"):
            if table == "1":
                proc1.setdefault(adrg, set()).add(code)
        icd10 = {r[0] for r in _rows(d / "icd10.tsv")}
        icd9 = {r[0] for r in _rows(d / "icd9cm3.tsv")}
        trauma = mdc_dx.get("MDCZ", set())
        # Secondaries never come from the multiple-trauma list: two body parts would pull the
        # case into MDCZ.  Sorted so that draws do not depend on set order.
        cc = sorted(c for c, *_ in _rows(d / "cc.tsv") if c in icd10 and c not in trauma)
        mcc = sorted(c for c, *_ in _rows(d / "mcc.tsv") if c in icd10 and c not in trauma)
        return cls(d, mdc_order, mdc_dx, adrg_mdc, adrg_rule, adrg_dx, proc1, cc, mcc, icd10, icd9)

    def blocked(self, mdc: str, sex: int) -> set[str]:
        """Codes that would enter an MDC tried before ``mdc`` for a patient of this sex (age ≥ 1)."""
        key = (mdc, sex)
        if key in self._blocked:
            return self._blocked[key]
        out: set[str] = set()
        for other, order in self.mdc_order.items():
            if order >= self.mdc_order[mdc] or other in ("MDCA", "MDCP", "MDCZ"):
                continue  # MDCA needs an OR procedure first, MDCP age 0, MDCZ two body parts
            if (other == "MDCM" and sex != 1) or (other == "MDCN" and sex != 2):
                continue
            out |= self.mdc_dx.get(other, set())
        self._blocked[key] = out
        return out


@dataclass
class StayCodes:
    adrg: str | None
    diagnoses: list[str]
    procedures: list[str]
    dept: str
    cost: float
    los: float


@dataclass
class _Choice:
    """One mix entry made concrete for a sex: pools to draw principal codes from."""

    entry: cd.MixEntry
    dx: tuple[str, ...]
    proc: tuple[str, ...]
    preferred_dx: tuple[str, ...]
    preferred_proc: tuple[str, ...]


@dataclass
class _Table:
    choices: list[_Choice] = field(default_factory=list)
    cum: list[float] = field(default_factory=list)

    def pick(self, rng: random.Random) -> _Choice | None:
        if not self.choices:
            return None
        return pick(rng, self.choices, self.cum)


class CodeSource:
    """Draws visit diagnoses and stay codes.  Immutable after construction; cheap per draw."""

    def __init__(self, pack: Pack | None, cc_rate: Sequence[float], mcc_rate: Sequence[float],
                 long_tail: Sequence[float]) -> None:
        self.pack = pack
        self.cc_rate, self.mcc_rate = tuple(cc_rate), tuple(mcc_rate)
        self.long_tail = tuple(long_tail) if pack is not None else (0.0, 0.0, 0.0)
        self.dropped: set[str] = set()  # preferred codes the pack does not know (reported)
        self.visit_codes = [v for v in cd.VISIT_CODES if pack is None or self._known_dx(v.code)]
        self.dropped |= {v.code for v in cd.VISIT_CODES if v not in self.visit_codes}
        self._choices: dict[tuple[cd.MixEntry, int], _Choice | None] = {}
        self._tag_code = {v.tag: v for v in reversed(self.visit_codes) if v.tag}  # first code per tag
        self._visit_tables: dict[tuple[int, int, int, bool], tuple[list[cd.VisitCode], list[float]]] = {}
        self._stay_tables: dict[tuple[str, int, int, int], _Table] = {}
        self.cc = [c for c in cd.COMMON_CC if pack is None or c in pack.cc]
        self.mcc = [c for c in cd.COMMON_MCC if pack is None or c in pack.mcc]
        self._tail = self._tail_choices() if pack is not None else {}
        self._newborn = {k: self._known_list(v) for k, v in (("preterm", cd.NEWBORN_PRETERM),
                                                             ("term", cd.NEWBORN_TERM), ("rds", cd.NEWBORN_RDS))}

    @property
    def label(self) -> str:
        if self.pack is None:
            return "builtin"
        return f"CHS-DRG pack {self.pack.directory}"

    def _known_dx(self, code: str) -> bool:
        return self.pack is None or code in self.pack.icd10

    def _known_list(self, codes: tuple[str, ...]) -> tuple[str, ...]:
        if self.pack is None:
            return codes
        ok = tuple(c for c in codes if c in self.pack.icd10 and c in self.pack.mdc_dx.get("MDCP", set()))
        return ok or codes

    # ---- visits ----------------------------------------------------------------------------

    def _visit_table(self, tier: int, age: int, sex: int, emergency: bool) -> tuple[list[cd.VisitCode], list[float]]:
        key = (tier, min(age, MAX_AGE), sex, emergency)
        table = self._visit_tables.get(key)
        if table is None:
            codes = [v for v in self.visit_codes if not v.tag and v.lo <= key[1] <= v.hi and v.sex in (0, sex)
                     and v.weights[tier] > 0 and (v.emergency or not emergency or v.weights[2] >= 4)]
            weights = [v.weights[tier] * (3.0 if emergency and v.emergency else 1.0) for v in codes]
            table = (codes, list(accumulate(weights)))
            self._visit_tables[key] = table
        return table

    def visit(self, rng: random.Random, tier: int, age: int, sex: int, tags: Sequence[str],
              emergency: bool) -> tuple[str, str]:
        """(diagnosis, department key) of a visit.  Tier: 0 village, 1 township, 2 hospital."""
        if not emergency:
            for tag in tags:
                # Chronic patients' visits are mostly their condition's follow-up and refills.
                share = _TAG_VISIT_SHARE.get(tag, 0.0) * (0.7 if tier == 2 else 1.0)
                tagged = self._tag_code.get(tag)
                if tagged is not None and rng.random() < share:
                    return tagged.code, tagged.dept
        codes, cum = self._visit_table(tier, age, sex, emergency)
        v = pick(rng, codes, cum)
        return v.code, ("EK" if age < 14 and v.dept == "NK" else v.dept)

    # ---- stays -----------------------------------------------------------------------------

    def _choice(self, e: cd.MixEntry, sex: int) -> _Choice | None:
        key = (e, sex)
        if key not in self._choices:
            self._choices[key] = self._make_choice(e, sex)
        return self._choices[key]

    def _make_choice(self, e: cd.MixEntry, sex: int) -> _Choice | None:
        pack = self.pack
        if pack is None:
            return _Choice(e, e.dx, e.proc, e.dx, e.proc) if e.dx else None
        dx_pool, proc_pool = self._pools(e.adrg, sex, newborn=e.adrg.startswith("P"))
        if not dx_pool or (e.surgical and not proc_pool):
            self.dropped.add(e.adrg)
            return None
        pdx = tuple(c for c in e.dx if c in dx_pool)
        pproc = tuple(c for c in e.proc if c in proc_pool)
        self.dropped |= {c for c in e.dx if c not in dx_pool} | {c for c in e.proc if c not in proc_pool}
        return _Choice(e, tuple(sorted(dx_pool)), tuple(sorted(proc_pool)) if e.surgical else (), pdx, pproc)

    def _pools(self, adrg: str, sex: int, newborn: bool = False) -> tuple[set[str], set[str]]:
        pack = self.pack
        assert pack is not None
        mdc = pack.adrg_mdc.get(adrg)
        rule = pack.adrg_rule.get(adrg, "")
        if mdc is None or (rule not in _SIMPLE_RULES and not newborn):
            return set(), set()
        entry = pack.mdc_dx.get(mdc, set())
        base = pack.adrg_dx.get(adrg) if rule != "pproc" else entry
        if newborn and not base:
            base = entry
        dx = {c for c in (base or set()) if c in pack.icd10 and c in entry} - pack.blocked(mdc, sex)
        proc = {c for c in pack.adrg_proc1.get(adrg, set()) if c in pack.icd9} if "pproc" in rule else set()
        return dx, proc

    def _tail_choices(self) -> dict[int, list[_Choice]]:
        pack = self.pack
        assert pack is not None
        out: dict[int, list[_Choice]] = {1: [], 2: []}
        for adrg in sorted(pack.adrg_mdc):
            mdc = pack.adrg_mdc[adrg]
            if mdc in _TAIL_EXCLUDED:
                continue
            for sex in (1, 2):
                if (mdc == "MDCM" and sex != 1) or (mdc == "MDCN" and sex != 2):
                    continue
                dx, proc = self._pools(adrg, sex)
                if not dx or ("pproc" in pack.adrg_rule[adrg] and not proc):
                    continue
                entry = cd.MixEntry(adrg, (0, 1, 1), (), ("tail",) if proc else (), lo=15,
                                    dept="WK" if proc else "NK", cost=1.6 if proc else 1.1)
                out[sex].append(_Choice(entry, tuple(sorted(dx)), tuple(sorted(proc)), (), ()))
        return out

    def _stay_table(self, kind: str, level: int, age: int, sex: int) -> _Table:
        key = (kind, level, min(age, MAX_AGE), sex)
        table = self._stay_tables.get(key)
        if table is None:
            table = _Table()
            mix = {"general": cd.STAY_MIX, "delivery": cd.DELIVERY_MIX, "infant": cd.INFANT_MIX}[kind]
            total = 0.0
            for e in mix:
                w = e.weights[level]
                if w <= 0 or not (e.lo <= key[2] <= e.hi) or e.sex not in (0, sex):
                    continue
                if kind == "general" and (e.adrg in REQUIRES_TAG or e.tag):
                    continue  # drawn through the condition boost below
                c = self._choice(e, sex)
                if c is not None:
                    total += w
                    table.choices.append(c)
                    table.cum.append(total)
            self._stay_tables[key] = table
        return table

    def _tagged(self, tag: str, level: int, age: int, sex: int) -> _Table:
        key = ("tag:" + tag, level, min(age, MAX_AGE), sex)
        table = self._stay_tables.get(key)
        if table is None:
            table = _Table()
            total = 0.0
            for e in cd.STAY_MIX:
                if e.tag == tag and e.weights[level] > 0 and e.lo <= key[2] <= e.hi and e.sex in (0, sex):
                    c = self._choice(e, sex)
                    if c is not None:
                        total += e.weights[level]
                        table.choices.append(c)
                        table.cum.append(total)
            self._stay_tables[key] = table
        return table

    def stay(self, rng: random.Random, level: int, age: int, sex: int, tags: Sequence[str],
             kind: str = "general") -> StayCodes:
        """Codes of a stay.  ``kind``: general, delivery, infant (29 days to 1 year)."""
        choice: _Choice | None = None
        if kind == "general":
            for tag in tags:
                if tag in (cd.HTN, cd.T2DM) and rng.random() < 0.30:
                    choice = self._tagged(tag, level, age, sex).pick(rng)
                    if choice is not None:
                        break
            if choice is None and self._tail and age >= 15 and rng.random() < self.long_tail[level]:
                choice = rng.choice(self._tail[sex])
        if choice is None:
            choice = self._stay_table(kind, level, age, sex).pick(rng)
        if choice is None:  # nothing fits (tiny built-in list, unusual age): a respiratory infection
            choice = self._stay_table("general", level, max(age, 15), sex).pick(rng)
            assert choice is not None
        dx = [self._draw(rng, choice.preferred_dx, choice.dx)]
        procs = [self._draw(rng, choice.preferred_proc, choice.proc)] if choice.proc else []
        self._secondaries(rng, dx, level, tags)
        e = choice.entry
        return StayCodes(e.adrg if self.pack is not None else None, dx, procs, e.dept, e.cost, e.los)

    @staticmethod
    def _draw(rng: random.Random, preferred: tuple[str, ...], pool: tuple[str, ...]) -> str:
        # Preferred (common) codes most of the time, the rest of the ADRG's list for variety.
        if preferred and (rng.random() < 0.75 or not pool):
            return rng.choice(preferred)
        return rng.choice(pool)

    def _secondaries(self, rng: random.Random, dx: list[str], level: int, tags: Sequence[str]) -> None:
        for tag in tags:
            code = cd.CONDITION_DX.get(tag)
            if code and code != dx[0] and self._known_dx(code):
                dx.append(code)
        if rng.random() < self.cc_rate[level]:
            pool = self.cc if (rng.random() < 0.8 or self.pack is None) else self.pack.cc
            if pool:
                code = rng.choice(pool)
                if code not in dx:
                    dx.append(code)
        if rng.random() < self.mcc_rate[level]:
            pool = self.mcc if (rng.random() < 0.8 or self.pack is None) else self.pack.mcc
            if pool:
                code = rng.choice(pool)
                if code not in dx:
                    dx.append(code)

    def newborn(self, rng: random.Random, weight_g: int) -> StayCodes:
        """A neonatal stay (≤ 28 days): CHS-DRG bands on birth weight (PS1–PS4), else PU1 / PR1."""
        r = rng.random()
        if weight_g < 2500 or r < 0.15:
            dx, cost, los = rng.choice(self._newborn["preterm"]), 1.6 if weight_g < 2000 else 1.0, 1.4
        elif r < 0.25:
            dx, cost, los = rng.choice(self._newborn["rds"]), 1.8, 1.3
        else:
            dx, cost, los = rng.choice(self._newborn["term"]), 0.5, 0.8
        return StayCodes("P" if self.pack is not None else None, [dx], [], "EK", cost, los)


@cache
def _load_pack(directory: Path) -> Pack:
    return Pack.load(directory)


def code_source(rules: Path | None, cc_rate: Sequence[float], mcc_rate: Sequence[float],
                long_tail: Sequence[float]) -> CodeSource:
    return CodeSource(_load_pack(rules) if rules is not None else None, cc_rate, mcc_rate, long_tail)
