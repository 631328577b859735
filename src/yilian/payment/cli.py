"""``yilian settle …``: settlement runs from the command line (mounted by the root CLI as ``settle``).

stdout carries only data: ``drg``, ``dip``, ``budget``, ``capitation``, ``group`` and ``whatif``
print the id of the run they wrote; ``show``, ``runs`` and ``compare`` print their table (``--format
csv|json`` for pipes).  The per-institution report, progress bars and notes go to stderr.
Also runnable alone: ``python -m yilian.payment.cli drg …``.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from yilian.cli.context import cli_actor, err, handles_errors, transaction
from yilian.core.errors import ValidationFailed
from yilian.db.models import PaymentRun
from yilian.payment import report, whatif
from yilian.payment.budget.service import BudgetRequest, do_settle_budget
from yilian.payment.capitation.service import CapitationRequest, do_settle_capitation
from yilian.payment.dip.service import DipRequest, do_settle_dip
from yilian.payment.money import require_cents
from yilian.payment.settlement import repository as discharges
from yilian.payment.settlement.service import DrgSettleRequest, do_settle_drg

settle_app = typer.Typer(help="医保支付结算：DRG 点数法、DIP、医共体总额预算、家庭医生按人头付费与假设测算。",
                         no_args_is_help=True, add_completion=False)

DATABASE = typer.Option(None, "--database", help="数据库 URL（默认 YILIAN_DATABASE_URL）")
FORMATS = ("table", "csv", "json")


def _amount(text: str | None, what: str) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text.replace(",", "").strip())
    except InvalidOperation:
        raise ValidationFailed(f"{what}「{text}」不是金额。", code="settle_bad_amount") from None
    require_cents(value, what, code="settle_bad_amount")
    if value <= 0:
        raise ValidationFailed(f"{what}必须为正数。", code="settle_bad_amount")
    return value


def _format(value: str) -> str:
    if value not in FORMATS:
        raise ValidationFailed(f"未知的输出格式「{value}」，可用：{'、'.join(FORMATS)}。", code="format_unknown")
    return value


def _bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err, transient=True, disable=not err.is_terminal)


def _finish(run: PaymentRun, rows: list[dict[str, Any]], report_path: Path | None) -> None:
    """The per-institution report on stderr (and to ``--report``), the run id on stdout."""
    err.print(report.headline(run), markup=False, soft_wrap=True)
    _print_table(rows, err_out=True)
    if run.note:
        err.print(f"[yellow]注意[/yellow]：{escape(run.note)}")
    if report_path is not None:
        report_path.write_text(_csv(rows), encoding="utf-8")
    print(run.id)


def _print_table(rows: list[dict[str, Any]], err_out: bool = False) -> None:
    if not rows:
        if err_out:
            err.print("（无数据）")
        else:
            print("（无数据）")
        return
    table = Table(*rows[0].keys(), show_lines=False)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    # A report in a log or a pipe is read whole: never squeeze it to 80 columns.
    console = err if err_out else Console()
    if not console.is_terminal:
        console = Console(stderr=err_out, width=240)
    console.print(table)


def _csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0].keys()), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buf.getvalue()


def _emit(rows: list[dict[str, Any]], fmt: str) -> None:
    if fmt == "csv":
        sys.stdout.write(_csv(rows))
    elif fmt == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
    else:
        _print_table(rows)


@settle_app.command("drg")
@handles_errors
def drg(
    year: int = typer.Option(..., "--year", help="结算年度（按出院日期）"),
    budget: str = typer.Option(..., "--budget", help="年度 DRG 基金预算（元）"),
    rules: Path | None = typer.Option(None, "--rules", help="CHS-DRG 规则包目录（默认见 YILIAN_DRG_RULES）"),
    weights: Path | None = typer.Option(None, "--weights",
                                        help="权重表 CSV drg,rw[,avg_cost,avg_los]（或含 pack.tsv 的目录）"),
    division: str | None = typer.Option(None, "--division", help="结算地区的行政区划代码（默认：全部县域内机构）"),
    coefficients: str = typer.Option("level", "--coefficients", help="差异系数策略：level（按级别）或 blend"),
    report_path: Path | None = typer.Option(None, "--report", help="把分机构结算单写入此 CSV 文件"),
    database: str | None = DATABASE,
) -> None:
    """按病组点数法结算一年的出院病例：分组、计点、定点值、月度预结算与年终清算；输出结算批次编号。"""
    req = DrgSettleRequest(year=year, budget=_amount(budget, "预算"), rules=rules, weights=weights, division=division,
                           coefficient_strategy=coefficients)
    with transaction(database) as session, _bar() as bar:
        task = bar.add_task("分组与计点", total=discharges.count_discharges(session, year, None)
                            if err.is_terminal else None)
        run = do_settle_drg(session, cli_actor(), req, progress=lambda n: bar.advance(task, n))
        rows = report.statement_rows(session, cli_actor(), run)
    _finish(run, rows, report_path)


@settle_app.command("group")
@handles_errors
def group(
    year: int = typer.Option(..., "--year", help="年度（按出院日期）"),
    rules: Path | None = typer.Option(None, "--rules", help="CHS-DRG 规则包目录"),
    division: str | None = typer.Option(None, "--division", help="行政区划代码（默认：全部县域内机构）"),
    database: str | None = DATABASE,
) -> None:
    """只分组不结算：记录一年出院病例的 DRG、权重与各机构 CMI（供指标使用）；输出批次编号。"""
    with transaction(database) as session:
        run = do_settle_drg(session, cli_actor(), DrgSettleRequest(year=year, rules=rules, division=division),
                            kind="grouping")
        rows = report.statement_rows(session, cli_actor(), run)
    _finish(run, rows, None)


@settle_app.command("dip")
@handles_errors
def dip(
    year: int = typer.Option(..., "--year", help="结算年度（按出院日期）"),
    budget: str = typer.Option(..., "--budget", help="年度 DIP 基金预算（元）"),
    division: str | None = typer.Option(None, "--division", help="结算地区的行政区划代码"),
    history: int = typer.Option(3, "--history-years", help="计算病种分值所用的历史年数（1–3）"),
    report_path: Path | None = typer.Option(None, "--report", help="把分机构结算单写入此 CSV 文件"),
    database: str | None = DATABASE,
) -> None:
    """按病种分值付费（DIP）结算一年的出院病例；输出结算批次编号。"""
    with transaction(database) as session:
        run = do_settle_dip(session, cli_actor(), DipRequest(year=year, budget=_amount(budget, "预算"),
                                                             division=division, history_years=history))
        rows = report.statement_rows(session, cli_actor(), run)
    _finish(run, rows, report_path)


@settle_app.command("budget")
@handles_errors
def budget_(
    year: int = typer.Option(..., "--year", help="预算年度"),
    consortium: str = typer.Option(..., "--consortium", help="医共体代码"),
    budget: str | None = typer.Option(None, "--budget", help="协商确定的总额（元）；不给则按人均×参保人数"),
    per_capita: str | None = typer.Option(None, "--per-capita", help="人均预算（元，默认 792.00）"),
    variant: str = typer.Option("standard", "--variant", help="standard（总额预算）或 luohu（罗湖：签约居民住院）"),
    within: str | None = typer.Option(None, "--within", help="层级内分配依据：score（绩效得分）或 workload（工作量）"),
    scorecard: str | None = typer.Option(None, "--scorecard", help="绩效得分所用的考核方案代码（默认最新审定的）"),
    report_path: Path | None = typer.Option(None, "--report", help="把成员单位分配表写入此 CSV 文件"),
    database: str | None = DATABASE,
) -> None:
    """医共体总额预算年终清算：预算、预付、月度预结算、结余留用或超支分担及成员分配；输出批次编号。"""
    req = BudgetRequest(year=year, consortium=consortium, budget=_amount(budget, "总额"),
                        per_capita=_amount(per_capita, "人均预算"), variant=variant, within=within,
                        scorecard=scorecard)
    with transaction(database) as session:
        run = do_settle_budget(session, cli_actor(), req)
        rows = report.statement_rows(session, cli_actor(), run)
    _finish(run, rows, report_path)


@settle_app.command("capitation")
@handles_errors
def capitation(
    year: int = typer.Option(..., "--year", help="年度"),
    consortium: str | None = typer.Option(None, "--consortium", help="只结算该医共体成员单位的团队"),
    division: str | None = typer.Option(None, "--division", help="行政区划代码（默认：全部县域内机构）"),
    report_path: Path | None = typer.Option(None, "--report", help="把分机构结算单写入此 CSV 文件"),
    database: str | None = DATABASE,
) -> None:
    """家庭医生签约按人头付费：签约人数×标准×履约率−签约居民外出门诊基金支出×扣减比例；输出批次编号。"""
    with transaction(database) as session:
        run = do_settle_capitation(session, cli_actor(), CapitationRequest(year=year, consortium=consortium,
                                                                           division=division))
        rows = report.statement_rows(session, cli_actor(), run)
    _finish(run, rows, report_path)


@settle_app.command("whatif")
@handles_errors
def whatif_(
    year: int = typer.Option(..., "--year", help="结算年度"),
    base: int = typer.Option(..., "--base", help="作为基准的结算批次编号"),
    assignments: list[str] = typer.Option(..., "--set", help="假设参数 key=value，可多次给出"),
    report_path: Path | None = typer.Option(None, "--report", help="把分机构差异表写入此 CSV 文件"),
    database: str | None = DATABASE,
) -> None:
    """在改变的参数下重算已结算年度，按机构报告与基准批次的差异；输出新批次编号。"""
    with transaction(database) as session:
        run = whatif.do_whatif(session, cli_actor(), year=year, base_run_id=base, assignments=assignments)
        rows = report.difference_rows(session, cli_actor(), base, run.id)
    _finish(run, rows, report_path)


@settle_app.command("show")
@handles_errors
def show(
    run_id: int = typer.Argument(..., help="结算批次编号"),
    fmt: str = typer.Option("table", "--format", help="table、csv 或 json"),
    database: str | None = DATABASE,
) -> None:
    """输出一个结算批次的分机构结算单。"""
    fmt = _format(fmt)
    with transaction(database) as session:
        run, rows = report.run_and_rows(session, cli_actor(), run_id)
        err.print(report.headline(run), markup=False, soft_wrap=True)
    _emit(rows, fmt)


@settle_app.command("runs")
@handles_errors
def runs(
    year: int | None = typer.Option(None, "--year", help="年度"),
    kind: str | None = typer.Option(None, "--kind", help="drg、dip、budget、capitation、grouping"),
    fmt: str = typer.Option("table", "--format", help="table、csv 或 json"),
    database: str | None = DATABASE,
) -> None:
    """列出结算批次（最新的在前）。"""
    fmt = _format(fmt)
    with transaction(database) as session:
        rows = report.run_rows(session, cli_actor(), year=year, kind=kind)
    _emit(rows, fmt)


@settle_app.command("compare")
@handles_errors
def compare_(
    run_a: int = typer.Argument(..., help="批次 A（基准）"),
    run_b: int = typer.Argument(..., help="批次 B"),
    fmt: str = typer.Option("table", "--format", help="table、csv 或 json"),
    database: str | None = DATABASE,
) -> None:
    """并排比较两个结算批次：各机构支付金额与差异。"""
    fmt = _format(fmt)
    with transaction(database) as session:
        rows = report.difference_rows(session, cli_actor(), run_a, run_b)
    _emit(rows, fmt)


if __name__ == "__main__":
    settle_app()
