"""``yilian settle …`` on a committed database: stdout carries only the run id (or the table asked
for), the report goes to stderr, refusals exit non-zero with their code."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from payment_svc_testkit import DEMO, FR23, Stay, add_stays, county, mixed_year, residents, weights_file
from sqlalchemy import select
from typer.testing import CliRunner

from yilian.core.config import reset_settings
from yilian.db.models import PaymentRun
from yilian.db.session import make_engine, session_scope
from yilian.payment.cli import settle_app

runner = CliRunner()


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    reset_settings()
    yield
    reset_settings()


@pytest.fixture()
def db(committed_db: str) -> Iterator[tuple[str, str]]:
    engine = make_engine(committed_db)
    with session_scope(engine) as session:
        c = county(session)
        add_stays(session, mixed_year(c))
        residents(session, 10, township=c.townships[0])
        code = c.community.code
    yield committed_db, code
    engine.dispose()


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(settle_app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_settle_drg_prints_the_run_id_and_reports_on_stderr(db: tuple[str, str], tmp_path: Path) -> None:
    url, _ = db
    report = tmp_path / "report.csv"
    code, out, err = _invoke("drg", "--year", "2025", "--budget", "1000000", "--rules", str(DEMO), "--database", url,
                             "--report", str(report))
    assert code == 0, err
    run_id = int(out.strip())
    assert f"结算批次 {run_id}" in err and "Yilian-demo" in err and "1,000,000.00" in err
    rows = list(csv.DictReader(io.StringIO(report.read_text(encoding="utf-8"))))
    assert sum(Decimal(r["payment"]) for r in rows) == Decimal("1000000.00")
    again, out2, _ = _invoke("drg", "--year", "2025", "--budget", "1000000", "--rules", str(DEMO), "--database", url)
    engine = make_engine(url)
    with session_scope(engine) as s:
        digests = {r.id: r.result_digest for r in s.scalars(select(PaymentRun))}
    engine.dispose()
    assert again == 0 and digests[run_id] == digests[int(out2)]
    code, shown, _ = _invoke("show", str(run_id), "--format", "csv", "--database", url)
    assert code == 0 and shown.splitlines()[0].startswith("institution,name,level")
    code, listed, _ = _invoke("runs", "--format", "json", "--database", url)
    assert code == 0 and [r["id"] for r in json.loads(listed)] == [int(out2), run_id]


def test_whatif_prints_its_id_and_the_difference_list(db: tuple[str, str]) -> None:
    url, _ = db
    _, out, _ = _invoke("drg", "--year", "2025", "--budget", "1000000", "--rules", str(DEMO), "--database", url)
    code, new, err = _invoke("whatif", "--year", "2025", "--base", out.strip(), "--set", "coefficient.2=1.0",
                             "--set", "outlier.strategy=proportional", "--database", url)
    assert code == 0, err
    assert int(new) != int(out) and "difference" in err and f"基准批次 {out.strip()}" in err
    code, compared, _ = _invoke("compare", out.strip(), new.strip(), "--format", "json", "--database", url)
    lines = json.loads(compared)
    assert code == 0 and any(Decimal(line["difference"]) != 0 for line in lines)
    bad, nothing, message = _invoke("whatif", "--year", "2025", "--base", out.strip(), "--set", "colour=blue",
                                    "--database", url)
    assert bad == 2 and nothing == "" and "whatif_bad_key" in message and "outlier.strategy" in message
    bad, _, message = _invoke("whatif", "--year", "2025", "--base", out.strip(), "--set", "coefficient.1=abc",
                              "--database", url)
    assert bad == 2 and "whatif_bad_value" in message


def test_other_methods_and_refusals(db: tuple[str, str], tmp_path: Path) -> None:
    url, community = db
    code, out, err = _invoke("budget", "--year", "2025", "--consortium", community, "--budget", "900000",
                             "--database", url)
    assert code == 0 and int(out) > 0, err
    code, out, err = _invoke("dip", "--year", "2025", "--budget", "500000", "--database", url)
    assert code == 0 and "历史 2024" in err, err  # mixed_year has one 2024 stay: a year of history
    code, out, err = _invoke("group", "--year", "2025", "--rules", str(DEMO), "--database", url)
    assert code == 0 and int(out) > 0, err
    code, _, err = _invoke("drg", "--year", "2025", "--budget", "12.345", "--rules", str(DEMO), "--database", url)
    assert code == 2 and "settle_bad_amount" in err
    code, _, err = _invoke("drg", "--year", "2030", "--budget", "100", "--rules", str(DEMO), "--database", url)
    assert code == 2 and "settle_no_discharges" in err
    code, _, err = _invoke("capitation", "--year", "2025", "--database", url)
    assert code == 2 and "capitation_no_contracts" in err
    code, _, err = _invoke("show", "999", "--database", url)
    assert code == 3 and "payment_run_not_found" in err
    code, _, err = _invoke("runs", "--format", "xml", "--database", url)
    assert code == 2 and "format_unknown" in err


def test_worked_example_weights_through_the_cli(committed_db: str, tmp_path: Path) -> None:
    engine = make_engine(committed_db)
    with session_scope(engine) as session:
        c = county(session)
        add_stays(session, [Stay(c.tertiary, FR23, 250_000, date(2025, 1 + i % 12, 1)) for i in range(100)])
    engine.dispose()
    path = weights_file(tmp_path, {"FR23": ("250", "250000")}, city="1000")
    code, _, err = _invoke("drg", "--year", "2025", "--budget", "120000000", "--weights", str(path), "--rules",
                           str(DEMO), "--database", committed_db)
    assert code == 0, err
    assert "点值 48" in err and "权重 weights.csv sha256:" in err
