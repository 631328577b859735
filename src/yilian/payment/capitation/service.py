"""Family-doctor outpatient capitation of a year (``yilian settle capitation``), per team institution.

For each institution whose teams had contracts in force in the year:

* contracted residents: distinct residents with such a contract;
* delivery rate: package items delivered ÷ due, over the occurrences (one per period of the term,
  ``contracts.rules.delivery_schedule``) whose due date falls in the year, capped at 1;
* outside spending: those residents' outpatient and emergency fund payments settled in the year at
  institutions outside the team institution's tight consortium (the institution alone when it has
  none);
* payment = per-capita × contracted × rate − deduction share × outside spending, floored at 0.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from yilian.contracts.config import Frequency, PackageItem
from yilian.contracts.repository import tight_consortium_of
from yilian.contracts.rules import DeliveryState, delivery_schedule, items_owed
from yilian.core.errors import NotFound, ValidationFailed
from yilian.db.models import PaymentRun
from yilian.identity.principal import Principal, division_prefix
from yilian.payment import repository
from yilian.payment.access import check_can_run
from yilian.payment.capitation import repository as cap_repository
from yilian.payment.capitation.calc import TeamYear, capitation_payments
from yilian.payment.money import CALC_CONTEXT, CENT, MONEY_ZERO
from yilian.payment.params import PaymentParams, default_params
from yilian.payment.repository import InstitutionInfo
from yilian.payment.runs import Line, RunDraft, write_run
from yilian.payment.settlement.service import resolve_region
from yilian.residents.rules import derived_key_populations


@dataclass(frozen=True, slots=True)
class CapitationRequest:
    year: int
    consortium: str | None = None
    division: str | None = None
    params: PaymentParams | None = None


@dataclass(slots=True)
class _Team:
    residents: set[int] = dataclasses.field(default_factory=set)
    due: int = 0
    delivered: int = 0


def _teams(session: Session, institution_ids: list[int], first: date, last: date) -> dict[int, _Team]:
    contracts = cap_repository.contracts_in_year(session, institution_ids, first, last)
    ids = [c.id for c in contracts]
    items = cap_repository.package_items(session, ids)
    done = cap_repository.deliveries(session, ids, date(first.year - 1, 1, 1), last)
    residents = sorted({c.resident_id for c in contracts})
    pops = cap_repository.populations(session, residents, last)
    for rid, born in cap_repository.birth_dates(session, residents).items():
        pops.setdefault(rid, set()).update(k.value for k in derived_key_populations(born, last))
    teams: dict[int, _Team] = {}
    for c in contracts:
        team = teams.setdefault(c.institution_id, _Team())
        team.residents.add(c.resident_id)
        stop = c.stop_on if c.stop_on is not None else c.end_on + timedelta(days=1)
        term_last = stop - timedelta(days=1)
        package = [PackageItem(r.code, r.name, Frequency(r.frequency), frozenset(p for p in r.populations.split(",")
                                                                               if p)) for r in items.get(c.id, [])]
        seen: set[str] = set()
        for item in items_owed(package, pops.get(c.resident_id, set())):
            if item.code in seen:
                continue
            seen.add(item.code)
            for occ in delivery_schedule(item, c.start_on, term_last, done.get((c.id, item.code), []), last):
                if first <= occ.due_on <= last:
                    team.due += 1
                    team.delivered += occ.state == DeliveryState.DELIVERED
    return teams


def _network(session: Session, institution_id: int, first: date, last: date) -> list[int]:
    consortium = tight_consortium_of(session, institution_id, last)
    if consortium is None:
        return [institution_id]
    return [info.id for info, _ in repository.consortium_members(session, consortium, first, last)]


def _settle(session: Session, actor: Principal, *, params: PaymentParams, institutions: list[InstitutionInfo],
            division: str | None, consortium_id: int | None, started: float, base: PaymentRun | None = None,
            overrides: dict[str, str] | None = None, note: str | None = None) -> PaymentRun:
    assert params.year is not None
    first, last = date(params.year, 1, 1), date(params.year, 12, 31)
    by_id = {info.id: info for info in institutions}
    teams = _teams(session, sorted(by_id), first, last)
    if not teams:
        raise ValidationFailed(f"{params.year} 年没有在约的家庭医生签约，无法按人头结算。",
                               code="capitation_no_contracts")
    years: dict[str, TeamYear] = {}
    for iid, team in teams.items():
        cents = cap_repository.outside_outpatient_cents(session, team.residents, _network(session, iid, first, last),
                                                        first, last)
        years[str(iid)] = TeamYear(len(team.residents), team.delivered, team.due,
                                   CALC_CONTEXT.multiply(Decimal(cents), CENT))
    results = capitation_payments(years, params.capitation)
    lines = []
    for key in sorted(results, key=int):
        iid, result, ty = int(key), results[key], years[key]
        lines.append(Line(institution_id=iid, level=by_id[iid].level, cases=ty.contracted,
                          payment=result.payment, detail={
                              "contracted": ty.contracted, "delivered": ty.delivered, "due": ty.due,
                              "delivery_rate": str(result.delivery_rate.quantize(Decimal("0.0001"))),
                              "gross": str(result.gross), "deduction": str(result.deduction),
                              "outside_spending": str(ty.outside_spending), "floored": result.floored}))
    total = sum((ln.payment or MONEY_ZERO for ln in lines), MONEY_ZERO)
    draft = RunDraft(kind="capitation", year=params.year, params=params, lines=lines, division_code=division,
                     consortium_id=consortium_id, total_payment=total, cases=sum(t.contracted for t in years.values()),
                     summary={"per_capita": str(params.capitation.per_capita),
                              "outside_deduction": str(params.capitation.outside_deduction)},
                     inputs={"teams": sorted((k, t.contracted, t.delivered, t.due, str(t.outside_spending))
                                             for k, t in years.items())},
                     base_run_id=base.id if base else None, overrides=overrides, note=note)
    return write_run(session, actor, draft, started)


def do_settle_capitation(session: Session, actor: Principal, req: CapitationRequest) -> PaymentRun:
    started = time.perf_counter()
    params = dataclasses.replace(req.params or default_params(req.year), year=req.year)
    consortium_id = None
    if req.consortium is not None:
        consortium = repository.consortium_by_code(session, req.consortium)
        if consortium is None:
            raise NotFound(f"医共体代码「{req.consortium}」不存在。", code="consortium_not_found")
        division: str | None = consortium.division_code
        check_can_run(actor, division)
        institutions = [info for info, _ in repository.consortium_members(
            session, consortium.id, date(req.year, 1, 1), date(req.year, 12, 31))]
        consortium_id = consortium.id
    else:
        division = resolve_region(session, actor, req.division)
        check_can_run(actor, division)
        prefix = division_prefix(division) if division else None
        institutions = list(repository.region_institutions(session, prefix).values())
    return _settle(session, actor, params=params, institutions=institutions, division=division,
                   consortium_id=consortium_id, started=started)


def do_whatif_capitation(session: Session, actor: Principal, base: PaymentRun, params: PaymentParams,
                         overrides: dict[str, str], started: float, note: str | None = None) -> PaymentRun:
    check_can_run(actor, base.division_code)
    institutions = [info for _, info in repository.statement(session, base.id)]
    return _settle(session, actor, params=params, institutions=institutions, division=base.division_code,
                   consortium_id=base.consortium_id, started=started, base=base, overrides=overrides, note=note)
