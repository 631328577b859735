"""``yilian registry import FILE.csv`` and listings."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.progress import Progress

from yilian.cli.context import cli_actor, err, handles_errors, transaction
from yilian.core.errors import ValidationFailed
from yilian.registry import importer

app = typer.Typer(help="机构、人员与行政区划登记。", no_args_is_help=True)


@app.command("import")
@handles_errors
def import_(
    file: Path = typer.Argument(..., help="CSV 文件（UTF-8，首行为表头，见 docs/registry/import.md）"),
    database: str | None = typer.Option(None, "--database", help="数据库 URL"),
    report: Path | None = typer.Option(None, "--report", help="把导入报告（JSON）写到此文件"),
) -> None:
    """导入行政区划、机构或医务人员（按表头识别；可重复导入）。"""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationFailed(f"无法读取文件 {file}：{exc}", code="import_unreadable") from None
    total = max(text.count("\n") - 1, 0)
    with transaction(database) as session, Progress(console=err, transient=True) as bar:
        task = bar.add_task("导入中", total=total)
        result = importer.import_csv(session, cli_actor(), text, progress=lambda n: bar.advance(task, n))
    err.print(f"[bold]{result.kind}[/bold]：共 {result.total} 行，新增 {result.created}，更新 {result.updated}，"
              f"未变 {result.unchanged}，拒绝 {len(result.rejected)}")
    for r in result.rejected:
        err.print(f"  [red]第 {r['line']} 行[/red]（{r['code']}）：{r['reason']}")
    if report:
        report.write_text(json.dumps(result.model_dump(), ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps({"kind": result.kind, "total": result.total, "created": result.created,
                      "updated": result.updated, "unchanged": result.unchanged,
                      "rejected": len(result.rejected)}, ensure_ascii=False))
