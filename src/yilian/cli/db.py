"""``yilian db upgrade`` and friends."""

from __future__ import annotations

import typer

from yilian.cli.context import err
from yilian.core.config import get_settings
from yilian.db import migrate

app = typer.Typer(help="数据库迁移。", no_args_is_help=True)


@app.command("upgrade")
def upgrade(
    revision: str = typer.Argument("head", help="目标版本，默认最新"),
    database: str | None = typer.Option(None, "--database", help="数据库 URL（默认取 YILIAN_DATABASE_URL）"),
) -> None:
    """把数据库迁移到最新结构。"""
    url = database or get_settings().database_url
    migrate.upgrade(url, revision)
    err.print(f"[green]数据库已迁移到 {revision}[/green]")


@app.command("heads")
def heads() -> None:
    """列出迁移头版本。"""
    for h in migrate.current_heads():
        print(h)
