"""The output contract (INDICATORS.md "Output") and ``yilian indicators compute`` end to end."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import ind_year
import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from yilian.core.errors import ValidationFailed
from yilian.db.session import make_engine, session_factory
from yilian.indicators import catalogue, output, service
from yilian.indicators.catalogue import Cut
from yilian.indicators.cli import app
from yilian.indicators.values import IndicatorRow, Status

FIELDS = ["code", "name", "period", "cut", "unit", "group", "numerator", "denominator", "value", "status", "reason"]


def _row(**kw: object) -> IndicatorRow:
    base: dict[str, object] = {"code": "fund_in_county_share", "name": "县域内医保基金支出占比", "period": "2025",
                               "cut": Cut.COUNTY, "unit": "", "group": "", "numerator": Decimal("11940.00"),
                               "denominator": Decimal("21940.00"), "value": Decimal("0.5442"), "status": Status.OK,
                               "reason": ""}
    base.update(kw)
    return IndicatorRow(**base)  # type: ignore[arg-type]


def test_json_keeps_exact_decimals() -> None:
    text = output.to_json([_row(), _row(code="up_referrals", name="上转人次", numerator=Decimal(7), denominator=None,
                                        value=Decimal(7)),
                           _row(value=None, status=Status.NO_DATA, reason="source_pending", numerator=None,
                                denominator=None)])
    assert '"numerator": 11940.00' in text and '"value": 0.5442' in text
    data = json.loads(text, parse_float=Decimal)
    assert list(data[0]) == FIELDS
    assert data[0]["value"] == Decimal("0.5442")
    assert data[1]["numerator"] == 7 and data[1]["denominator"] is None and data[1]["value"] == 7
    assert data[2]["value"] is None and data[2]["status"] == "no_data" and data[2]["reason"] == "source_pending"


def test_csv_header_and_empty_nulls() -> None:
    text = output.to_csv([_row(), _row(value=None, status=Status.NO_DATA, reason="zero_denominator")])
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == FIELDS
    assert lines[1] == ["fund_in_county_share", "县域内医保基金支出占比", "2025", "county", "", "", "11940.00",
                        "21940.00", "0.5442", "ok", ""]
    assert lines[2][8] == "" and lines[2][10] == "zero_denominator"


def test_table_shows_percentages_and_chinese_reasons() -> None:
    from rich.console import Console

    console = Console(width=250, record=True)
    console.print(output.to_table([_row(), _row(value=None, status=Status.NO_DATA, reason="source_pending")]))
    text = console.export_text()
    assert "54.42%" in text and "数据来源功能尚未上线" in text


def test_cli_compute_every_code_json_csv_table(committed_db: str) -> None:
    engine = make_engine(committed_db)
    with session_factory(engine)() as session:
        ind_year.build(session)
        session.commit()
    engine.dispose()
    runner = CliRunner()
    result = runner.invoke(app, ["compute", "--period", "2025", "--format", "json", "--database", committed_db])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout, parse_float=Decimal)
    assert [r["code"] for r in data] == [c for c in catalogue.codes() for _ in
                                         range(len(catalogue.get(c).groups) + 1)]
    by = {(r["code"], r["group"]): r for r in data}
    assert by[("county_retention_inpatient", "")]["value"] == Decimal("0.7500")
    assert by[("htn_control_rate", "")]["reason"] == "source_pending"
    assert by[("htn_control_rate", "")]["numerator"] is None
    assert by[("cmi", "")]["reason"] == "not_grouped"
    assert all(r["cut"] == "county" and r["unit"] == "" and r["period"] == "2025" for r in data)

    result = runner.invoke(app, ["compute", "--period", "2025", "--cut", "consortium", "--format", "csv",
                                 "--database", committed_db])
    assert result.exit_code == 0, result.output
    lines = list(csv.reader(io.StringIO(result.stdout)))
    assert lines[0] == FIELDS
    assert {ln[4] for ln in lines[1:]} == {"C1", "C2"}
    first = [ln for ln in lines[1:] if ln[0] == "county_retention_inpatient"]
    assert [ln[4] for ln in first] == ["C1", "C2"]  # catalogue order, then unit

    result = runner.invoke(app, ["compute", "--period", "2025", "--database", committed_db])
    assert result.exit_code == 0 and "县域就诊率（住院）" in result.stdout and "75.00%" in result.stdout

    bad = runner.invoke(app, ["compute", "--period", "2025Q5", "--database", committed_db])
    assert bad.exit_code == 2
    assert "period_invalid" in bad.stderr and "统计期" in bad.stderr
    assert bad.stdout == ""


def test_unknown_cut_is_refused(session: Session) -> None:
    with pytest.raises(ValidationFailed) as exc:
        service.compute(session, "2025", "township")
    assert exc.value.code == "cut_invalid"
