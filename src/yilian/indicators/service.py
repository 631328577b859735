"""Use cases of the indicators feature: compute, snapshots, dashboards' data, drill-down.

Access: the CLI is an operator command (no login, every unit).  Pages and API need a login:
commission and insurance officers see the units of their division, consortium managers their
consortium and its institutions, system administrators everything; other roles are refused.
Snapshots are computed for the whole database and filtered to what the reader may see.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from yilian.core.clock import today_local, utcnow
from yilian.core.errors import Forbidden, NotFound, ValidationFailed
from yilian.core.paging import Page, PageRequest
from yilian.db.models.indicators import IndicatorSnapshot, IndicatorSnapshotRow
from yilian.identity import audit
from yilian.identity import repository as identity_repository
from yilian.identity.principal import Principal, division_prefix
from yilian.identity.roles import Role
from yilian.indicators import catalogue, drill, engine, periods, repository
from yilian.indicators.catalogue import Cut, Indicator
from yilian.indicators.periods import Period
from yilian.indicators.queries.units import units as unit_list
from yilian.indicators.values import IndicatorRow, Status, exact
from yilian.residents.idcard import mask_name

Progress = Callable[[str], None]
VIEW_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.COMMISSION_OFFICER, Role.INSURANCE_OFFICER, Role.CONSORTIUM_MANAGER})
MANAGE_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.COMMISSION_OFFICER})
PAGE_CUTS = (Cut.COUNTY, Cut.CONSORTIUM, Cut.INSTITUTION)


# ---- access --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Access:
    """What a reader may see: every unit, or the county row and listed units."""

    everything: bool = False
    county: bool = False
    institutions: frozenset[str] = frozenset()
    consortia: frozenset[str] = frozenset()
    grids: frozenset[str] = frozenset()
    manage: bool = False

    def sees(self, cut: Cut, unit: str) -> bool:
        if self.everything:
            return True
        if cut == Cut.COUNTY:
            return self.county
        if cut == Cut.INSTITUTION:
            return unit in self.institutions
        if cut == Cut.CONSORTIUM:
            return unit in self.consortia
        return unit in self.grids


OPERATOR = Access(everything=True, county=True, manage=True)


def access_of(session: Session, actor: Principal) -> Access:
    grants = [g for g in actor.grants if g.role in VIEW_ROLES]
    if not grants:
        raise Forbidden("您的角色无权查看监测指标。", code="indicators_forbidden")
    manage = any(g.role in MANAGE_ROLES for g in grants)
    if any(g.role == Role.SYSTEM_ADMIN for g in grants):
        return Access(everything=True, county=True, manage=True)
    today = today_local()
    county = False
    inst_ids: set[int] = set()
    cons_ids: set[int] = set()
    for g in grants:
        if g.division_code:
            prefix = division_prefix(g.division_code)
            county |= any(code.startswith(prefix) for code in repository.county_divisions(session))
            inst_ids |= identity_repository.division_institution_ids(session, prefix)
            cons_ids |= repository.consortia_in_division(session, prefix)
        if g.consortium_id is not None:
            cons_ids.add(g.consortium_id)
            inst_ids |= identity_repository.consortium_institution_ids(session, g.consortium_id, today)
    institutions = frozenset(i.code for i in repository.institutions_by_ids(session, inst_ids))
    consortia = frozenset(repository.consortium_codes(session, cons_ids))
    grids = frozenset(repository.grids_of_consortia(session, cons_ids))
    return Access(False, county, institutions, consortia, grids, manage)


def _check_manage(access: Access) -> None:
    if not access.manage:
        raise Forbidden("只有系统管理员和卫健委工作人员可以计算和保存指标。", code="indicators_manage_forbidden")


def _check_sees(access: Access, cut: Cut, unit: str) -> None:
    if not access.sees(cut, unit):
        raise Forbidden("您无权查看该单位的指标。", code="indicators_unit_forbidden", cut=cut.value, unit=unit)


# ---- compute and snapshots -----------------------------------------------------------------


def compute(session: Session, period_raw: str, cut_raw: str = "county", *,
            basis: engine.Basis = engine.Basis.AGGREGATE, progress: Progress | None = None,
            as_of: datetime | None = None) -> list[IndicatorRow]:
    """The operator's computation (CLI): every code, every unit of the cut."""
    return engine.compute(session, periods.parse(period_raw), catalogue.parse_cut(cut_raw), basis=basis,
                          progress=progress, as_of=as_of)


def compute_for(session: Session, actor: Principal, period_raw: str, cut_raw: str) -> list[IndicatorRow]:
    """A live computation for a reader, filtered to the units they may see."""
    access = access_of(session, actor)
    cut = catalogue.parse_cut(cut_raw)
    rows = engine.compute(session, periods.parse(period_raw), cut)
    return [r for r in rows if access.sees(cut, r.unit)]


def do_store_snapshot(session: Session, actor: Principal | None, period_raw: str, cut_raw: str, *,
                      progress: Progress | None = None, as_of: datetime | None = None) -> IndicatorSnapshot:
    """Compute a period and cut and store it, replacing the previous snapshot (idempotent).
    ``actor`` None is the operator (CLI)."""
    if actor is not None:
        _check_manage(access_of(session, actor))
    period = periods.parse(period_raw)
    cut = catalogue.parse_cut(cut_raw)
    moment = as_of or utcnow()
    rows = engine.compute(session, period, cut, progress=progress, as_of=moment)
    who = actor.username if actor is not None else "operator"
    snap = repository.replace_snapshot(session, period.label, cut, catalogue.version(), moment, who, rows)
    if actor is not None:
        audit.record(session, actor, "create", "indicator_snapshot", snap.id,
                     after={"period": period.label, "cut": cut.value, "rows": len(rows)})
    return snap


def snapshot_plan(period_raw: str, *, months: bool = True, cuts: Sequence[Cut] = PAGE_CUTS) -> list[tuple[str, Cut]]:
    """What ``store all`` stores: the period for every cut, and its months for the county and consortia
    (the dashboards' trends)."""
    period = periods.parse(period_raw)
    plan = [(period.label, c) for c in cuts]
    if months and period.kind != periods.PeriodKind.MONTH:
        plan += [(m.label, c) for m in period.months() for c in cuts if c in (Cut.COUNTY, Cut.CONSORTIUM)]
    return plan


def do_store_snapshots(session: Session, actor: Principal | None, period_raw: str, *, months: bool = True,
                       cuts: Sequence[Cut] = PAGE_CUTS, progress: Progress | None = None) -> list[IndicatorSnapshot]:
    as_of = utcnow()
    out = []
    for label, cut in snapshot_plan(period_raw, months=months, cuts=cuts):
        if progress:
            progress(f"{label} {catalogue.CUT_NAMES_ZH[cut]}")
        out.append(do_store_snapshot(session, actor, label, cut.value, as_of=as_of))
    return out


def row_of(r: IndicatorSnapshotRow, period: str, cut: Cut, unit_name: str = "") -> IndicatorRow:
    ind = catalogue.get(r.code)
    value = None if r.value is None else Decimal(r.value).quantize(
        Decimal(1) if ind.is_count else Decimal("0.01") if ind.measure.value in ("yuan", "days")
        else Decimal("0.0001"))
    return IndicatorRow(r.code, ind.name, period, cut, r.unit, r.group_code,
                        exact(r.numerator, ind.num_quantity), exact(r.denominator, ind.den_quantity), value,
                        Status(r.status), r.reason, unit_name)


def stored_rows(session: Session, access: Access, period_raw: str, cut_raw: str, *,
                codes: Iterable[str] | None = None, units: Iterable[str] | None = None) -> tuple[
                    IndicatorSnapshot | None, list[IndicatorRow]]:
    """A stored snapshot's rows the reader may see (None when the period and cut were never stored)."""
    period = periods.parse(period_raw)
    cut = catalogue.parse_cut(cut_raw)
    snap = repository.snapshot(session, period.label, cut)
    if snap is None:
        return None, []
    rows = repository.snapshot_rows(session, [snap.id], codes=codes, units=units)
    return snap, [row_of(r, period.label, cut) for r in rows if access.sees(cut, r.unit)]


def unit_names(session: Session, cut: Cut, codes: Iterable[str]) -> dict[str, str]:
    return repository.unit_names(session, cut, codes)


def named(row: IndicatorRow, names: dict[str, str]) -> IndicatorRow:
    return replace(row, unit_name=names.get(row.unit, "全县" if not row.unit else row.unit))


def read_snapshot(session: Session, actor: Principal, period_raw: str, cut_raw: str) -> tuple[
        IndicatorSnapshot | None, list[IndicatorRow]]:
    return stored_rows(session, access_of(session, actor), period_raw, cut_raw)


def list_snapshots(session: Session, actor: Principal) -> list[IndicatorSnapshot]:
    access_of(session, actor)
    return repository.list_snapshots(session)


# ---- drill-down ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DrillRow:
    record_kind: str
    record_id: int
    day: date | None
    institution: str
    resident: str  # masked name
    resident_id_masked: str
    in_numerator: bool
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Drill:
    indicator: Indicator
    period: Period
    cut: Cut
    unit: str
    group: str
    part: str
    page: Page[DrillRow]


def _yuan_cents(v: Any) -> Decimal:
    return (Decimal(int(v or 0)) / 100).quantize(Decimal("0.01"))


def drill_down(session: Session, actor: Principal, code: str, period_raw: str, cut_raw: str, unit: str,
               group: str, part: str, page: PageRequest, *, as_of: datetime | None = None) -> Drill:
    """The records behind a number, paged, with masked personal data; every resident shown is an
    audited read."""
    access = access_of(session, actor)
    ind = catalogue.get(code)
    period = periods.parse(period_raw)
    cut = catalogue.parse_cut(cut_raw)
    _check_sees(access, cut, unit)
    if ind.code not in engine.implemented_codes():
        raise NotFound("该指标的数据来源尚未上线，暂无明细。", code="drill_source_pending", indicator=code)
    if group and group not in ind.groups:
        raise ValidationFailed(f"指标 {code} 没有分组“{group}”。", code="drill_group_invalid")
    if unit not in {u.code for u in unit_list(session, cut, period)}:
        raise NotFound("统计单位不存在。", code="indicator_unit_not_found", unit=unit)
    q = drill.query(ind, period, cut, unit, group, part, as_of=as_of or utcnow())
    total, raw = repository.page_of(session, q.stmt, q.order, page.offset, page.size)
    residents = repository.residents_by_ids(session, [r["resident_id"] for r in raw if r.get("resident_id")])
    names = {} if q.care else {i.id: i.name for i in repository.institutions_by_ids(
        session, {r["institution_id"] for r in raw if r.get("institution_id")})}
    items: list[DrillRow] = []
    for r in raw:
        res = residents.get(r.get("resident_id") or 0)
        detail: dict[str, Any] = {}
        if q.care:
            detail = {"kind": r["kind"], "start_date": r["start_date"], "end_date": r["end_date"],
                      "total_cost": _yuan_cents(r["total_cost_cents"]), "fund_paid": _yuan_cents(r["fund_cents"]),
                      "drug_cost": _yuan_cents(r["drug_cents"]), "bed_days": r["bed_days"]}
            institution = str(r["institution_name"])
        else:
            institution = names.get(r.get("institution_id") or 0, "")
            for key in ("weight", "item_code"):
                if key in r:
                    detail[key] = r[key]
        items.append(DrillRow(str(r["record_kind"]), int(r["record_id"]), r["day"], institution,
                              mask_name(res.name) if res else "", (res.id_masked or "") if res else "",
                              bool(r["in_numerator"]), detail))
    what = f"指标明细 {code} {period.label} {cut.value}:{unit or '全县'} {part}"
    for rid in sorted(residents):
        audit.record_read(session, actor, rid, what)
    return Drill(ind, period, cut, unit, group, part, Page(items, total, page.number, page.size))
