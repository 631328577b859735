"""Writing a run: one shape for every method (DRG, DIP, budget, capitation, grouping).

A method's service computes a :class:`RunDraft` (the run's figures, its statement lines, and
optionally weights, months, ledger entries and a generator of case rows) and hands it to
:func:`write_run`, which stores everything in the caller's transaction, computes the digests and
writes one audit entry.  Runs are immutable: nothing here updates a stored run.

``inputs_digest`` fingerprints what went in (rule and weight versions, parameters, per-institution
case counts, costs and encounter-id sums); ``result_digest`` fingerprints the money (point value and
every statement line).  Two runs with equal digests paid the same money to the same institutions —
the "reruns are identical" check reads these.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from yilian.core.clock import utcnow
from yilian.db.models import PaymentRun
from yilian.identity import audit
from yilian.identity.principal import Principal
from yilian.payment import repository
from yilian.payment.params import PaymentParams

POINTS_Q = Decimal("0.000001")


@dataclass(slots=True)
class Line:
    """A statement line (``payment_run_institution``)."""

    institution_id: int
    level: str
    role: str | None = None
    coefficient: Decimal | None = None
    cases: int = 0
    flagged: int = 0
    high: int = 0
    low: int = 0
    total_cost: Decimal = Decimal("0.00")
    fund_paid: Decimal = Decimal("0.00")
    points: Decimal | None = None
    cmi: Decimal | None = None
    case_money: Decimal | None = None
    provisional: Decimal | None = None
    payment: Decimal | None = None
    balance: Decimal | None = None
    rounding: Decimal | None = None
    detail: dict[str, Any] | None = None

    def row(self, run_id: int) -> dict[str, Any]:
        return {
            "run_id": run_id, "institution_id": self.institution_id, "level": self.level, "role": self.role,
            "coefficient": self.coefficient, "cases": self.cases, "flagged": self.flagged, "high": self.high,
            "low": self.low, "total_cost": self.total_cost, "fund_paid": self.fund_paid,
            "points": _q(self.points), "cmi": _q(self.cmi), "case_money": self.case_money,
            "provisional": self.provisional, "payment": self.payment, "balance": self.balance,
            "rounding": self.rounding, "detail": self.detail,
        }


def _q(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(POINTS_Q)


CaseRows = Callable[[int], Iterable[Sequence[Any]]]


@dataclass(slots=True)
class RunDraft:
    kind: str
    year: int
    params: PaymentParams
    lines: list[Line]
    division_code: str | None = None
    consortium_id: int | None = None
    base_run_id: int | None = None
    overrides: dict[str, str] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    rules_name: str | None = None
    rules_version: str | None = None
    weights_source: str | None = None
    weights_name: str | None = None
    weights_version: str | None = None
    budget: Decimal | None = None
    point_value: Decimal | None = None
    point_value_source: str | None = None
    total_points: Decimal | None = None
    total_payment: Decimal | None = None
    cases: int = 0
    flagged: int = 0
    summary: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)  # what the inputs digest covers besides params
    note: str | None = None
    weights: list[dict[str, Any]] = field(default_factory=list)  # code, rw, avg_cost, source, cases
    months: list[dict[str, Any]] = field(default_factory=list)  # institution_id, month, cases, points, …
    ledger: list[dict[str, Any]] = field(default_factory=list)  # consortium_id, institution_id, month, entry, …
    case_rows: CaseRows | None = None


def _digest(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()


def inputs_digest(draft: RunDraft) -> str:
    return _digest({"kind": draft.kind, "year": draft.year, "division": draft.division_code,
                    "consortium": draft.consortium_id, "params": draft.params.to_dict(), "options": draft.options,
                    "rules": [draft.rules_name, draft.rules_version],
                    "weights": [draft.weights_source, draft.weights_version], "inputs": draft.inputs})


def result_digest(draft: RunDraft) -> str:
    lines = sorted((ln.institution_id, str(ln.payment), str(ln.case_money), str(_q(ln.points)), ln.cases)
                   for ln in draft.lines)
    return _digest({"point_value": str(draft.point_value), "total": str(draft.total_payment), "lines": lines,
                    "ledger": [(e["institution_id"], e["entry"], str(e["amount"])) for e in draft.ledger]})


def write_run(session: Session, actor: Principal, draft: RunDraft, started: float) -> PaymentRun:
    """Store a run and all its rows in the caller's transaction; returns the flushed run."""
    run = repository.add_run(session, PaymentRun(
        kind=draft.kind, year=draft.year, division_code=draft.division_code, consortium_id=draft.consortium_id,
        base_run_id=draft.base_run_id, overrides=draft.overrides, params=draft.params.to_dict(),
        options=draft.options, rules_name=draft.rules_name, rules_version=draft.rules_version,
        weights_source=draft.weights_source, weights_name=draft.weights_name, weights_version=draft.weights_version,
        budget=draft.budget, point_value=None if draft.point_value is None else draft.point_value.quantize(
            Decimal("1E-10")),
        point_value_source=draft.point_value_source, total_points=_q(draft.total_points),
        total_payment=draft.total_payment, cases=draft.cases, flagged=draft.flagged, institutions=len(draft.lines),
        summary=draft.summary, inputs_digest=inputs_digest(draft), result_digest=result_digest(draft),
        note=draft.note, duration_ms=0, created_at=utcnow(), created_by=actor.username))
    repository.insert_statement(session, [ln.row(run.id) for ln in draft.lines])
    repository.insert_weights(session, [{"run_id": run.id, **w} for w in draft.weights])
    repository.insert_months(session, [{"run_id": run.id, **m} for m in draft.months])
    repository.insert_ledger(session, [{"run_id": run.id, "position": i, **e} for i, e in enumerate(draft.ledger)])
    if draft.case_rows is not None:
        repository.copy_cases(session, draft.case_rows(run.id))
    run.duration_ms = int((time.perf_counter() - started) * 1000)
    session.flush()
    audit.record(session, actor, "create", "payment_run", run.id, after={
        "kind": run.kind, "year": run.year, "division_code": run.division_code, "consortium_id": run.consortium_id,
        "base_run_id": run.base_run_id, "overrides": run.overrides, "budget": run.budget,
        "total_payment": run.total_payment, "cases": run.cases, "result_digest": run.result_digest})
    return run
