"""``yilian indicators …``: compute, store snapshots, rebuild the pre-aggregate, list the catalogue,
scorecards.  An operator command on the server: no login, every unit in scope.  stdout carries only the
data (``--format json|csv`` can be piped); progress and messages go to stderr.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console

from yilian.cli.context import cli_actor, err, handles_errors, transaction
from yilian.core.errors import ValidationFailed
from yilian.indicators import aggregates, catalogue, engine, output, periods, scorecards, service
from yilian.indicators.catalogue import Cut

app = typer.Typer(help="监测指标：计算、快照、日汇总、指标目录与绩效考核。", no_args_is_help=True)
scorecard_app = typer.Typer(help="绩效考核表：创建、评分、审定（冻结）。", no_args_is_help=True)
app.add_typer(scorecard_app, name="scorecard")

DatabaseOpt = typer.Option(None, "--database", help="数据库 URL（默认取 YILIAN_DATABASE_URL）")


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


def _say(message: str) -> None:
    err.print(f"[dim]· {message}[/dim]")


def _stdout() -> Console:
    return Console(file=sys.stdout, width=220, soft_wrap=False)


@app.command("compute")
@handles_errors
def compute(
    period: str = typer.Option(..., "--period", help="统计期：2025、2025Q1 或 2025-03"),
    cut: str = typer.Option("county", "--cut", help="统计口径：county、consortium、institution、grid"),
    fmt: Format = typer.Option(Format.TABLE, "--format", help="输出格式：table、json、csv"),
    basis: engine.Basis = typer.Option(engine.Basis.AGGREGATE, "--basis",
                                       help="aggregate（日汇总，默认）或 facts（直接读明细记录）"),
    database: str | None = DatabaseOpt,
) -> None:
    """计算统计期内全部指标并输出（不保存）。"""
    with transaction(database) as session:
        rows = service.compute(session, period, cut, basis=basis, progress=_say)
    if fmt == Format.JSON:
        sys.stdout.write(output.to_json(rows))
    elif fmt == Format.CSV:
        sys.stdout.write(output.to_csv(rows))
    else:
        _stdout().print(output.to_table(rows))
    err.print(f"[green]共 {len(rows)} 行[/green]")


@app.command("snapshot")
@handles_errors
def snapshot(
    period: str = typer.Option(..., "--period", help="统计期：2025、2025Q1 或 2025-03"),
    cut: str = typer.Option("all", "--cut", help="all（全县、医联体、机构）或单一口径"),
    months: bool = typer.Option(True, "--months/--no-months", help="同时保存各月（全县与医联体，用于趋势图）"),
    database: str | None = DatabaseOpt,
) -> None:
    """计算并保存快照（重复执行结果相同，覆盖原快照）。"""
    cuts = list(service.PAGE_CUTS) if cut == "all" else [catalogue.parse_cut(cut)]
    with transaction(database) as session:
        snaps = service.do_store_snapshots(session, None, period, months=months, cuts=cuts, progress=_say)
    for s in snaps:
        print(json.dumps({"period": s.period, "cut": s.cut, "rows": s.rows, "catalogue_version": s.catalogue_version,
                          "computed_at": s.computed_at.isoformat()}, ensure_ascii=False))
    err.print(f"[green]已保存 {len(snaps)} 个快照[/green]")


@app.command("aggregate")
@handles_errors
def aggregate(
    period: str = typer.Option(..., "--period", help="统计期：2025、2025Q1 或 2025-03"),
    force: bool = typer.Option(True, "--force/--stale-only", help="全部重建（默认）或只重建缺失、过期的月份"),
    database: str | None = DatabaseOpt,
) -> None:
    """按需重建诊疗日汇总（缓存，可随时由明细记录重建）。"""
    p = periods.parse(period)
    with transaction(database) as session:
        report = aggregates.ensure(session, p.start, p.end, force=force, progress=lambda m: _say(f"重建 {m}"))
    print(json.dumps({"period": p.label, "built": report.built, "fresh": report.fresh}, ensure_ascii=False))


@app.command("catalogue")
@handles_errors
def catalogue_cmd(fmt: Format = typer.Option(Format.TABLE, "--format", help="输出格式：table、json")) -> None:
    """列出指标目录（定义与口径）。"""
    implemented = engine.implemented_codes()
    if fmt == Format.TABLE:
        from rich.table import Table

        table = Table(header_style="bold")
        for title in ("代码", "指标", "类别", "方向", "分子", "分母", "目标", "状态"):
            table.add_column(title, overflow="fold")
        for ind in catalogue.INDICATORS:
            table.add_row(ind.code, ind.name, catalogue.FAMILY_NAMES_ZH[ind.family], ind.symbol, ind.numerator,
                          ind.denominator or "", output.show_target(ind),
                          "已实现" if ind.code in implemented else "待数据来源上线")
        _stdout().print(table)
        return
    if fmt == Format.CSV:
        raise ValidationFailed("指标目录只支持 table 或 json 格式。", code="format_invalid")
    data = [{"code": i.code, "name": i.name, "family": i.family.value, "measure": i.measure.value,
             "direction": i.direction.value, "numerator": i.numerator, "denominator": i.denominator,
             "population": i.population, "dating": i.dating, "attribution": i.attribution.value,
             "source": i.source.value, "target": None if i.target is None else
             {"op": i.target.op, "value": str(i.target.value)}, "groups": list(i.groups), "note": i.note,
             "implemented": i.code in implemented} for i in catalogue.INDICATORS]
    print(json.dumps({"version": catalogue.version(), "indicators": data}, ensure_ascii=False, indent=2))


# ---- scorecards -----------------------------------------------------------------------------


@scorecard_app.command("create")
@handles_errors
def scorecard_create(
    file: Path = typer.Argument(..., help="考核表定义（JSON，见 docs/indicators/scorecards.md）"),
    database: str | None = DatabaseOpt,
) -> None:
    """创建考核表（同一代码再次创建即为新版本）。"""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationFailed(f"无法读取考核表定义 {file}：{exc}", code="scorecard_file_invalid") from None
    with transaction(database) as session:
        card = scorecards.do_create(session, cli_actor(), scorecards.parse_definition(data))
        print(json.dumps({"code": card.code, "version": card.version}, ensure_ascii=False))


@scorecard_app.command("score")
@handles_errors
def scorecard_score(
    code: str = typer.Option(..., "--code", help="考核表代码"),
    period: str = typer.Option(..., "--period", help="统计期"),
    database: str | None = DatabaseOpt,
) -> None:
    """按已保存的指标快照试算得分与排名（不冻结）。"""
    with transaction(database) as session:
        result = scorecards.score(session, None, code, period)
    print(json.dumps(scorecards.result_json(result), ensure_ascii=False, indent=2))


@scorecard_app.command("approve")
@handles_errors
def scorecard_approve(
    code: str = typer.Option(..., "--code", help="考核表代码"),
    period: str = typer.Option(..., "--period", help="统计期"),
    database: str | None = DatabaseOpt,
) -> None:
    """审定：把得分冻结为快照（供医保结余分配使用），每个考核表每个统计期只能审定一次。"""
    with transaction(database) as session:
        approval = scorecards.do_approve(session, cli_actor(), code, period)
        print(json.dumps({"code": approval.scorecard_code, "version": approval.scorecard_version,
                          "period": approval.period, "approved_at": approval.approved_at.isoformat()},
                         ensure_ascii=False))


__all__ = ["Cut", "app"]
