"""Benchmark of CHS-DRG grouping: ``python bench/drg_group.py [--cases N] [--rules DIR]``.

Dataset recipe: N discharges (default 200,000) resampled from the shared pack's
``oracle-cases.csv`` with a fixed seed and perturbed the way its cases vary (order of
secondaries, a secondary dropped or added from the file's own secondaries, ages moved,
a procedure after the principal dropped), written to ``bench/results/tmp/`` (git-ignored).

It times, on the same file:
1. the whole CLI as a new process (``python -m yilian.payment.drg group``, and
   ``.venv/bin/yilian drg group`` when the root CLI mounts it): interpreter start,
   imports, pack load, read, group, write;
2. the service in-process (``group_csv``): pack load + read + group + write;
3. grouping alone over parsed cases (``Grouper.group``), and with ``explain=True``.

It prints cases/s and records them in ``bench/results/drg_group.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

from yilian.payment.drg import DrgCase, load_grouper, parse_case
from yilian.payment.drg.service import group_csv

ROOT = Path(__file__).resolve().parents[1]
SHARED_PACK = ROOT.parent / "shared" / "data" / "chs-drg-1.1"
TMP = ROOT / "bench" / "results" / "tmp"
RESULTS = ROOT / "bench" / "results" / "drg_group.json"
SEED = 20211


def build_cases(oracle: Path, target: Path, count: int) -> Path:
    """Write ``count`` perturbed resamples of the oracle cases to ``target`` (cached by name)."""
    if target.exists():
        return target
    rng = random.Random(SEED)
    with oracle.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    pool = [d for r in rows for d in r["diagnoses"].split("|")[1:]]
    fields = [
        "case_id",
        "sex",
        "age_years",
        "age_days",
        "birth_weight_g",
        "los_days",
        "discharge_mode",
        "diagnoses",
        "procedures",
    ]
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(fields)
        for n in range(count):
            row = dict(rng.choice(rows))
            dx = row["diagnoses"].split("|")
            secondaries = dx[1:]
            rng.shuffle(secondaries)
            if secondaries and rng.random() < 0.2:
                secondaries.pop()
            if rng.random() < 0.2:
                secondaries.append(rng.choice(pool))
            px = row["procedures"].split("|") if row["procedures"] else []
            if len(px) > 1 and rng.random() < 0.2:
                px.pop(rng.randrange(1, len(px)))
            if row["age_years"] != "0":
                row["age_years"] = str(max(1, int(row["age_years"]) + rng.randint(-3, 3)))
            row.update(case_id=f"B{n + 1:07d}", diagnoses="|".join([dx[0], *secondaries]), procedures="|".join(px))
            writer.writerow([row[k] for k in fields])
    return target


def timed_process(command: list[str]) -> float | None:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        print(f"  {' '.join(command[:4])} … failed ({done.returncode}): {done.stderr.strip()[-300:]}")
        return None
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--rules", type=Path, default=SHARED_PACK)
    args = parser.parse_args()
    if not (SHARED_PACK / "oracle-cases.csv").is_file():
        sys.exit(f"the dataset recipe needs {SHARED_PACK}/oracle-cases.csv")
    cases = build_cases(SHARED_PACK / "oracle-cases.csv", TMP / f"drg-cases-{args.cases}.csv", args.cases)
    output = TMP / f"drg-result-{args.cases}.csv"
    load_before = os.getloadavg()[0]
    figures: dict[str, float | None] = {}

    python = sys.executable
    cli = [
        python,
        "-m",
        "yilian.payment.drg",
        "group",
        "--rules",
        str(args.rules),
        "--input",
        str(cases),
        "--output",
        str(output),
    ]
    figures["cli_python_m_seconds"] = timed_process(cli)
    yilian = ROOT / ".venv" / "bin" / "yilian"
    figures["cli_yilian_seconds"] = timed_process([str(yilian), "drg", *cli[3:]]) if yilian.exists() else None

    started = time.perf_counter()
    grouper = load_grouper(args.rules)
    figures["pack_load_seconds"] = time.perf_counter() - started
    summary = group_csv(grouper, cases, output)
    figures["service_seconds"] = time.perf_counter() - started

    with cases.open(encoding="utf-8", newline="") as f:
        parsed = [
            parse_case(r["sex"], r["age_years"], r["age_days"], r["birth_weight_g"], r["diagnoses"], r["procedures"])
            for r in csv.DictReader(f)
        ]
    valid = [c for c in parsed if isinstance(c, DrgCase)]
    fresh = load_grouper(args.rules)  # cold plan cache, as in a CLI run
    started = time.perf_counter()
    for c in valid:
        fresh.group(c)
    figures["group_only_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    for c in valid:
        fresh.group(c, explain=True)
    figures["explain_seconds"] = time.perf_counter() - started

    n = summary.total
    rates = {k.replace("_seconds", "_cases_per_s"): n / v for k, v in figures.items() if v and k != "pack_load_seconds"}
    record = {
        "dataset": f"{n} cases resampled from oracle-cases.csv (seed {SEED}), {cases.stat().st_size:,} bytes",
        "pack": f"{grouper.pack.name} {grouper.pack.version}",
        "statuses": dict(summary.by_status),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()}",
        # the machine is shared: the load before the run says how much of it was ours
        "load_average_before": round(load_before, 2),
        "seconds": {k: round(v, 3) for k, v in figures.items() if v is not None},
        "cases_per_second": {k: round(v) for k, v in rates.items()},
    }
    print(json.dumps(record, ensure_ascii=False, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
