"""The grouping procedure on the demo pack: MDC order, entry rules, ADRGs, fall-through, results."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from drg_testkit import case, copy_demo_pack, newborn

from yilian.payment.drg import DrgCase, Grouper, Reason, Status, load_grouper

HF = "I50.900"  # heart failure: FR2, principal of exclusion table 1


def drg(grouper: Grouper, c: DrgCase) -> str:
    result = grouper.group(c)
    assert replace(grouper.group(c, explain=True), trace=None) == result, "fast and explain paths disagree"
    return result.drg


@pytest.mark.parametrize(
    ("c", "expected"),
    [
        # MDCA (pre-MDC), entered by an OR principal procedure
        (case("J96.000", px=("55.6900", "52.8000")), "AC19"),  # proc:1 & proc:2, in any position
        (case("J96.000", px=("55.6900",)), "AE19"),
        (case("J96.000", "A41.900", px=("31.1x00", "96.7200")), "AH11"),  # pproc & proc:2, with MCC
        (case("J96.000", px=("31.1x00", "96.7200")), "AH15"),
        (case("J96.000", px=("39.6500",)), "AH29"),
        (case("J96.000", px=("31.1x00",)), "EZ19"),  # MDCA admits, keeps nothing: on to MDCE
        # MDCP: principal in its list at age 0
        (newborn("P22.000"), "PR19"),
        (newborn("P22.000", px=("38.8500",)), "PB19"),  # through MDCA (38.8500 is OR) to MDCP
        (newborn("P59.900", "P07.100", weight=1499), "PS19"),  # anydx finds the secondary
        (newborn("P59.900", "P07.100", weight=1500), "PS29"),
        (newborn("P59.900", "P07.100", weight=2499), "PS29"),
        (newborn("P59.900", "P07.100", weight=2500), "PS49"),
        (newborn("P59.900"), "PU15"),
        (newborn("P59.900", "A41.900"), "PU11"),
        (newborn("P22.000", days=29, weight=None), "PV19"),  # 29 days: not a newborn
        (case("P59.900", age=0, days=None), "PV19"),  # age 0 without days: not a newborn
        (case("P59.900", age=1), "0000"),  # MDCP needs age 0; no other MDC lists P59.900
        # MDCZ: two body parts or more
        (case("S06.500", "S27.100"), "ZZ15"),
        (case("S06.500", "S27.100", "S36.100"), "ZZ11"),
        (case("S06.500", "S27.100", px=("01.2400",)), "ZB19"),
        (case("S06.500", "S27.100", px=("54.1100",)), "ZJ19"),  # pproc_or
        (case("S06.500", "S27.100", px=("57.9400", "54.1100")), "VR15"),  # neither ZJ1 nor ZZ1: to MDCV
        (case("S72.000", "S82.200"), "VR15"),  # one part twice: MDCV, not MDCZ
        (case("S72.000", "S82.200", "S36.100"), "ZZ11"),
        # MDCM / MDCN by sex
        (case("N40.x00", sex=1), "MZ19"),
        (case("N40.x00", sex=2), "0000"),
        (case("C61.x00", px=("60.5x00",)), "MA19"),  # pdx & pproc
        (case("C61.x00", px=("60.2900",)), "MB15"),
        (case("C61.x00", "E11.900"), "MR13"),
        (case("C61.x00"), "MR15"),
        (case("D25.900", sex=2, px=("68.4100",)), "NC15"),
        (case("D25.900", sex=2), "NZ19"),
        (case("D25.900", sex=1), "0000"),
        # organ MDCs
        (case("J18.900", "J96.000"), "ES31"),
        (case("J18.900", "I48.000"), "ES33"),
        (case("J18.900", "J18.900"), "ES35"),  # repeat of the principal: its CC is excluded
        (case("J44.900", "J18.900"), "ET25"),  # mcc > none: a CC does not split
        (case("I48.000", "J96.000"), "FV13"),  # mcc_or_cc > none: an MCC is enough
        (case("I10.x00", "J96.000"), "FT29"),  # not split
        (case("I50.900", px=("36.1100", "35.2200")), "FB19"),
        (case("I50.900", px=("35.2200",)), "FB25"),
        (case("I50.900", "E87.100", px=("35.2200",)), "FB23"),
        (case("I21.900", px=("36.0700",)), "FM15"),  # non-OR principal: MDCA is not entered
        (case("I21.900", "A41.900", px=("36.0700",)), "FM11"),
        (case(HF, px=("54.1100",)), "FR25"),  # OR procedure fitting no F surgery: QY off → medical
        (case("K35.800", "E87.100", px=("47.0100",)), "GC13"),
        (case("K35.800", px=("47.0100",)), "GC15"),
        (case("O00.100", sex=2, px=("66.6200",)), "OC19"),
    ],
)
def test_grouping(demo: Grouper, c: DrgCase, expected: str) -> None:
    assert drg(demo, c) == expected


@pytest.mark.parametrize(
    ("secondaries", "expected"),
    [
        ((), "FR25"),
        (("J96.000",), "FR21"),  # MCC of table 3
        (("J18.900",), "FR23"),  # CC of table 2
        (("I50.000",), "FR25"),  # MCC of table 1 = the principal's table: excluded
        (("I50.000", "E87.100"), "FR23"),  # excluded MCC, counting CC
        (("I50.000", "J18.900", "J96.000"), "FR21"),
        (("A41.900",), "FR21"),  # table 999 has no principals: never excluded
        (("E11.900",), "FR23"),
        (("M54.500", "Z51.100"), "FR25"),  # neither MCC nor CC
    ],
)
def test_fr2_splits_with_the_exclusion_table(demo: Grouper, secondaries: tuple[str, ...], expected: str) -> None:
    result = demo.group(case(HF, *secondaries))
    assert (result.mdc, result.adrg, result.drg) == ("MDCF", "FR2", expected)
    assert result.split == {"FR21": "mcc", "FR23": "mcc_or_cc", "FR25": "none"}[expected]


def test_principal_without_exclusion_table_excludes_nothing(demo: Grouper) -> None:
    assert demo.group(case("K29.700", "K25.000")).drg == "GZ11"  # K29.700 has no table
    assert demo.group(case("K92.200", "D64.900")).drg == "GZ15"  # both table 8
    assert demo.group(case("K92.200", "D64.900", "E11.900")).drg == "GZ13"
    assert demo.group(case("J44.100", "J96.000")).drg == "ET25"  # both table 3
    assert demo.group(case("J44.900", "J96.000")).drg == "ET21"  # J44.900 has no table
    assert demo.group(case("I50.000", "I50.000")).drg == "FR25"  # the principal repeated


def test_results_record_the_pack(demo: Grouper) -> None:
    for c in (case(HF), case("M54.500"), case(HF, sex=9)):
        result = demo.group(c)
        assert (result.pack_name, result.pack_version) == ("Yilian-demo", "0.1")


def test_no_mdc_is_ungrouped_without_mdc_or_adrg(demo: Grouper) -> None:
    result = demo.group(case("M54.500"))  # in the dictionary, in no MDC list
    assert (result.status, result.drg, result.mdc, result.adrg) == (Status.UNGROUPED, "0000", None, None)
    assert result.reason == Reason.NO_MDC and "MDC" in result.message


def test_entered_mdc_without_medical_adrg_falls_through_to_ungrouped(demo: Grouper) -> None:
    result = demo.group(case("K35.800"))  # appendicitis without appendectomy: no medical ADRG
    assert (result.status, result.drg, result.reason) == (Status.UNGROUPED, "0000", Reason.NO_ADRG)
    assert "MDCG" in result.message


def stop_pack(tmp_path: Path, on_no_adrg: str) -> Grouper:
    """The demo pack with O00.100 also listed in MDCV, and MDCO's on_no_adrg set."""
    pack_dir = copy_demo_pack(tmp_path / on_no_adrg)
    with (pack_dir / "mdc_dx.tsv").open("a") as f:
        f.write("MDCV\tO00.100\t\n")
    with (pack_dir / "adrg_dx.tsv").open("a") as f:
        f.write("VR1\tdx\tO00.100\n")
    mdc = pack_dir / "mdc.tsv"
    mdc.write_text(mdc.read_text().replace("pdx\tungrouped", f"pdx\t{on_no_adrg}"))
    return load_grouper(pack_dir)


def test_on_no_adrg_ungrouped_stops_and_next_mdc_goes_on(tmp_path: Path) -> None:
    ectopic = case("O00.100", sex=2)
    stopped = stop_pack(tmp_path, "ungrouped").group(ectopic)
    assert (stopped.status, stopped.drg, stopped.reason) == (Status.UNGROUPED, "0000", Reason.NO_ADRG)
    assert "MDCO" in stopped.message and "不再尝试" in stopped.message
    assert stop_pack(tmp_path, "next_mdc").group(ectopic).drg == "VR15"


@pytest.mark.parametrize(
    ("c", "reason", "words"),
    [
        (case(HF, sex=0), Reason.INVALID_SEX, "性别"),
        (case(HF, sex=3), Reason.INVALID_SEX, "「3」"),
        (case(), Reason.NO_DIAGNOSIS, "主要诊断"),
        (case("", "J96.000"), Reason.NO_DIAGNOSIS, "主要诊断"),
        (case(HF, age=-1), Reason.INVALID_AGE, "年龄"),
        (case(HF, age=151), Reason.INVALID_AGE, "年龄"),
        (case("P59.900", age=0, days=366, weight=3000), Reason.INVALID_AGE, "年龄（天）"),
        (newborn("P59.900", weight=None), Reason.NEWBORN_WITHOUT_WEIGHT, "出生体重"),
        (newborn("P59.900", weight=0), Reason.NEWBORN_WITHOUT_WEIGHT, "出生体重"),
        (newborn("P59.900", weight=-10), Reason.INVALID_BIRTH_WEIGHT, "出生体重"),
        (case("X99.999"), Reason.UNKNOWN_DIAGNOSIS, "X99.999"),
        (case(HF, "J96.000", "I50.90"), Reason.UNKNOWN_DIAGNOSIS, "I50.90"),  # no normalisation
        (case(HF, "I50\n000"), Reason.UNKNOWN_DIAGNOSIS, "I50\\x0a000"),  # echoed on one line
        (case(HF, px=("99.9999",)), Reason.UNKNOWN_PROCEDURE, "99.9999"),
        (case(HF, px=("", "35.2200")), Reason.UNKNOWN_PROCEDURE, "为空"),
    ],
)
def test_invalid_cases_are_results_with_a_reason(demo: Grouper, c: DrgCase, reason: Reason, words: str) -> None:
    result = demo.group(c)
    assert (result.status, result.drg, result.mdc, result.adrg) == (Status.INVALID, "0000", None, None)
    assert result.reason == reason and words in result.message and "\n" not in result.message
    assert demo.group(c, explain=True) == result


def test_codes_known_only_to_the_rules_or_only_to_the_dictionary_are_valid(tmp_path: Path) -> None:
    pack_dir = copy_demo_pack(tmp_path / "pack")
    (pack_dir / "icd10.tsv").unlink()
    bare = load_grouper(pack_dir)
    assert bare.group(case(HF, "J96.000")).drg == "FR21"
    assert bare.group(case("M54.500")).reason == Reason.UNKNOWN_DIAGNOSIS  # was known by its dictionary


def qy_pack(tmp_path: Path) -> Grouper:
    pack_dir = copy_demo_pack(tmp_path / "qy")
    pack = pack_dir / "pack.tsv"
    pack.write_text(pack.read_text().replace("qy\toff", "qy\ton"))
    return load_grouper(pack_dir)


def test_qy_on_sends_an_unfitting_or_procedure_to_the_mdc_qy_group(demo: Grouper, tmp_path: Path) -> None:
    qy = qy_pack(tmp_path)
    for px in (("54.1100",), ("57.9400", "54.1100")):  # any OR procedure, principal or not
        result = qy.group(case(HF, px=px))
        assert (result.status, result.mdc, result.adrg, result.drg) == (Status.GROUPED, "MDCF", "FQY", "FQY")
        assert result.reason == Reason.QY and "歧义" in result.message
        assert demo.group(case(HF, px=px)).drg == "FR25"  # QY off: on to the medical ADRGs


def test_qy_comes_after_the_surgical_adrgs_and_needs_an_or_procedure(tmp_path: Path) -> None:
    qy = qy_pack(tmp_path)
    assert qy.group(case(HF, px=("35.2200",))).drg == "FB25"  # fits a surgical ADRG first
    assert qy.group(case(HF, px=("36.0700",))).drg == "FM15"  # non-OR procedure ADRG is surgical too
    assert qy.group(case(HF, px=("57.9400",))).drg == "FR25"  # no OR procedure: no QY
    assert qy.group(case(HF)).drg == "FR25"


def test_qy_is_not_applied_to_the_pre_mdc(tmp_path: Path) -> None:
    qy = qy_pack(tmp_path)
    # MDCA admits (OR principal) and keeps nothing; no AQY: the case goes on to MDCF's QY.
    assert qy.group(case(HF, px=("54.1100",))).adrg == "FQY"
    result = qy.group(case("M54.500", px=("54.1100",)))
    assert (result.status, result.drg) == (Status.UNGROUPED, "0000")
