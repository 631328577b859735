"""Scorecards (绩效考核): versioned definitions, scoring from stored indicator snapshots, approval.

Scoring reads the indicator snapshot of the period for the scorecard's level (institution or
consortium cut), so a score always names the computation it came from.  Approval freezes the scores
into ``scorecard_snapshot_score`` (+ items): once per scorecard and period, never recomputed — payment's
surplus distribution reads those rows through its own repository.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from yilian.core.clock import utcnow
from yilian.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yilian.db.models.indicators import (
    IndicatorSnapshot,
    Scorecard,
    ScorecardApproval,
    ScorecardItem,
    ScorecardSnapshotScore,
)
from yilian.identity import audit
from yilian.identity.principal import Principal
from yilian.indicators import catalogue, periods, repository, rules
from yilian.indicators.catalogue import Cut
from yilian.indicators.schemas import ScorecardIn
from yilian.indicators.service import OPERATOR, Access, access_of, row_of
from yilian.indicators.values import IndicatorRow

LEVEL_CUT = {rules.Level.INSTITUTION: Cut.INSTITUTION, rules.Level.CONSORTIUM: Cut.CONSORTIUM}


@dataclass(frozen=True, slots=True)
class UnitResult:
    unit: str
    score: rules.UnitScore
    rank: int
    rows: dict[tuple[str, str], IndicatorRow]


@dataclass(frozen=True, slots=True)
class ScoreResult:
    card: Scorecard
    items: list[ScorecardItem]
    period: str
    snapshot: IndicatorSnapshot
    units: list[UnitResult]
    approval: ScorecardApproval | None = None


def parse_definition(data: Any) -> ScorecardIn:
    try:
        return ScorecardIn.model_validate(data)
    except ValidationError as exc:
        problems = [{"field": ".".join(str(p) for p in e["loc"]), "type": e["type"]} for e in exc.errors()]
        raise ValidationFailed("考核表定义不完整或格式不正确。", code="scorecard_invalid", fields=problems) from None


def _item_rules(items: list[ScorecardItem]) -> list[rules.ItemRule]:
    return [rules.ItemRule(i.indicator_code, i.group_code, Decimal(i.weight), rules.Rule(i.rule), Decimal(i.target),
                           None if i.floor is None else Decimal(i.floor), catalogue.get(i.indicator_code).direction)
            for i in items]


def _check_manage(session: Session, actor: Principal) -> None:
    if not access_of(session, actor).manage:
        raise Forbidden("只有系统管理员和卫健委工作人员可以制定和审定考核表。", code="scorecard_manage_forbidden")


def do_create(session: Session, actor: Principal, data: ScorecardIn) -> Scorecard:
    """A new scorecard, or a new version of an existing code (earlier versions stay as approved)."""
    _check_manage(session, actor)
    cut = LEVEL_CUT[data.level]
    candidate: list[rules.ItemRule] = []
    for it in data.items:
        ind = catalogue.get(it.indicator)
        if cut not in ind.cuts:
            raise ValidationFailed(f"指标“{ind.name}”不能按{rules.LEVEL_NAMES_ZH[data.level]}统计。",
                                   code="scorecard_indicator_cut")
        if it.group and it.group not in ind.groups:
            raise ValidationFailed(f"指标“{ind.name}”没有分组“{it.group}”。", code="scorecard_group_invalid")
        candidate.append(rules.ItemRule(it.indicator, it.group, it.weight, it.rule, it.target, it.floor,
                                        ind.direction))
    rules.check_items(candidate)
    previous = repository.scorecard(session, data.code)
    card = Scorecard(code=data.code, version=(previous.version + 1) if previous else 1, name=data.name,
                     level=data.level.value, missing_policy=data.missing_policy.value, description=data.description,
                     created_at=utcnow(), created_by=actor.username)
    session.add(card)
    session.flush()
    for pos, it in enumerate(data.items):
        session.add(ScorecardItem(scorecard_id=card.id, position=pos, indicator_code=it.indicator, group_code=it.group,
                                  weight=it.weight, rule=it.rule.value, floor=it.floor, target=it.target))
    session.flush()
    audit.record(session, actor, "create", "scorecard", card.id,
                 after={"code": card.code, "version": card.version, "items": len(data.items)})
    return card


def get(session: Session, code: str, version: int | None = None) -> tuple[Scorecard, list[ScorecardItem]]:
    card = repository.scorecard(session, code, version)
    if card is None:
        raise NotFound(f"考核表“{code}”不存在。", code="scorecard_not_found")
    return card, repository.scorecard_items(session, card.id)


def list_cards(session: Session, actor: Principal) -> list[Scorecard]:
    access_of(session, actor)
    return repository.latest_scorecards(session)


def _compute(session: Session, access: Access, card: Scorecard, items: list[ScorecardItem],
             period_raw: str) -> ScoreResult:
    period = periods.parse(period_raw)
    cut = LEVEL_CUT[rules.Level(card.level)]
    snap = repository.snapshot(session, period.label, cut)
    if snap is None:
        raise NotFound(f"{period.label} 尚未保存按{catalogue.CUT_NAMES_ZH[cut]}统计的指标快照，请先计算并保存。",
                       code="indicator_snapshot_missing", period=period.label, cut=cut.value)
    rows = [row_of(r, period.label, cut) for r in repository.snapshot_rows(
        session, [snap.id], codes={i.indicator_code for i in items})]
    by_unit: dict[str, dict[tuple[str, str], IndicatorRow]] = {}
    for r in rows:
        by_unit.setdefault(r.unit, {})[(r.code, r.group)] = r
    item_rules = _item_rules(items)
    policy = rules.MissingPolicy(card.missing_policy)
    scores: dict[str, rules.UnitScore] = {}
    for unit, found in by_unit.items():
        pairs = [(ir, found[(ir.code, ir.group)].value if (ir.code, ir.group) in found else None)
                 for ir in item_rules]
        scores[unit] = rules.score_unit(pairs, policy)
    ranks = rules.rank({u: s.score for u, s in scores.items()})
    units = [UnitResult(u, scores[u], ranks[u], by_unit[u]) for u in sorted(scores, key=lambda u: (ranks[u], u))
             if access.sees(cut, u)]
    return ScoreResult(card, items, period.label, snap, units, repository.approval(session, card.code, period.label))


def score(session: Session, actor: Principal | None, code: str, period_raw: str) -> ScoreResult:
    """Scores and ranks from the stored snapshot (a preview until approved); ``actor`` None = operator."""
    access = OPERATOR if actor is None else access_of(session, actor)
    card, items = get(session, code)
    return _compute(session, access, card, items, period_raw)


def do_approve(session: Session, actor: Principal, code: str, period_raw: str) -> ScorecardApproval:
    """Freeze the period's scores (all units) for the scorecard's latest version; once per period."""
    _check_manage(session, actor)
    card, items = get(session, code)
    period = periods.parse(period_raw)
    if repository.approval(session, card.code, period.label) is not None:
        raise Conflict(f"考核表“{card.name}”{period.label} 的得分已审定冻结，不能再次审定。",
                       code="scorecard_already_approved")
    result = _compute(session, OPERATOR, card, items, period.label)
    now = utcnow()
    approval = ScorecardApproval(scorecard_id=card.id, scorecard_code=card.code, scorecard_version=card.version,
                                 period=period.label, indicator_snapshot_id=result.snapshot.id,
                                 indicator_computed_at=result.snapshot.computed_at,
                                 catalogue_version=result.snapshot.catalogue_version, approved_at=now,
                                 approved_by=actor.username)
    session.add(approval)
    session.flush()
    cut = LEVEL_CUT[rules.Level(card.level)]
    ids = repository.unit_ids(session, cut, [u.unit for u in result.units])
    item_rows: list[dict[str, Any]] = []
    for u in result.units:
        row = ScorecardSnapshotScore(
            approval_id=approval.id, scorecard_code=card.code, scorecard_version=card.version, period=period.label,
            unit_kind=card.level, unit_code=u.unit, score=u.score.score, rank=u.rank, approved_at=now,
            institution_id=ids.get(u.unit) if cut == Cut.INSTITUTION else None,
            consortium_id=ids.get(u.unit) if cut == Cut.CONSORTIUM else None)
        session.add(row)
        session.flush()
        for s in u.score.items:
            found = u.rows.get((s.item.code, s.item.group))
            item_rows.append({"score_id": row.id, "indicator_code": s.item.code, "group_code": s.item.group,
                              "weight": s.item.weight,
                              "effective_weight": s.effective_weight.quantize(Decimal("0.000001")),
                              "value": s.value, "status": found.status.value if found else "no_data",
                              "reason": found.reason if found else "", "points": s.points})
    repository.add_frozen_items(session, item_rows)
    audit.record(session, actor, "approve", "scorecard", approval.id,
                 after={"code": card.code, "version": card.version, "period": period.label,
                        "units": len(result.units), "indicator_snapshot_id": result.snapshot.id})
    return approval


def frozen(session: Session, actor: Principal, code: str, period_raw: str) -> tuple[
        ScorecardApproval, list[ScorecardSnapshotScore]]:
    access = access_of(session, actor)
    period = periods.parse(period_raw)
    approval = repository.approval(session, code, period.label)
    if approval is None:
        raise NotFound("该考核表在该统计期尚未审定。", code="scorecard_not_approved")
    card, _items = get(session, approval.scorecard_code, approval.scorecard_version)
    cut = LEVEL_CUT[rules.Level(card.level)]
    scores = [s for s in repository.frozen_scores(session, approval.id) if access.sees(cut, s.unit_code)]
    return approval, scores


def result_json(result: ScoreResult) -> dict[str, Any]:
    return {
        "code": result.card.code, "version": result.card.version, "name": result.card.name,
        "level": result.card.level, "period": result.period, "snapshot_computed_at":
            result.snapshot.computed_at.isoformat(), "approved": result.approval is not None,
        "units": [{"unit": u.unit, "score": str(u.score.score), "rank": u.rank,
                   "items": [{"indicator": s.item.code, "group": s.item.group, "weight": str(s.item.weight),
                              "effective_weight": str(s.effective_weight.quantize(Decimal("0.0001"))),
                              "value": None if s.value is None else str(s.value),
                              "points": str(s.points)} for s in u.score.items]}
                  for u in result.units],
    }
