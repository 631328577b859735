"""The stage pipeline of ``yilian simulate county``: a registry, a shared context, progress.

Stages run in order (structure, population, then the year of care; contracts and
referrals add theirs when those features land).  A stage is ``Stage(name, label_zh,
run)`` registered with an ``order``; nothing in the runner names a stage, so a
feature's step is one ``register_stage`` call away.

Features sit *below* simulation in the layer contract and cannot import it, so a
feature that lands keeps its step in its own package as a module
``yilian.<feature>.simulate`` exposing ``STAGES`` — ``yilian.core.steps.SimulationStep`` objects (``name``, ``label_zh``,
``order``, ``run(ctx, track)``; see ``docs/simulation/simulate.md``) — which
``discover_feature_stages`` imports when present.  Day-level work inside the care
stage (e.g. referrals of the day's stays) goes through ``DayHook``s.
"""

from __future__ import annotations

import importlib
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from yilian.identity.principal import Principal

if TYPE_CHECKING:
    from yilian.simulation.codes import CodeSource
    from yilian.simulation.population import Population
    from yilian.simulation.presets import Preset
    from yilian.simulation.structure import Network

#: Feature packages whose ``simulate`` module may contribute stages (imported only if present).
FEATURE_MODULES = ("contracts", "referrals", "payment", "indicators")


@dataclass
class StageStats:
    name: str
    seconds: float = 0.0
    rows: int = 0
    peak_rss_mib: float = 0.0
    cpu_s: float = 0.0  # this process's CPU (all threads); the database server's is not included

    def as_dict(self) -> dict[str, Any]:
        rate = self.rows / self.seconds if self.seconds > 0 else 0.0
        return {"stage": self.name, "seconds": round(self.seconds, 2), "cpu_s": round(self.cpu_s, 2),
                "rows": self.rows, "rows_per_s": round(rate), "peak_rss_mib": round(self.peak_rss_mib, 1)}


class Tracker:
    """What a stage reports progress to: a rich task, or nothing (tests, ``--quiet``)."""

    def __init__(self, progress: Progress | None, task: Any) -> None:
        self._progress, self._task = progress, task

    def total(self, n: float) -> None:
        if self._progress is not None:
            self._progress.update(self._task, total=n)

    def advance(self, n: float = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)


@dataclass
class SimContext:
    """Everything a stage may read or add to.  Stages communicate through it, never globals."""

    session: Session
    actor: Principal
    preset: Preset
    seed: int
    year: int
    residents: int
    codes: CodeSource
    counts: Counter[str] = field(default_factory=Counter)
    stats: list[StageStats] = field(default_factory=list)
    network: Network | None = None
    population: Population | None = None
    extras: dict[str, Any] = field(default_factory=dict)  # for feature stages
    #: ``--append``: the network is already in the database; stages named in ``overrides`` run the given
    #: function instead (the structure and population are loaded, contracts renewed rather than created).
    appending: bool = False
    overrides: dict[str, StageRun] = field(default_factory=dict)

    @property
    def conn(self) -> Connection:
        return self.session.connection()

    @property
    def year_start(self) -> date:
        return date(self.year, 1, 1)

    @property
    def year_end(self) -> date:
        return date(self.year, 12, 31)

    def add_rows(self, table: str, n: int) -> None:
        self.counts[table] += n


class StageRun(Protocol):
    def __call__(self, ctx: SimContext, track: Tracker) -> None: ...


@dataclass(frozen=True)
class Stage:
    name: str
    label_zh: str
    order: int
    run: StageRun


class DayHook(Protocol):
    """Called by the care stage after each day's encounters are written (ids included)."""

    def __call__(self, ctx: SimContext, day: date, written: Any) -> None: ...


_STAGES: dict[str, Stage] = {}
DAY_HOOKS: list[DayHook] = []
#: Called as ``observer(ctx, stage_name, "start" | "end")`` around each stage (benchmarks use it to
#: read the database server's CPU per stage).
STAGE_OBSERVERS: list[Callable[[SimContext, str, str], None]] = []


def register_stage(stage: Stage) -> Stage:
    if stage.name in _STAGES and _STAGES[stage.name] is not stage:
        raise ValueError(f"stage {stage.name!r} registered twice")
    _STAGES[stage.name] = stage
    return stage


def stages() -> list[Stage]:
    discover_feature_stages()
    return sorted(_STAGES.values(), key=lambda s: (s.order, s.name))


def discover_feature_stages() -> None:
    for feature in FEATURE_MODULES:
        try:
            module = importlib.import_module(f"yilian.{feature}.simulate")
        except ModuleNotFoundError as exc:
            if exc.name in (f"yilian.{feature}.simulate", f"yilian.{feature}"):
                continue
            raise
        for s in getattr(module, "STAGES", ()):
            if s.name not in _STAGES:  # discovery runs on every ``stages()`` call
                register_stage(Stage(s.name, s.label_zh, s.order, _adapt(s.run)))


def _adapt(fn: Callable[..., Any]) -> StageRun:
    def run(ctx: SimContext, track: Tracker) -> None:
        fn(ctx, track)

    return run


def cpu_seconds() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


@contextmanager
def progress_display(enabled: bool) -> Iterator[Progress | None]:
    if not enabled:
        yield None
        return
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=Console(stderr=True), transient=False)
    with progress:
        yield progress


def run_stages(ctx: SimContext, progress: Progress | None) -> None:
    for stage in stages():
        task = progress.add_task(stage.label_zh, total=None) if progress is not None else None
        before = sum(ctx.counts.values())
        for observe in STAGE_OBSERVERS:
            observe(ctx, stage.name, "start")
        started, cpu = time.perf_counter(), cpu_seconds()
        ctx.overrides.get(stage.name, stage.run)(ctx, Tracker(progress, task))
        for observe in STAGE_OBSERVERS:
            observe(ctx, stage.name, "end")
        ctx.stats.append(StageStats(stage.name, time.perf_counter() - started,
                                    sum(ctx.counts.values()) - before, peak_rss_mib(), cpu_seconds() - cpu))
        if progress is not None and task is not None:
            t = progress.tasks[task]
            progress.update(task, total=t.total or t.completed or 1, completed=t.total or t.completed or 1)
