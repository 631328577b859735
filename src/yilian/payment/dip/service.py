"""DIP settlement of a year (``yilian settle dip``): same run and report model as the DRG one.

* Combination (病种) key: the principal diagnosis's sub-category (first five characters, e.g.
  ``I21.0``) and the principal procedure's (``36.07``), ``I21.0/36.07``; without a procedure
  ``I21.0/-`` (conservative treatment).  Rare combinations fold into their ICD-10 chapter group.
* Scores from the up to three years before the settlement year, weighted 1 : 2 : 7 (fewer years
  reweighted).  With no history at all the settlement year itself is the history (first DIP year),
  and the run's note says so.
* Case score × coefficient (the point method's level coefficients), cost-deviation rules,
  point value = fund ÷ Σ scores (or the total-cost basis), payments by largest remainder.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from yilian.core.errors import ValidationFailed
from yilian.db.models import PaymentRun
from yilian.identity.principal import Principal, division_prefix
from yilian.payment import repository
from yilian.payment.access import check_can_run
from yilian.payment.dip.calc import (
    KIND_HIGH,
    KIND_LOW,
    KIND_UNSCORED,
    DipCatalogue,
    DipGroup,
    DipScored,
    DipScorer,
    DipYear,
    combination_scores,
    dip_payments,
)
from yilian.payment.dip.repository import stream_dip_cases
from yilian.payment.money import CALC_CONTEXT, MONEY_ZERO, ZERO, calc_context
from yilian.payment.params import PaymentParams, default_params
from yilian.payment.repository import InstitutionInfo
from yilian.payment.runs import Line, RunDraft, write_run
from yilian.payment.settlement.calc import case_money, clear_year
from yilian.payment.settlement.pricing import monthly_provisional
from yilian.payment.settlement.service import resolve_region

NO_PROCEDURE = "-"


@dataclass(frozen=True, slots=True)
class DipRequest:
    year: int
    budget: Decimal | None = None
    division: str | None = None
    history_years: int = 3
    params: PaymentParams | None = None


def combination_key(principal_dx: str, principal_proc: str | None) -> str:
    dx = principal_dx.strip()[:5]
    proc = (principal_proc or "").strip()[:5]
    return f"{dx}/{proc or NO_PROCEDURE}"


@dataclass(slots=True)
class _Year:
    encounter_ids: list[int] = dataclasses.field(default_factory=list)
    institutions: list[str] = dataclasses.field(default_factory=list)
    months: list[int] = dataclasses.field(default_factory=list)
    combinations: list[str] = dataclasses.field(default_factory=list)
    diagnoses: list[str] = dataclasses.field(default_factory=list)
    costs: list[Decimal] = dataclasses.field(default_factory=list)
    fund: list[Decimal] = dataclasses.field(default_factory=list)


def _read(session: Session, req: DipRequest, prefix: str | None, code_of: dict[int, str]) -> dict[int, _Year]:
    years: dict[int, _Year] = {}
    for chunk in stream_dip_cases(session, req.year - req.history_years, req.year, prefix):
        for eid, iid, end, dx, proc, cost, paid in chunk:
            y = years.setdefault(end.year, _Year())
            y.encounter_ids.append(eid)
            y.institutions.append(code_of[iid])
            y.months.append(end.month)
            y.combinations.append(combination_key(dx, proc))
            y.diagnoses.append(dx)
            y.costs.append(cost)
            y.fund.append(paid)
    return years


def _catalogue_summary(catalogue: DipCatalogue) -> dict[str, Any]:
    return {"overall_mean_cost": str(catalogue.overall_mean_cost),
            "year_weights": [str(w) for w in catalogue.year_weights],
            "groups": {k: [str(g.score), str(g.standard_cost), g.kind, g.cases, list(g.years)]
                       for k, g in catalogue.groups.items()}}


def _catalogue_from_summary(data: dict[str, Any]) -> DipCatalogue:
    groups = {k: DipGroup(k, v[2], Decimal(v[0]), Decimal(v[1]), int(v[3]), tuple(v[4]))
              for k, v in data["groups"].items()}
    return DipCatalogue(groups, Decimal(data["overall_mean_cost"]), tuple(Decimal(w) for w in data["year_weights"]))


@dataclass(frozen=True, slots=True)
class _Input:
    """The settlement year's cases as the scorer and the writer need them."""

    encounter_ids: Sequence[int]
    institutions: Sequence[str]
    months: Sequence[int]
    combinations: Sequence[str]
    diagnoses: Sequence[str]
    costs: Sequence[Decimal]
    fund_by_institution: dict[str, Decimal]
    total_by_institution: dict[str, Decimal]


def _price(inp: _Input, catalogue: DipCatalogue, params: PaymentParams, institutions: dict[str, InstitutionInfo],
           previous: Decimal | None) -> tuple[DipScored, Decimal, str, list[Decimal], Any, Any, dict[str, Any]]:
    levels = {code: info.level for code, info in institutions.items()}
    scorer = DipScorer(catalogue, params.dip, levels, params.point_method.coefficients)
    scored = scorer.score(inp.institutions, inp.combinations, inp.diagnoses, inp.costs)
    extra: dict[str, Any] = {}
    if params.point_value is not None:
        clearing = clear_year(scored.institution_scores, fixed_point_value=params.point_value)
        value, source, payments = params.point_value, "fixed", dict(clearing.payments)
        total = clearing.total_payment
    else:
        if params.budget is None:
            raise ValidationFailed("DIP 结算需要年度基金预算（--budget）。", code="settle_no_budget")
        ratio = None
        patient = None
        if params.dip.point_value_basis == "total":
            fund_sum = sum(inp.fund_by_institution.values(), MONEY_ZERO)
            cost_sum = sum(inp.total_by_institution.values(), MONEY_ZERO)
            ratio = CALC_CONTEXT.divide(fund_sum, cost_sum) if cost_sum > ZERO else None
            patient = {c: inp.total_by_institution[c] - inp.fund_by_institution.get(c, MONEY_ZERO)
                       for c in inp.total_by_institution}
            extra["reimbursement_ratio"] = None if ratio is None else str(ratio)
        result = dip_payments(scored.institution_scores, params.budget, basis=params.dip.point_value_basis,
                              reimbursement_ratio=ratio, patient_paid=patient)
        value, source, payments = result.point_value, "budget", dict(result.payments)
        total = sum(payments.values(), MONEY_ZERO)
    money = case_money(scored.scores, value)
    months, basis, provisional = monthly_provisional(inp.institutions, inp.months, scored.scores, params, previous)
    extra["provisional_basis"] = basis
    return scored, value, source, money, (payments, total), (months, provisional), extra


def _write(session: Session, actor: Principal, *, year: int, params: PaymentParams, inp: _Input,
           catalogue: DipCatalogue, institutions: dict[str, InstitutionInfo], previous: Decimal | None,
           division: str | None, started: float, summary: dict[str, Any], **run: Any) -> PaymentRun:
    scored, value, source, money, (payments, total), (months, _paid), extra = _price(
        inp, catalogue, params, institutions, previous)
    ids = {code: info.id for code, info in institutions.items()}
    n: dict[str, int] = {}
    high: dict[str, int] = {}
    low: dict[str, int] = {}
    flagged: dict[str, int] = {}
    paid: dict[str, Decimal] = {}
    flagged_set = set(scored.flagged)
    with calc_context():
        for index, (code, kind, amount) in enumerate(zip(inp.institutions, scored.kinds, money, strict=True)):
            n[code] = n.get(code, 0) + 1
            paid[code] = paid.get(code, MONEY_ZERO) + amount
            if kind == KIND_HIGH:
                high[code] = high.get(code, 0) + 1
            elif kind == KIND_LOW:
                low[code] = low.get(code, 0) + 1
            if index in flagged_set:
                flagged[code] = flagged.get(code, 0) + 1
    prov: dict[str, Decimal] = {}
    for m in months:
        prov[m.institution] = prov.get(m.institution, MONEY_ZERO) + m.provisional
    lines = [Line(institution_id=ids[c], level=institutions[c].level,
                  coefficient=params.point_method.coefficients[institutions[c].level], cases=n[c],
                  flagged=flagged.get(c, 0), high=high.get(c, 0), low=low.get(c, 0),
                  total_cost=inp.total_by_institution[c], fund_paid=inp.fund_by_institution.get(c, MONEY_ZERO),
                  points=scored.institution_scores[c], case_money=paid[c], provisional=prov.get(c, MONEY_ZERO),
                  payment=payments[c], balance=payments[c] - prov.get(c, MONEY_ZERO), rounding=payments[c] - paid[c])
             for c in sorted(n)]
    counts: dict[str, int] = {}
    for g in scored.groups:
        counts[g] = counts.get(g, 0) + 1
    weights = [{"code": k, "rw": g.score.quantize(Decimal("1E-10")),
                "avg_cost": g.standard_cost.quantize(Decimal("0.000001")), "source": g.kind,
                "cases": counts.get(k, 0)} for k, g in sorted(catalogue.groups.items())]
    kinds: dict[str, int] = {}
    for kind in scored.kinds:
        kinds[kind] = kinds.get(kind, 0) + 1

    def case_rows(run_id: int) -> Iterable[Sequence[Any]]:
        for index, (eid, code, month, combo, group, kind, cost, score, amount) in enumerate(zip(
                inp.encounter_ids, inp.institutions, inp.months, inp.combinations, scored.groups, scored.kinds,
                inp.costs, scored.scores, money, strict=True)):
            status = "unscored" if kind == KIND_UNSCORED else "scored"
            yield (run_id, ids[code], eid, month, status, group or combo, kind, cost, score, amount,
                   index in flagged_set)

    month_rows = [{"institution_id": ids[m.institution], "month": m.month, "cases": m.cases,
                   "points": m.points.quantize(Decimal("0.000001")),
                   "point_value": m.point_value.quantize(Decimal("1E-10")), "provisional": m.provisional}
                  for m in months]
    full_summary = {**summary, **extra, "kinds": kinds, "catalogue": _catalogue_summary(catalogue),
                    "previous_point_value": None if previous is None else str(previous),
                    "total_cost": str(sum(inp.costs, MONEY_ZERO))}
    inputs = {"cases": sorted((ids[c], n[c], str(inp.total_by_institution[c])) for c in n),
              "encounters": sum(inp.encounter_ids)}
    draft = RunDraft(kind="dip", year=year, params=params, lines=lines, division_code=division,
                     budget=params.budget, point_value=value, point_value_source=source,
                     total_points=scored.total_scores, total_payment=total, cases=len(inp.encounter_ids),
                     flagged=len(scored.flagged), summary=full_summary, inputs=inputs, weights=weights,
                     months=month_rows, case_rows=case_rows, weights_source="derived", weights_name="DIP 病种分值",
                     weights_version=f"{year} 历史 {','.join(map(str, summary.get('history', [])))}", **run)
    return write_run(session, actor, draft, started)


def do_settle_dip(session: Session, actor: Principal, req: DipRequest) -> PaymentRun:
    started = time.perf_counter()
    division = resolve_region(session, actor, req.division)
    check_can_run(actor, division)
    if not 1 <= req.history_years <= 3:
        raise ValidationFailed("历史年数须为 1 到 3。", code="dip_bad_history_years")
    params = dataclasses.replace(req.params or default_params(req.year), year=req.year)
    if req.budget is not None:
        params = dataclasses.replace(params, budget=req.budget)
    if params.budget is None and params.point_value is None:
        raise ValidationFailed("DIP 结算需要年度基金预算（--budget）。", code="settle_no_budget")
    prefix = division_prefix(division) if division else None
    by_id = repository.region_institutions(session, prefix)
    years = _read(session, req, prefix, {i: info.code for i, info in by_id.items()})
    current = years.pop(req.year, None)
    if current is None or not current.encounter_ids:
        raise ValidationFailed(f"{req.year} 年在该地区没有可结算的参保出院病例。", code="settle_no_discharges")
    history_years = sorted(years)
    note = None
    if not history_years:
        history_years, note = [req.year], "没有历史年度数据：按结算年度本身计算病种分值（首个 DIP 年度）。"
        years[req.year] = current
    catalogue = combination_scores(
        [DipYear(years[y].combinations, years[y].diagnoses, years[y].costs) for y in history_years], params.dip)
    if division is None:
        settled = set(current.institutions)
        counties = {i.division_code[:6] for i in by_id.values() if i.code in settled}
        division = counties.pop() if len(counties) == 1 else None
    inp = _input(current.encounter_ids, current.institutions, current.months, current.combinations,
                 current.diagnoses, current.costs, current.fund)
    previous = repository.latest_point_value(session, "dip", req.year - 1, division)
    institutions = {info.code: info for info in by_id.values()}
    return _write(session, actor, year=req.year, params=params, inp=inp, catalogue=catalogue,
                  institutions=institutions, previous=previous, division=division, started=started,
                  summary={"history": history_years}, options={"history_years": req.history_years}, note=note)


def _input(encounter_ids: list[int], institutions: list[str], months: list[int], combinations: list[str],
           diagnoses: list[str], costs: list[Decimal], fund: list[Decimal]) -> _Input:
    fund_by: dict[str, Decimal] = {}
    total_by: dict[str, Decimal] = {}
    for code, cost, paid in zip(institutions, costs, fund, strict=True):
        fund_by[code] = fund_by.get(code, MONEY_ZERO) + paid
        total_by[code] = total_by.get(code, MONEY_ZERO) + cost
    return _Input(encounter_ids, institutions, months, combinations, diagnoses, costs, fund_by, total_by)


def do_whatif_dip(session: Session, actor: Principal, base: PaymentRun, params: PaymentParams,
                  overrides: dict[str, str], started: float, note: str | None = None) -> PaymentRun:
    """Re-score the base run's cases against its catalogue under ``params``."""
    check_can_run(actor, base.division_code)
    base_lines = repository.statement(session, base.id)
    by_id = {info.id: info for _, info in base_lines}
    ids: list[int] = []
    insts: list[str] = []
    months: list[int] = []
    groups: list[str] = []
    costs: list[Decimal] = []
    for chunk in repository.stream_run_cases(session, base.id):
        for eid, iid, month, _status, group, cost in chunk:
            ids.append(eid)
            insts.append(by_id[iid].code)
            months.append(month)
            groups.append(group)
            costs.append(cost)
    fund_by = {info.code: line.fund_paid for line, info in base_lines}
    total_by = {info.code: line.total_cost for line, info in base_lines}
    inp = _Input(ids, insts, months, groups, [""] * len(ids), costs, fund_by, total_by)
    summary = base.summary or {}
    catalogue = _catalogue_from_summary(summary["catalogue"])
    previous_text = summary.get("previous_point_value")
    institutions = {info.code: info for info in by_id.values()}
    return _write(session, actor, year=base.year, params=params, inp=inp, catalogue=catalogue,
                  institutions=institutions, previous=Decimal(previous_text) if previous_text else None,
                  division=base.division_code, started=started, summary={"history": summary.get("history", [])},
                  options=dict(base.options or {}), base_run_id=base.id, overrides=overrides, note=note)
