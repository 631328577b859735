"""Benchmark of ``yilian care import``: ``python bench/care_import.py [--rows N] [--db sqlite|postgres|both]``.

Dataset recipe (seed 20250): a tiny registry — one county, a township health centre, a village
clinic, the county hospital (二级) and a city hospital out of the county — and ``--residents``
residents (default 5,000) registered with ID numbers (hash + cipher, written in bulk).  Then
``--rows`` encounters (default 200,000) as one CSV in ``bench/results/tmp/`` (git-ignored):
≈ 94 % outpatient and emergency visits, ≈ 3 % inpatient stays, ≈ 3 % out-of-county claims, a
year of dates, 1–3 diagnoses and 0–1 procedures from the built-in demo code list, costs in cents
split over the six categories, half of the rows with the payer's split given and half computed.
Referral links are left out (episodes belong to the referrals feature).

For each database it creates a throwaway database (a SQLite file; a PostgreSQL database on
``YILIAN_TEST_POSTGRES_URL``'s server, dropped afterwards), migrates it, loads the registry and
times ``care.importer.import_csv`` in one transaction, then the same file again (every row found
unchanged, nothing written).  It prints rows/s and records them in
``bench/results/care_import.json``; ``--explain`` also prints the plans of the list queries.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import tempfile
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from yilian.care.importer import import_csv
from yilian.care.layout import COLUMNS
from yilian.core.clock import utcnow
from yilian.core.config import get_settings
from yilian.db import migrate
from yilian.db.bulk import copy_rows
from yilian.db.models import Division, Institution, Resident
from yilian.db.session import make_engine, session_scope
from yilian.identity.principal import system_principal
from yilian.payment.drg import DEMO_PACK_DIR
from yilian.residents.crypto import cipher
from yilian.residents.idcard import make_id_number, mask_id_number

ROOT = Path(__file__).resolve().parents[1]
TMP = ROOT / "bench" / "results" / "tmp"
RESULTS = ROOT / "bench" / "results" / "care_import.json"
SEED = 20250
YEAR = 2025
TODAY = date(YEAR, 12, 31)
INSTITUTIONS = [  # code, name, category, level, division, in county, primary care, tier
    ("BX-TC", "城关镇中心卫生院", "C210", "unrated", "320102001", True, True, 1),
    ("BX-VC", "城关镇东村卫生室", "D600", "unrated", "320102001", True, True, 0),
    ("BX-CH", "县人民医院", "A100", "2", "320102", True, False, 2),
    ("CITY-1", "市第一人民医院", "A100", "3", "320100", False, False, 3),
]


def _codes(name: str) -> list[str]:
    lines = (Path(DEMO_PACK_DIR) / name).read_text(encoding="utf-8").splitlines()[1:]
    return [line.split("\t")[0] for line in lines if line and line[0] not in "VWXY"]


def id_numbers(count: int) -> list[tuple[str, date, int]]:
    rng = random.Random(SEED)
    out = []
    for n in range(count):
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(80 * 365))
        sex = 1 + n % 2
        out.append((make_id_number("320102", born, (n * 2) % 1000, sex), born, sex))
    return out


def _split(total_cents: int, rng: random.Random) -> list[Decimal]:
    cuts = sorted(rng.randrange(total_cents + 1) for _ in range(5))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, total_cents], strict=True)]
    return [Decimal(p) / 100 for p in parts]


def build_csv(rows: int, residents: int) -> Path:
    target = TMP / f"care_import_{rows}_{residents}.csv"
    if target.exists():
        return target
    rng = random.Random(SEED)
    dx, px = _codes("icd10.tsv"), _codes("icd9cm3.tsv")
    people = id_numbers(residents)
    TMP.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(COLUMNS)
        for i in range(rows):
            number, born, _ = people[rng.randrange(residents)]
            start = max(date(YEAR, 1, 1) + timedelta(days=rng.randrange(365)), born)
            roll = rng.random()
            kind, inst, end, mode = "outpatient", rng.choice(INSTITUTIONS[:3])[0], "", ""
            if roll < 0.03:
                kind = "emergency"
            elif roll < 0.06:
                kind, inst = "inpatient", rng.choice(("BX-TC", "BX-CH"))
            elif roll < 0.09:
                kind, inst = "inpatient", "CITY-1"
            if kind == "inpatient":
                end_date = min(start + timedelta(days=rng.randrange(0, 15)), TODAY)
                end, mode = end_date.isoformat(), rng.choice("1111111249")
            cents = rng.randrange(2000, 3_000_000) if kind == "inpatient" else rng.randrange(500, 60_000)
            costs = _split(cents, rng)
            total = Decimal(cents) / 100
            policy = (total * Decimal("0.9")).quantize(Decimal("0.01"))
            split = ["", "", "", ""]
            if i % 2:  # the payer's own split: no deductible, 50 % of the policy-range cost
                fund = (policy / 2).quantize(Decimal("0.01"))
                split = ["0.00", "0.5", str(fund), str(total - fund)]
            diagnoses = "|".join(rng.sample(dx, rng.randint(1, 3)))
            procedures = rng.choice(px) if kind == "inpatient" and rng.random() < 0.4 else ""
            source_system = "YB-CLAIMS" if inst == "CITY-1" else f"HIS-{inst}"
            values = {
                "source_system": source_system, "source_id": f"E{i:09d}", "resident_id_number": number,
                "institution_code": inst, "kind": kind, "start_date": start.isoformat(), "end_date": end,
                "discharge_mode": mode, "diagnoses": diagnoses, "procedures": procedures, "scheme": "resident",
                "total_cost": str(total), "cost_drugs": str(costs[0]), "cost_exams": str(costs[1]),
                "cost_treatment": str(costs[2]), "cost_materials": str(costs[3]), "cost_beds": str(costs[4]),
                "cost_other": str(costs[5]), "policy_cost": str(policy), "deductible": split[0],
                "ratio": split[1], "fund_paid": split[2], "patient_paid": split[3],
            }
            w.writerow([values.get(c, "") for c in COLUMNS])
    return target


def load_registry(engine: Engine, residents: int) -> None:
    now = utcnow()
    pii = cipher()
    with session_scope(engine) as s:
        for code, name, level, parent in (("320000", "江苏省", "province", None), ("320100", "市", "city", "320000"),
                                          ("320102", "县", "county", "320100"),
                                          ("320102001", "城关镇", "township", "320102")):
            s.add(Division(code=code, name=name, level=level, parent_code=parent))
        s.flush()
        for code, name, cat, level, div, in_county, primary, tier in INSTITUTIONS:
            s.add(Institution(code=code, name=name, category=cat, level=level, ownership="public", beds=0,
                              division_code=div, is_primary_care=primary, tier=tier, in_county=in_county,
                              created_at=now))
        s.flush()
        rows = [(pii.lookup_hash(n), pii.encrypt(n), mask_id_number(n), f"居民{i}", sex, born, now, now)
                for i, (n, born, sex) in enumerate(id_numbers(residents))]
        conn = s.connection()
        if conn.dialect.name == "sqlite":  # what the ORM's bind processors would send
            rows = [(*r[:5], r[5].isoformat(), r[6].isoformat(sep=" "), r[7].isoformat(sep=" ")) for r in rows]
        copy_rows(conn, Resident.__table__, ("id_hash", "id_cipher", "id_masked", "name", "sex",  # type: ignore[arg-type]
                                              "birth_date", "created_at", "updated_at"), rows)
        if conn.dialect.name == "postgresql":
            conn.execute(text("select setval(pg_get_serial_sequence('resident', 'id'), "
                              "(select max(id) from resident))"))


def explain(engine: Engine) -> dict[str, str]:
    queries = {
        "resident": "SELECT * FROM encounter WHERE resident_id = 42 ORDER BY start_date DESC, id DESC LIMIT 20",
        "institution_period": "SELECT * FROM encounter WHERE institution_id = 3 AND start_date BETWEEN "
                              "'2025-03-01' AND '2025-03-31' ORDER BY start_date DESC, id DESC LIMIT 20",
        "period_kind": "SELECT count(*) FROM encounter WHERE start_date BETWEEN '2025-03-01' AND '2025-03-31' "
                       "AND kind = 'outpatient'",
        "discharges": "SELECT count(*) FROM encounter WHERE kind = 'inpatient' AND end_date BETWEEN "
                      "'2025-03-01' AND '2025-03-31'",
    }
    out = {}
    with engine.connect() as c:
        prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
        c.execute(text("ANALYZE encounter"))  # both planners choose by statistics
        for name, sql in queries.items():
            plan = c.execute(text(prefix + sql)).all()
            out[name] = " / ".join(str(r[-1]).strip() for r in plan)
    return out


def bench(kind: str, csv_path: Path, rows: int, residents: int, show_plans: bool) -> dict[str, Any]:
    settings = get_settings()
    name = f"yilian_bench_care_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin_url = None
    if kind == "postgres":
        admin_url = make_url(settings.test_postgres_url).set(drivername="postgresql+psycopg")
        url = admin_url.set(database=name).render_as_string(hide_password=False)
        admin = make_engine(admin_url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    else:
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='yilian-bench-')) / (name + '.db')}"
    try:
        migrate.upgrade(url)
        engine = make_engine(url)
        load_registry(engine, residents)
        timings, cpu = {}, {}
        for run in ("first", "again"):
            started, cpu_started = time.perf_counter(), time.process_time()
            with session_scope(engine) as s:
                report = import_csv(s, system_principal("bench"), csv_path, today=TODAY)
            timings[run] = time.perf_counter() - started
            cpu[run] = time.process_time() - cpu_started
            rate = report.total / timings[run]
            print(f"{kind} {run}: {report.total} rows, created {report.created}, unchanged {report.unchanged}, "
                  f"rejected {len(report.rejected)} in {timings[run]:.1f} s → {rate:,.0f} rows/s")
        result: dict[str, Any] = {
            "seconds_first": round(timings["first"], 2), "rows_per_s_first": round(rows / timings["first"]),
            "seconds_reimport": round(timings["again"], 2), "rows_per_s_reimport": round(rows / timings["again"]),
            # CPU of this process (the importer's Python side; PostgreSQL's own work is not in it):
            # on a shared machine it is steadier than wall time.
            "importer_cpu_seconds_first": round(cpu["first"], 2),
            "importer_cpu_seconds_reimport": round(cpu["again"], 2),
            "rejected": len(report.rejected),
        }
        if show_plans:
            result["plans"] = explain(engine)
            for k, v in result["plans"].items():
                print(f"  plan {k}: {v}")
        engine.dispose()
        return result
    finally:
        if kind == "postgres" and admin_url is not None:
            admin = make_engine(admin_url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        elif kind == "sqlite":
            path = Path(make_url(url).database or "")
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--residents", type=int, default=5_000)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    csv_path = build_csv(args.rows, args.residents)
    print(f"dataset {csv_path.name}: {csv_path.stat().st_size:,} bytes ({time.perf_counter() - started:.1f} s)")
    load = os.getloadavg()[0]
    record: dict[str, Any] = {
        "dataset": f"{args.rows} encounters over {args.residents} residents (seed {SEED}), "
                   f"{csv_path.stat().st_size:,} bytes",
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                   f"Python {platform.python_version()}, {platform.system()}",
        "load_average_before": round(load, 2),  # the machine is shared: how much of it was ours
        "chunk_size": 5000,
    }
    for kind in (("sqlite", "postgres") if args.db == "both" else (args.db,)):
        record[kind] = bench(kind, csv_path, args.rows, args.residents, args.explain)
    record["load_average_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(record, ensure_ascii=False, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
