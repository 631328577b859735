"""Settlement pages (mounted by the app as ``yilian.payment.views.router``): runs, per-institution
statements drilling down to cases and their grouping, the budget ledger, what-if comparison."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from yilian.core.errors import ValidationFailed
from yilian.core.paging import PageRequest
from yilian.identity.principal import Principal
from yilian.payment import service, whatif
from yilian.payment.access import RUN_ROLES
from yilian.payment.params import LEVEL_NAMES_ZH, PLACE_NAMES_ZH, WHATIF_KEYS, parse_assignments
from yilian.payment.schemas import CASE_KIND_ZH, ENTRY_ZH, KIND_ZH, STATUS_ZH, TIER_ZH
from yilian.web.csrf import verify_csrf
from yilian.web.deps import DB, PageUser
from yilian.web.templating import render

router = APIRouter(include_in_schema=False)
LABELS = {"kind": KIND_ZH, "case_kind": CASE_KIND_ZH, "status": STATUS_ZH, "entry": ENTRY_ZH, "tier": TIER_ZH,
          "level": dict(LEVEL_NAMES_ZH), "place": dict(PLACE_NAMES_ZH)}


def _can_run(user: Principal) -> bool:
    return any(g.role in RUN_ROLES for g in user.grants)


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)  # chart data only; tables show the Decimal


def _chart(rows: list[dict[str, Any]]) -> str:
    # Safe inside <script type="application/json">: no "</" can close the element.
    return json.dumps(rows, ensure_ascii=False).replace("</", "<\\/")


@router.get("/payment/runs")
def runs_page(request: Request, session: DB, user: PageUser, year: int | None = None, kind: str | None = None,
              page: int = 1) -> Response:
    p = service.list_runs(session, user, PageRequest(page, 20), year=year, kind=kind or None)
    query = "&".join(f"{k}={v}" for k, v in (("year", year), ("kind", kind)) if v)
    return render(request, "payment/runs.html", page=p, L=LABELS, year=year or "", kind=kind or "",
                  base_url=f"?{query}")


@router.get("/payment/runs/{run_id}")
def run_page(run_id: int, request: Request, session: DB, user: PageUser) -> Response:
    d = service.get_run(session, user, run_id)
    chart = [{"name": info.name, "payment": _num(line.payment), "provisional": _num(line.provisional),
              "points": _num(line.points)} for line, info in d.lines]
    return render(request, "payment/run.html", d=d, r=d.run, L=LABELS, chart=_chart(chart),
                  can_run=_can_run(user) and d.run.kind != "grouping", keys=WHATIF_KEYS)


@router.post("/payment/runs/{run_id}/whatif", dependencies=[Depends(verify_csrf)])
async def whatif_submit(run_id: int, request: Request, session: DB, user: PageUser) -> Response:
    form = await request.form()
    text = str(form.get("assignments") or "")
    items = [line.strip() for line in text.replace("；", "\n").replace(";", "\n").splitlines() if line.strip()]
    if not items:
        raise ValidationFailed("请至少填写一个假设参数，每行一个 key=value。", code="whatif_no_changes",
                               valid_keys=WHATIF_KEYS)
    base = service.get_run(session, user, run_id).run
    run = whatif.do_whatif(session, user, year=base.year, base_run_id=run_id, assignments=parse_assignments(items))
    target = f"/payment/compare?a={run_id}&b={run.id}"
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


@router.get("/payment/runs/{run_id}/institutions/{code}")
def statement_page(run_id: int, code: str, request: Request, session: DB, user: PageUser, kind: str | None = None,
                   flagged: str | None = None, page: int = 1) -> Response:
    only_flagged = True if flagged == "1" else None
    s = service.institution_statement(session, user, run_id, code, PageRequest(page, 50), kind=kind or None,
                                      flagged=only_flagged)
    months = [{"month": m.month, "provisional": _num(m.provisional), "points": _num(m.points)} for m in s.months]
    query = "&".join(f"{k}={v}" for k, v in (("kind", kind), ("flagged", flagged)) if v)
    return render(request, "payment/statement.html", s=s, r=s.run, L=LABELS, chart=_chart(months),
                  kind=kind or "", flagged=flagged or "", base_url=f"?{query}")


@router.get("/payment/runs/{run_id}/institutions/{code}/cases/{encounter_id}")
def case_page(run_id: int, code: str, encounter_id: int, request: Request, session: DB, user: PageUser) -> Response:
    d = service.case_detail(session, user, run_id, code, encounter_id)
    return render(request, "payment/case.html", d=d, r=d.run, L=LABELS)


@router.get("/payment/runs/{run_id}/ledger")
def ledger_page(run_id: int, request: Request, session: DB, user: PageUser) -> Response:
    run, entries, names = service.budget_ledger(session, user, run_id)
    return render(request, "payment/ledger.html", r=run, entries=entries, names=names, L=LABELS)


@router.get("/payment/compare")
def compare_page(request: Request, session: DB, user: PageUser, a: int, b: int) -> Response:
    c = service.compare_runs(session, user, a, b)
    chart = [{"name": d.name, "a": _num(d.payment_a), "b": _num(d.payment_b), "diff": _num(d.difference)}
             for d in sorted(c.lines, key=lambda d: d.code)]
    return render(request, "payment/compare.html", c=c, L=LABELS, chart=_chart(chart))
