"""Benchmark recipe for the indicators (ARCHITECTURE.md scale plan):

- every indicator for a 1 M-resident year by consortium on PostgreSQL ≤ 10 s;
- a dashboard page served from snapshots ≤ 300 ms p95.

Dataset: ``yilian simulate county`` (preset ``target-2025``, seed 1) for ``--residents`` people — or a copy
of a database it already filled (``--template``) — plus ``bench/indicators_data.py`` (contracts and
referrals, until their features add simulation stages).  Then, on the target database:

1. rebuild the daily pre-aggregate for the year (cold; the cost paid once after loading, or when a
   month's records change) — ``ANALYZE`` first, as after any bulk load;
2. ``compute`` by consortium, county and institution with the aggregate warm (each run includes the
   freshness check of the months involved), repeated; the providers' own times from the progress ticks;
3. the same by consortium straight from the records (``--basis facts``), and whether both agree;
4. storing the dashboards' snapshots (the year for three cuts and its months for county and consortia);
5. the county, consortium and institution pages through the real app (in-process TestClient, logged in),
   ``--requests`` times each: p50, p95, max.

    .venv/bin/python bench/indicators_compute.py --residents 1000000 \\
        --database postgresql+psycopg://postgres@127.0.0.1:5432/yilian_ind_bench --fresh
    .venv/bin/python bench/indicators_compute.py --template yilian_bench \\
        --database postgresql+psycopg://postgres@127.0.0.1:5432/yilian_ind_bench

Prints one JSON document and records it in ``bench/results/indicators.json`` (by database); the figures are
written up in ``docs/indicators/benchmark.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

import indicators_data

from yilian.core.config import Settings
from yilian.db import migrate
from yilian.db.models import Encounter, Resident
from yilian.db.session import make_engine, session_scope
from yilian.identity import repository as identity_repository
from yilian.identity import service as identity
from yilian.identity.principal import system_principal
from yilian.identity.roles import Role
from yilian.indicators import aggregates, engine, periods, service
from yilian.indicators.catalogue import Cut

RESULTS = Path(__file__).resolve().parent / "results" / "indicators.json"
PASSWORD = "bench-password-123"


def _admin_url(url: str) -> str:
    return make_url(url).set(database="postgres").render_as_string(hide_password=False)


def recreate(url: str, template: str | None) -> None:
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{u.database}{suffix}").unlink(missing_ok=True)
        return
    admin = make_engine(_admin_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{u.database}" WITH (FORCE)'))
        tpl = f' TEMPLATE "{template}"' if template else ""
        c.execute(text(f'CREATE DATABASE "{u.database}"{tpl}'))
    admin.dispose()


def generate(url: str, residents: int) -> dict[str, Any]:
    from yilian.simulation.runner import Request, simulate

    migrate.upgrade(url)
    eng = make_engine(url)
    started = time.perf_counter()
    with session_scope(eng) as session:
        summary = simulate(session, Request(preset="target-2025", residents=residents, year=None, seed=1), None)
    eng.dispose()
    return {"seconds": round(time.perf_counter() - started, 1), "row_counts": summary["row_counts"]}


def timed(fn: Any, *args: Any, **kw: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    out = fn(*args, **kw)
    return time.perf_counter() - started, out


def compute_runs(url: str, period: str, cut: Cut, repeat: int, basis: engine.Basis) -> dict[str, Any]:
    eng = make_engine(url)
    times: list[float] = []
    steps: dict[str, float] = {}
    rows: list[Any] = []
    for _ in range(repeat):
        ticks: list[tuple[str, float]] = []
        with session_scope(eng) as session:
            t, rows = timed(engine.compute, session, periods.parse(period), cut, basis=basis,
                            progress=lambda m, ticks=ticks: ticks.append((m, time.perf_counter())))
        times.append(t)
        ticks.append(("end", time.perf_counter()))
        steps = {ticks[i][0]: round(ticks[i + 1][1] - ticks[i][1], 3) for i in range(len(ticks) - 1)}
    eng.dispose()
    return {"runs_s": [round(x, 2) for x in times], "best_s": round(min(times), 2),
            "median_s": round(statistics.median(times), 2), "last_run_steps_s": steps, "rows": len(rows),
            "_rows": rows}


def pages(url: str, period: str, requests: int) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from yilian.indicators import api, views
    from yilian.web.app import create_app

    eng = make_engine(url)
    with session_scope(eng) as session:
        if identity_repository.user_by_username(session, "bench-admin") is None:
            identity.do_create_user(session, system_principal("bench"), username="bench-admin", password=PASSWORD,
                                    role=Role.SYSTEM_ADMIN, display_name="bench")
        consortium = session.scalar(text("select code from consortium where mode = 'county_community' "
                                         "order by code limit 1"))
        institution = session.scalar(text("select code from institution where in_county and category = 'C210' "
                                          "order by code limit 1"))
    eng.dispose()
    settings = Settings(env="test", database_url=url, var_dir=Path(tempfile.mkdtemp(prefix="bench-ind-")))
    app = create_app(settings)
    paths = {getattr(r, "path", "") for r in app.routes}
    if "/indicators" not in paths:
        app.include_router(views.router)
        app.include_router(api.router)
    out: dict[str, Any] = {}
    with TestClient(app) as client:
        page = client.get("/login")
        token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        client.post("/login", data={"username": "bench-admin", "password": PASSWORD, "next": "/",
                                    "csrf_token": token}, follow_redirects=False)
        for name, path in (("county", f"/indicators?period={period}"),
                           ("consortium", f"/indicators/consortia/{consortium}?period={period}"),
                           ("institution", f"/indicators/institutions/{institution}?period={period}")):
            for _ in range(5):  # warm-up
                assert client.get(path).status_code == 200
            samples = []
            for _ in range(requests):
                t0 = time.perf_counter()
                resp = client.get(path)
                samples.append((time.perf_counter() - t0) * 1000)
                assert resp.status_code == 200
            samples.sort()
            out[name] = {"path": path, "requests": requests, "p50_ms": round(statistics.median(samples), 1),
                         "p95_ms": round(samples[int(0.95 * (len(samples) - 1))], 1),
                         "max_ms": round(samples[-1], 1), "bytes": len(resp.content)}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database", required=True)
    ap.add_argument("--residents", type=int, default=1_000_000)
    ap.add_argument("--fresh", action="store_true", help="re-create the database and simulate --residents")
    ap.add_argument("--template", help="PostgreSQL: copy this already simulated database instead")
    ap.add_argument("--period", default="2025")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--requests", type=int, default=200)
    args = ap.parse_args()
    url = args.database
    report: dict[str, Any] = {"database": make_url(url).get_backend_name(), "period": args.period}
    if args.fresh or args.template:
        recreate(url, args.template)
        if args.fresh:
            report["simulate"] = generate(url, args.residents)
    migrate.upgrade(url)
    eng = make_engine(url)
    with session_scope(eng) as session:
        if not session.scalar(select(func.count()).select_from(text("contract"))):
            t, counts = timed(indicators_data.add, session, int(args.period[:4]))
            report["bench_data"] = {"seconds": round(t, 1), **counts}
        report["dataset"] = {"residents": session.scalar(select(func.count()).select_from(Resident)),
                             "encounters": session.scalar(select(func.count()).select_from(Encounter))}
    if report["database"] == "postgresql":
        with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE"))
    p = periods.parse(args.period)
    with session_scope(eng) as session:
        t, _built = timed(aggregates.ensure, session, p.start, p.end, force=True)
        prior = p.prior_year()
        aggregates.ensure(session, prior.start, prior.end)
    report["aggregate_rebuild_s"] = round(t, 2)
    eng.dispose()
    runs = {}
    for cut in (Cut.CONSORTIUM, Cut.COUNTY, Cut.INSTITUTION):
        runs[cut.value] = compute_runs(url, args.period, cut, args.repeat, engine.Basis.AGGREGATE)
    facts = compute_runs(url, args.period, Cut.CONSORTIUM, 1, engine.Basis.FACTS)
    report["compute"] = {k: {kk: vv for kk, vv in v.items() if kk != "_rows"} for k, v in runs.items()}
    report["compute_consortium_from_records"] = {k: v for k, v in facts.items() if k != "_rows"}
    report["aggregate_equals_records"] = runs["consortium"]["_rows"] == facts["_rows"]
    eng = make_engine(url)
    with session_scope(eng) as session:
        t, snaps = timed(service.do_store_snapshots, session, None, args.period)
    eng.dispose()
    report["snapshots"] = {"seconds": round(t, 1), "count": len(snaps), "rows": sum(s.rows for s in snaps)}
    report["pages"] = pages(url, args.period, args.requests)
    report["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                         "load_average": [round(x, 2) for x in os.getloadavg()]}
    json.dump(report, sys.stdout, ensure_ascii=False, indent=2)
    print()
    existing = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    existing[report["database"]] = report
    RESULTS.write_text(json.dumps(existing, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
