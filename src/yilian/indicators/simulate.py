"""The indicators' step of ``yilian simulate county`` (discovered by ``simulation.pipeline``): after the
year is written, build the daily care pre-aggregate for it, so the dashboards and ``yilian indicators``
of a demo start warm (SYNTHETIC.md "Speed and size").  Set-based, inside the run's transaction.

Only up to ``WARM_UP_TO`` residents: at county scale the build takes minutes (a 1 M-resident year: about
two on PostgreSQL, docs/indicators/benchmark.md) and would eat the generator's own time budget; there the
engine builds the aggregate on first use, as it does for any month it finds missing.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final

from yilian.core.steps import SimulationStep
from yilian.indicators import aggregates

WARM_UP_TO: Final = 200_000


def warm_up(ctx: Any, track: Any) -> None:
    if ctx.residents > WARM_UP_TO:
        track.total(1)
        track.advance()
        return
    track.total(12)
    aggregates.ensure(ctx.session, date(ctx.year, 1, 1), date(ctx.year, 12, 31), force=True,
                      progress=lambda _month: track.advance())


STAGES = (SimulationStep("indicator_aggregates", "指标日汇总", 950, warm_up),)
