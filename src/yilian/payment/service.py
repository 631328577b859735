"""Reading runs: the use cases behind the pages, the API and ``yilian settle show|runs|compare``.

Every function takes the acting principal and applies :mod:`yilian.payment.access`: a run outside
the reader's scope is refused, and a consortium manager sees only the statement lines (and cases)
of their consortium's institutions.  Opening a case (diagnoses, costs) is a read of personal health
data and is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from yilian.core.errors import Forbidden, NotFound
from yilian.core.paging import Page, PageRequest
from yilian.db.models import (
    Consortium,
    Encounter,
    PaymentBudgetEntry,
    PaymentRun,
    PaymentRunCase,
    PaymentRunInstitution,
    PaymentRunMonth,
    PaymentRunWeight,
    Settlement,
)
from yilian.identity import audit
from yilian.identity.principal import Principal
from yilian.payment import repository
from yilian.payment.access import PaymentScope, read_scope
from yilian.payment.compare import Comparison, compare
from yilian.payment.drg.case import DrgCase, split_codes
from yilian.payment.drg.result import GroupResult
from yilian.payment.repository import InstitutionInfo
from yilian.payment.settlement.service import grouper_for

Line = tuple[PaymentRunInstitution, InstitutionInfo]


@dataclass(frozen=True, slots=True)
class RunDetail:
    run: PaymentRun
    lines: list[Line]
    partial: bool  # only the reader's institutions are shown
    base: PaymentRun | None
    whatifs: list[PaymentRun]
    consortium: Consortium | None


@dataclass(frozen=True, slots=True)
class InstitutionStatement:
    run: PaymentRun
    line: PaymentRunInstitution
    institution: InstitutionInfo
    months: list[PaymentRunMonth]
    cases: Page[PaymentRunCase]


@dataclass(frozen=True, slots=True)
class CaseDetail:
    run: PaymentRun
    institution: InstitutionInfo
    case: PaymentRunCase
    encounter: Encounter
    settlement: Settlement | None
    sex: int
    weight: PaymentRunWeight | None
    grouping: GroupResult | None
    explanation: str
    pack_note: str | None
    drg_name: str = ""


def _run(session: Session, scope: PaymentScope, run_id: int) -> PaymentRun:
    run = repository.run(session, run_id)
    if run is None:
        raise NotFound(f"结算批次 {run_id} 不存在。", code="payment_run_not_found", run_id=run_id)
    if not scope.unrestricted and not repository.run_visible(session, run_id, scope.filter):
        raise Forbidden("该结算批次不在您的查看范围内。", code="payment_run_out_of_scope", run_id=run_id)
    return run


def _line_visible(scope: PaymentScope, institution_id: int) -> bool:
    return scope.line_institutions is None or institution_id in scope.line_institutions


def list_runs(session: Session, actor: Principal, page: PageRequest, *, year: int | None = None,
              kind: str | None = None) -> Page[PaymentRun]:
    scope = read_scope(session, actor)
    items, total = repository.page_of(session, repository.runs_query(scope.filter, year=year, kind=kind),
                                      page.size, page.offset)
    return Page(items=items, total=total, number=page.number, size=page.size)


def get_run(session: Session, actor: Principal, run_id: int) -> RunDetail:
    scope = read_scope(session, actor)
    run = _run(session, scope, run_id)
    lines = repository.statement(session, run.id, scope.line_institutions)
    base = repository.run(session, run.base_run_id) if run.base_run_id else None
    whatifs = repository.whatifs_of(session, run.id)
    consortium = repository.consortium(session, run.consortium_id) if run.consortium_id else None
    return RunDetail(run, lines, scope.line_institutions is not None, base, whatifs, consortium)


def _institution(session: Session, scope: PaymentScope, code: str) -> InstitutionInfo:
    info = repository.institution_by_code(session, code)
    if info is None:
        raise NotFound(f"机构代码「{code}」不存在。", code="institution_not_found")
    if not _line_visible(scope, info.id):
        raise Forbidden("该机构的结算单不在您的查看范围内。", code="payment_statement_out_of_scope")
    return info


def institution_statement(session: Session, actor: Principal, run_id: int, code: str, page: PageRequest, *,
                          kind: str | None = None, flagged: bool | None = None,
                          group_code: str | None = None) -> InstitutionStatement:
    scope = read_scope(session, actor)
    run = _run(session, scope, run_id)
    info = _institution(session, scope, code)
    line = repository.statement_line(session, run.id, info.id)
    if line is None:
        raise NotFound(f"结算批次 {run_id} 中没有机构「{code}」。", code="payment_statement_not_found")
    stmt = repository.cases_query(run.id, info.id, kind=kind, flagged=flagged, group_code=group_code)
    items, total = repository.page_of(session, stmt, page.size, page.offset)
    return InstitutionStatement(run, line, info, repository.months(session, run.id, info.id),
                                Page(items=items, total=total, number=page.number, size=page.size))


def _explain(run: PaymentRun, case: DrgCase) -> tuple[GroupResult | None, str | None, str]:
    """Group the case again with the run's pack (``explain=True``); a note when the pack found now
    differs from the one the run recorded."""
    stored = (run.options or {}).get("rules_dir")
    rules = Path(stored) if stored and Path(stored).is_dir() else None
    grouper = grouper_for(rules)
    note = None
    if (grouper.pack.name, grouper.pack.version) != (run.rules_name, run.rules_version):
        note = (f"该批次使用规则包 {run.rules_name} {run.rules_version}，当前可用的是 "
                f"{grouper.pack.name} {grouper.pack.version}：以下分组过程按当前规则包给出。")
    result = grouper.group(case, explain=True)
    names = {d.code: d.name for d in grouper.pack.drgs.get(result.adrg or "", ())}
    return result, note, names.get(result.drg, "")


def case_detail(session: Session, actor: Principal, run_id: int, code: str, encounter_id: int) -> CaseDetail:
    scope = read_scope(session, actor)
    run = _run(session, scope, run_id)
    info = _institution(session, scope, code)
    case = repository.run_case(session, run.id, info.id, encounter_id)
    found = repository.encounter_for_case(session, encounter_id)
    if case is None or found is None:
        raise NotFound(f"结算批次 {run_id} 中没有该机构的病例 {encounter_id}。", code="payment_case_not_found")
    encounter, sex, settlement = found
    weight = session.get(PaymentRunWeight, (run.id, case.group_code))
    grouping, note, text, name = None, None, "", ""
    if run.kind in ("drg", "grouping"):
        drg_case = DrgCase(sex, encounter.age_years, split_codes(encounter.diagnoses),
                           split_codes(encounter.procedures) if encounter.procedures else (),
                           encounter.age_days, encounter.birth_weight_g)
        grouping, note, name = _explain(run, drg_case)
        text = grouping.trace.render() if grouping is not None and grouping.trace is not None else ""
        if grouping is not None and grouping.message:
            text = f"{grouping.message}；{text}" if text else grouping.message
    audit.record_read(session, actor, encounter.resident_id,
                      f"查看结算病例：批次 {run.id}，机构 {info.code}，就诊 {encounter_id}")
    return CaseDetail(run, info, case, encounter, settlement, sex, weight, grouping, text, note, name)


def budget_ledger(session: Session, actor: Principal, run_id: int
                  ) -> tuple[PaymentRun, list[PaymentBudgetEntry], dict[int, InstitutionInfo]]:
    scope = read_scope(session, actor)
    run = _run(session, scope, run_id)
    entries = [e for e in repository.ledger(session, run.id)
               if e.institution_id is None or _line_visible(scope, e.institution_id)]
    names = repository.institutions_by_id(session, {e.institution_id for e in entries if e.institution_id})
    return run, entries, names


def run_weights(session: Session, actor: Principal, run_id: int) -> tuple[PaymentRun, list[PaymentRunWeight]]:
    scope = read_scope(session, actor)
    run = _run(session, scope, run_id)
    return run, repository.weights(session, run.id)


def compare_runs(session: Session, actor: Principal, a_id: int, b_id: int) -> Comparison:
    scope = read_scope(session, actor)
    a, b = _run(session, scope, a_id), _run(session, scope, b_id)
    return compare(session, a, b, scope.line_institutions)
