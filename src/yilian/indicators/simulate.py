"""The indicators' step of ``yilian simulate county`` (discovered by ``simulation.pipeline``): after the
year is written, build the daily care pre-aggregate for it, so dashboards and ``yilian indicators``
start warm (SYNTHETIC.md "Speed and size").  Set-based, inside the run's transaction; a cache the engine
would otherwise build on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from yilian.indicators import aggregates


@dataclass(frozen=True)
class _Stage:
    name: str = "indicator_aggregates"
    label_zh: str = "指标日汇总"
    order: int = 950

    def run(self, ctx: Any, track: Any) -> None:
        track.total(12)
        aggregates.ensure(ctx.session, date(ctx.year, 1, 1), date(ctx.year, 12, 31), force=True,
                          progress=lambda _month: track.advance())


STAGES = (_Stage(),)
