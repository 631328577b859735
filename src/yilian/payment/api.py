"""JSON API of settlement runs (mounted by the app as ``yilian.payment.api.router``)."""

from __future__ import annotations

from fastapi import APIRouter, Query
from starlette.responses import JSONResponse

from yilian.core.paging import PageRequest
from yilian.db.models import PaymentRunInstitution
from yilian.payment import service, whatif
from yilian.payment.repository import InstitutionInfo
from yilian.payment.schemas import (
    ENTRY_ZH,
    CaseDetailOut,
    CaseOut,
    CompareOut,
    DiffOut,
    LedgerEntryOut,
    LineOut,
    MonthOut,
    RunDetailOut,
    RunOut,
    RunPageOut,
    StatementOut,
    WeightOut,
    WhatIfIn,
)
from yilian.web.deps import DB, ApiUser

router = APIRouter(prefix="/api/v1/payment", tags=["payment"])


def line_out(line: PaymentRunInstitution, info: InstitutionInfo) -> LineOut:
    return LineOut(institution_code=info.code, institution_name=info.name, level=info.level, role=line.role,
                   coefficient=line.coefficient, cases=line.cases, flagged=line.flagged, high=line.high, low=line.low,
                   total_cost=line.total_cost, fund_paid=line.fund_paid, points=line.points, cmi=line.cmi,
                   case_money=line.case_money, provisional=line.provisional, payment=line.payment,
                   balance=line.balance, rounding=line.rounding, detail=line.detail)


@router.get("/runs", response_model=RunPageOut)
def list_runs(session: DB, user: ApiUser, year: int | None = None, kind: str | None = None,
              page: int = Query(1, ge=1), size: int = Query(20, ge=1, le=200)) -> RunPageOut:
    p = service.list_runs(session, user, PageRequest(page, size), year=year, kind=kind)
    return RunPageOut(items=[RunOut.model_validate(r) for r in p.items], total=p.total, page=p.number, size=p.size)


@router.get("/runs/{run_id}", response_model=RunDetailOut)
def get_run(run_id: int, session: DB, user: ApiUser) -> RunDetailOut:
    d = service.get_run(session, user, run_id)
    return RunDetailOut(run=RunOut.model_validate(d.run), partial=d.partial,
                        lines=[line_out(line, info) for line, info in d.lines], whatifs=[r.id for r in d.whatifs])


@router.get("/runs/{run_id}/institutions/{code}", response_model=StatementOut)
def statement(run_id: int, code: str, session: DB, user: ApiUser, kind: str | None = None,
              flagged: bool | None = None, page: int = Query(1, ge=1),
              size: int = Query(50, ge=1, le=500)) -> StatementOut:
    s = service.institution_statement(session, user, run_id, code, PageRequest(page, size), kind=kind,
                                      flagged=flagged)
    return StatementOut(run_id=run_id, line=line_out(s.line, s.institution),
                        months=[MonthOut.model_validate(m) for m in s.months],
                        cases=[CaseOut.model_validate(c) for c in s.cases.items], total_cases=s.cases.total,
                        page=s.cases.number, size=s.cases.size)


@router.get("/runs/{run_id}/institutions/{code}/cases/{encounter_id}", response_model=CaseDetailOut)
def case_detail(run_id: int, code: str, encounter_id: int, session: DB, user: ApiUser) -> CaseDetailOut:
    d = service.case_detail(session, user, run_id, code, encounter_id)
    e, g = d.encounter, d.grouping
    return CaseDetailOut(
        run_id=run_id, institution_code=d.institution.code, case=CaseOut.model_validate(d.case),
        start_date=e.start_date, end_date=e.end_date, sex=d.sex, age_years=e.age_years, age_days=e.age_days,
        birth_weight_g=e.birth_weight_g, diagnoses=e.diagnoses.split("|"),
        procedures=e.procedures.split("|") if e.procedures else [], rw=d.weight.rw if d.weight else None,
        drg=g.drg if g else None, mdc=g.mdc if g else None, adrg=g.adrg if g else None, explanation=d.explanation,
        pack_note=d.pack_note)


@router.get("/runs/{run_id}/ledger", response_model=list[LedgerEntryOut])
def ledger(run_id: int, session: DB, user: ApiUser) -> list[LedgerEntryOut]:
    _run, entries, names = service.budget_ledger(session, user, run_id)
    return [LedgerEntryOut(position=e.position, month=e.month, entry=e.entry, entry_zh=ENTRY_ZH.get(e.entry, e.entry),
                           institution_code=names[e.institution_id].code if e.institution_id in names else None,
                           amount=e.amount, balance=e.balance, note=e.note) for e in entries]


@router.get("/runs/{run_id}/weights", response_model=list[WeightOut])
def weights(run_id: int, session: DB, user: ApiUser) -> list[WeightOut]:
    _run, rows = service.run_weights(session, user, run_id)
    return [WeightOut.model_validate(w) for w in rows]


@router.get("/compare", response_model=CompareOut)
def compare(session: DB, user: ApiUser, a: int = Query(...), b: int = Query(...)) -> CompareOut:
    c = service.compare_runs(session, user, a, b)
    return CompareOut(a=RunOut.model_validate(c.a), b=RunOut.model_validate(c.b), total_a=c.total_a,
                      total_b=c.total_b, lines=[DiffOut(
                          institution_code=d.code, institution_name=d.name, level=d.level, cases=d.cases,
                          points_a=d.points_a, points_b=d.points_b, payment_a=d.payment_a, payment_b=d.payment_b,
                          difference=d.difference, percent=d.percent) for d in c.lines])


@router.post("/runs/{run_id}/whatif", status_code=201, response_model=RunOut)
def create_whatif(run_id: int, body: WhatIfIn, session: DB, user: ApiUser) -> JSONResponse:
    run = service.get_run(session, user, run_id).run  # the base must be visible to the caller
    new = whatif.do_whatif(session, user, year=body.year or run.year, base_run_id=run_id, assignments=body.set)
    return JSONResponse(RunOut.model_validate(new).model_dump(mode="json"), status_code=201,
                        headers={"Location": f"/api/v1/payment/runs/{new.id}"})
