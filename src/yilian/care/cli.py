"""``yilian care import FILE.csv``: a batch of encounters with their settlements.

The progress bar and the list of refused rows go to stderr; stdout carries only the JSON summary,
so the command can be piped.  Refused rows do not fail the command (the good rows are imported,
by design); scripts read ``rejected`` from the summary or the ``--report`` file.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from yilian.care import importer
from yilian.cli.context import cli_actor, err, handles_errors, transaction
from yilian.core.errors import ValidationFailed

app = typer.Typer(help="就诊与结算数据：导入医院 HIS 与医保结算记录。", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """就诊与结算数据：导入医院 HIS 与医保结算记录。"""

#: Refused rows listed on stderr; the report file holds all of them.
SHOWN_REJECTIONS = 20


def _data_rows(path: Path) -> int:
    with path.open("rb") as fh:
        return max(sum(1 for _ in fh) - 1, 0)


@app.command("import")
@handles_errors
def import_(
    file: Path = typer.Argument(..., help="CSV 文件（UTF-8，首行为表头，格式见 docs/care/import.md）"),
    database: str | None = typer.Option(None, "--database", help="数据库 URL（默认 YILIAN_DATABASE_URL）"),
    report: Path | None = typer.Option(None, "--report", help="把完整的导入报告（JSON，含全部被拒绝的行）写到此文件"),
) -> None:
    """导入就诊与结算记录：同一来源编号重复导入不会重复入库，有问题的行被拒绝并说明原因，其余照常导入。"""
    if not file.is_file():
        raise ValidationFailed(f"找不到文件 {file}。", code="import_unreadable")
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with transaction(database) as session, Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("导入就诊记录", total=_data_rows(file))
        result = importer.import_csv(session, cli_actor(), file, progress=lambda n: bar.advance(task, n))
    if result.created:
        with transaction(database) as session:
            importer.refresh_statistics(session)
    err.print(f"{escape(result.file)}：共 {result.total} 行，新增 {result.created}，未变 {result.unchanged}，"
              f"拒绝 {len(result.rejected)}，新建就诊关系 {result.relationships_created}，用时 {result.seconds} 秒")
    for r in result.rejected[:SHOWN_REJECTIONS]:
        err.print(f"  [red]第 {r.line} 行[/red] {escape(r.source_id)}（{r.code}）：{escape(r.reason)}", highlight=False)
    if len(result.rejected) > SHOWN_REJECTIONS:
        err.print(f"  …… 另有 {len(result.rejected) - SHOWN_REJECTIONS} 行被拒绝，详见 --report 文件")
    if report is not None:
        report.write_text(json.dumps(result.model_dump(), ensure_ascii=False, indent=2), encoding="utf-8")
    summary = {"file": result.file, "total": result.total, "created": result.created, "unchanged": result.unchanged,
               "rejected": len(result.rejected), "relationships_created": result.relationships_created,
               "seconds": result.seconds}
    print(json.dumps(summary, ensure_ascii=False))
