"""Benchmark recipe: ``yilian simulate county`` at a given size, timed per stage.

    .venv/bin/python bench/simulate_county.py --residents 100000 --database sqlite:///var/bench.db --fresh
    .venv/bin/python bench/simulate_county.py --residents 1000000 \\
        --database postgresql+psycopg://postgres@127.0.0.1:5432/yilian_bench --fresh

``--fresh`` drops and re-creates the target (deletes the SQLite file, or DROP/CREATE DATABASE on
the PostgreSQL server) and migrates it; without it the database must already be empty and
migrated.  Prints one JSON document: wall time, rows/s and peak RSS per stage, the calibrated
indicators, and the machine.  Results are recorded in ``docs/simulation/benchmark.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from yilian.db import migrate
from yilian.db.session import make_engine, session_scope
from yilian.simulation.pipeline import STAGE_OBSERVERS, progress_display
from yilian.simulation.runner import Request, simulate


def fresh(url: str) -> None:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        path = Path(u.database or "")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        name = u.database
        admin = make_engine(u.set(database="postgres").render_as_string(hide_password=False),
                            isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            c.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    migrate.upgrade(url)


def backend_cpu_s(pid: int | None) -> float | None:
    """CPU seconds of a PostgreSQL backend process, when the server runs on this machine."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def machine() -> dict[str, Any]:
    mem = None
    try:
        with open("/proc/meminfo") as fh:
            mem = round(int(fh.readline().split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "memory_gib": mem, "python": platform.python_version(),
            "platform": platform.platform()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--residents", type=int, default=100_000)
    ap.add_argument("--database", required=True, help="SQLAlchemy URL of the target database")
    ap.add_argument("--preset", default="target-2025")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--fresh", action="store_true", help="drop, re-create and migrate the target first")
    ap.add_argument("--progress", action="store_true", help="show the progress bars on stderr")
    args = ap.parse_args()
    if args.fresh:
        fresh(args.database)
    engine = make_engine(args.database)
    load_before = os.getloadavg()
    started = time.perf_counter()
    backend: int | None = None
    server_before: float | None = None
    server_by_stage: dict[str, float] = {}

    def observe(_ctx: object, stage: str, when: str) -> None:
        cpu = backend_cpu_s(backend)
        if cpu is not None:
            server_by_stage[stage] = round(cpu - server_by_stage.get(stage, 0.0), 2) if when == "end" else cpu

    STAGE_OBSERVERS.append(observe)
    with progress_display(args.progress) as progress, session_scope(engine) as session:
        if make_url(args.database).get_backend_name() == "postgresql":
            backend = session.execute(text("select pg_backend_pid()")).scalar_one()
            server_before = backend_cpu_s(backend)
        summary = simulate(session, Request(preset=args.preset, residents=args.residents, year=None,
                                            seed=args.seed), progress)
        server_after = backend_cpu_s(backend)
    wall = time.perf_counter() - started  # includes the final commit
    engine.dispose()
    rows = sum(summary["row_counts"].values())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak = usage.ru_maxrss / 1024
    server = server_after - server_before if server_after is not None and server_before is not None else None
    report = {
        "database": make_url(args.database).get_backend_name(), "preset": args.preset,
        "residents": args.residents, "wall_s": round(wall, 1), "rows": rows, "rows_per_s": round(rows / wall),
        # CPU is steadier than wall time on a shared machine: this process (all threads) and, for a
        # PostgreSQL server on this machine, the backend that served the run.
        "client_cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "server_cpu_s": None if server is None else round(server, 1),
        "peak_rss_mib": round(peak, 1),
        "stages": [{**st, "server_cpu_s": server_by_stage.get(st["stage"])} for st in summary["stages"]],
        "row_counts": summary["row_counts"],
        "targets": summary["targets"], "code_source": summary["code_source"], "machine": machine(),
        # Other work on the machine slows a run down: the load average says how busy it was.
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
