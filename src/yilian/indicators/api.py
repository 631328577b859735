"""JSON API of the indicators feature (``/api/v1/indicators``): catalogue, values (stored or live),
snapshots, drill-down, scorecards.  Thin: every route calls the service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body

from yilian.core.paging import PageRequest
from yilian.indicators import catalogue, engine, output, scorecards, service
from yilian.indicators.schemas import (
    DrillOut,
    DrillRowOut,
    IndicatorRowOut,
    ScorecardIn,
    SnapshotOut,
    SnapshotRequest,
    ValuesOut,
)
from yilian.indicators.values import IndicatorRow
from yilian.web.deps import DB, ApiUser

router = APIRouter(prefix="/api/v1/indicators", tags=["indicators"])


def _row(r: IndicatorRow) -> IndicatorRowOut:
    return IndicatorRowOut(**output.row_values(r))


def _snap(s: Any) -> SnapshotOut:
    return SnapshotOut(period=s.period, cut=s.cut, catalogue_version=s.catalogue_version,
                       computed_at=s.computed_at.isoformat(), computed_by=s.computed_by, rows=s.rows)


@router.get("/catalogue")
def get_catalogue(session: DB, user: ApiUser) -> dict[str, Any]:
    service.access_of(session, user)
    implemented = engine.implemented_codes()
    return {"version": catalogue.version(), "indicators": [
        {"code": i.code, "name": i.name, "family": i.family.value, "measure": i.measure.value,
         "direction": i.direction.value, "numerator": i.numerator, "denominator": i.denominator,
         "population": i.population, "dating": i.dating, "attribution": i.attribution.value,
         "source": i.source.value, "cuts": [c.value for c in i.cuts], "groups": list(i.groups), "note": i.note,
         "target": None if i.target is None else {"op": i.target.op, "value": str(i.target.value)},
         "implemented": i.code in implemented} for i in catalogue.INDICATORS]}


@router.get("", response_model=ValuesOut)
def get_values(session: DB, user: ApiUser, period: str, cut: str = "county", source: str = "snapshot") -> ValuesOut:
    """Stored values (``source=snapshot``, default) or a live computation (``source=live``)."""
    if source == "live":
        rows = service.compute_for(session, user, period, cut)
        return ValuesOut(period=period, cut=cut, source="live", snapshot=None, rows=[_row(r) for r in rows])
    snap, rows = service.read_snapshot(session, user, period, cut)
    return ValuesOut(period=period, cut=cut, source="snapshot", snapshot=_snap(snap) if snap else None,
                     rows=[_row(r) for r in rows])


@router.get("/snapshots")
def get_snapshots(session: DB, user: ApiUser) -> list[SnapshotOut]:
    return [_snap(s) for s in service.list_snapshots(session, user)]


@router.post("/snapshots", status_code=201)
def post_snapshots(session: DB, user: ApiUser, body: SnapshotRequest) -> list[SnapshotOut]:
    cuts = list(service.PAGE_CUTS) if body.cut == "all" else [catalogue.parse_cut(body.cut)]
    return [_snap(s) for s in service.do_store_snapshots(session, user, body.period, months=body.months, cuts=cuts)]


@router.get("/drilldown", response_model=DrillOut)
def get_drilldown(session: DB, user: ApiUser, code: str, period: str, cut: str = "county", unit: str = "",
                  group: str = "", part: str = "numerator", page: int = 1, size: int = 50) -> DrillOut:
    d = service.drill_down(session, user, code, period, cut, unit, group, part, PageRequest(page, size))
    return DrillOut(code=code, period=d.period.label, cut=d.cut.value, unit=unit, group=group, part=part,
                    total=d.page.total, page=d.page.number, size=d.page.size,
                    items=[DrillRowOut(record_kind=r.record_kind, record_id=r.record_id,
                                       day=r.day.isoformat() if r.day else None, institution=r.institution,
                                       resident=r.resident, resident_id_masked=r.resident_id_masked,
                                       in_numerator=r.in_numerator,
                                       detail={k: str(v) if v is not None else None for k, v in r.detail.items()})
                           for r in d.page.items])


@router.get("/scorecards")
def get_scorecards(session: DB, user: ApiUser) -> list[dict[str, Any]]:
    return [{"code": c.code, "version": c.version, "name": c.name, "level": c.level}
            for c in scorecards.list_cards(session, user)]


@router.post("/scorecards", status_code=201)
def post_scorecard(session: DB, user: ApiUser, body: ScorecardIn) -> dict[str, Any]:
    card = scorecards.do_create(session, user, body)
    return {"code": card.code, "version": card.version}


@router.get("/scorecards/{code}/scores")
def get_scores(session: DB, user: ApiUser, code: str, period: str) -> dict[str, Any]:
    return scorecards.result_json(scorecards.score(session, user, code, period))


@router.post("/scorecards/{code}/approve", status_code=201)
def post_approve(session: DB, user: ApiUser, code: str, period: str = Body(embed=True)) -> dict[str, Any]:
    a = scorecards.do_approve(session, user, code, period)
    return {"code": a.scorecard_code, "version": a.scorecard_version, "period": a.period,
            "approved_at": a.approved_at.isoformat(), "approved_by": a.approved_by}


@router.get("/scorecards/{code}/approved")
def get_approved(session: DB, user: ApiUser, code: str, period: str) -> dict[str, Any]:
    a, scores = scorecards.frozen(session, user, code, period)
    return {"code": a.scorecard_code, "version": a.scorecard_version, "period": a.period,
            "approved_at": a.approved_at.isoformat(), "approved_by": a.approved_by,
            "catalogue_version": a.catalogue_version, "indicator_computed_at": a.indicator_computed_at.isoformat(),
            "scores": [{"unit": s.unit_code, "score": str(s.score), "rank": s.rank} for s in scores]}


