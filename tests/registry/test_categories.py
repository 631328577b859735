"""Institution categories (WS 218-2002) and the attributes DOMAIN.md derives from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from yilian.core.errors import ConfigurationError, ValidationFailed
from yilian.registry.categories import (
    category_name,
    default_consortium_type,
    get_category,
    is_primary_care,
    load_categories,
    parse_level,
    tier,
)
from yilian.registry.rules import ConsortiumType

PRIMARY_CARE = {"B100", "B200", "C100", "C210", "C220", "D600"}
HEADER = "code\tname\tprimary_care\ttier\tconsortium_type\n"


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("A100", "综合医院"),
        ("A210", "中医（综合）医院"),
        ("A220", "中医专科医院"),
        ("A300", "中西医结合医院"),
        ("A400", "民族医院"),
        ("A511", "口腔医院"),
        ("A512", "眼科医院"),
        ("A514", "肿瘤医院"),
        # WS 218-2002 numbers these differently from a common misquotation:
        ("A515", "心血管病医院"),
        ("A516", "胸科医院"),
        ("A519", "儿童医院"),
        ("A520", "精神病医院"),
        ("A521", "传染病医院"),
        ("A525", "职业病医院"),
        ("A527", "康复医院"),
        ("A710", "护理院"),
        ("B100", "社区卫生服务中心"),
        ("B200", "社区卫生服务站"),
        ("C100", "街道卫生院"),
        ("C210", "中心卫生院"),
        ("C220", "乡卫生院"),
        # 门诊部 and 诊所 are D codes in WS 218-2002; E is 急救中心（站）.
        ("D100", "门诊部"),
        ("D200", "诊所"),
        ("D600", "村卫生室"),
        ("E100", "急救中心"),
        ("G100", "妇幼保健院"),
    ],
)
def test_catalogue_holds_the_ws218_codes_with_their_names(code: str, name: str) -> None:
    assert category_name(code) == name


def test_primary_care_is_exactly_the_six_domain_categories() -> None:
    catalogue = load_categories()
    assert {code for code, c in catalogue.items() if c.primary_care} == PRIMARY_CARE
    for code in PRIMARY_CARE:
        assert is_primary_care(code)


@pytest.mark.parametrize("code", ["A100", "A527", "A710", "D100", "D110", "D200", "D211", "E100", "G100"])
def test_outpatient_departments_clinics_and_hospitals_are_not_primary_care(code: str) -> None:
    assert not is_primary_care(code)


@pytest.mark.parametrize("level", ["1", "2", "3", "unrated", None, 3])
def test_village_clinics_and_community_stations_are_tier_0_whatever_the_level(
    level: int | str | None,
) -> None:
    assert tier("D600", level) == 0
    assert tier("B200", level) == 0


@pytest.mark.parametrize("code", ["B100", "C100", "C210", "C220"])
@pytest.mark.parametrize("level", ["1", "2", "unrated"])
def test_other_primary_care_is_tier_1_whatever_the_rating(code: str, level: str) -> None:
    assert tier(code, level) == 1


@pytest.mark.parametrize(
    ("code", "level", "expected"),
    [
        ("A100", "3", 3),
        ("A100", 3, 3),
        ("A100", "2", 2),
        ("A210", "1", 1),
        ("A100", "unrated", 1),
        ("A527", None, 1),
        ("A710", "", 1),
        ("G100", 2, 2),
        ("D110", "unrated", 1),
    ],
)
def test_other_institutions_take_their_level_and_unrated_counts_as_1(
    code: str, level: int | str | None, expected: int
) -> None:
    assert tier(code, level) == expected


@pytest.mark.parametrize("level", ["4", 0, "三级", "A"])
def test_an_invalid_level_is_refused(level: int | str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        tier("A100", level)
    assert caught.value.code == "registry_invalid_level"
    with pytest.raises(ValidationFailed):
        tier("D600", level)  # validated even where the category fixes the tier
    with pytest.raises(ValidationFailed):
        parse_level(level)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("A100", ConsortiumType.GENERAL),
        ("A210", ConsortiumType.TCM),
        ("A220", ConsortiumType.TCM),
        ("A229", ConsortiumType.TCM),
        ("A300", ConsortiumType.TCM),
        ("A400", ConsortiumType.TCM),
        ("A412", ConsortiumType.TCM),
        ("G100", ConsortiumType.MCH),
        ("A511", ConsortiumType.SPECIALTY),
        ("A518", ConsortiumType.SPECIALTY),
        ("A527", ConsortiumType.SPECIALTY),
        ("B100", None),
        ("C210", None),
        ("A710", None),
        ("D110", None),
    ],
)
def test_default_consortium_type_follows_the_lead_category(
    code: str, expected: ConsortiumType | None
) -> None:
    assert default_consortium_type(code) == expected


def test_catalogue_follows_the_domain_prefix_rules() -> None:
    for code, c in load_categories().items():
        if code.startswith(("A2", "A3", "A4")):
            assert c.consortium_type == ConsortiumType.TCM, code
        elif code.startswith("A5"):
            assert c.consortium_type == ConsortiumType.SPECIALTY, code
        elif code not in ("A100", "G100"):
            assert c.consortium_type is None, code


def test_unknown_category_is_refused_and_codes_are_case_insensitive() -> None:
    assert get_category(" a100 ").code == "A100"
    for bad in ("Z999", "A1", ""):
        with pytest.raises(ValidationFailed) as caught:
            is_primary_care(bad)
        assert caught.value.code == "registry_unknown_category"


def test_another_catalogue_file_can_be_loaded(tmp_path: Path) -> None:
    path = tmp_path / "c.tsv"
    path.write_text(
        "# local additions\n" + HEADER + "A100\t综合医院\t0\t\tgeneral\nB100\t社区卫生服务中心\t1\t1\t\n"
    )
    catalogue = load_categories(path)
    assert sorted(catalogue) == ["A100", "B100"]
    assert catalogue["B100"].fixed_tier == 1


@pytest.mark.parametrize(
    "body",
    [
        "code\tname\n",  # wrong header
        HEADER + "B100\t社区卫生服务中心\t1\t\t\n",  # primary care without a tier
        HEADER + "A100\t综合医院\t0\t2\tgeneral\n",  # a hospital with a fixed tier
        HEADER + "A100\t综合医院\t0\t\tgeneral\nA100\t综合医院\t0\t\tgeneral\n",  # duplicate
        HEADER + "A100\t综合医院\t0\t\thospital\n",  # unknown consortium type
        HEADER + "A10\t综合医院\t0\t\tgeneral\n",  # malformed code
        HEADER + "A100\t综合医院\tyes\t\tgeneral\n",  # bad flag
        HEADER + "A100\t综合医院\t0\n",  # missing columns
    ],
)
def test_inconsistent_catalogue_file_is_refused(tmp_path: Path, body: str) -> None:
    path = tmp_path / "c.tsv"
    path.write_text(body)
    with pytest.raises(ConfigurationError) as caught:
        load_categories(path)
    assert caught.value.code == "registry_categories_invalid"
