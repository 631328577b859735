"""Load a DRG rule pack (the layout of ``shared/data/chs-drg-1.1/README.md``) and check it.

A pack is data, versioned by ``name`` and ``version`` in ``pack.tsv``. Loading reads
every file once, parses every rule and refuses anything malformed with
``ValidationFailed`` naming the file and line, so a pack that loads can be compiled
(:mod:`yilian.payment.drg.grouper`) without further checks.
"""

from __future__ import annotations

import gc
import re
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from yilian.core.errors import ValidationFailed
from yilian.payment.drg.expr import Node, RuleSyntaxError, parse_rule, predicates
from yilian.payment.drg.tsv import PACK_INVALID, check_codes, choice, code, fail, integer, integers, read_rows

DEMO_PACK_DIR = Path(__file__).resolve().parent / "demo_pack"
SPLITS = ("mcc", "mcc_or_cc", "none")
ON_NO_ADRG = ("next_mdc", "ungrouped")
# Predicates that need a procedure make an ADRG ``surgical`` (README, adrg.tsv ``kind``).
_PROCEDURE_PREDICATES = frozenset({"pproc", "proc", "pproc_or"})
_MDC_CODE = re.compile(r"MDC[A-Z0-9]{1,3}")


@dataclass(frozen=True, slots=True)
class MdcDef:
    order: int
    code: str
    name: str
    entry: Node
    entry_text: str
    on_no_adrg: str
    line: int

    @property
    def letter(self) -> str:
        return self.code[3:]


@dataclass(frozen=True, slots=True)
class AdrgDef:
    mdc: str
    order: int
    code: str
    name: str
    kind: str
    rule: Node
    rule_text: str
    line: int


@dataclass(frozen=True, slots=True)
class DrgDef:
    adrg: str
    order: int
    code: str
    name: str
    split: str
    line: int


@dataclass(frozen=True)
class RulePack:
    directory: Path
    name: str
    version: str
    published: str
    qy: bool
    mdcs: tuple[MdcDef, ...]  # evaluation order
    adrgs: dict[str, tuple[AdrgDef, ...]]  # MDC → its ADRGs in try order
    drgs: dict[str, tuple[DrgDef, ...]]  # ADRG → its DRGs in try order
    mdc_dx: dict[str, frozenset[str]]
    parts: dict[str, dict[str, str]]  # MDC → code → body part (codes with a part only)
    adrg_dx: dict[str, frozenset[str]]
    adrg_proc: dict[str, dict[int, frozenset[str]]]
    mcc: dict[str, int]  # code → exclusion table
    cc: dict[str, int]
    exclusion: dict[str, int]  # principal code → its exclusion table
    or_procedures: frozenset[str]
    diagnosis_names: dict[str, str]  # icd10.tsv (empty when the pack ships none)
    procedure_names: dict[str, str]  # icd9cm3.tsv

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    def known_diagnoses(self) -> frozenset[str]:
        """Codes the dictionary or any rule table knows (README: the invalid-code check)."""
        known = set(self.diagnosis_names).union(self.mcc, self.cc, self.exclusion)
        for codes in (*self.mdc_dx.values(), *self.adrg_dx.values()):
            known.update(codes)
        return frozenset(known)

    def known_procedures(self) -> frozenset[str]:
        known = set(self.procedure_names).union(self.or_procedures)
        for tables in self.adrg_proc.values():
            for codes in tables.values():
                known.update(codes)
        return frozenset(known)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Loading allocates ~10^6 objects and no reference cycles; the cyclic collector would
    rescan the growing heap many times over for nothing (about a third of the load time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_pack(directory: Path) -> RulePack:
    """Read and check the pack in ``directory``; raises ``ValidationFailed`` (drg_pack_invalid)."""
    with collector_paused():
        return _load_pack(directory)


def _load_pack(directory: Path) -> RulePack:
    if not directory.is_dir():
        raise ValidationFailed(
            f"规则包目录 {directory} 不存在或不是目录",
            code=PACK_INVALID,
            file=str(directory),
            line=None,
        )
    settings = _settings(directory / "pack.tsv")
    mdcs = _mdcs(directory / "mdc.tsv")
    mdc_dx, parts = _mdc_dx(directory / "mdc_dx.tsv", {m.code for m in mdcs})
    adrgs = _adrgs(directory / "adrg.tsv", {m.code for m in mdcs})
    all_adrgs = {a.code: a for group in adrgs.values() for a in group}
    adrg_dx = _adrg_dx(directory / "adrg_dx.tsv", all_adrgs)
    adrg_proc = _adrg_proc(directory / "adrg_proc.tsv", all_adrgs)
    drgs = _drgs(directory / "drg.tsv", all_adrgs)
    mcc = _code_tables(directory / "mcc.tsv", ("code", "exclusion_table"), 0, "诊断编码")
    cc = _code_tables(directory / "cc.tsv", ("code", "exclusion_table"), 0, "诊断编码")
    _check_disjoint(directory / "cc.tsv", mcc, cc)
    pack = RulePack(
        directory=directory,
        name=settings["name"],
        version=settings["version"],
        published=settings.get("published", ""),
        qy=settings.get("qy", "off") == "on",
        mdcs=mdcs,
        adrgs=adrgs,
        drgs=drgs,
        mdc_dx=mdc_dx,
        parts=parts,
        adrg_dx=adrg_dx,
        adrg_proc=adrg_proc,
        mcc=mcc,
        cc=cc,
        exclusion=_code_tables(directory / "exclusion.tsv", ("table", "principal_code"), 1, "主要诊断编码"),
        or_procedures=frozenset(_names(directory / "or_procedures.tsv")),
        diagnosis_names=_names(directory / "icd10.tsv", optional=True),
        procedure_names=_names(directory / "icd9cm3.tsv", optional=True),
    )
    _check_rules(pack)
    return pack


# --- one reader per file -----------------------------------------------------------------------

_SETTING_VALUES: dict[str, tuple[str, ...] | None] = {
    "name": None,
    "version": None,
    "published": None,
    "qy": ("on", "off"),
}


def _settings(path: Path) -> dict[str, str]:
    settings: dict[str, str] = {}
    for line, (key, value) in enumerate(read_rows(path, ("key", "value")), start=2):
        if key not in _SETTING_VALUES:
            # An unknown switch may change grouping; ignoring it would group wrongly.
            fail(path, line, f"未知的设置项「{key}」（可用：{'、'.join(_SETTING_VALUES)}）")
        if key in settings:
            fail(path, line, f"设置项「{key}」重复")
        allowed = _SETTING_VALUES[key]
        settings[key] = choice(path, line, value, key, allowed) if allowed else value.strip()
    for key in ("name", "version"):
        if not settings.get(key):
            fail(path, None, f"缺少设置项「{key}」")
    return settings


def _rule(path: Path, line: int, text: str) -> Node:
    try:
        return parse_rule(text)
    except RuleSyntaxError as exc:
        fail(path, line, f"规则「{text}」无法解析：{exc.message}")


def _mdcs(path: Path) -> tuple[MdcDef, ...]:
    mdcs: list[MdcDef] = []
    orders: set[int] = set()
    codes: set[str] = set()
    rows = read_rows(path, ("order", "mdc", "name", "entry", "on_no_adrg"))
    for line, (order_text, mdc, name, entry, on_no_adrg) in enumerate(rows, start=2):
        order = integer(path, line, order_text, "order", minimum=1)
        if not _MDC_CODE.fullmatch(mdc):
            fail(path, line, f"MDC 编码应形如 MDCA，实为「{mdc}」")
        if order in orders or mdc in codes:
            fail(path, line, f"order {order} 或 MDC {mdc} 重复")
        orders.add(order)
        codes.add(mdc)
        rule = _rule(path, line, entry)
        for p in predicates(rule):
            if p.name in ("pproc", "proc"):
                fail(path, line, f"MDC 入组规则不能使用 ADRG 手术表谓词「{p}」")
        choice(path, line, on_no_adrg, "on_no_adrg", ON_NO_ADRG)
        mdcs.append(MdcDef(order, mdc, name, rule, entry.strip(), on_no_adrg, line))
    if not mdcs:
        fail(path, None, "没有任何 MDC")
    return tuple(sorted(mdcs, key=lambda m: m.order))


def _mdc_dx(path: Path, mdcs: set[str]) -> tuple[dict[str, frozenset[str]], dict[str, dict[str, str]]]:
    rows = read_rows(path, ("mdc", "code", "part"))
    _check_known(path, rows, mdcs, "MDC", "mdc.tsv")
    check_codes(path, rows, 1, "诊断编码")
    lists: dict[str, set[str]] = defaultdict(set)
    parts: dict[str, dict[str, str]] = defaultdict(dict)
    for line, (mdc, dx, part) in enumerate(rows, start=2):
        if dx in lists[mdc] and parts[mdc].get(dx, "") != part:
            fail(path, line, f"{mdc} 的 {dx} 重复出现且部位不同")
        lists[mdc].add(dx)
        if part:
            parts[mdc][dx] = part
    return {m: frozenset(c) for m, c in lists.items()}, dict(parts)


def _check_known(
    path: Path, rows: list[list[str]], known: set[str] | dict[str, AdrgDef], what: str, where: str
) -> None:
    """Column 0 must name a known MDC / ADRG (looked up per distinct value, not per row)."""
    unknown = {r[0] for r in rows}.difference(known)
    if unknown:
        line = next(n for n, r in enumerate(rows, start=2) if r[0] in unknown)
        fail(path, line, f"{what}「{rows[line - 2][0]}」不在 {where} 中")


def _adrgs(path: Path, mdcs: set[str]) -> dict[str, tuple[AdrgDef, ...]]:
    by_mdc: dict[str, list[AdrgDef]] = defaultdict(list)
    seen: set[str] = set()
    orders: set[tuple[str, int]] = set()
    rows = read_rows(path, ("mdc", "order", "adrg", "name", "kind", "rule"))
    for line, (mdc, order_text, adrg, name, kind, text) in enumerate(rows, start=2):
        if mdc not in mdcs:
            fail(path, line, f"MDC「{mdc}」不在 mdc.tsv 中")
        order = integer(path, line, order_text, "order", minimum=1)
        code(path, line, adrg, "ADRG 编码")
        if adrg in seen or (mdc, order) in orders:
            fail(path, line, f"ADRG {adrg} 或 {mdc} 内的 order {order} 重复")
        seen.add(adrg)
        orders.add((mdc, order))
        choice(path, line, kind, "kind", ("surgical", "medical"))
        rule = _rule(path, line, text)
        needs_procedure = any(p.name in _PROCEDURE_PREDICATES for p in predicates(rule))
        if needs_procedure != (kind == "surgical"):
            fail(
                path,
                line,
                f"kind 为 {kind}，但规则「{text}」{'需要' if needs_procedure else '不需要'}手术操作",
            )
        by_mdc[mdc].append(AdrgDef(mdc, order, adrg, name, kind, rule, text.strip(), line))
    return {m: tuple(sorted(a, key=lambda x: x.order)) for m, a in by_mdc.items()}


def _adrg_dx(path: Path, adrgs: dict[str, AdrgDef]) -> dict[str, frozenset[str]]:
    rows = read_rows(path, ("adrg", "list", "code"))
    _check_known(path, rows, adrgs, "ADRG", "adrg.tsv")
    check_codes(path, rows, 2, "诊断编码")
    for line, row in enumerate(rows, start=2):
        if row[1] != "dx":
            choice(path, line, row[1], "list", ("dx",))
    lists: dict[str, set[str]] = defaultdict(set)
    for adrg, _, dx in rows:
        lists[adrg].add(dx)
    return {a: frozenset(c) for a, c in lists.items()}


def _adrg_proc(path: Path, adrgs: dict[str, AdrgDef]) -> dict[str, dict[int, frozenset[str]]]:
    rows = read_rows(path, ("adrg", "table", "code"))
    _check_known(path, rows, adrgs, "ADRG", "adrg.tsv")
    check_codes(path, rows, 2, "手术操作编码")
    tables: dict[str, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    for (adrg, _, px), table in zip(rows, integers(path, rows, 1, "table", minimum=1), strict=True):
        tables[adrg][table].add(px)
    return {a: {n: frozenset(c) for n, c in t.items()} for a, t in tables.items()}


def _drgs(path: Path, adrgs: dict[str, AdrgDef]) -> dict[str, tuple[DrgDef, ...]]:
    by_adrg: dict[str, list[DrgDef]] = defaultdict(list)
    seen: set[str] = set()
    rows = read_rows(path, ("adrg", "order", "drg", "name", "split"))
    for line, (adrg, order_text, drg, name, split) in enumerate(rows, start=2):
        if adrg not in adrgs:
            fail(path, line, f"ADRG「{adrg}」不在 adrg.tsv 中")
        order = integer(path, line, order_text, "order", minimum=1)
        code(path, line, drg, "DRG 编码")
        if drg in seen or any(d.order == order for d in by_adrg[adrg]):
            fail(path, line, f"DRG {drg} 或 {adrg} 内的 order {order} 重复")
        seen.add(drg)
        choice(path, line, split, "split", SPLITS)
        by_adrg[adrg].append(DrgDef(adrg, order, drg, name, split, line))
    result: dict[str, tuple[DrgDef, ...]] = {}
    for adrg, definition in adrgs.items():
        drgs = tuple(sorted(by_adrg.get(adrg, ()), key=lambda d: d.order))
        if not drgs:
            fail(path.with_name("adrg.tsv"), definition.line, f"ADRG {adrg} 在 drg.tsv 中没有任何 DRG")
        # ``none`` always holds, so it must close the list: a DRG after it could never be reached.
        for d in drgs[:-1]:
            if d.split == "none":
                fail(path, d.line, f"{d.code} 的 split 为 none，但它不是 {adrg} 的最后一个 DRG")
        if drgs[-1].split != "none":
            fail(path, drgs[-1].line, f"{adrg} 的最后一个 DRG {drgs[-1].code} 的 split 应为 none")
        result[adrg] = drgs
    return result


def _code_tables(path: Path, columns: tuple[str, str], code_index: int, what: str) -> dict[str, int]:
    """code → table for mcc.tsv / cc.tsv (code, exclusion_table) and exclusion.tsv (table, code)."""
    rows = read_rows(path, columns)
    check_codes(path, rows, code_index, what)
    tables: dict[str, int] = {}
    numbers = integers(path, rows, 1 - code_index, columns[1 - code_index])
    for line, (row, table) in enumerate(zip(rows, numbers, strict=True), start=2):
        dx = row[code_index]
        if tables.setdefault(dx, table) != table:
            fail(path, line, f"{dx} 重复出现且排除表不同（{tables[dx]} 和 {table}）")
    return tables


def _check_disjoint(cc_path: Path, mcc: dict[str, int], cc: dict[str, int]) -> None:
    both = set(mcc) & set(cc)
    if both:
        rows = read_rows(cc_path, ("code", "exclusion_table"))
        line, dx = next((n, r[0]) for n, r in enumerate(rows, start=2) if r[0] in both)
        fail(cc_path, line, f"{dx} 同时在 mcc.tsv 和 cc.tsv 中")


def _names(path: Path, optional: bool = False) -> dict[str, str]:
    if optional and not path.exists():
        return {}
    rows = read_rows(path, ("code", "name"))
    check_codes(path, rows, 0)
    names: dict[str, str] = {}
    for dx, name in rows:
        names.setdefault(dx, name)
    return names


def _check_rules(pack: RulePack) -> None:
    """Each predicate must have the list or table it reads; otherwise the rule is a typo."""
    adrg_file = pack.directory / "adrg.tsv"
    mdc_file = pack.directory / "mdc.tsv"
    for mdc in pack.mdcs:
        _check_lists(mdc_file, mdc.line, mdc.entry, pack.mdc_dx.get(mdc.code), {}, pack.parts.get(mdc.code))
        for adrg in pack.adrgs.get(mdc.code, ()):
            tables = pack.adrg_proc.get(adrg.code, {})
            _check_lists(adrg_file, adrg.line, adrg.rule, pack.adrg_dx.get(adrg.code), tables, pack.parts.get(mdc.code))
            if pack.qy and adrg.code == f"{mdc.letter}QY":
                fail(adrg_file, adrg.line, f"pack.tsv 打开了 qy，ADRG 编码 {adrg.code} 与歧义组编码冲突")


def _check_lists(
    path: Path,
    line: int,
    rule: Node,
    dx_list: frozenset[str] | None,
    tables: dict[int, frozenset[str]],
    parts: dict[str, str] | None,
) -> None:
    for p in predicates(rule):
        if p.name in ("pdx", "anydx") and not dx_list:
            fail(path, line, f"规则使用「{p}」，但诊断表为空")
        if p.name in ("pproc", "proc") and (1 if p.name == "pproc" else p.arg) not in tables:
            table = 1 if p.name == "pproc" else p.arg
            fail(path, line, f"规则使用「{p}」，但 adrg_proc.tsv 中没有手术表 {table}")
        if p.name == "parts>=" and not parts:
            fail(path, line, f"规则使用「{p}」，但该 MDC 的 mdc_dx.tsv 没有部位（part）")


def resolve_pack_dir(explicit: Path | None, configured: Path | None, project_root: Path) -> Path:
    """The one lookup order (ARCHITECTURE.md): ``--rules DIR``, ``YILIAN_DRG_RULES``, the shared
    CHS-DRG 1.1 pack next to the project when present, else the built-in demo pack."""
    if explicit is not None:
        return explicit
    if configured is not None:
        return configured
    shared = project_root.parent / "shared" / "data" / "chs-drg-1.1"
    return shared if shared.is_dir() else DEMO_PACK_DIR
