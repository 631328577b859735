"""``yilian demo load`` (and, with the synthetic-county issue, ``yilian simulate``)."""

from __future__ import annotations

import typer

from yilian.cli.context import cli_actor, err, handles_errors, transaction
from yilian.identity.roles import ROLE_NAMES_ZH, Role
from yilian.simulation import demo

demo_app = typer.Typer(help="演示数据。", no_args_is_help=True)


@demo_app.command("load")
@handles_errors
def load(database: str | None = typer.Option(None, "--database", help="数据库 URL")) -> None:
    """载入内置的演示医联体网络和演示账号（可重复执行）。"""
    with transaction(database) as session:
        summary = demo.load(session, cli_actor())
    err.print(f"[green]演示数据已就绪[/green]：{summary.institutions} 家机构，{summary.consortia} 个医联体。")
    err.print(f"演示账号（密码均为 [bold]{demo.DEMO_PASSWORD}[/bold]）：")
    for username, display, role in summary.users:
        err.print(f"  {username:<10} {display}（{ROLE_NAMES_ZH[Role(role)]}）")
