"""Indicator pages: county, consortium and institution dashboards (from snapshots), drill-down,
definitions, exports, scorecards.  Routes only read parameters and pick templates; the rules live in
``service``, ``dashboards`` and ``scorecards``.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from yilian.core.clock import format_local
from yilian.core.errors import NotFound
from yilian.core.paging import PageRequest
from yilian.indicators import catalogue, dashboards, engine, export, output, rules, scorecards, service
from yilian.indicators.catalogue import Cut, Measure
from yilian.residents.rules import KEY_POPULATION_NAMES_ZH
from yilian.web.csrf import verify_csrf
from yilian.web.deps import DB, PageUser
from yilian.web.templating import flash, render

router = APIRouter(include_in_schema=False)
CSRF = [Depends(verify_csrf)]
FormStr = Annotated[str, Form()]
GROUP_NAMES = {k.value: v for k, v in KEY_POPULATION_NAMES_ZH.items()} | {"": "全部重点人群"}
DETAIL_NAMES = {"kind": "类型", "start_date": "就诊/入院", "end_date": "出院", "total_cost": "总费用",
                "fund_paid": "基金支付", "drug_cost": "药品费", "bed_days": "床日", "weight": "数量",
                "item_code": "服务项目"}
KIND_NAMES = {"outpatient": "门诊", "emergency": "急诊", "inpatient": "住院"}
RECORD_NAMES = {"encounter": "诊疗", "referral": "转诊", "contract": "签约", "occurrence": "服务项目",
                "resident": "居民", "slot": "号源"}


def drill_url(code: str, period: str, cut: Cut | str, unit: str, part: str = "numerator", group: str = "") -> str:
    query = {"code": code, "period": period, "cut": str(cut), "unit": unit, "part": part}
    if group:
        query["group"] = group
    return "/indicators/drill?" + urlencode(query)


def _helpers() -> dict[str, Any]:
    return {
        "show_value": output.show_value, "show_figure": output.show_figure, "show_target": output.show_target,
        "reason_zh": output.reason_zh, "drill_url": drill_url, "catalogue": catalogue, "local": format_local,
        "group_names": GROUP_NAMES, "cut_names": catalogue.CUT_NAMES_ZH, "measure_names": catalogue.MEASURE_NAMES_ZH,
        "attribution_names": catalogue.ATTRIBUTION_NAMES_ZH, "source_names": catalogue.SOURCE_NAMES_ZH,
        "direction_names": catalogue.DIRECTION_NAMES_ZH, "implemented": engine.implemented_codes(),
        "detail_names": DETAIL_NAMES, "kind_names": KIND_NAMES, "record_names": RECORD_NAMES,
    }


def _chart_number(ind: catalogue.Indicator, value: Decimal | None) -> float | None:
    if value is None:
        return None
    return float(value * 100) if ind.measure == Measure.FRACTION else float(value)


def _chart_data(board: dashboards.Dashboard) -> str:
    inds = {c: catalogue.get(c) for c in dashboards.CHART_CODES}
    data = {
        "period": board.period.label, "cut": board.cut.value, "unit": board.unit,
        "months": board.trend_months,
        "indicators": [{"code": c, "name": i.name, "percent": i.measure == Measure.FRACTION,
                        "target": _chart_number(i, i.target.value) if i.target else None} for c, i in inds.items()],
        "trends": {c: [_chart_number(inds[c], v) for v in vs] for c, vs in board.trends.items()},
        "compare_cut": board.compare_cut.value if board.compare_cut else "",
        "compare_units": [{"code": u, "name": n} for u, n in board.compare_units],
        "compare": {c: [_chart_number(inds[c], v) for v in vs] for c, vs in board.compare.items()},
    }
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


def _dashboard(request: Request, session: DB, user: PageUser, cut: Cut, unit: str, period: str) -> Response:
    board = dashboards.build(session, user, period or None, cut, unit)
    return render(request, "indicators/dashboard.html", board=board, chart_json=_chart_data(board),
                  institutions=dashboards.institution_table(board), chart_codes=dashboards.CHART_CODES,
                  **_helpers())


@router.get("/indicators")
def county(request: Request, session: DB, user: PageUser, period: str = "") -> Response:
    access = service.access_of(session, user)
    if not access.county and access.consortia:
        query = f"?period={period}" if period else ""
        return RedirectResponse(f"/indicators/consortia/{sorted(access.consortia)[0]}{query}", status_code=303)
    return _dashboard(request, session, user, Cut.COUNTY, "", period)


@router.get("/indicators/consortia/{code}")
def consortium(request: Request, session: DB, user: PageUser, code: str, period: str = "") -> Response:
    return _dashboard(request, session, user, Cut.CONSORTIUM, code, period)


@router.get("/indicators/institutions/{code}")
def institution(request: Request, session: DB, user: PageUser, code: str, period: str = "") -> Response:
    return _dashboard(request, session, user, Cut.INSTITUTION, code, period)


@router.get("/indicators/grids/{code}")
def grid(request: Request, session: DB, user: PageUser, code: str, period: str = "") -> Response:
    return _dashboard(request, session, user, Cut.GRID, code, period)


@router.get("/indicators/drill")
def drill(request: Request, session: DB, user: PageUser, code: str, period: str, cut: str = "county",
          unit: str = "", group: str = "", part: str = "numerator", page: int = 1) -> Response:
    result = service.drill_down(session, user, code, period, cut, unit, group, part, PageRequest(page, 50))
    base = "/indicators/drill?" + urlencode({"code": code, "period": period, "cut": cut, "unit": unit,
                                             "group": group, "part": part})
    return render(request, "indicators/drill.html", d=result, page=result.page, base_url=base, **_helpers())


@router.get("/indicators/definitions")
def definitions(request: Request, session: DB, user: PageUser) -> Response:
    service.access_of(session, user)
    return render(request, "indicators/definitions.html", version=catalogue.version(), **_helpers())


@router.get("/indicators/export.{fmt}")
def export_rows(session: DB, user: PageUser, fmt: str, period: str, cut: str = "county") -> Response:
    snap, rows = service.read_snapshot(session, user, period, cut)
    names = service.unit_names(session, catalogue.parse_cut(cut), {r.unit for r in rows})
    rows = [service.named(r, names) for r in rows]
    stem = f"indicators-{period}-{cut}"
    if fmt == "xlsx":
        title = f"监测指标 {period}（{catalogue.CUT_NAMES_ZH[catalogue.parse_cut(cut)]}）"
        if snap is not None:
            title += f" 计算于 {format_local(snap.computed_at)}"
        return Response(export.to_xlsx(rows, title), media_type=export.XLSX_MEDIA_TYPE,
                        headers={"Content-Disposition": f'attachment; filename="{stem}.xlsx"'})
    if fmt != "csv":
        return Response("格式应为 csv 或 xlsx", status_code=404)
    return Response(export.to_csv(rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{stem}.csv"'})


@router.post("/indicators/snapshots", dependencies=CSRF)
def store(request: Request, session: DB, user: PageUser, period: FormStr = "",
          back: FormStr = "/indicators") -> Response:
    snaps = service.do_store_snapshots(session, user, period)
    flash(request, f"已计算并保存 {period} 的 {len(snaps)} 个指标快照。")
    target = back if back.startswith("/indicators") else "/indicators"
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


# ---- scorecards -----------------------------------------------------------------------------


@router.get("/indicators/scorecards")
def scorecard_list(request: Request, session: DB, user: PageUser) -> Response:
    cards = scorecards.list_cards(session, user)
    return render(request, "indicators/scorecards.html", cards=cards, levels=rules.LEVEL_NAMES_ZH)


@router.get("/indicators/scorecards/{code}")
def scorecard_page(request: Request, session: DB, user: PageUser, code: str, period: str = "") -> Response:
    period = period or dashboards.default_period(session)
    access = service.access_of(session, user)
    card, items = scorecards.get(session, code)
    result = None
    problem = None
    try:
        result = scorecards.score(session, user, code, period)
    except NotFound as exc:
        problem = exc.message
    names = service.unit_names(session, scorecards.LEVEL_CUT[rules.Level(card.level)],
                               {u.unit for u in result.units} if result else set())
    return render(request, "indicators/scorecard.html", card=card, items=items, result=result, problem=problem,
                  period=period, names=names, can_manage=access.manage, rules_zh=rules.RULE_NAMES_ZH,
                  missing_zh=rules.MISSING_NAMES_ZH, levels=rules.LEVEL_NAMES_ZH, **_helpers())


@router.post("/indicators/scorecards/{code}/approve", dependencies=CSRF)
def scorecard_approve(request: Request, session: DB, user: PageUser, code: str, period: FormStr = "") -> Response:
    approval = scorecards.do_approve(session, user, code, period)
    flash(request, f"已审定并冻结 {approval.period} 的考核得分（第 {approval.scorecard_version} 版）。")
    target = f"/indicators/scorecards/{code}?" + urlencode({"period": period})
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


__all__ = ["drill_url", "router"]
