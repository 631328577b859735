"""Consortium global budget clearing of a year (``yilian settle budget``), stored as a run with a ledger.

Cycle: the budget (per-capita × the community's insured residents, or a negotiated total) is
prepaid at the start of the year → monthly provisional settlement (accounting: spending to date
against the pro-rata budget) → year-end clearing (surplus retained / returned, or overspend shared
in tiers) → distribution of the retained surplus among members by tier ratios (6 : 3 : 1), within a
tier by the frozen performance-score snapshot, else by workload.  Charged spending covers the
county's insured residents' fund payments at member **and** out-of-network institutions.

With several communities in the county, a resident belongs to the community whose member centre
serves their home township; residents without a township address are not attributed (counted in
the run's summary).  The Luohu variant compares the signed residents' inpatient fund spending with
the previous year's; the saving stays with the group and is distributed like a surplus.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Final

from sqlalchemy.orm import Session

from yilian.core.errors import NotFound, ValidationFailed
from yilian.db.models import Consortium, PaymentRun
from yilian.identity.principal import Principal, division_prefix
from yilian.payment import repository
from yilian.payment.access import check_can_run
from yilian.payment.budget import repository as budget_repository
from yilian.payment.budget.calc import (
    Member,
    charged_spending,
    clear_budget,
    distribute_surplus,
    insured_by_community,
    luohu_clearing,
    per_capita_budget,
)
from yilian.payment.money import CALC_CONTEXT, CENT, MONEY_ZERO, ZERO
from yilian.payment.params import PaymentParams, default_params
from yilian.payment.reimbursement import Claim, reimburse_episode
from yilian.payment.repository import InstitutionInfo
from yilian.payment.runs import Line, RunDraft, write_run

VARIANTS: Final = ("standard", "luohu")
WITHIN: Final = ("score", "workload")


@dataclass(frozen=True, slots=True)
class BudgetRequest:
    year: int
    consortium: str
    budget: Decimal | None = None
    per_capita: Decimal | None = None
    variant: str = "standard"
    within: str | None = None
    scorecard: str | None = None
    params: PaymentParams | None = None


def surplus_tier(info: InstitutionInfo) -> str:
    """county_hospital | township_centre | village_clinic, from the registry's derived tier."""
    if info.is_primary_care:
        return "village_clinic" if info.tier == 0 else "township_centre"
    return "county_hospital"


def _cents(value: int) -> Decimal:
    return CALC_CONTEXT.multiply(Decimal(value), CENT)


@dataclass(slots=True)
class _Ctx:
    consortium: Consortium
    params: PaymentParams
    variant: str
    within: str
    scorecard: str | None
    first: date
    last: date
    members: list[tuple[InstitutionInfo, str]]
    overrides: dict[str, str] | None = None
    ledger: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    summary: dict[str, Any] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)

    def entry(self, entry: str, amount: Decimal, *, month: int = 0, institution_id: int | None = None,
              balance: Decimal | None = None, note: str | None = None) -> None:
        self.ledger.append({"consortium_id": self.consortium.id, "institution_id": institution_id, "month": month,
                            "entry": entry, "amount": amount, "balance": balance, "note": note})


def _params(req: BudgetRequest) -> PaymentParams:
    params = dataclasses.replace(req.params or default_params(req.year), year=req.year)
    if req.per_capita is not None:
        params = dataclasses.replace(params, global_budget=dataclasses.replace(
            params.global_budget, per_capita=req.per_capita))
    if req.budget is not None:
        params = dataclasses.replace(params, budget=req.budget)
    return params


def do_settle_budget(session: Session, actor: Principal, req: BudgetRequest) -> PaymentRun:
    started = time.perf_counter()
    consortium = repository.consortium_by_code(session, req.consortium)
    if consortium is None:
        raise NotFound(f"医共体代码「{req.consortium}」不存在。", code="consortium_not_found")
    check_can_run(actor, consortium.division_code)
    if req.variant not in VARIANTS:
        raise ValidationFailed(f"未知的预算方式「{req.variant}」，可用：standard、luohu。", code="budget_bad_variant")
    params = _params(req)
    within = req.within or params.global_budget.surplus_within
    if within not in WITHIN:
        raise ValidationFailed(f"未知的层级内分配依据「{within}」，可用：score、workload。", code="surplus_bad_basis")
    return _clear(session, actor, _context(session, consortium, params, req.variant, within, req.scorecard), started)


def _context(session: Session, consortium: Consortium, params: PaymentParams, variant: str, within: str,
             scorecard: str | None, overrides: dict[str, str] | None = None) -> _Ctx:
    assert params.year is not None
    first, last = date(params.year, 1, 1), date(params.year, 12, 31)
    members = repository.consortium_members(session, consortium.id, first, last)
    if not members:
        raise ValidationFailed(f"医共体「{consortium.name}」在 {params.year} 年没有成员单位。",
                               code="budget_no_members")
    return _Ctx(consortium, params, variant, within, scorecard, first, last, members, overrides)


def _attribution(session: Session, ctx: _Ctx) -> tuple[int, list[str] | None]:
    """Insured residents attributed to the community, and its townships (None: the whole county)."""
    county = division_prefix(ctx.consortium.division_code)
    by_township = budget_repository.insured_by_township(session, county, ctx.first, ctx.last)
    communities = budget_repository.county_communities(session, ctx.consortium.division_code, ctx.first, ctx.last)
    if len(communities) <= 1:
        ctx.summary["attribution"] = "county"
        return sum(by_township.values()), None
    served = budget_repository.served_townships(session, [c.id for c in communities], ctx.first, ctx.last)
    townships = {t: n for t, n in by_township.items() if len(t) == 9}
    unattributed = sum(n for t, n in by_township.items() if len(t) != 9)
    insured = insured_by_community(townships, served)
    ctx.summary.update({"attribution": "township", "unattributed_insured": unattributed,
                        "communities": {c: n for c, n in insured.items()}})
    return insured.get(ctx.consortium.code, 0), sorted(t for t, c in served.items() if c == ctx.consortium.code)


def _reimbursement_delta(session: Session, ctx: _Ctx, townships: list[str] | None) -> dict[tuple[int, int], int]:
    """What-if on ratios or deductibles: inpatient fund payments re-run under the new rules, as cent
    differences per (month, institution) against the stored ones."""
    county = division_prefix(ctx.consortium.division_code)
    claims = budget_repository.inpatient_claims(session, county, ctx.first, ctx.last, townships)
    delta: dict[tuple[int, int], int] = {}
    episodes: dict[Any, list[Any]] = {}
    singles: list[list[Any]] = []
    for row in claims:
        if row[3] is None:
            singles.append([row])
        else:
            episodes.setdefault(row[3], []).append(row)
    for group in [*episodes.values(), *singles]:
        results = reimburse_episode([Claim(r[5], min(r[6], r[5]), r[7]) for r in group], ctx.params.reimbursement)
        for r, result in zip(group, results, strict=True):
            key = (int(r[1]), int(r[2]))
            delta[key] = delta.get(key, 0) + int((result.fund - r[8]) * 100)
    return delta


def _within_weights(session: Session, ctx: _Ctx) -> tuple[str, dict[int, Decimal]]:
    ids = [info.id for info, _ in ctx.members]
    if ctx.within == "score":
        assert ctx.params.year is not None
        code, scores = repository.approved_scores(session, ctx.params.year, ids, ctx.scorecard)
        if code is not None and all(i in scores for i in ids):
            ctx.summary["scorecard"] = code
            return "score", scores
        ctx.notes.append("未找到覆盖全部成员单位的已审定绩效得分快照，层级内改按工作量分配。")
    load = budget_repository.workload(session, ids, ctx.first, ctx.last)
    return "workload", {i: Decimal(load.get(i, 0)) for i in ids}


def _distribute(session: Session, ctx: _Ctx, amount: Decimal, entry: str) -> dict[int, Decimal]:
    if amount <= ZERO:
        return {}
    basis, weights = _within_weights(session, ctx)
    tiers: dict[str, list[int]] = {}
    for info, _ in ctx.members:
        tiers.setdefault(surplus_tier(info), []).append(info.id)
    for tier, ids in tiers.items():  # a tier with no recorded workload (or score) shares equally
        if all(weights[i] == ZERO for i in ids):
            for i in ids:
                weights[i] = Decimal(1)
            what = "得分" if basis == "score" else "工作量"
            ctx.notes.append(f"层级「{tier}」的成员{what}均为 0，层级内平均分配。")
    members = [Member(str(info.id), surplus_tier(info), score=weights[info.id], workload=weights[info.id])
               for info, _ in ctx.members]
    result = distribute_surplus(amount, members, ctx.params.global_budget, within=basis)
    ctx.summary.update({"within": basis, "by_tier": {k: str(v) for k, v in result.by_tier.items()},
                        "weights": {str(k): str(v) for k, v in weights.items()}})
    shares = {int(code): value for code, value in result.by_member.items()}
    for info, _ in ctx.members:
        ctx.entry(entry, shares[info.id], institution_id=info.id, note=surplus_tier(info))
    return shares


def _clear(session: Session, actor: Principal, ctx: _Ctx, started: float, base: PaymentRun | None = None,
           note: str | None = None) -> PaymentRun:
    params = ctx.params
    if ctx.variant == "luohu":
        payments, spend, counts, budget = _luohu(session, ctx)
    else:
        payments, spend, counts, budget = _standard(session, ctx)
    lines = []
    for info, role in ctx.members:
        lines.append(Line(institution_id=info.id, level=info.level, role=role,
                          cases=counts.get(info.id, 0), fund_paid=spend.get(info.id, MONEY_ZERO),
                          payment=payments.get(info.id, MONEY_ZERO),
                          detail={"tier": surplus_tier(info), "role": role,
                                  "weight": ctx.summary.get("weights", {}).get(str(info.id))}))
    total = sum((ln.payment or MONEY_ZERO for ln in lines), MONEY_ZERO)
    notes = ([note] if note else []) + ctx.notes
    draft = RunDraft(
        kind="budget", year=params.year or 0, params=dataclasses.replace(params, budget=budget) if ctx.variant ==
        "standard" else params, lines=lines, division_code=ctx.consortium.division_code,
        consortium_id=ctx.consortium.id, budget=budget, total_payment=total, cases=sum(counts.values()),
        summary={**ctx.summary, "variant": ctx.variant}, options={"variant": ctx.variant, "within": ctx.within,
                                                                   "scorecard": ctx.scorecard},
        inputs={"spending": sorted((k, str(v)) for k, v in spend.items())}, ledger=ctx.ledger,
        base_run_id=base.id if base else None, overrides=ctx.overrides, note="；".join(notes) or None)
    return write_run(session, actor, draft, started)


def _standard(session: Session, ctx: _Ctx) -> tuple[dict[int, Decimal], dict[int, Decimal], dict[int, int], Decimal]:
    params = ctx.params
    insured, townships = _attribution(session, ctx)
    if params.budget is not None:
        budget, basis = params.budget, "negotiated"
    else:
        budget, basis = per_capita_budget(params.global_budget.per_capita, insured), "per_capita"
    if budget <= ZERO:
        raise ValidationFailed(f"医共体「{ctx.consortium.name}」没有参保居民，无法按人均确定预算；请给出协商总额。",
                               code="budget_bad_budget", insured=insured)
    ctx.summary.update({"insured": insured, "budget_basis": basis,
                        "per_capita": str(params.global_budget.per_capita)})
    county = division_prefix(ctx.consortium.division_code)
    rows = budget_repository.spending(session, county, ctx.first, ctx.last, townships)
    delta = _reimbursement_delta(session, ctx, townships) if _changes_claims(ctx.overrides) else {}
    member_ids = {info.id for info, _ in ctx.members}
    lead = next((info.id for info, role in ctx.members if role == "lead"), ctx.members[0][0].id)
    by_month: dict[int, list[int]] = {m: [0, 0] for m in range(1, 13)}
    spend: dict[int, Decimal] = {}
    counts: dict[int, int] = {}
    for month, iid, n, cents in rows:
        cents += delta.pop((month, iid), 0)
        by_month[month][0 if iid in member_ids else 1] += cents
        if iid in member_ids:
            spend[iid] = spend.get(iid, MONEY_ZERO) + _cents(cents)
            counts[iid] = counts.get(iid, 0) + n
    for (month, iid), cents in delta.items():  # claims whose stored settlement rows fell outside `rows`
        by_month[month][0 if iid in member_ids else 1] += cents
    ctx.entry("budget", budget, balance=budget, note=f"{'协商总额' if basis == 'negotiated' else '人均×参保人数'}")
    ctx.entry("prepay", budget, institution_id=lead, balance=budget, note="年初预付给牵头医院")
    remaining, cumulative = budget, MONEY_ZERO
    members_total, outside_total = MONEY_ZERO, MONEY_ZERO
    for month in range(1, 13):
        member, outside = _cents(by_month[month][0]), _cents(by_month[month][1])
        members_total += member
        outside_total += outside
        cumulative += member + outside
        remaining -= member + outside
        ctx.entry("spending_member", member, month=month, balance=remaining)
        ctx.entry("spending_outside", outside, month=month, balance=remaining)
        pro_rata = (budget * month / 12).quantize(CENT)
        ctx.entry("provisional", pro_rata - cumulative, month=month, note="按月预算进度减累计支出（仅记账）")
    charged = charged_spending([members_total], [outside_total])
    clearing = clear_budget(budget, charged.total, params.global_budget)
    ctx.summary.update({"spending_member": str(charged.member), "spending_outside": str(charged.out_of_network),
                        "spending": str(charged.total), "balance": str(clearing.balance),
                        "surplus": str(clearing.surplus), "retained": str(clearing.retained),
                        "returned_to_fund": str(clearing.returned_to_fund), "overspend": str(clearing.overspend),
                        "consortium_overspend": str(clearing.consortium_overspend),
                        "fund_overspend": str(clearing.fund_overspend)})
    payments: dict[int, Decimal] = {}
    if clearing.surplus > ZERO:
        ctx.entry("surplus", clearing.surplus, balance=clearing.balance)
        ctx.entry("retained", clearing.retained)
        ctx.entry("returned", clearing.returned_to_fund)
        payments = _distribute(session, ctx, clearing.retained, "share")
    elif clearing.overspend > ZERO:
        ctx.entry("overspend", clearing.overspend, balance=clearing.balance)
        for band in clearing.bands:
            ctx.entry("overspend_band", band.amount, note=f"医共体承担 {band.consortium}，基金承担 {band.fund}")
        ctx.entry("overspend_consortium", clearing.consortium_overspend, institution_id=lead, note="由牵头医院承担")
        ctx.entry("overspend_fund", clearing.fund_overspend)
        payments = {lead: -clearing.consortium_overspend}
    return payments, spend, counts, budget


def _changes_claims(overrides: dict[str, str] | None) -> bool:
    return bool(overrides) and any(k.startswith(("reimbursement.", "deductible.")) for k in overrides or {})


def _luohu(session: Session, ctx: _Ctx) -> tuple[dict[int, Decimal], dict[int, Decimal], dict[int, int], Decimal]:
    ids = [info.id for info, _ in ctx.members]
    assert ctx.params.year is not None
    year = ctx.params.year
    current = _cents(budget_repository.signed_inpatient_cents(session, ids, ctx.first, ctx.last))
    previous = _cents(budget_repository.signed_inpatient_cents(session, ids, date(year - 1, 1, 1),
                                                               date(year - 1, 12, 31)))
    result = luohu_clearing(current, previous)
    ctx.summary.update({"previous": str(previous), "current": str(current), "saving": str(result.saving),
                        "excess": str(result.excess)})
    ctx.entry("luohu_previous", previous, note="上年签约居民住院基金支出")
    ctx.entry("luohu_current", current, note="本年签约居民住院基金支出")
    payments: dict[int, Decimal] = {}
    if result.saving > ZERO:
        ctx.entry("saving", result.saving, note="节余留归医疗集团")
        payments = _distribute(session, ctx, result.saving, "share")
    elif result.excess > ZERO:
        ctx.entry("excess", result.excess, note="超出上年（政策未规定分担，仅报告）")
    return payments, {}, {}, previous


def do_whatif_budget(session: Session, actor: Principal, base: PaymentRun, params: PaymentParams,
                     overrides: dict[str, str], started: float, note: str | None = None) -> PaymentRun:
    """Clear the base run's consortium and year again under ``params`` (reimbursement changes re-run
    the inpatient claims).  A per-capita budget is recomputed unless ``budget`` is overridden."""
    check_can_run(actor, base.division_code)
    consortium = repository.consortium(session, base.consortium_id or 0)
    if consortium is None:
        raise NotFound("基准批次的医共体已不存在。", code="consortium_not_found")
    options = base.options or {}
    if (base.summary or {}).get("budget_basis") == "per_capita" and "budget" not in overrides:
        params = dataclasses.replace(params, budget=None)
    ctx = _context(session, consortium, params, options.get("variant", "standard"), options.get("within", "score"),
                   options.get("scorecard"), overrides)
    return _clear(session, actor, ctx, started, base=base, note=note)
