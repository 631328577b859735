"""DRG point-method settlement of a year over the stored discharges (``yilian settle drg``).

Steps, each set-based or columnar (ARCHITECTURE.md "Scale plan"):

1. read the year's insured discharges of the region in one streamed, id-ordered query, and group
   each with the rule pack compiled once (no ORM object per case);
2. weights: the published table (``--weights``) or derived from the year;
3. points, point value, per-case money, monthly provisional, year-end clearing, CMI (``pricing``);
4. write the run: statement lines and weights by executemany, case rows by ``COPY``.

A what-if re-prices a stored run's cases (its DRGs and costs, the same weights) under changed
parameters; grouping does not depend on the parameters, so it is not repeated.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from yilian.core.errors import NotFound, ValidationFailed
from yilian.db.models import PaymentRun
from yilian.identity.principal import Principal, division_prefix
from yilian.payment import repository
from yilian.payment.access import check_can_run
from yilian.payment.drg.case import DrgCase, split_codes
from yilian.payment.drg.grouper import Grouper, load_grouper
from yilian.payment.drg.pack import resolve_pack_dir
from yilian.payment.drg.result import Status
from yilian.payment.money import MONEY_ZERO
from yilian.payment.params import PaymentParams, default_params
from yilian.payment.repository import InstitutionInfo
from yilian.payment.runs import Line, RunDraft, write_run
from yilian.payment.settlement import repository as discharges
from yilian.payment.settlement.calc import Weights, derive_weights, mean_grouped_cost, weights_from_rows
from yilian.payment.settlement.pricing import BLEND_SETTINGS, COEFFICIENT_STRATEGIES, CaseColumns, Priced, price_cases
from yilian.payment.settlement.weightfile import load_weight_table

Progress = Callable[[int], None]
_STATUS = {s: s.value for s in Status}


@dataclass(frozen=True, slots=True)
class DrgSettleRequest:
    year: int
    budget: Decimal | None = None
    rules: Path | None = None
    weights: Path | None = None
    division: str | None = None
    coefficient_strategy: str = "level"
    params: PaymentParams | None = None
    note: str | None = None


@lru_cache(maxsize=2)
def _grouper(path: str) -> Grouper:
    return load_grouper(Path(path))


def project_root() -> Path:
    root = Path(__file__).resolve().parents[4]
    return root if (root / "pyproject.toml").is_file() else Path.cwd()


def pack_dir(rules: Path | None) -> Path:
    """The one lookup order: ``--rules``, ``YILIAN_DRG_RULES``, the shared 1.1 pack, the demo pack."""
    from yilian.core.config import get_settings

    return resolve_pack_dir(rules, get_settings().drg_rules if rules is None else None, project_root())


def grouper_for(rules: Path | None) -> Grouper:
    return _grouper(str(pack_dir(rules).resolve()))


def resolve_region(session: Session, actor: Principal, division: str | None) -> str | None:
    """The region's division code: the one given, else the officer's own division (if exactly one)."""
    if division is None:
        own = sorted({g.division_code for g in actor.grants if g.division_code})
        division = own[0] if len(own) == 1 and not actor.is_admin else None
    if division is not None and not repository.division_exists(session, division):
        raise NotFound(f"行政区划代码「{division}」不存在。", code="division_not_found")
    return division


def _params(req: DrgSettleRequest) -> PaymentParams:
    params = req.params or default_params(req.year)
    changes: dict[str, Any] = {"year": req.year}
    if req.budget is not None:
        changes["budget"] = req.budget
    return dataclasses.replace(params, **changes)


def _codes(text: str) -> tuple[str, ...]:
    """The stored '|' list as a tuple; the careful reading (blanks, spaces) only when needed."""
    parts = text.split("|")
    return tuple(parts) if "" not in parts and " " not in text else split_codes(text)


def _read_and_group(session: Session, grouper: Grouper, year: int, prefix: str | None,
                    institutions: dict[int, InstitutionInfo], progress: Progress | None
                    ) -> tuple[CaseColumns, dict[str, int]]:
    cases = CaseColumns()
    add_id, add_inst, add_month = cases.encounter_ids.append, cases.institutions.append, cases.months.append
    add_status, add_drg, add_cost = cases.statuses.append, cases.drgs.append, cases.costs.append
    code_of = {i: info.code for i, info in institutions.items()}
    reasons: dict[str, int] = {}
    group, status_of, case = grouper.group, _STATUS, DrgCase
    for chunk in discharges.stream_discharges(session, year, prefix):
        for eid, iid, end, sex, age, days, weight, dx, px, cost in chunk:
            result = group(case(sex, age, _codes(dx), _codes(px) if px else (), days, weight))
            add_id(eid)
            add_inst(code_of[iid])
            add_month(end.month)
            add_status(status_of[result.status])
            add_drg(result.drg)
            add_cost(cost)
            if result.reason:
                reasons[result.reason] = reasons.get(result.reason, 0) + 1
        if progress is not None:
            progress(len(chunk))
    return cases, reasons


def _weights_from_file(path: Path, cases: CaseColumns) -> tuple[Weights, str, str, str]:
    table = load_weight_table(path)
    has_city = any((row.get("drg") or "").strip() == "*" for row in table.rows)
    city = None if has_city else mean_grouped_cost(cases.drgs, cases.costs)
    weights = weights_from_rows(table.rows, city_avg_cost=city, version=table.version)
    return weights, table.name, table.version, "file" if has_city else "derived"


def _weight_rows(weights: Weights, cases: CaseColumns, given_avg: dict[str, Decimal | None] | None
                 ) -> list[dict[str, Any]]:
    counts: dict[str, int] = {}
    for drg in cases.drgs:
        counts[drg] = counts.get(drg, 0) + 1
    rows = []
    for code in sorted(weights.rw):
        avg = given_avg.get(code) if given_avg is not None else weights.mean_cost[code].quantize(Decimal("0.000001"))
        rows.append({"code": code, "rw": weights.rw[code].quantize(Decimal("1E-10")), "avg_cost": avg,
                     "source": weights.source[code], "cases": counts.get(code, 0)})
    return rows


def _given_avg(path: Path) -> dict[str, Decimal | None]:
    out: dict[str, Decimal | None] = {}
    for row in load_weight_table(path).rows:
        code = (row.get("drg") or "").strip()
        if code and code != "*":
            text = (row.get("avg_cost") or "").strip()
            out[code] = Decimal(text) if text else None
    return out


def _lines(priced: Priced, institutions: dict[str, InstitutionInfo], fund: dict[str, Decimal],
           with_money: bool) -> list[Line]:
    provisional: dict[str, Decimal] = {}
    for m in priced.months:
        provisional[m.institution] = provisional.get(m.institution, MONEY_ZERO) + m.provisional
    lines = []
    for code in sorted(priced.totals):
        t, info = priced.totals[code], institutions[code]
        clearing = priced.clearing
        lines.append(Line(
            institution_id=info.id, level=info.level, coefficient=priced.coefficients.get(code), cases=t.cases,
            flagged=t.flagged, high=t.high, low=t.low, total_cost=t.total_cost, fund_paid=fund.get(code, MONEY_ZERO),
            points=priced.scored.institution_points[code], cmi=priced.cmi.get(code),
            case_money=t.case_money if with_money else None,
            provisional=provisional.get(code, MONEY_ZERO) if with_money else None,
            payment=clearing.payments.get(code) if with_money else None,
            balance=clearing.balances.get(code) if with_money else None,
            rounding=clearing.rounding.get(code) if with_money else None))
    return lines


def _case_rows(cases: CaseColumns, priced: Priced, ids: dict[str, int]) -> Callable[[int], Iterable[Sequence[Any]]]:
    def rows(run_id: int) -> Iterable[Sequence[Any]]:
        flagged = set(priced.scored.flagged)
        money: Sequence[Decimal | None] = priced.money or [None] * len(cases)
        for index, (eid, code, month, status, drg, cost, pts, kind, amount) in enumerate(zip(
                cases.encounter_ids, cases.institutions, cases.months, cases.statuses, cases.drgs, cases.costs,
                priced.scored.points, priced.scored.kinds, money, strict=True)):
            yield (run_id, ids[code], eid, month, status, drg, kind, cost, pts, amount, index in flagged)
    return rows


def _draft(kind: str, year: int, params: PaymentParams, cases: CaseColumns, priced: Priced, weights: Weights,
           institutions: dict[str, InstitutionInfo], fund: dict[str, Decimal], *, with_money: bool,
           weight_rows: list[dict[str, Any]], summary: dict[str, Any], **run: Any) -> RunDraft:
    ids = {code: info.id for code, info in institutions.items()}
    lines = _lines(priced, institutions, fund, with_money)
    clearing = priced.clearing
    month_rows = [{"institution_id": ids[m.institution], "month": m.month, "cases": m.cases,
                   "points": m.points.quantize(Decimal("0.000001")),
                   "point_value": m.point_value.quantize(Decimal("1E-10")), "provisional": m.provisional}
                  for m in priced.months]
    summary = {
        **summary, "city_avg_cost": str(weights.city_avg_cost), "kinds": priced.kind_counts,
        "provisional_basis": priced.provisional_basis, "total_cost": str(sum(cases.costs, MONEY_ZERO)),
        "fund_paid": str(sum(fund.values(), MONEY_ZERO)), "coefficient_strategy": run["options"].get(
            "coefficient_strategy", "level"),
    }
    inputs = {"institutions": sorted((ids[c], t.cases, str(t.total_cost), t.encounter_id_sum)
                                     for c, t in priced.totals.items())}
    return RunDraft(
        kind=kind, year=year, params=params, lines=lines, budget=params.budget if with_money else None,
        point_value=priced.point_value if with_money else None,
        point_value_source=priced.point_value_source if with_money else None,
        total_points=priced.scored.total_points, total_payment=clearing.total_payment if with_money else None,
        cases=len(cases), flagged=len(priced.scored.flagged), summary=summary, inputs=inputs, weights=weight_rows,
        months=month_rows, case_rows=_case_rows(cases, priced, ids), **run)


def do_settle_drg(session: Session, actor: Principal, req: DrgSettleRequest, progress: Progress | None = None,
                  *, kind: str = "drg") -> PaymentRun:
    """Group, score and price the year's discharges of the region; write the run (``kind`` ``drg``,
    or ``grouping`` for a run without money that records DRGs, weights and CMI only)."""
    started = time.perf_counter()
    division = resolve_region(session, actor, req.division)
    check_can_run(actor, division)
    if req.coefficient_strategy not in COEFFICIENT_STRATEGIES:
        raise ValidationFailed(f"未知的差异系数策略「{req.coefficient_strategy}」，可用：level、blend。",
                               code="settle_bad_coefficient_strategy")
    with_money = kind == "drg"
    params = _params(req)
    if with_money and params.budget is None and params.point_value is None:
        raise ValidationFailed("DRG 结算需要年度基金预算（--budget）。", code="settle_no_budget")
    prefix = division_prefix(division) if division else None
    by_id = repository.region_institutions(session, prefix)
    rules_dir = pack_dir(req.rules)
    grouper = _grouper(str(rules_dir.resolve()))
    timings = {"load_pack": time.perf_counter() - started}
    cases, reasons = _read_and_group(session, grouper, req.year, prefix, by_id, progress)
    statuses = dict(Counter(cases.statuses))
    fund = {by_id[i].code: Decimal(f) / 100 for i, (_, _, f) in
            discharges.institution_totals(session, req.year, prefix).items()}
    timings["read_and_group"] = time.perf_counter() - started - sum(timings.values())
    if not cases:
        raise ValidationFailed(f"{req.year} 年在该地区没有可结算的参保出院病例。", code="settle_no_discharges",
                               year=req.year, division=division)
    if division is None:
        settled = set(cases.institutions)
        counties = {info.division_code[:6] for info in by_id.values() if info.code in settled}
        division = counties.pop() if len(counties) == 1 else None
    if req.weights is not None:
        weights, w_name, w_version, city_source = _weights_from_file(req.weights, cases)
        w_rows = _weight_rows(weights, cases, _given_avg(req.weights))
        w_source: str | None = "file"
    else:
        weights = derive_weights(cases.drgs, cases.costs, min_cases=params.point_method.rw_min_cases)
        w_name, w_version, city_source, w_source = None, "derived", "derived", "derived"
        w_rows = _weight_rows(weights, cases, None)
    previous = repository.latest_point_value(session, "drg", req.year - 1, division) if with_money else None
    levels = {info.code: info.level for info in by_id.values()}
    timings["weights"] = time.perf_counter() - started - sum(timings.values())
    priced = price_cases(cases, weights, params, levels, coefficient_strategy=req.coefficient_strategy,
                         previous_point_value=previous, with_money=with_money)
    timings["price"] = time.perf_counter() - started - sum(timings.values())
    institutions = {info.code: info for info in by_id.values()}
    options: dict[str, Any] = {"coefficient_strategy": req.coefficient_strategy, "rules_dir": str(rules_dir)}
    if req.coefficient_strategy == "blend":
        options["blend"] = dict(BLEND_SETTINGS)
    summary = {"statuses": statuses, "reasons": reasons, "city_avg_source": city_source,
               "previous_point_value": None if previous is None else str(previous),
               "seconds": {k: round(v, 3) for k, v in timings.items()}}
    draft = _draft(kind, req.year, params, cases, priced, weights, institutions, fund, with_money=with_money,
                   weight_rows=w_rows, summary=summary, division_code=division, options=options,
                   rules_name=grouper.pack.name, rules_version=grouper.pack.version, weights_source=w_source,
                   weights_name=w_name, weights_version=w_version, note=req.note)
    return write_run(session, actor, draft, started)


def do_whatif_drg(session: Session, actor: Principal, base: PaymentRun, params: PaymentParams,
                  overrides: dict[str, str], started: float, note: str | None = None) -> PaymentRun:
    """Re-price the base run's cases (same DRGs, costs and weights) under ``params``."""
    check_can_run(actor, base.division_code)
    base_lines = repository.statement(session, base.id)
    by_id = {info.id: info for _, info in base_lines}
    institutions = {info.code: info for info in by_id.values()}
    fund = {info.code: line.fund_paid for line, info in base_lines}
    cases = CaseColumns()
    for chunk in repository.stream_run_cases(session, base.id):
        for eid, iid, month, status, drg, cost in chunk:
            cases.append(eid, by_id[iid].code, month, status, drg, cost)
    summary = base.summary or {}
    if base.weights_source == "file":
        stored = repository.weights(session, base.id)
        rows = [{"drg": w.code, "rw": str(w.rw), "avg_cost": "" if w.avg_cost is None else str(w.avg_cost)}
                for w in stored]
        weights = weights_from_rows(rows, city_avg_cost=Decimal(summary["city_avg_cost"]),
                                    version=base.weights_version or "")
        w_rows = [{"code": w.code, "rw": w.rw, "avg_cost": w.avg_cost, "source": w.source, "cases": w.cases}
                  for w in stored]
    else:
        weights = derive_weights(cases.drgs, cases.costs, min_cases=params.point_method.rw_min_cases)
        w_rows = _weight_rows(weights, cases, None)
    previous_text = summary.get("previous_point_value")
    previous = Decimal(previous_text) if previous_text else None
    strategy = (base.options or {}).get("coefficient_strategy", "level")
    levels = {code: info.level for code, info in institutions.items()}
    priced = price_cases(cases, weights, params, levels, coefficient_strategy=strategy,
                         previous_point_value=previous, with_money=True)
    keep = {k: summary.get(k) for k in ("statuses", "reasons", "city_avg_source", "previous_point_value")}
    draft = _draft("drg", base.year, params, cases, priced, weights, institutions, fund, with_money=True,
                   weight_rows=w_rows, summary=keep, division_code=base.division_code, options=dict(base.options or {}),
                   rules_name=base.rules_name, rules_version=base.rules_version, weights_source=base.weights_source,
                   weights_name=base.weights_name, weights_version=base.weights_version, base_run_id=base.id,
                   overrides=overrides, note=note)
    return write_run(session, actor, draft, started)
