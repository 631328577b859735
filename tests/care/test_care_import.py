"""CSV import: bad rows refused with line numbers and reasons, good rows imported, re-import inert."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from care_testkit import County, counts, county, csv_row, episode, payload, registered, text_of_tables, write_csv
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from builders import admin
from yilian.care import service
from yilian.care.cli import app as care_app
from yilian.care.config import default_config
from yilian.care.importer import import_csv
from yilian.care.layout import COLUMNS
from yilian.care.schemas import EncounterIn
from yilian.core.errors import ValidationFailed
from yilian.db.models import AuditLog, CareRelationship, Encounter, Settlement

D = Decimal
TODAY = date(2025, 12, 31)


def run(session: Session, path: Path, **kw: Any) -> Any:
    return import_csv(session, admin(), path, today=TODAY, **kw)


@pytest.fixture()
def c(session: Session) -> County:
    return county(session)


def _visit(number: str, code: str, **kw: Any) -> dict[str, Any]:
    return payload(number, code, kind="outpatient", end_date=None, discharge_mode=None, **kw)


def test_bad_rows_are_refused_with_reasons_and_the_rest_imported(session: Session, c: County,
                                                                 tmp_path: Path) -> None:
    _r1, n1 = registered(session)
    _r2, n2 = registered(session, name="李四", birth_date=date(1988, 2, 3))
    good = [
        csv_row(payload(n1, c.hospital.code, source_id="G1")),
        csv_row(_visit(n1, c.township.code, source_id="G2", start_date="2025-04-02")),
        csv_row(payload(n2, c.city.code, source_id="G3", source_system="YB-CLAIMS")),
        csv_row(_visit(n2, c.township.code, source_id="G4", start_date="2025-04-03",
                       settlement={"scheme": "self_pay"})),
    ]
    bad = [
        (csv_row(payload("11010519491231002X", c.hospital.code, source_id="B1")), "resident_not_found"),
        (csv_row(payload(n1, c.hospital.code, source_id="B2", diagnoses=["高血压"])), "diagnosis_code_invalid"),
        (csv_row(payload(n1, c.hospital.code, source_id="B3", settlement={"cost_other": "301.00"})),
         "costs_do_not_add_up"),
        (csv_row(payload(n1, c.hospital.code, source_id="B4", los_days=9)), "los_mismatch"),
        (csv_row(payload(n1, c.hospital.code, source_id="B5", start_date="2025-13-01")), "date_invalid"),
        (csv_row(payload(n1, "NOPE", source_id="B6")), "institution_not_found"),
        (csv_row(payload(n1[:-1] + ("0" if n1[-1] != "0" else "1"), c.hospital.code, source_id="B7")),
         "id_number_checksum"),
    ]
    rows = [good[0], bad[0][0], good[1], bad[1][0], bad[2][0], good[2], bad[3][0], bad[4][0], bad[5][0],
            good[3], bad[6][0]]
    f = write_csv(tmp_path / "batch.csv", rows)
    before = counts(session)
    report = run(session, f)
    assert (report.total, report.created, report.unchanged) == (11, 4, 0)
    assert [(r.line, r.source_id, r.code) for r in report.rejected] == [
        (3, "B1", "resident_not_found"), (5, "B2", "diagnosis_code_invalid"), (6, "B3", "costs_do_not_add_up"),
        (8, "B4", "los_mismatch"), (9, "B5", "date_invalid"), (10, "B6", "institution_not_found"),
        (12, "B7", "id_number_checksum")]
    assert all(r.reason and not r.reason.isascii() for r in report.rejected)  # Chinese reasons
    after = counts(session)
    assert after["encounter"] - before["encounter"] == 4 and after["settlement"] - before["settlement"] == 4
    # treated: r1 at hospital and township, r2 at city and township
    assert after["care_relationship"] - before["care_relationship"] == report.relationships_created == 4
    assert after["audit"] - before["audit"] == 1
    log = session.scalars(select(AuditLog).where(AuditLog.action == "import")).one()
    assert log.after is not None and log.after["created"] == 4
    stored = {e.source_id: e for e in session.scalars(select(Encounter))}
    claim = session.get(Settlement, stored["G3"].id)
    assert claim is not None and (claim.place, claim.source, claim.in_county) == ("out_of_county_unreferred",
                                                                                 "insurance", False)
    self_pay = session.get(Settlement, stored["G4"].id)
    assert self_pay is not None and (self_pay.fund_paid, self_pay.patient_paid) == (D("0.00"), D("6000.00"))

    # Re-importing the same file changes nothing: no rows, no audit entry, the same refusals.
    again = run(session, f)
    assert (again.created, again.unchanged) == (0, 4)
    assert [(r.line, r.code) for r in again.rejected] == [(r.line, r.code) for r in report.rejected]
    assert counts(session) == after


def test_a_changed_row_is_refused_on_reimport(session: Session, c: County, tmp_path: Path) -> None:
    _, n = registered(session)
    row = csv_row(payload(n, c.hospital.code, source_id="X1"))
    run(session, write_csv(tmp_path / "a.csv", [row]))
    before = counts(session)
    changed = {**row, "total_cost": "6100.00", "cost_other": "400.00"}
    report = run(session, write_csv(tmp_path / "b.csv", [changed]))
    assert report.created == 0 and [(r.line, r.code) for r in report.rejected] == [(2, "encounter_changed")]
    assert "总费用" in report.rejected[0].reason
    assert counts(session) == before


def test_repeats_inside_a_file(session: Session, c: County, tmp_path: Path) -> None:
    _, n = registered(session)
    row = csv_row(payload(n, c.hospital.code, source_id="D1"))
    other = {**row, "discharge_mode": "4"}
    report = run(session, write_csv(tmp_path / "d.csv", [row, row, other]), config=replace(default_config(),
                 import_chunk_size=2))
    assert (report.created, report.unchanged) == (1, 1)  # the third row is in the next chunk
    assert [(r.line, r.code) for r in report.rejected] == [(4, "encounter_changed")]
    same_chunk = run(session, write_csv(tmp_path / "e.csv", [{**row, "source_id": "D2"},
                                                             {**other, "source_id": "D2"}]))
    assert [(r.line, r.code) for r in same_chunk.rejected] == [(3, "duplicate_in_file")]


def test_the_deductible_runs_on_through_chunks(session: Session, c: County, tmp_path: Path) -> None:
    r, n = registered(session)
    ep = episode(session, r, c.township, c.city)
    rows = [csv_row(payload(n, inst.code, source_id=f"E{i}", referral_episode_id=ep, start_date=start,
                            end_date=end))
            for i, (inst, start, end) in enumerate([(c.township, "2025-03-01", "2025-03-03"),
                                                    (c.hospital, "2025-03-03", "2025-03-09"),
                                                    (c.city, "2025-03-09", "2025-03-19")])]
    run(session, write_csv(tmp_path / "ep.csv", rows), config=replace(default_config(), import_chunk_size=2))
    got = session.execute(select(Encounter.source_id, Settlement.place, Settlement.deductible)
                          .join(Settlement, Settlement.encounter_id == Encounter.id)
                          .order_by(Encounter.source_id)).all()
    assert [tuple(g) for g in got] == [("E0", "primary", D("200.00")), ("E1", "county", D("300.00")),
                                       ("E2", "out_of_county", D("500.00"))]


def test_csv_and_api_settle_alike(session: Session, c: County, tmp_path: Path) -> None:
    _, n = registered(session)
    body = payload(n, c.township.code, source_id="API1")
    enc, _ = service.do_ingest_encounter(session, admin(), EncounterIn.model_validate(body),
                                         today=date(2025, 12, 31))
    run(session, write_csv(tmp_path / "same.csv", [csv_row({**body, "source_id": "CSV1"})]))
    csv_enc = session.scalars(select(Encounter).where(Encounter.source_id == "CSV1")).one()
    cols = ("place", "deductible", "ratio", "fund_paid", "patient_paid", "policy_cost")
    api_s, csv_s = session.get(Settlement, enc.id), session.get(Settlement, csv_enc.id)
    assert [getattr(api_s, k) for k in cols] == [getattr(csv_s, k) for k in cols]


def test_cent_amounts_and_minimal_columns(session: Session, c: County, tmp_path: Path) -> None:
    _, n = registered(session)
    cols = ("source_system", "source_id", "resident_id_number", "institution_code", "kind", "start_date",
            "diagnoses", "scheme", "total_cost", "cost_drugs", "cost_exams")
    rows = [{"source_system": "HIS", "source_id": f"M{i}", "resident_id_number": n,
             "institution_code": c.township.code, "kind": "outpatient", "start_date": "2025-05-01",
             "diagnoses": "J06.900", "scheme": "resident", "total_cost": f"{i}.30", "cost_drugs": "0.10",
             "cost_exams": f"{i}.20"} for i in range(20)]
    report = run(session, write_csv(tmp_path / "min.csv", rows, cols))
    assert report.created == 20 and not report.rejected
    total = sum(s.total_cost for s in session.scalars(select(Settlement)))
    assert total == sum(D(f"{i}.30") for i in range(20))


def test_file_level_refusals(session: Session, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("code,name\nA,B\n", encoding="utf-8")
    binary = tmp_path / "gbk.csv"
    binary.write_bytes(",".join(COLUMNS).encode() + b"\n" + "县医院".encode("gbk") + b"\n")
    for f, code in ((empty, "import_empty"), (wrong, "import_header_invalid"), (binary, "import_unreadable"),
                    (tmp_path / "missing.csv", "import_unreadable")):
        with pytest.raises(ValidationFailed) as exc:
            run(session, f)
        assert exc.value.code == code


def test_the_id_number_is_never_stored_or_reported_in_clear(session: Session, c: County, tmp_path: Path) -> None:
    _, n = registered(session)
    rows = [csv_row(payload(n, c.hospital.code, source_id="P1")),
            csv_row(payload(n, "NOPE", source_id="P2")),
            csv_row(payload(n, c.hospital.code, source_id="P3", diagnoses=["bad"]))]
    report = run(session, write_csv(tmp_path / "pii.csv", rows))
    assert report.created == 1
    assert n not in report.model_dump_json()
    stored = text_of_tables(session, ("encounter", "settlement", "audit_log", "care_relationship"))
    assert n not in stored


def test_cli_imports_and_reports(committed_db: str, tmp_path: Path) -> None:
    from yilian.db.session import make_engine, session_factory

    engine = make_engine(committed_db)
    with session_factory(engine)() as s:
        cc = county(s)
        _, n = registered(s)
        rows = [csv_row(payload(n, cc.hospital.code, source_id="C1", start_date="2025-01-02",
                                end_date="2025-01-05")),
                csv_row(payload(n, cc.hospital.code, source_id="C2", kind="clinic"))]
        s.commit()
    engine.dispose()
    f = write_csv(tmp_path / "cli.csv", rows)
    report = tmp_path / "report.json"
    runner = CliRunner()
    first = runner.invoke(care_app, ["import", str(f), "--database", committed_db, "--report", str(report)])
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    assert (summary["created"], summary["rejected"]) == (1, 1)
    full = json.loads(report.read_text(encoding="utf-8"))
    assert full["rejected"][0]["code"] == "kind_invalid" and full["rejected"][0]["line"] == 3
    again = runner.invoke(care_app, ["import", str(f), "--database", committed_db])
    assert json.loads(again.stdout.strip().splitlines()[-1])["unchanged"] == 1
    missing = runner.invoke(care_app, ["import", str(tmp_path / "nope.csv"), "--database", committed_db])
    assert missing.exit_code == 2 and "import_unreadable" in missing.output


def test_relationships_are_added_once(session: Session, c: County, tmp_path: Path) -> None:
    r, n = registered(session)
    rows = [csv_row(_visit(n, c.township.code, source_id=f"R{i}", start_date=f"2025-06-{i + 10:02d}"))
            for i in range(5)]
    run(session, write_csv(tmp_path / "rel.csv", rows[:2]))
    run(session, write_csv(tmp_path / "rel2.csv", rows))
    rels = session.scalars(select(CareRelationship).where(CareRelationship.resident_id == r.id)).all()
    assert [(x.kind, x.institution_id, str(x.since)) for x in rels] == [("treated", c.township.id, "2025-06-10")]
