"""``yilian referrals``: the deadline job once (``tick``), catalogue import, demo data.

Runs as the CLI's system actor.  Data goes to stdout (``--format table|json``), messages to stderr.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path

import typer

from yilian.cli.context import cli_actor, err, handles_errors, transaction
from yilian.core.clock import as_utc
from yilian.core.errors import NotFound, ValidationFailed
from yilian.referrals import demo, events, jobs, policy, repository

app = typer.Typer(help="双向转诊。", no_args_is_help=True)
events.register()

ACTION_NAMES_ZH = {
    "escalate.approval": "督办：外转审批", "escalate.accept": "督办：接收", "escalate.arrange": "督办：安排",
    "escalate.attendance": "督办：到诊登记", "escalate.outcome": "督办：结果反馈", "escalate.cancel": "督办：撤回确认",
    "escalate.followup": "督办：下转随访", "expire": "超时关闭", "deem_approval": "视同同意",
}


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed("时间格式应为 ISO 8601，如 2026-06-01T09:00+08:00", code="now_invalid") from None
    if parsed.tzinfo is None:
        raise ValidationFailed("时间须带时区，如 2026-06-01T09:00+08:00", code="now_invalid")
    return as_utc(parsed)


@app.command("tick")
@handles_errors
def tick(
    now: str | None = typer.Option(None, "--now", help="按哪个时刻处理（ISO 8601，带时区；默认当前时间）"),
    fmt: Format = typer.Option(Format.TABLE, "--format", help="输出格式：table 或 json"),
    database: str | None = typer.Option(None, "--database", help="数据库 URL（默认取 YILIAN_DATABASE_URL）"),
) -> None:
    """运行一次转诊时限任务：到期督办、超时关闭、急诊视同同意（重复运行不会重复处理）。"""
    with transaction(database) as session:
        result = jobs.tick(session, _when(now))
    if fmt == Format.JSON:
        print(json.dumps({"now": result.now.isoformat(), "counts": result.counts}, ensure_ascii=False))
    else:
        for key, n in result.counts.items():
            print(f"{key}\t{n}")
    err.print(f"转诊时限任务完成：共处理 {result.total} 项。")


@app.command("catalogue-import")
@handles_errors
def catalogue_import(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV：catalogue,icd10,name"),
    consortium: str | None = typer.Option(None, "--consortium", help="医联体编码（不填为系统默认目录）"),
    database: str | None = typer.Option(None, "--database", help="数据库 URL（默认取 YILIAN_DATABASE_URL）"),
) -> None:
    """导入病种目录：上转、下转（含康复期）、县乡两级确保收治病种；文件中出现的目录整体替换。"""
    text = file.read_text(encoding="utf-8-sig")
    with transaction(database) as session:
        cid = None
        if consortium:
            c = repository.consortium_by_code(session, consortium)
            if c is None:
                raise NotFound(f"医联体“{consortium}”不存在。", code="consortium_not_found")
            cid = c.id
        result = policy.do_import_catalogue(session, cli_actor(), cid, text)
    print(json.dumps(result.loaded, ensure_ascii=False))
    for warning in result.warnings:
        err.print(f"[yellow]提示[/yellow]：{warning}")


@app.command("demo-seed")
@handles_errors
def demo_seed(
    days: int = typer.Option(7, "--days", min=1, max=60, help="预留号源覆盖的天数"),
    database: str | None = typer.Option(None, "--database", help="数据库 URL（默认取 YILIAN_DATABASE_URL）"),
) -> None:
    """在演示网络上加入转诊演示数据（病种目录、居民、人民医院转诊预留号源）。"""
    with transaction(database) as session:
        try:
            seeded = demo.seed(session, cli_actor(), days=days)
        except LookupError as exc:
            raise NotFound(str(exc), code="demo_network_missing") from None
    print(json.dumps({"resident_id": seeded.resident_id, "slots_added": seeded.slots_added}))
