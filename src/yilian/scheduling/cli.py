"""``yilian scheduling``: release reserved pools whose release time passed.

Idempotent: a released slot keeps its ``released_at``, so running the command twice
releases nothing the second time (it prints zeros).  Counts go to stdout as JSON, the
summary to stderr.
"""

from __future__ import annotations

import json
from datetime import datetime

import typer

from yilian.cli.context import cli_actor, err, handles_errors, transaction
from yilian.core.errors import ValidationFailed
from yilian.scheduling import service

app = typer.Typer(help="号源与预约。", no_args_is_help=True)


@app.callback()
def main() -> None:
    """号源与预约（``yilian scheduling …``）。"""


@app.command("release")
@handles_errors
def release(
    now: str | None = typer.Option(None, "--now", help="按哪个时刻处理（ISO 8601，须带时区；默认现在）"),
    database: str | None = typer.Option(None, "--database", help="数据库 URL（默认取 YILIAN_DATABASE_URL）"),
) -> None:
    """把已到释放时间、仍未被预约的转诊预留和签约预留号源释放为公共号源。"""
    at = datetime.fromisoformat(now) if now else None
    if at is not None and at.tzinfo is None:
        raise ValidationFailed("--now 须带时区，如 2025-03-03T08:00:00+08:00。", code="naive_datetime")
    with transaction(database) as session:
        counts = service.do_release_reserved(session, cli_actor(), at)
    print(json.dumps(counts, ensure_ascii=False))
    err.print(f"释放转诊预留号源 {counts['referral']} 个，签约预留号源 {counts['contract']} 个。")
