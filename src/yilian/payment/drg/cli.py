"""``yilian drg …``: thin commands over :mod:`yilian.payment.drg.service`.

Mounted by the root CLI as ``yilian drg``; also runnable alone as
``python -m yilian.payment.drg group …``. Results go to the output file; the pack's
name and version, a progress bar and the summary go to stderr.
"""

from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from yilian.core.errors import DomainError
from yilian.payment.drg.case import Reason
from yilian.payment.drg.grouper import load_grouper
from yilian.payment.drg.pack import resolve_pack_dir
from yilian.payment.drg.result import Status
from yilian.payment.drg.service import Summary, count_data_lines, group_csv

app = typer.Typer(help="CHS-DRG 分组：按规则包把出院病例分入 MDC / ADRG / DRG。", add_completion=False)
err = Console(stderr=True, soft_wrap=True)


@app.callback()
def _drg() -> None:
    """CHS-DRG 分组（国家医保版 DRG）。"""  # keeps ``group`` a subcommand when run alone


def project_root() -> Path:
    """The checkout this package runs from (``src/yilian/payment/drg`` → root), else the cwd."""
    root = Path(__file__).resolve().parents[4]
    return root if (root / "pyproject.toml").is_file() else Path.cwd()


def configured_rules() -> Path | None:
    """``YILIAN_DRG_RULES`` via the settings (the one place that reads the environment)."""
    try:
        from yilian.core.config import get_settings
    except ImportError:  # settings not present in a stripped-down install
        return None
    return get_settings().drg_rules


@app.command("group")
def group(
    input_path: Annotated[Path, typer.Option("--input", help="病例 CSV（列同 oracle-cases.csv）")],
    output_path: Annotated[Path, typer.Option("--output", help="结果 CSV：case_id,status,mdc,adrg,drg,message")],
    rules: Annotated[Path | None, typer.Option("--rules", help="规则包目录（默认见 YILIAN_DRG_RULES）")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="在 message 列写出分组过程")] = False,
) -> None:
    """对 CSV 中的每个病例分组，每个输入行写一行结果。"""
    try:
        started = time.perf_counter()
        # Settings are read only when needed: importing them costs a third of start-up.
        pack_dir = resolve_pack_dir(rules, configured_rules() if rules is None else None, project_root())
        grouper = load_grouper(pack_dir)
        # The compiled pack lives as long as the process: keep the collector from rescanning it.
        gc.freeze()
        pack = grouper.pack
        err.print(f"规则包：{pack.name} {pack.version}（{pack_dir}）", markup=False)
        with Progress(
            TextColumn("分组"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,  # a bar in a log file is noise
        ) as bar:
            task = bar.add_task("group", total=count_data_lines(input_path) if input_path.is_file() else None)
            summary = group_csv(grouper, input_path, output_path, explain, lambda n: bar.advance(task, n))
        _report(summary, time.perf_counter() - started)
    except DomainError as exc:
        err.print(f"[red]错误[/red]：{escape(exc.message)} [dim]({exc.code})[/dim]")
        raise typer.Exit(exc.exit_code) from None


def _report(summary: Summary, seconds: float) -> None:
    rate = summary.total / seconds if seconds > 0 else 0.0
    grouped, ungrouped = summary.count(Status.GROUPED), summary.count(Status.UNGROUPED)
    err.print(
        f"共 {summary.total} 例：入组 {grouped}，未入组 {ungrouped}，无效 {summary.count(Status.INVALID)}；"
        f"用时 {seconds:.2f} 秒（含加载规则包，{rate:,.0f} 例/秒）"
    )
    invalid = [(r, n) for r, n in summary.by_reason.most_common() if r not in (Reason.NO_MDC, Reason.NO_ADRG)]
    if invalid:
        err.print("无效原因：" + "，".join(f"{reason} {n}" for reason, n in invalid))
