"""``drg group``: the output contract, stderr, and refusals of unreadable files and packs."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from drg_testkit import copy_demo_pack, replace_in
from typer.testing import CliRunner

from yilian.core.config import reset_settings
from yilian.payment.drg import DEMO_PACK_DIR
from yilian.payment.drg.cli import app

HEADER = "case_id,sex,age_years,age_days,birth_weight_g,los_days,discharge_mode,diagnoses,procedures,note"
ROWS = [
    "C1,1,70,,,8,1,I50.900|J96.000,,a",  # FR21
    "C2,2,0,3,1400,20,1,P59.900|P07.100,,b",  # PS19
    "C3,9,70,,,3,1,I50.900,,c",  # invalid sex
    "C4,1,50,,,3,1,M54.500,,d",  # ungrouped
    "",  # a blank line is not a row
    "C5,1,50,,,3,1,I50.900,",  # one field short
    'C6,1,50,,,3,1,"I50.900|X99.999",,"e,f"',  # unknown code; quoted fields
]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    reset_settings()
    yield
    reset_settings()


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(runner: CliRunner, *args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["group", *map(str, args)])
    return result.exit_code, result.stdout, result.stderr


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_output_is_the_header_and_one_row_per_input_row(runner: CliRunner, tmp_path: Path) -> None:
    source, output = write(tmp_path / "cases.csv", [HEADER, *ROWS]), tmp_path / "result.csv"
    code, stdout, stderr = run(runner, "--rules", DEMO_PACK_DIR, "--input", source, "--output", output)
    assert code == 0, stderr
    assert output.read_text(encoding="utf-8").splitlines()[0] == "case_id,status,mdc,adrg,drg,message"
    rows = read(output)
    assert [(r["case_id"], r["status"], r["mdc"], r["adrg"], r["drg"]) for r in rows] == [
        ("C1", "grouped", "MDCF", "FR2", "FR21"),
        ("C2", "grouped", "MDCP", "PS1", "PS19"),
        ("C3", "invalid", "", "", "0000"),
        ("C4", "ungrouped", "", "", "0000"),
        ("C5", "invalid", "", "", "0000"),
        ("C6", "invalid", "", "", "0000"),
    ]
    assert rows[0]["message"] == "" and "性别" in rows[2]["message"] and "X99.999" in rows[5]["message"]
    assert "字段" in rows[4]["message"]
    assert stdout == ""
    assert "Yilian-demo 0.1" in stderr and "共 6 例" in stderr and "无效 3" in stderr


def test_explain_writes_the_trace_into_the_message(runner: CliRunner, tmp_path: Path) -> None:
    source, output = write(tmp_path / "cases.csv", [HEADER, ROWS[0]]), tmp_path / "result.csv"
    code, _, stderr = run(runner, "--rules", DEMO_PACK_DIR, "--input", source, "--output", output, "--explain")
    assert code == 0, stderr
    (row,) = read(output)
    assert "进入 MDCF（pdx）" in row["message"] and "J96.000 MCC 计入" in row["message"]
    assert len(output.read_text(encoding="utf-8").splitlines()) == 2


def test_missing_column_exits_non_zero_naming_file_and_line(runner: CliRunner, tmp_path: Path) -> None:
    source = write(tmp_path / "cases.csv", ["case_id,sex,age_years,diagnoses,procedures", "C1,1,70,I50.900,"])
    output = tmp_path / "result.csv"
    code, _, stderr = run(runner, "--rules", DEMO_PACK_DIR, "--input", source, "--output", output)
    assert code == 2
    assert str(source) in stderr and "第 1 行" in stderr and "age_days" in stderr
    assert not output.exists() and list(tmp_path.iterdir()) == [source]  # no partial file left


def test_undecodable_input_names_the_line(runner: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "cases.csv"
    source.write_bytes(f"{HEADER}\n{ROWS[0]}\n".encode() + "C9,1,70,,,8,1,I50.900,,备注\n".encode("gbk"))
    code, _, stderr = run(runner, "--rules", DEMO_PACK_DIR, "--input", source, "--output", tmp_path / "r.csv")
    assert code == 2 and "第 3 行" in stderr and "UTF-8" in stderr
    assert not (tmp_path / "r.csv").exists()


def test_missing_input_exits_non_zero(runner: CliRunner, tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    code, _, stderr = run(runner, "--rules", DEMO_PACK_DIR, "--input", missing, "--output", tmp_path / "r.csv")
    assert code == 2 and str(missing) in stderr


def test_unreadable_pack_exits_non_zero_naming_file_and_line(runner: CliRunner, tmp_path: Path) -> None:
    pack_dir = copy_demo_pack(tmp_path / "pack")
    replace_in(pack_dir / "adrg.tsv", "medical\tpdx\n", "medical\tpdx &&\n")
    source = write(tmp_path / "cases.csv", [HEADER, ROWS[0]])
    code, _, stderr = run(runner, "--rules", pack_dir, "--input", source, "--output", tmp_path / "r.csv")
    assert code == 2 and str(pack_dir / "adrg.tsv") in stderr and "行" in stderr


def test_configured_pack_is_used_without_rules(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pack_dir = copy_demo_pack(tmp_path / "pack")
    replace_in(pack_dir / "pack.tsv", "version\t0.1", "version\t0.1-configured")
    monkeypatch.setenv("YILIAN_DRG_RULES", str(pack_dir))
    reset_settings()
    source = write(tmp_path / "cases.csv", [HEADER, ROWS[0]])
    code, _, stderr = run(runner, "--input", source, "--output", tmp_path / "r.csv")
    assert code == 0 and "Yilian-demo 0.1-configured" in stderr


def test_spreadsheet_export_with_bom_and_crlf_is_read(runner: CliRunner, tmp_path: Path) -> None:
    source = tmp_path / "cases.csv"
    source.write_bytes(("\ufeff" + "\r\n".join([HEADER, ROWS[0], ROWS[1]]) + "\r\n").encode("utf-8"))
    output = tmp_path / "result.csv"
    code, _, stderr = run(runner, "--rules", DEMO_PACK_DIR, "--input", source, "--output", output)
    assert code == 0, stderr
    assert [r["drg"] for r in read(output)] == ["FR21", "PS19"]
