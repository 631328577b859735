"""``yilian residents duplicates``: the possible-duplicate work list for an operator.

Runs as the CLI's system actor (every resident in scope); the listing is audited
like any other read.  Only masked ID numbers and phones are printed.
"""

from __future__ import annotations

import csv
import json
import sys
from enum import StrEnum

import typer

from yilian.cli.context import cli_actor, err, handles_errors, transaction
from yilian.core.paging import PageRequest
from yilian.residents import service

app = typer.Typer(help="居民主索引。", no_args_is_help=True)


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


_COLUMNS = ("a_id", "b_id", "name", "birth_date", "township", "a_id_masked", "b_id_masked")


@app.command("duplicates")
@handles_errors
def duplicates(
    page: int = typer.Option(1, "--page", help="页码"),
    size: int = typer.Option(100, "--size", help="每页对数（至多 500）"),
    fmt: Format = typer.Option(Format.TABLE, "--format", help="输出格式：table、json 或 csv"),
    database: str | None = typer.Option(None, "--database", help="数据库 URL（默认取 YILIAN_DATABASE_URL）"),
) -> None:
    """列出待判定的疑似重复居民（同名、同出生日期、同乡镇，且至少一位无身份证号码）。"""
    with transaction(database) as session:
        result = service.list_duplicate_candidates(session, cli_actor(), PageRequest(page, size))
        rows = [
            {"a_id": p.a.id, "b_id": p.b.id, "name": p.a.name, "birth_date": p.a.birth_date.isoformat(),
             "township": p.a.address_division_code,
             "a_id_masked": p.a.id_masked, "b_id_masked": p.b.id_masked}
            for p in result.items
        ]
    # Data on stdout, the summary on stderr, so the output can be piped.
    if fmt == Format.JSON:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    elif fmt == Format.CSV:
        writer = csv.DictWriter(sys.stdout, fieldnames=_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    else:
        for row in rows:
            print("\t".join("" if row[c] is None else str(row[c]) for c in _COLUMNS))
    err.print(f"疑似重复共 {result.total} 对，第 {result.number}/{result.pages} 页。")
