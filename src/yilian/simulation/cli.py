"""``yilian demo load`` and ``yilian simulate county`` (mounted by the root command as ``simulate``)."""

from __future__ import annotations

import json
from pathlib import Path

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


app = typer.Typer(help="合成数据：生成一个县域医共体网络及其一年的就诊数据。", no_args_is_help=True)


@app.callback()
def _simulate() -> None:
    """合成数据（县域医共体网络及其一年的数据）。"""  # keeps ``county`` a subcommand while it is the only one


@app.command("county")
@handles_errors
def county(
    preset: str | None = typer.Option(
        None, "--preset", help="预设：target-2025（默认）、qidong-2016、tianchang-2016；--append 时默认沿用上一年的"),
    residents: int | None = typer.Option(None, "--residents", help="居民人数（默认 100000；--append 时不可指定）"),
    year: int | None = typer.Option(None, "--year", help="就诊年度（默认为预设的年度；--append 时只能是下一年）"),
    seed: int | None = typer.Option(None, "--seed", help="随机种子（默认 1；--append 时沿用网络的）"),
    database: str | None = typer.Option(None, "--database", help="数据库 URL（默认 YILIAN_DATABASE_URL）"),
    append: bool = typer.Option(False, "--append", help="在已有网络上追加下一年（出生、死亡、续约、就诊）"),
    rules: Path | None = typer.Option(None, "--rules", help="CHS-DRG 规则包目录（默认见 YILIAN_DRG_RULES）"),
    quiet: bool = typer.Option(False, "--quiet", help="不显示进度条"),
) -> None:
    """生成一个县（机构、人员、居民）及其一年的门诊、住院和结算数据，写入空数据库；--append 在已有网络上追加下一年。
    摘要以 JSON 输出到标准输出。"""
    from yilian.simulation.pipeline import progress_display
    from yilian.simulation.runner import Request, check_request, simulate

    req = Request(preset=preset, residents=residents, year=year, seed=seed, rules=rules, append=append)
    check_request(req)  # refuse bad options before touching the database
    with progress_display(not quiet) as progress, transaction(database) as session:
        summary = simulate(session, req, progress)
    missed = [t["code"] for t in summary["targets"] if not t["ok"]]
    if missed:
        err.print(f"[yellow]注意[/yellow]：以下指标未落在目标范围内：{'、'.join(missed)}")
    typer.echo(json.dumps(summary, ensure_ascii=False, indent=2))
