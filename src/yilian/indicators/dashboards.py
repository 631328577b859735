"""What the dashboard pages show, read from stored snapshots only (never computed on a page view):
tiles per section with targets, monthly trends, comparison across consortia and institutions.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Final

from sqlalchemy.orm import Session

from yilian.core.clock import today_local
from yilian.core.errors import Forbidden, NotFound
from yilian.db.models.indicators import IndicatorSnapshot
from yilian.identity.principal import Principal
from yilian.indicators import catalogue, periods, repository
from yilian.indicators.catalogue import Cut, Indicator
from yilian.indicators.queries.units import unit_network_on
from yilian.indicators.service import Access, access_of, row_of
from yilian.indicators.values import IndicatorRow

SECTIONS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    ("分级诊疗", ("county_retention_inpatient", "county_retention_outpatient", "primary_visit_share",
              "township_visit_share", "primary_inpatient_share", "appointment_rate")),
    ("双向转诊", ("up_referrals", "down_referrals", "down_up_ratio", "down_referral_rate",
              "referral_timely_accept_rate", "referral_closure_rate", "down_followup_on_time_rate",
              "reserved_slot_use_rate", "orderly_out_of_county_rate")),
    ("家庭医生签约", ("contract_rate", "contract_rate_key", "contract_renewal_rate", "contract_delivery_rate")),
    ("医保效能", ("fund_in_county_share", "fund_primary_share", "effective_reimbursement_rate",
              "inpatient_cost_per_stay", "inpatient_cost_per_stay_growth", "outpatient_cost_per_visit",
              "outpatient_cost_per_visit_growth", "average_length_of_stay", "cmi", "drug_cost_share",
              "budget_surplus_rate")),
    ("慢性病管理", tuple(i.code for i in catalogue.by_family(catalogue.Family.CHRONIC))),
    ("资源共享与同质化", tuple(i.code for i in catalogue.by_family(catalogue.Family.SHARED))),
)
#: Codes compared across units and drawn as trends (the dashboard's charts).
CHART_CODES: Final = ("county_retention_inpatient", "primary_visit_share", "contract_rate", "down_up_ratio",
                      "referral_closure_rate", "fund_in_county_share", "inpatient_cost_per_stay",
                      "average_length_of_stay", "drug_cost_share")


@dataclass(frozen=True, slots=True)
class Tile:
    indicator: Indicator
    row: IndicatorRow | None

    @property
    def target_met(self) -> bool | None:
        t = self.indicator.target
        if t is None or self.row is None or self.row.value is None:
            return None
        return t.met(self.row.value)


@dataclass(frozen=True, slots=True)
class Section:
    title: str
    tiles: list[Tile]


@dataclass
class Dashboard:
    period: periods.Period
    cut: Cut
    unit: str
    unit_name: str
    snapshot: IndicatorSnapshot | None
    sections: list[Section] = field(default_factory=list)
    groups: list[IndicatorRow] = field(default_factory=list)  # contract_rate_key by key population
    trend_months: list[str] = field(default_factory=list)
    trends: dict[str, list[Decimal | None]] = field(default_factory=dict)
    compare_cut: Cut | None = None
    compare_units: list[tuple[str, str]] = field(default_factory=list)  # (code, name)
    compare: dict[str, list[Decimal | None]] = field(default_factory=dict)
    compare_rows: dict[tuple[str, str], IndicatorRow] = field(default_factory=dict)
    can_manage: bool = False


def default_period(session: Session) -> str:
    """The latest year stored for the county, else the last calendar year."""
    years = sorted(s.period for s in repository.list_snapshots(session) if len(s.period) == 4)
    if years:
        return years[-1]
    return str(today_local().year - 1)


def _rows(session: Session, snap: IndicatorSnapshot | None, period: str, cut: Cut, *,
          units: list[str] | None = None, codes: tuple[str, ...] | None = None) -> list[IndicatorRow]:
    if snap is None:
        return []
    return [row_of(r, period, cut) for r in repository.snapshot_rows(session, [snap.id], codes=codes, units=units)]


def _trend(session: Session, period: periods.Period, cut: Cut, unit: str) -> tuple[list[str], dict[
        str, list[Decimal | None]]]:
    months = [m.label for m in period.months()] if period.kind != periods.PeriodKind.MONTH else [period.label]
    snaps = {s.period: s for s in repository.snapshots(session, months, cut)}
    values: dict[str, dict[str, Decimal | None]] = {c: {} for c in CHART_CODES}
    by_id = {s.id: s.period for s in snaps.values()}
    for r in repository.snapshot_rows(session, list(by_id), codes=CHART_CODES, units=[unit]):
        if r.group_code == "":
            values[r.code][by_id[r.snapshot_id]] = None if r.value is None else Decimal(r.value)
    return months, {c: [values[c].get(m) for m in months] for c in CHART_CODES}


def build(session: Session, actor: Principal, period_raw: str | None, cut: Cut, unit: str) -> Dashboard:
    access = access_of(session, actor)
    if not access.sees(cut, unit):
        raise Forbidden("您无权查看该单位的指标。", code="indicators_unit_forbidden", cut=cut.value, unit=unit)
    period = periods.parse(period_raw or default_period(session))
    unit_name = _unit_name(session, cut, unit)
    snap = repository.snapshot(session, period.label, cut)
    rows = {(r.code, r.group): r for r in _rows(session, snap, period.label, cut, units=[unit])}
    board = Dashboard(period, cut, unit, unit_name, snap, can_manage=access.manage)
    for title, codes in SECTIONS:
        board.sections.append(Section(title, [Tile(catalogue.get(c), rows.get((c, ""))) for c in codes]))
    board.groups = [rows[("contract_rate_key", g)] for g in catalogue.get("contract_rate_key").groups
                    if ("contract_rate_key", g) in rows]
    board.trend_months, board.trends = _trend(session, period, cut, unit)
    _compare(session, access, board)
    return board


def _unit_name(session: Session, cut: Cut, unit: str) -> str:
    if cut == Cut.COUNTY:
        return "全县"
    found = (repository.institution_by_code(session, unit) if cut == Cut.INSTITUTION
             else repository.consortium_by_code(session, unit) if cut == Cut.CONSORTIUM
             else repository.grid_by_code(session, unit))
    if found is None:
        raise NotFound("统计单位不存在。", code="indicator_unit_not_found", unit=unit)
    return found.name


def _unit_rows(session: Session, access: Access, period: str, cut: Cut, only: list[str] | None) -> list[
        IndicatorRow]:
    snap = repository.snapshot(session, period, cut)
    rows = [r for r in _rows(session, snap, period, cut, units=only, codes=CHART_CODES)
            if r.group == "" and access.sees(cut, r.unit)]
    names = repository.unit_names(session, cut, {r.unit for r in rows})
    return [replace(r, unit_name=names.get(r.unit, r.unit)) for r in rows]


def _compare(session: Session, access: Access, board: Dashboard) -> None:
    """County: a chart across consortia and a table of its hospitals and centres; consortium: both across
    its hospitals and centres; institution: across the stations and village clinics it runs.  Village
    clinics and stations (tier 0, hundreds in a county) appear on their centre's page, keeping the county
    and consortium pages light."""
    label = board.period.label
    if board.cut == Cut.COUNTY:
        chart_rows = _unit_rows(session, access, label, Cut.CONSORTIUM, None)
        inst_rows = _unit_rows(session, access, label, Cut.INSTITUTION, repository.comparable_institutions(session))
        board.compare_cut = Cut.CONSORTIUM
    elif board.cut == Cut.CONSORTIUM:
        members = unit_network_on(session, board.cut, board.unit, board.period.end)
        codes = repository.comparable_institutions(session, members)
        chart_rows = inst_rows = _unit_rows(session, access, label, Cut.INSTITUTION, codes)
        board.compare_cut = Cut.INSTITUTION
    elif board.cut == Cut.INSTITUTION:
        children = repository.child_institutions(session, board.unit)
        if not children:
            return
        chart_rows = inst_rows = _unit_rows(session, access, label, Cut.INSTITUTION, children)
        board.compare_cut = Cut.INSTITUTION
    else:
        return
    board.compare_units = sorted({(r.unit, r.unit_name) for r in chart_rows})
    values = {(r.code, r.unit): r.value for r in chart_rows}
    board.compare = {c: [values.get((c, u)) for u, _ in board.compare_units] for c in CHART_CODES}
    board.compare_rows = {(r.code, r.unit): r for r in inst_rows}


def institution_table(board: Dashboard) -> list[tuple[str, str, dict[str, IndicatorRow]]]:
    """Rows of the institutions table: (code, name, code → row)."""
    units: dict[str, tuple[str, dict[str, IndicatorRow]]] = {}
    for (code, unit), r in board.compare_rows.items():
        if r.cut == Cut.INSTITUTION:
            units.setdefault(unit, (r.unit_name, {}))[1][code] = r
    return [(u, name, rows) for u, (name, rows) in sorted(units.items())]
