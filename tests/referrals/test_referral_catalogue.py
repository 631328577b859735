"""Catalogue CSV loading, matching, and the configured catalogue shapes."""

from __future__ import annotations

import pytest

from yilian.core.errors import ValidationFailed
from yilian.referrals.config import (
    TIANCHANG_CATALOGUE_SIZES,
    CatalogueEntry,
    CatalogueKind,
    Catalogues,
    ReferralPolicy,
    catalogue_size_warnings,
    normalise_diagnosis,
    parse_catalogue_csv,
)

GOOD = """\ufeffcatalogue,icd10,name
# 下转病种（节选）
down,I10,原发性高血压
down,e11.9,2型糖尿病

rehab,I69,脑血管病后遗症
up,I21,急性心肌梗死
must_treat_county,K35.800,急性阑尾炎
must_treat_township,J18.900,肺炎
"""


def test_parses_a_good_file_with_bom_comments_and_blank_lines() -> None:
    entries = parse_catalogue_csv(GOOD)
    assert [(e.kind, e.code, e.line) for e in entries] == [
        (CatalogueKind.DOWN, "I10", 3),
        (CatalogueKind.DOWN, "E11.9", 4),
        (CatalogueKind.REHAB, "I69", 6),
        (CatalogueKind.UP, "I21", 7),
        (CatalogueKind.MUST_TREAT_COUNTY, "K35.800", 8),
        (CatalogueKind.MUST_TREAT_TOWNSHIP, "J18.900", 9),
    ]
    assert entries[1].name == "2型糖尿病"


def test_columns_may_come_in_any_order() -> None:
    (entry,) = parse_catalogue_csv("name,catalogue,icd10\n急性心肌梗死,up,I21\n")
    assert entry == CatalogueEntry(CatalogueKind.UP, "I21", "急性心肌梗死", 2)


def test_bad_rows_refuse_the_whole_file_with_line_numbers_and_reasons() -> None:
    text = (
        "catalogue,icd10,name\n"
        "down,I10,原发性高血压\n"
        "sideways,I11,高血压心脏病\n"
        "down,11X,坏编码\n"
        "down,I63,\n"
        "down,I10,原发性高血压（重复）\n"
        "down,I12\n"
    )
    with pytest.raises(ValidationFailed) as err:
        parse_catalogue_csv(text)
    assert err.value.code == "catalogue_invalid"
    errors = err.value.details["errors"]
    assert [e["line"] for e in errors] == [3, 4, 5, 6, 7]
    assert "sideways" in errors[0]["reason"]
    assert "11X" in errors[1]["reason"]
    assert "名称" in errors[2]["reason"]
    assert "第2行" in errors[3]["reason"]
    assert "列" in errors[4]["reason"]
    assert "第3行" in err.value.message


@pytest.mark.parametrize(
    "text",
    ["", "\n# 只有注释\n", "kind,code,name\nup,I21,急性心肌梗死\n", "catalogue,icd10\nup,I21\n"],
    ids=["empty", "comments-only", "wrong-header", "missing-column"],
)
def test_missing_or_wrong_header(text: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        parse_catalogue_csv(text)
    assert err.value.code == "catalogue_invalid"


def test_more_than_ten_errors_are_summarised_but_all_listed() -> None:
    rows = "".join(f"bad,I{i:02d},x\n" for i in range(12))
    with pytest.raises(ValidationFailed) as err:
        parse_catalogue_csv("catalogue,icd10,name\n" + rows)
    assert len(err.value.details["errors"]) == 12
    assert "另有2处" in err.value.message


@pytest.mark.parametrize(
    ("code", "diagnosis", "match"),
    [
        ("I63", "I63.900x001", True),
        ("I63", "i63.9", True),
        ("E11.9", "E11.900", True),
        ("E11.9", "E11.100", False),
        ("A01", "A01.000x005+J17.0*", True),  # dagger code: the primary part decides
        ("J17", "A01.000x005+J17.0*", False),
        ("I10", "I11.900", False),
    ],
)
def test_an_entry_covers_its_sub_codes(code: str, diagnosis: str, match: bool) -> None:
    assert CatalogueEntry(CatalogueKind.UP, code, "x").matches(diagnosis) is match


def test_normalise_diagnosis() -> None:
    assert normalise_diagnosis(" g01* ") == "G01"
    assert normalise_diagnosis("A01.000x005+J17.0*") == "A01.000X005"


def test_tianchang_shapes_are_the_default_and_flag_mismatches() -> None:
    assert ReferralPolicy().catalogue_sizes == TIANCHANG_CATALOGUE_SIZES
    assert dict(TIANCHANG_CATALOGUE_SIZES) == {
        CatalogueKind.MUST_TREAT_COUNTY: 122,
        CatalogueKind.MUST_TREAT_TOWNSHIP: 50,
        CatalogueKind.DOWN: 41,
        CatalogueKind.REHAB: 15,
    }
    full = Catalogues(
        tuple(CatalogueEntry(CatalogueKind.DOWN, f"I{i:02d}", "x") for i in range(41))
        + tuple(CatalogueEntry(CatalogueKind.REHAB, f"S{i:02d}", "x") for i in range(15))
        + tuple(
            CatalogueEntry(CatalogueKind.MUST_TREAT_COUNTY, f"K{i % 100:02d}.{i // 100}", "x")
            for i in range(122)
        )
        + tuple(CatalogueEntry(CatalogueKind.MUST_TREAT_TOWNSHIP, f"J{i:02d}", "x") for i in range(50))
    )
    assert catalogue_size_warnings(full, TIANCHANG_CATALOGUE_SIZES) == []
    partial = Catalogues(full.of(CatalogueKind.DOWN)[:40])
    warnings = catalogue_size_warnings(partial, TIANCHANG_CATALOGUE_SIZES)
    assert any("41" in w and "40" in w for w in warnings) and len(warnings) == 4
    assert catalogue_size_warnings(partial, {}) == []


def test_parsed_entries_feed_the_policy() -> None:
    policy = ReferralPolicy(catalogues=Catalogues(tuple(parse_catalogue_csv(GOOD))))
    assert policy.catalogues.contains({CatalogueKind.DOWN, CatalogueKind.REHAB}, "I69.300")
    assert not policy.catalogues.contains({CatalogueKind.UP}, "I69.300")
    assert not policy.catalogues.contains({CatalogueKind.UP}, None)
    assert policy.catalogues.sizes()[CatalogueKind.DOWN] == 2
