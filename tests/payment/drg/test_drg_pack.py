"""Loading a rule pack: the demo pack, the lookup order, and every refusal naming file and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from drg_testkit import copy_demo_pack, line_of, replace_in

from yilian.core.errors import ValidationFailed
from yilian.payment.drg import DEMO_PACK_DIR, load_pack, resolve_pack_dir


def test_demo_pack_names_itself_and_loads_every_table() -> None:
    pack = load_pack(DEMO_PACK_DIR)
    assert (pack.name, pack.version, pack.qy) == ("Yilian-demo", "0.1", False)
    assert pack.mdcs[0].code == "MDCA" and [m.order for m in pack.mdcs] == sorted(m.order for m in pack.mdcs)
    assert [d.code for d in pack.drgs["FR2"]] == ["FR21", "FR23", "FR25"]
    assert [d.split for d in pack.drgs["FR2"]] == ["mcc", "mcc_or_cc", "none"]
    assert pack.parts["MDCZ"]["S27.100"] == "胸部创伤"
    assert pack.adrg_proc["AH1"][2] == frozenset({"96.7200"})
    assert pack.exclusion["I50.900"] == pack.mcc["I50.000"] == 1
    assert "I50.900" in pack.diagnosis_names and "39.6500" in pack.or_procedures


def test_dictionaries_are_optional(tmp_path: Path) -> None:
    pack_dir = copy_demo_pack(tmp_path / "pack")
    (pack_dir / "icd10.tsv").unlink()
    (pack_dir / "icd9cm3.tsv").unlink()
    pack = load_pack(pack_dir)
    assert pack.diagnosis_names == {} and "I50.900" in pack.known_diagnoses()
    assert "M54.500" not in pack.known_diagnoses()  # known only to the dictionary that is gone


def refusal(pack_dir: Path) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        load_pack(pack_dir)
    assert caught.value.code == "drg_pack_invalid"
    return caught.value


# (file, text to replace, replacement, fragment of the offending line after the edit, words)
BROKEN = [
    ("adrg.tsv", "FR2\t心力衰竭、休克\tmedical\tpdx", "FR2\t心力衰竭、休克\tmedical\tpdx &", "FR2\t", "无法解析"),
    (
        "adrg.tsv",
        "GZ1\t其他消化系统诊断\tmedical\tpdx",
        "GZ1\t其他消化系统诊断\tmedical\tpdx & bogus",
        "GZ1",
        "未知的谓词「bogus」",
    ),
    ("adrg.tsv", "FM1\t经皮冠状动脉支架植入\tsurgical", "FM1\t经皮冠状动脉支架植入\tmedical", "FM1", "kind"),
    (
        "adrg.tsv",
        "FB1\t心脏瓣膜手术伴冠状动脉搭桥\tsurgical\tproc:1 & proc:2",
        "FB1\t心脏瓣膜手术伴冠状动脉搭桥\tsurgical\tproc:1 & proc:3",
        "FB1",
        "手术表 3",
    ),
    (
        "adrg.tsv",
        "PV1\t婴儿疾患（出生29天至不满1周岁）\tmedical\ttrue",
        "PV1\t婴儿疾患（出生29天至不满1周岁）\tmedical\tpdx",
        "PV1",
        "诊断表为空",
    ),
    ("adrg.tsv", "MDCF\t9\tFZ1", "MDCF\t8\tFZ1", "FZ1", "重复"),
    ("adrg.tsv", "mdc\torder\tadrg", "mdc\tposition\tadrg", "mdc\tposition", "表头"),
    ("mdc.tsv", "pdx & parts>=2", "pdx & parts>=2 &", "MDCZ", "无法解析"),
    ("mdc.tsv", "MDCE\t呼吸系统疾病（演示）\tpdx", "MDCE\t呼吸系统疾病（演示）\tpproc", "MDCE", "pproc"),
    ("mdc.tsv", "MDCO\t异位妊娠（演示）\tpdx\tungrouped", "MDCO\t异位妊娠（演示）\tpdx\tstop", "MDCO", "on_no_adrg"),
    ("mdc.tsv", "9\tMDCO", "x\tMDCO", "MDCO", "整数"),
    ("mdc.tsv", "MDCV\t创伤（演示）\tpdx\tnext_mdc", "MDCV\t创伤（演示）\tpdx", "MDCV", "列"),
    ("mdc_dx.tsv", "MDCG\tK29.700", "MDCQ\tK29.700", "MDCQ", "不在 mdc.tsv"),
    ("mdc_dx.tsv", "MDCG\tK29.700", "MDCG\t K29.700", "MDCG\t K29", "空白"),
    ("adrg_dx.tsv", "GZ1\tdx\tK29.700", "GZ1\tdx2\tK29.700", "GZ1\tdx2", "list"),
    ("adrg_dx.tsv", "GZ1\tdx\tK29.700", "GX9\tdx\tK29.700", "GX9", "不在 adrg.tsv"),
    ("adrg_proc.tsv", "FM1\t1\t00.6600", "FM1\tone\t00.6600", "FM1\tone", "整数"),
    ("adrg_proc.tsv", "FM1\t1\t00.6600", "FM1\t0\t00.6600", "FM1\t0", "不小于 1"),
    ("drg.tsv", "FR2\t2\tFR23", "FR2\t2\tFR21", "FR2\t2\tFR21", "重复"),
    (
        "drg.tsv",
        "FR2\t1\tFR21\t心力衰竭、休克，伴严重并发症或合并症\tmcc",
        "FR2\t1\tFR21\t心力衰竭、休克，伴严重并发症或合并症\tnone",
        "FR21",
        "最后一个",
    ),
    (
        "drg.tsv",
        "FR2\t3\tFR25\t心力衰竭、休克，不伴并发症或合并症\tnone",
        "FR2\t3\tFR25\t心力衰竭、休克，不伴并发症或合并症\tmcc",
        "FR25",
        "应为 none",
    ),
    (
        "drg.tsv",
        "FR2\t2\tFR23\t心力衰竭、休克，伴一般并发症或合并症\tmcc_or_cc",
        "FR2\t2\tFR23\t心力衰竭、休克，伴一般并发症或合并症\tcc",
        "FR23",
        "split",
    ),
    ("cc.tsv", "J18.900\t2", "J96.000\t2", "J96.000", "同时在 mcc.tsv 和 cc.tsv"),
    ("mcc.tsv", "A41.900\t999", "A41.900\t999\nA41.900\t1", "A41.900\t1", "排除表不同"),
    ("exclusion.tsv", "2\tJ15.900", "2\tI50.900", "2\tI50.900", "排除表不同"),
    ("pack.tsv", "qy\toff", "qy\tmaybe", "qy", "qy"),
    ("pack.tsv", "qy\toff", "qy\toff\nmode\tfast", "mode", "未知的设置项"),
    ("pack.tsv", "qy\toff", "qy\toff\nqy\ton", "qy\ton", "重复"),
    ("or_procedures.tsv", "54.1100\t剖腹探查术", "54.1100\t剖腹探查术\n\n60.2100\tx", "\t", "空行"),
]


@pytest.mark.parametrize(("name", "old", "new", "fragment", "words"), BROKEN)
def test_malformed_pack_is_refused_naming_file_and_line(
    tmp_path: Path, name: str, old: str, new: str, fragment: str, words: str
) -> None:
    pack_dir = copy_demo_pack(tmp_path / "pack")
    path = pack_dir / name
    replace_in(path, old, new)
    error = refusal(pack_dir)
    assert words in error.message
    assert error.details["file"] == str(path)
    if fragment == "\t":  # the blank line itself
        assert error.details["line"] == line_of(path, "剖腹探查术") + 1
    else:
        assert error.details["line"] == line_of(path, fragment)
    assert f"{path} 第 {error.details['line']} 行" in error.message


def test_adrg_without_drgs_is_refused_at_its_adrg_line(tmp_path: Path) -> None:
    pack_dir = copy_demo_pack(tmp_path / "pack")
    drg = pack_dir / "drg.tsv"
    drg.write_text("".join(x for x in drg.read_text().splitlines(True) if not x.startswith("FZ1")))
    error = refusal(pack_dir)
    assert error.details["file"] == str(pack_dir / "adrg.tsv")
    assert error.details["line"] == line_of(pack_dir / "adrg.tsv", "FZ1")


def test_missing_name_and_missing_files_are_refused(tmp_path: Path) -> None:
    pack_dir = copy_demo_pack(tmp_path / "pack")
    replace_in(pack_dir / "pack.tsv", "name\tYilian-demo\n", "")
    assert "name" in refusal(pack_dir).message
    pack_dir = copy_demo_pack(tmp_path / "pack2")
    (pack_dir / "mcc.tsv").unlink()
    error = refusal(pack_dir)
    assert error.details["file"] == str(pack_dir / "mcc.tsv") and "不存在" in error.message
    assert "不存在" in refusal(tmp_path / "nowhere").message


def test_non_utf8_and_empty_files_are_refused_with_the_line(tmp_path: Path) -> None:
    pack_dir = copy_demo_pack(tmp_path / "pack")
    path = pack_dir / "icd10.tsv"
    lines = path.read_bytes().split(b"\n")
    lines[4] = "D25.900\t子宫平滑肌瘤".encode("gbk")
    path.write_bytes(b"\n".join(lines))
    error = refusal(pack_dir)
    assert (error.details["line"], "UTF-8" in error.message) == (5, True)
    (pack_dir / "icd10.tsv").write_text("")
    assert refusal(pack_dir).details["line"] == 1


def test_crlf_line_ends_are_tolerated(tmp_path: Path) -> None:
    pack_dir = copy_demo_pack(tmp_path / "pack")
    path = pack_dir / "adrg.tsv"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert load_pack(pack_dir).adrgs["MDCF"][5].rule_text == "pdx"


def test_qy_code_may_not_collide_with_an_adrg(tmp_path: Path) -> None:
    pack_dir = copy_demo_pack(tmp_path / "pack")
    replace_in(pack_dir / "pack.tsv", "qy\toff", "qy\ton")
    replace_in(pack_dir / "adrg.tsv", "\tFZ1\t", "\tFQY\t")
    replace_in(pack_dir / "drg.tsv", "FZ1\t1\tFZ19", "FQY\t1\tFQY9")
    replace_in(pack_dir / "adrg_dx.tsv", "FZ1\tdx", "FQY\tdx")
    assert "歧义组" in refusal(pack_dir).message


def test_lookup_order(tmp_path: Path) -> None:
    explicit, configured = tmp_path / "explicit", tmp_path / "configured"
    root = tmp_path / "main"
    root.mkdir()
    assert resolve_pack_dir(explicit, configured, root) == explicit
    assert resolve_pack_dir(None, configured, root) == configured
    assert resolve_pack_dir(None, None, root) == DEMO_PACK_DIR
    shared = tmp_path / "shared" / "data" / "chs-drg-1.1"
    shared.mkdir(parents=True)
    assert resolve_pack_dir(None, None, root) == shared
    assert resolve_pack_dir(explicit, None, root) == explicit
