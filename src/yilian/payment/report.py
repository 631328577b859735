"""Runs as plain rows for the command line (tables on stderr, CSV/JSON on stdout) and the API.

Column names are stable English codes; the CLI prints them as headers, the pages have their own
Chinese headings.  Everything is read through :mod:`yilian.payment.service`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from yilian.core.money import format_yuan
from yilian.core.paging import PageRequest
from yilian.db.models import PaymentRun
from yilian.identity.principal import Principal
from yilian.payment import service
from yilian.payment.compare import Comparison
from yilian.payment.params import LEVEL_NAMES_ZH

KIND_NAMES_ZH = {"drg": "DRG 点数法", "dip": "DIP 病种分值", "budget": "医共体总额预算", "capitation": "按人头付费",
                 "grouping": "DRG 分组"}


def headline(run: PaymentRun) -> str:
    parts = [f"结算批次 {run.id}", f"{run.year} 年", KIND_NAMES_ZH.get(run.kind, run.kind)]
    if run.base_run_id:
        parts.append(f"假设测算（基准批次 {run.base_run_id}）")
    if run.rules_name:
        parts.append(f"规则包 {run.rules_name} {run.rules_version}")
    if run.weights_version:
        parts.append(f"权重 {run.weights_name or ''} {run.weights_version}".replace("  ", " "))
    if run.budget is not None:
        parts.append(f"预算 {format_yuan(run.budget)} 元")
    if run.point_value is not None:
        parts.append(f"点值 {run.point_value.normalize():f}")
    if run.total_payment is not None:
        parts.append(f"支付合计 {format_yuan(run.total_payment)} 元")
    parts.append(f"病例 {run.cases}（待审核 {run.flagged}）")
    return "，".join(parts)


def _num(value: Any) -> str | None:
    return None if value is None else str(value)


def statement_rows(session: Session, actor: Principal, run: PaymentRun) -> list[dict[str, Any]]:
    detail = service.get_run(session, actor, run.id)
    rows = []
    for line, info in detail.lines:
        rows.append({
            "institution": info.code, "name": info.name, "level": LEVEL_NAMES_ZH.get(info.level, info.level),
            "role": line.role, "cases": line.cases, "flagged": line.flagged,
            "points": _num(line.points), "cmi": _num(line.cmi), "case_money": _num(line.case_money),
            "provisional": _num(line.provisional), "payment": _num(line.payment), "balance": _num(line.balance),
            "fund_paid": _num(line.fund_paid),
        })
    return rows


def run_and_rows(session: Session, actor: Principal, run_id: int) -> tuple[PaymentRun, list[dict[str, Any]]]:
    detail = service.get_run(session, actor, run_id)
    return detail.run, statement_rows(session, actor, detail.run)


def run_rows(session: Session, actor: Principal, *, year: int | None, kind: str | None) -> list[dict[str, Any]]:
    page = service.list_runs(session, actor, PageRequest(1, 500), year=year, kind=kind)
    return [{"id": r.id, "kind": r.kind, "year": r.year, "division": r.division_code, "base": r.base_run_id,
             "budget": _num(r.budget), "point_value": _num(r.point_value), "total_payment": _num(r.total_payment),
             "cases": r.cases, "created_at": r.created_at.isoformat(timespec="seconds"), "created_by": r.created_by}
            for r in page.items]


def comparison_rows(comparison: Comparison) -> list[dict[str, Any]]:
    return [{"institution": d.code, "name": d.name, "level": LEVEL_NAMES_ZH.get(d.level, d.level),
             "cases": d.cases, "points_a": _num(d.points_a), "points_b": _num(d.points_b),
             "payment_a": str(d.payment_a), "payment_b": str(d.payment_b), "difference": str(d.difference),
             "percent": _num(d.percent)} for d in comparison.lines]


def difference_rows(session: Session, actor: Principal, run_a: int, run_b: int) -> list[dict[str, Any]]:
    return comparison_rows(service.compare_runs(session, actor, run_a, run_b))
