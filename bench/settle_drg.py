"""Benchmark of ``yilian settle drg`` end to end: ``python bench/settle_drg.py [--discharges N] [--db DB]``.

``--db postgres|sqlite``.  Recipe: a throwaway database (PostgreSQL from
``YILIAN_TEST_POSTGRES_URL`` or 127.0.0.1:5432, or a SQLite file under ``bench/results/tmp/``),
migrated, filled by ``bench/settle_data.py`` with N discharges (default 1,000,000, codes from the
shared CHS-DRG 1.1 pack's labelled cases, seed 1), ``ANALYZE``d.  Then, each as a new process exactly as a user runs it:

1. ``python -m yilian.payment.cli drg --year 2025 --budget 2000000000`` (the command behind
   ``yilian settle drg``): start-up, pack load, reading, grouping, weights, points, money, monthly
   provisional, clearing, writing the run with its N case rows — the issue's "≤ 60 s";
2. the same again (a rerun: must give the same result digest);
3. ``… whatif --base RUN --set coefficient.2=0.9`` (re-prices the stored cases, no regrouping).

Records the seconds in ``bench/results/settle_drg.json`` and drops the database (``--keep`` keeps it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from yilian.db import migrate
from yilian.db.session import make_engine

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "settle_drg.json"
TMP = ROOT / "bench" / "results" / "tmp"
PG = os.environ.get("YILIAN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BUDGET = "2000000000"


def _database(kind: str) -> tuple[str, object]:
    if kind == "sqlite":
        TMP.mkdir(parents=True, exist_ok=True)
        path = TMP / f"settle-{uuid.uuid4().hex[:8]}.db"
        return f"sqlite:///{path}", path
    admin_url = make_url(PG).set(drivername="postgresql+psycopg")
    name = f"yilian_bench_settle_{uuid.uuid4().hex[:8]}"
    admin = make_engine(admin_url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.set(database=name).render_as_string(hide_password=False), (admin_url, name)


def _drop(kind: str, handle: object) -> None:
    if kind == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{handle}{suffix}").unlink(missing_ok=True)
        return
    admin_url, name = handle  # type: ignore[misc]
    admin = make_engine(admin_url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _run(args: list[str]) -> tuple[float, str, str]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "yilian.payment.cli", *args], capture_output=True, text=True,
                          env={**os.environ, "YILIAN_ENV": "test"})
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(args)}\n{proc.stderr[-3000:]}")
    return seconds, proc.stdout.strip(), proc.stderr


def _digest(url: str, run_id: str) -> tuple[str, int, str]:
    engine = make_engine(url)
    with engine.connect() as c:
        row = c.execute(text("select result_digest, cases, total_payment from payment_run where id = :i"),
                        {"i": int(run_id)}).one()
    engine.dispose()
    return str(row[0]), int(row[1]), str(row[2])


def _phases(url: str, run_id: str) -> dict[str, float]:
    """The run's own timing of its phases (``summary.seconds``), writing excluded."""
    engine = make_engine(url)
    with engine.connect() as c:
        summary = c.execute(text("select summary, duration_ms from payment_run where id = :i"),
                            {"i": int(run_id)}).one()
    engine.dispose()
    body = summary[0] if isinstance(summary[0], dict) else json.loads(summary[0])
    phases = dict(body.get("seconds", {}))
    phases["in_process_total"] = round(summary[1] / 1000, 3)
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--discharges", type=int, default=1_000_000)
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    url, handle = _database(args.db)
    try:
        migrate.upgrade(url, "heads")
        started = time.perf_counter()
        seed = subprocess.run([sys.executable, str(ROOT / "bench" / "settle_data.py"), "--database", url,
                               "--discharges", str(args.discharges)], capture_output=True, text=True, check=True)
        seed_seconds = time.perf_counter() - started
        engine = make_engine(url)
        with engine.connect() as c:
            c.exec_driver_sql("ANALYZE")
            c.commit()
        engine.dispose()
        load = os.getloadavg()[0]
        base = ["--database", url]
        first, run_id, log = _run(["drg", "--year", "2025", "--budget", BUDGET, *base])
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest child so far
        second, rerun_id, _ = _run(["drg", "--year", "2025", "--budget", BUDGET, *base])
        whatif, whatif_id, _ = _run(["whatif", "--year", "2025", "--base", run_id, "--set", "coefficient.2=0.9",
                                     *base])
        d1, d2, d3 = _digest(url, run_id), _digest(url, rerun_id), _digest(url, whatif_id)
        result = {
            "dataset": json.loads(seed.stdout.strip().splitlines()[-1]),
            "database": args.db,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
                       f"{platform.system()}",
            "load_average_before": round(load, 2),
            "seed_seconds": round(seed_seconds, 1),
            "seconds": {"settle_drg": round(first, 2), "settle_drg_rerun": round(second, 2),
                        "whatif": round(whatif, 2)},
            "discharges_per_second": round(d1[1] / first),
            "peak_rss_mib_settle_drg": round(peak_mib),
            "phases_seconds": _phases(url, run_id),
            "rerun_identical": d1[0] == d2[0],
            "cases": d1[1], "total_payment": d1[2], "whatif_total_payment": d3[2],
            "headline": next((line for line in log.splitlines() if line.startswith("结算批次")), ""),
        }
        print(json.dumps(result, ensure_ascii=False, indent=2))
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        existing = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        key = args.db if args.discharges == 1_000_000 else f"{args.db}_{args.discharges}"
        existing[key] = result
        RESULTS.write_text(json.dumps(existing, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    finally:
        if not args.keep:
            _drop(args.db, handle)
        else:
            print(f"kept: {url}", file=sys.stderr)


if __name__ == "__main__":
    main()
