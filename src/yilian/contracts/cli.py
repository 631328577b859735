"""``yilian contracts``: due / overdue services of an institution, and the daily status job.

Runs as the CLI's system actor.  Data goes to stdout (``--format table|json|csv``), the
summary to stderr, so the output can be piped.
"""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import asdict
from datetime import date
from enum import StrEnum

import typer

from yilian.cli.context import cli_actor, err, handles_errors, transaction
from yilian.contracts import delivery, repository, service
from yilian.core.errors import NotFound

app = typer.Typer(help="家庭医生签约。", no_args_is_help=True)


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


_COLUMNS = ("state", "due_on", "window_start", "resident_id", "resident_name", "team_name", "item_code",
            "item_name", "contract_id")
_STATE_ZH = {"due": "待履约", "overdue": "逾期"}


@app.command("due")
@handles_errors
def due(
    institution: str = typer.Option(..., "--institution", help="机构编码"),
    team: str | None = typer.Option(None, "--team", help="团队编码（默认全部团队）"),
    on: str | None = typer.Option(None, "--on", help="按哪一天计算（YYYY-MM-DD，默认今天）"),
    overdue: bool = typer.Option(True, "--overdue/--no-overdue", help="是否包含逾期项目"),
    fmt: Format = typer.Option(Format.TABLE, "--format", help="输出格式：table、json 或 csv"),
    database: str | None = typer.Option(None, "--database", help="数据库 URL（默认取 YILIAN_DATABASE_URL）"),
) -> None:
    """列出机构（或团队）应履约和逾期未履约的服务项目。"""
    day = date.fromisoformat(on) if on else None
    with transaction(database) as session:
        inst = repository.institution_by_code(session, institution)
        if inst is None:
            raise NotFound(f"机构“{institution}”不存在。", code="institution_not_found")
        team_id = None
        if team is not None:
            t = repository.team_by_code(session, inst.id, team)
            if t is None:
                raise NotFound(f"机构“{institution}”没有编码为“{team}”的团队。", code="team_not_found")
            team_id = t.id
        rows = [asdict(r) for r in delivery.due_services(session, cli_actor(), inst.id, team_id=team_id, today=day,
                                                          include_overdue=overdue)]
    for row in rows:
        for key in ("due_on", "window_start"):
            row[key] = row[key].isoformat()
    if fmt == Format.JSON:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    elif fmt == Format.CSV:
        writer = csv.DictWriter(sys.stdout, fieldnames=_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    else:
        for row in rows:
            print("\t".join(_STATE_ZH.get(str(row[c]), str(row[c])) if c == "state" else str(row[c])
                            for c in _COLUMNS))
    late = sum(1 for r in rows if r["state"] == "overdue")
    err.print(f"{inst.name}：应履约 {len(rows) - late} 项，逾期 {late} 项。")


@app.command("tick")
@handles_errors
def tick(
    on: str | None = typer.Option(None, "--on", help="按哪一天处理（YYYY-MM-DD，默认今天）"),
    database: str | None = typer.Option(None, "--database", help="数据库 URL（默认取 YILIAN_DATABASE_URL）"),
) -> None:
    """每日任务：到期生效已签约合同、到期终止期满合同（重复运行不会重复处理）。"""
    with transaction(database) as session:
        counts = service.do_catch_up(session, date.fromisoformat(on) if on else None)
    print(json.dumps(counts, ensure_ascii=False))
    err.print(f"生效 {counts['activated']} 份，到期 {counts['expired']} 份。")
