"""The grouper: a rule pack compiled once into lookups and closures, then ``group(case)``.

The procedure is the pack README's "Grouping procedure" (MDC order → entry rule → ADRG
order → ``on_no_adrg`` → MCC/CC split with exclusion tables; optional QY step).

Two paths compute the same result:

* the fast path (:meth:`Grouper.group`) looks the principal diagnosis up in a
  precomputed *plan*: the MDCs whose entry can hold for that principal, each with the
  ADRGs that can match it, and each rule reduced to what remains once ``pdx`` is known
  to hold (:func:`~yilian.payment.drg.expr.assume`). A plain ``pdx`` ADRG then costs no
  call at all, and a case tries only a handful of closures;
* the explain path (``explain=True``) walks every MDC and ADRG in order with the full
  rules and records each step. It does not use the plans, so the property tests that
  compare both paths check the index too.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from yilian.payment.drg.case import (
    MAX_AGE_DAYS,
    MAX_AGE_YEARS,
    CaseError,
    DrgCase,
    Reason,
    age_error,
    sex_error,
    shown,
)
from yilian.payment.drg.expr import TRUE, Check, Node, Pred, RuleEnv, assume, compile_rule, implies
from yilian.payment.drg.pack import AdrgDef, MdcDef, RulePack, collector_paused, load_pack
from yilian.payment.drg.result import (
    UNGROUPED_DRG,
    AdrgTried,
    GroupResult,
    MdcTried,
    SecondaryChecked,
    Status,
    Trace,
)

PDX = Pred("pdx")
PPROC_OR = Pred("pproc_or")

PPROC = Pred("pproc")

# Hot-path shapes are tuples because unpacking them in a loop is the cheapest access.
Levels = tuple[GroupResult, GroupResult, GroupResult]  # result at complication level 0, 1, 2
Outcome = tuple[GroupResult | None, Levels | None]  # a fixed result, or one per level
# One step inside an MDC: (residual check or None, run or None, fixed result, levels). A *run*
# replaces consecutive ADRGs whose whole remaining rule is ``pproc``: principal procedure →
# the outcome of the first of them listing it, one dict lookup instead of a call per ADRG.
Item = tuple[Check | None, dict[str, Outcome] | None, GroupResult | None, Levels | None]
# an MDC: (residual entry check or None, its candidate items, its definition)
Step = tuple[Check | None, tuple[Item, ...], MdcDef]
# an MDC's index: (residual entry, definition, principal → candidate items, items for other codes)
_MdcIndex = tuple[Check | None, MdcDef, dict[str, tuple[Item, ...]], tuple[Item, ...]]
# Explain path: (code, rule text, full check, fixed result or None, by level or None, is QY)
FullItem = tuple[str, str, Check, GroupResult | None, Levels | None, bool]


@dataclass(frozen=True, slots=True)
class _Candidate:
    """An ADRG (or the QY step) before indexing: its residual rule given ``pdx`` where implied."""

    check: Check | None
    table: frozenset[str] | None  # table 1 when the residual is exactly ``pproc``
    outcome: Outcome
    needs_pdx: bool
    dx_list: frozenset[str]


class Grouper:
    """A compiled rule pack. Build once per pack (:func:`load_grouper`), group many cases."""

    def __init__(self, pack: RulePack) -> None:
        self.pack = pack
        self._known_dx = pack.known_diagnoses()
        self._known_px = pack.known_procedures()
        self._exclusion = pack.exclusion
        # One lookup per secondary: code → (2 = MCC / 1 = CC, its exclusion table).
        self._complication = {c: (1, t) for c, t in pack.cc.items()} | {c: (2, t) for c, t in pack.mcc.items()}
        self._full: list[tuple[MdcDef, Check, tuple[FullItem, ...]]] = []
        self._plans: dict[str, tuple[Step, ...]] = {}
        self._compile()

    # --- compilation -------------------------------------------------------------------------

    def _result(
        self, mdc: str, adrg: str, drg: str, split: str | None, reason: str = "", message: str = ""
    ) -> GroupResult:
        return GroupResult(Status.GROUPED, drg, mdc, adrg, split, reason, message, self.pack.name, self.pack.version)

    def _outcomes(self, adrg: AdrgDef) -> tuple[GroupResult | None, Levels | None]:
        """An unsplit ADRG has one fixed result; a split one a result per complication level
        (0 none, 1 CC, 2 MCC): the first DRG whose split holds at that level."""
        drgs = self.pack.drgs[adrg.code]
        if len(drgs) == 1:
            return self._result(adrg.mdc, adrg.code, drgs[0].code, drgs[0].split), None
        levels = tuple(
            next(self._result(adrg.mdc, adrg.code, d.code, d.split) for d in drgs if _holds(d.split, lv))
            for lv in (0, 1, 2)
        )
        return None, (levels[0], levels[1], levels[2])

    def _compile(self) -> None:
        pack = self.pack
        mdc_keys: list[tuple[bool, frozenset[str]]] = []
        per_mdc: list[_MdcIndex] = []
        for mdc in pack.mdcs:
            dx_list = pack.mdc_dx.get(mdc.code, frozenset())
            parts = pack.parts.get(mdc.code, {})
            env = RuleEnv(dx_list, {}, pack.or_procedures, parts)
            entry_needs_pdx = implies(mdc.entry, PDX)
            residual_entry = _compiled(_residual(mdc.entry, entry_needs_pdx), env)
            full_items, candidates = self._items(mdc, parts)
            self._full.append((mdc, compile_rule(mdc.entry, env), tuple(full_items)))
            by_key, default = _index_items(candidates)
            per_mdc.append((residual_entry, mdc, by_key, default))
            mdc_keys.append((entry_needs_pdx, dx_list))
        self._build_plans(per_mdc, mdc_keys)

    def _items(self, mdc: MdcDef, parts: dict[str, str]) -> tuple[list[FullItem], list[_Candidate]]:
        pack = self.pack
        adrgs = pack.adrgs.get(mdc.code, ())
        full: list[FullItem] = []
        fast: list[_Candidate] = []
        for adrg in adrgs:
            dx_list = pack.adrg_dx.get(adrg.code, frozenset())
            tables = pack.adrg_proc.get(adrg.code, {})
            env = RuleEnv(dx_list, tables, pack.or_procedures, parts)
            fixed, levels = self._outcomes(adrg)
            full.append((adrg.code, adrg.rule_text, compile_rule(adrg.rule, env), fixed, levels, False))
            needs = implies(adrg.rule, PDX)
            residual = _residual(adrg.rule, needs)
            table = tables.get(1) if residual == PPROC else None
            fast.append(_Candidate(_compiled(residual, env), table, (fixed, levels), needs, dx_list))
        # QY: right after the MDC's surgical ADRGs. Not in an MDC entered by an OR principal
        # procedure (the pre-MDC): every case there has one, so QY would swallow the
        # fall-through to the organ MDCs that such an MDC exists for (README, known difference 3).
        if pack.qy and not implies(mdc.entry, PPROC_OR):
            at = max((i + 1 for i, a in enumerate(adrgs) if a.kind == "surgical"), default=0)
            qy = self._qy(mdc)
            orp = pack.or_procedures

            def has_or(c: DrgCase) -> bool:
                return not orp.isdisjoint(c.procedures)

            full.insert(at, (qy.drg, "有手术室手术", has_or, qy, None, True))
            fast.insert(at, _Candidate(has_or, None, (qy, None), False, frozenset()))
        return full, fast

    def _qy(self, mdc: MdcDef) -> GroupResult:
        code = f"{mdc.letter}QY"
        message = f"歧义组：有手术室手术，但不符合 {mdc.code} 的任何手术 ADRG"
        return self._result(mdc.code, code, code, None, Reason.QY, message)

    def _build_plans(self, per_mdc: list[_MdcIndex], mdc_keys: list[tuple[bool, frozenset[str]]]) -> None:
        """Prepare ``_plan_for``: which MDCs can admit a principal, by code.

        Plans are built lazily, on a principal's first case, and kept: a pack names
        ~30,000 principals and building them all would cost more start-up than a typical
        file uses; a run sees each distinct principal once.
        """
        self._per_mdc = per_mdc
        self._always = [i for i, (needs_pdx, _) in enumerate(mdc_keys) if not needs_pdx]
        admitting: dict[str, list[int]] = defaultdict(list)  # code → MDCs whose list holds it
        for i, (needs_pdx, dx_list) in enumerate(mdc_keys):
            if needs_pdx:
                for code in dx_list:
                    admitting[code].append(i)
        self._admitting = dict(admitting)
        self._interned: dict[tuple[int, ...], tuple[Step, ...]] = {}

    def _plan_for(self, key: str) -> tuple[Step, ...]:
        """The MDC steps that can admit principal ``key``, in evaluation order (cached)."""
        steps: list[Step] = []
        for i in sorted([*self._always, *self._admitting.get(key, ())]):
            entry, mdc, by_key, default = self._per_mdc[i]
            steps.append((entry, by_key.get(key, default), mdc))
        signature = tuple(id(s[1]) for s in steps) + tuple(id(s[2]) for s in steps)
        plan = self._plans[key] = self._interned.setdefault(signature, tuple(steps))
        return plan

    # --- grouping ----------------------------------------------------------------------------

    def group(self, case: DrgCase, explain: bool = False) -> GroupResult:
        """Group one case. ``explain=True`` adds a :class:`Trace` (slower path, same result)."""
        if explain:
            return self._group_explained(case)
        problem = self.check(case)
        if problem is not None:
            return self.reject(problem)
        entered: list[str] = []
        dx, px = case.diagnoses, case.procedures
        pproc = px[0] if px else ""  # "" is no code (packs refuse empty codes)
        plan = self._plans.get(dx[0])
        if plan is None:
            plan = self._plan_for(dx[0])
        for entry, items, mdc in plan:
            if entry is not None and not entry(case):
                continue
            for check, run, fixed, levels in items:
                if run is not None:
                    hit = run.get(pproc)
                    if hit is None:
                        continue
                    fixed, levels = hit
                elif check is not None and not check(case):
                    continue
                if fixed is not None:
                    return fixed
                assert levels is not None
                return levels[self._level(dx)]
            entered.append(mdc.code)
            if mdc.on_no_adrg == "ungrouped":
                return self._ungrouped(entered, stopped=True)
        return self._ungrouped(entered, stopped=False)

    def _level(self, dx: tuple[str, ...]) -> int:
        """2 when a secondary counts as MCC, 1 when only a CC counts, else 0."""
        if len(dx) < 2:
            return 0
        table = self._exclusion.get(dx[0])
        get = self._complication.get
        level = 0
        for code in dx[1:]:
            found = get(code)
            if found is not None and found[1] != table:
                if found[0] == 2:
                    return 2
                level = 1
        return level

    def check(self, case: DrgCase) -> CaseError | None:
        """Why ``case`` cannot be grouped at all (README / PAYMENT.md ``invalid``), or None."""
        if case.sex != 1 and case.sex != 2:
            return sex_error(case.sex)
        years, days = case.age_years, case.age_days
        if not 0 <= years <= MAX_AGE_YEARS:
            return age_error(f"年龄（岁）{years} 不在 0–{MAX_AGE_YEARS} 之内")
        if years == 0 and days is not None and not 0 <= days <= MAX_AGE_DAYS:
            return age_error(f"年龄（天）{days} 不在 0–{MAX_AGE_DAYS} 之内")
        dx = case.diagnoses
        if not dx or not dx[0]:
            return CaseError(Reason.NO_DIAGNOSIS, "没有主要诊断")
        weight = case.birth_weight_g
        if weight is not None and weight < 0:
            return CaseError(Reason.INVALID_BIRTH_WEIGHT, f"出生体重 {weight} 不能为负数")
        if years == 0 and days is not None and days <= 28 and not weight:
            return CaseError(Reason.NEWBORN_WITHOUT_WEIGHT, f"新生儿（出生 {days} 天）缺少出生体重")
        if not self._known_dx.issuperset(dx):
            bad = next(c for c in dx if c not in self._known_dx)
            return CaseError(
                Reason.UNKNOWN_DIAGNOSIS, f"诊断编码「{shown(bad)}」既不在规则包的字典中，也不在其规则表中"
            )
        px = case.procedures
        if px and not self._known_px.issuperset(px):
            bad = next(c for c in px if c not in self._known_px)
            what = f"手术操作编码「{shown(bad)}」" if bad else "主要手术操作编码为空，"
            return CaseError(Reason.UNKNOWN_PROCEDURE, f"{what}既不在规则包的字典中，也不在其规则表中")
        return None

    def reject(self, problem: CaseError) -> GroupResult:
        return GroupResult(
            Status.INVALID,
            UNGROUPED_DRG,
            None,
            None,
            None,
            problem.reason,
            f"无效病例：{problem.message}",
            self.pack.name,
            self.pack.version,
        )

    def _ungrouped(self, entered: list[str], stopped: bool) -> GroupResult:
        if not entered:
            reason, message = Reason.NO_MDC, "未能入组：没有满足入组规则的 MDC"
        else:
            message = f"未能入组：进入过 {'、'.join(entered)}，但没有符合的 ADRG"
            if stopped:
                message += f"（{entered[-1]} 规定不再尝试其他 MDC）"
            reason = Reason.NO_ADRG
        return GroupResult(
            Status.UNGROUPED,
            UNGROUPED_DRG,
            None,
            None,
            None,
            reason,
            message,
            self.pack.name,
            self.pack.version,
        )

    # --- explain -----------------------------------------------------------------------------

    def _group_explained(self, case: DrgCase) -> GroupResult:
        problem = self.check(case)
        if problem is not None:
            return self.reject(problem)
        steps: list[MdcTried | AdrgTried] = []
        entered: list[str] = []
        for mdc, entry, items in self._full:
            admitted = entry(case)
            steps.append(MdcTried(mdc.code, mdc.entry_text, admitted))
            if not admitted:
                continue
            for code, rule, check, fixed, levels, is_qy in items:
                matched = check(case)
                steps.append(AdrgTried(code, rule, matched))
                if not matched:
                    continue
                if is_qy:
                    assert fixed is not None
                    return replace(fixed, trace=Trace(tuple(steps)))
                table, secondaries, level = self._secondaries(case.diagnoses)
                result = fixed if fixed is not None else levels[level] if levels is not None else None
                assert result is not None
                return replace(result, trace=Trace(tuple(steps), table, secondaries))
            entered.append(mdc.code)
            if mdc.on_no_adrg == "ungrouped":
                return replace(self._ungrouped(entered, stopped=True), trace=Trace(tuple(steps)))
        return replace(self._ungrouped(entered, stopped=False), trace=Trace(tuple(steps)))

    def _secondaries(self, dx: tuple[str, ...]) -> tuple[int | None, tuple[SecondaryChecked, ...], int]:
        """Classify every secondary (README step 4); deliberately independent of :meth:`_level`."""
        pack = self.pack
        table = pack.exclusion.get(dx[0])
        checked: list[SecondaryChecked] = []
        level = 0
        for code in dx[1:]:
            kind, own = ("mcc", pack.mcc[code]) if code in pack.mcc else ("cc", pack.cc.get(code))
            if own is None:
                checked.append(SecondaryChecked(code, "", None, False))
                continue
            excluded = table is not None and own == table
            checked.append(SecondaryChecked(code, kind, own, excluded))
            if not excluded:
                level = max(level, 2 if kind == "mcc" else 1)
        return table, tuple(checked), level


def _holds(split: str, level: int) -> bool:
    """README step 4: ``mcc`` needs a counting MCC, ``mcc_or_cc`` either, ``none`` nothing."""
    return level == 2 if split == "mcc" else level >= 1 if split == "mcc_or_cc" else True


def _residual(rule: Node, known_pdx: bool) -> Node:
    """What is left of ``rule`` to check once the index has established ``pdx`` (if it needs it)."""
    return assume(rule, PDX) if known_pdx else rule


def _compiled(rule: Node, env: RuleEnv) -> Check | None:
    """The closure for ``rule``; None for ``true``, which the hot loop then skips without a call."""
    return None if rule == TRUE else compile_rule(rule, env)


def _index_items(candidates: list[_Candidate]) -> tuple[dict[str, tuple[Item, ...]], tuple[Item, ...]]:
    """For each principal code, the steps that can match it (order kept), as shared tuples."""
    matching: dict[str, list[int]] = defaultdict(list)
    for i, cand in enumerate(candidates):
        if cand.needs_pdx:
            for code in cand.dx_list:
                matching[code].append(i)
    runs: dict[tuple[int, ...], dict[str, Outcome]] = {}
    default = _steps(candidates, set(), runs)
    interned: dict[tuple[int, ...], tuple[Item, ...]] = {(): default}
    by_key: dict[str, tuple[Item, ...]] = {}
    for code, indices in matching.items():
        signature = tuple(indices)
        if signature not in interned:
            interned[signature] = _steps(candidates, set(indices), runs)
        by_key[code] = interned[signature]
    return by_key, default


def _steps(
    candidates: list[_Candidate], chosen: set[int], runs: dict[tuple[int, ...], dict[str, Outcome]]
) -> tuple[Item, ...]:
    """The candidates a principal admits, with each stretch of plain ``pproc`` ones made a run."""
    steps: list[Item] = []
    stretch: list[int] = []

    def close_stretch() -> None:
        if len(stretch) == 1:
            cand = candidates[stretch[0]]
            steps.append((cand.check, None, *cand.outcome))
        elif stretch:
            key = tuple(stretch)
            if key not in runs:
                run: dict[str, Outcome] = {}
                for i in stretch:  # the first ADRG listing a procedure wins, as in try order
                    for code in candidates[i].table or ():
                        run.setdefault(code, candidates[i].outcome)
                runs[key] = run
            steps.append((None, runs[key], None, None))
        stretch.clear()

    for i, cand in enumerate(candidates):
        if cand.needs_pdx and i not in chosen:
            continue
        if cand.table is not None:
            stretch.append(i)
            continue
        close_stretch()
        steps.append((cand.check, None, *cand.outcome))
    close_stretch()
    return tuple(steps)


def load_grouper(directory: Path) -> Grouper:
    """Load, check and compile the pack in ``directory``."""
    with collector_paused():
        return Grouper(load_pack(directory))
