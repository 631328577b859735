"""Discharges for settlement benchmarks and browser tests, written straight into a migrated database.

``python bench/settle_data.py --database URL --discharges N [--year 2025] [--seed 1]
[--codes auto|oracle|demo] [--institutions create|existing]``

Recipe (seeded, so the same arguments write the same rows):

* institutions: ``create`` adds a benchmark county (``329901``) with 4 tertiary, 12 secondary and
  60 township hospitals; ``existing`` uses the database's in-county institutions (e.g. after
  ``yilian demo load``);
* N/2 residents (sexes alternate), each discharge given a resident of the case's sex;
* each discharge copies sex, age, birth weight, diagnoses and procedures of a case drawn from
  the shared CHS-DRG 1.1 pack's ``oracle-cases.csv`` (``oracle``), perturbed as
  ``bench/drg_group.py`` does (secondaries shuffled, one dropped or one added from the file's own
  secondaries, age moved by up to 3 years), or from a small list of demo-pack cases (``demo``;
  ``auto`` = oracle when the shared pack is there);
* institution by level (45 % tertiary, 35 % secondary, 20 % primary), cost log-normal around
  13,900 / 6,800 / 2,500 yuan (whole yuan), fund pays 70 %, discharged uniformly over the year,
  all under the resident scheme.

Rows go in with ``COPY`` on PostgreSQL (``executemany`` on SQLite) in chunks of 50,000; ids are
reserved up front and the sequences moved past them.  Prints a JSON summary on stdout.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, select

from yilian.db.bulk import copy_rows, is_postgres, reserve_ids, sync_sequence
from yilian.db.models import Division, Encounter, Institution, Resident, Settlement
from yilian.db.session import make_engine

ROOT = Path(__file__).resolve().parents[1]
ORACLE = ROOT.parent / "shared" / "data" / "chs-drg-1.1" / "oracle-cases.csv"
CHUNK = 50_000
COUNTY, TOWNSHIP = "329901", "329901001"
LEVEL_SHARE = (("3", 0.45), ("2", 0.35), ("primary", 0.20))
MEAN_COST = {"3": 13_900, "2": 6_800, "primary": 2_500}
# sex, age, diagnoses, procedures: cases the built-in demo pack groups (and one it cannot).
DEMO_CASES = [
    ("1", "72", "I50.900|E11.900", ""), ("2", "80", "I50.900", ""), ("1", "66", "I50.900|J96.000", ""),
    ("2", "45", "J18.000", ""), ("1", "58", "I10.x00", ""), ("2", "61", "J44.900", ""), ("1", "70", "I48.000", ""),
    ("2", "35", "K35.800", "47.0900"), ("1", "52", "K25.000", ""), ("1", "40", "M54.500", ""),
]
ENC_COLS = ("id", "source_system", "source_id", "resident_id", "institution_id", "kind", "start_date", "end_date",
            "los_days", "discharge_mode", "age_years", "age_days", "birth_weight_g", "principal_dx", "diagnoses",
            "principal_proc", "procedures", "received_at")
SET_COLS = ("encounter_id", "settled_on", "scheme", "place", "in_county", "source", "total_cost", "cost_drugs",
            "cost_exams", "cost_treatment", "cost_materials", "cost_beds", "cost_other", "policy_cost", "deductible",
            "ratio", "fund_paid", "patient_paid")


def code_pool(source: str) -> list[tuple[int, int, int | None, int | None, str, str]]:
    if source == "auto":
        source = "oracle" if ORACLE.is_file() else "demo"
    if source == "demo":
        return [(int(s), int(a), None, None, dx, px) for s, a, dx, px in DEMO_CASES]
    out = []
    with ORACLE.open(encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            out.append((int(r["sex"]), int(r["age_years"]), int(r["age_days"]) if r["age_days"] else None,
                        int(r["birth_weight_g"]) if r["birth_weight_g"] else None, r["diagnoses"], r["procedures"]))
    return out


def institutions(conn: Connection, mode: str) -> list[tuple[int, str, bool]]:
    """(id, level group '3'|'2'|'primary', is primary care) of the institutions discharges go to."""
    if mode == "create" and conn.execute(select(Institution.id).where(Institution.code == "BENCH-3-1")).first() is None:
        now = datetime.now(UTC)
        for code, name, level, parent in ((COUNTY, "基准县", "county", None), (TOWNSHIP, "基准镇", "township", COUNTY)):
            if conn.execute(select(Division.code).where(Division.code == code)).first() is None:
                conn.execute(insert(Division).values(code=code, name=name, level=level, parent_code=parent))
        rows = []
        for level, count, category in (("3", 4, "A100"), ("2", 12, "A100"), ("unrated", 60, "C210")):
            for n in range(1, count + 1):
                primary = category == "C210"
                rows.append({"code": f"BENCH-{level}-{n}", "name": f"基准医院{level}-{n}", "category": category,
                             "level": level, "grade": None, "ownership": "public", "beds": 100,
                             "division_code": TOWNSHIP if primary else COUNTY, "parent_id": None,
                             "is_primary_care": primary, "tier": 1 if primary else int(level), "in_county": True,
                             "created_at": now})
        conn.execute(insert(Institution), rows)
    stmt = select(Institution.id, Institution.level, Institution.is_primary_care, Institution.tier).where(
        Institution.in_county.is_(True))
    if mode == "create":
        stmt = stmt.where(Institution.code.like("BENCH-%"))
    out = []
    for iid, level, primary, tier in conn.execute(stmt.order_by(Institution.id)):
        if tier == 0:
            continue  # village clinics admit nobody
        out.append((int(iid), "primary" if primary or level not in ("2", "3") else level, bool(primary)))
    if not out:
        raise SystemExit("no in-county institutions: run `yilian demo load` or use --institutions create")
    return out


def _sqlite(rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    return [tuple(v.isoformat() if isinstance(v, date | datetime) else int(v) if isinstance(v, bool) else v
                  for v in row) for row in rows]


def _write(conn: Connection, table: Any, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    copy_rows(conn, table, columns, rows if is_postgres(conn) else _sqlite(rows))


def generate(conn: Connection, discharges: int, year: int, seed: int, source: str, mode: str) -> dict[str, Any]:
    rng = random.Random(seed)
    pool = code_pool(source)
    secondaries_pool = [d for c in pool for d in c[4].split("|")[1:]] or ["E11.900"]
    perturb = len(pool) > len(DEMO_CASES)
    places = institutions(conn, mode)
    by_group = {g: [p for p in places if p[1] == g] for g, _ in LEVEL_SHARE}
    groups = [g for g, _ in LEVEL_SHARE if by_group[g]]
    shares = [s for g, s in LEVEL_SHARE if by_group[g]]
    now = datetime.now(UTC)
    n_res = max(2, discharges // 2)
    first_res = reserve_ids(conn, Resident.__table__, n_res)
    for start in range(0, n_res, CHUNK):
        _write(conn, Resident.__table__, ("id", "name", "sex", "birth_date", "created_at", "updated_at"),
               [(first_res + k, f"基准居民{first_res + k}", 1 + k % 2, date(1960, 1, 1), now, now)
                for k in range(start, min(n_res, start + CHUNK))])
    first_enc = reserve_ids(conn, Encounter.__table__, discharges)
    days = (date(year + 1, 1, 1) - date(year, 1, 1)).days
    written = 0
    for start in range(0, discharges, CHUNK):
        encs, sets = [], []
        for eid in range(first_enc + start, first_enc + min(discharges, start + CHUNK)):
            sex, age, age_days, weight, dx, px = rng.choice(pool)
            if perturb:
                codes = dx.split("|")
                second = codes[1:]
                rng.shuffle(second)
                if second and rng.random() < 0.2:
                    second.pop()
                if rng.random() < 0.2:
                    second.append(rng.choice(secondaries_pool))
                dx = "|".join([codes[0], *second])
                if age > 0:
                    age = max(1, age + rng.randint(-3, 3))
            resident = first_res + 2 * rng.randrange(n_res // 2) + (sex - 1)
            group = rng.choices(groups, shares)[0]
            iid, _, primary = rng.choice(by_group[group])
            end = date(year, 1, 1) + timedelta(days=rng.randrange(days))
            los = rng.randint(1, 15)
            cost = max(50, int(MEAN_COST[group] * rng.lognormvariate(0, 0.6)))
            fund = cost * 7 // 10
            procs = px.split("|")[0] if px else None
            encs.append((eid, "BENCH", f"S{eid}", resident, iid, "inpatient", end - timedelta(days=los), end, los,
                         "1", age, age_days, weight, dx.split("|")[0], dx, procs, px or None, now))
            sets.append((eid, end, "resident", "primary" if primary else "county", True, "his", cost, cost, 0, 0, 0,
                         0, 0, cost, 0, "0.7000", fund, cost - fund))
        _write(conn, Encounter.__table__, ENC_COLS, encs)
        _write(conn, Settlement.__table__, SET_COLS, sets)
        written += len(encs)
        print(f"  {written:,} / {discharges:,}", file=sys.stderr, flush=True)
    for table in (Resident.__table__, Encounter.__table__):
        sync_sequence(conn, table)
    return {"discharges": discharges, "residents": n_res, "institutions": len(places), "year": year,
            "codes": "oracle" if pool[0][4] not in {c[2] for c in DEMO_CASES} else "demo"}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True)
    parser.add_argument("--discharges", type=int, default=10_000)
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--codes", choices=("auto", "oracle", "demo"), default="auto")
    parser.add_argument("--institutions", choices=("create", "existing"), default="create")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    engine = make_engine(args.database)
    with engine.begin() as conn:
        summary = generate(conn, args.discharges, args.year, args.seed, args.codes, args.institutions)
    engine.dispose()
    summary["seconds"] = round(time.perf_counter() - started, 2)
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
