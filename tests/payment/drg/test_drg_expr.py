"""The rule language: parsing, precedence, refusals, analysis and every predicate compiled."""

from __future__ import annotations

import pytest
from drg_testkit import case, newborn

from yilian.payment.drg.expr import (
    TRUE,
    And,
    Or,
    Pred,
    RuleEnv,
    RuleSyntaxError,
    assume,
    compile_rule,
    implies,
    parse_rule,
)

PDX, PPROC = Pred("pdx"), Pred("pproc")


def test_and_binds_tighter_than_or() -> None:
    assert parse_rule("pdx | pproc & newborn") == Or((PDX, And((PPROC, Pred("newborn")))))


def test_parentheses_group_and_whitespace_is_free() -> None:
    rule = parse_rule("pdx&(proc:1 |proc:2&proc:3)")
    assert rule == And((PDX, Or((Pred("proc", 1), And((Pred("proc", 2), Pred("proc", 3)))))))
    assert parse_rule("  ( ( pdx ) )  ") == PDX


@pytest.mark.parametrize(
    "text",
    [
        "pdx",
        "anydx",
        "pproc",
        "proc:4",
        "pproc_or",
        "no_or_proc",
        "newborn",
        "age_years=0",
        "male",
        "female",
        "weight<1500",
        "weight>=2500",
        "parts>=2",
        "true",
        "pdx & (proc:1 & proc:2 | proc:1 & proc:3 & proc:4)",
        "anydx & weight>=2000 & weight<2500 & newborn",
    ],
)
def test_every_predicate_and_rule_form_round_trips(text: str) -> None:
    assert str(parse_rule(text)) == text
    assert parse_rule(str(parse_rule(text))) == parse_rule(text)


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        ("", 1, "为空"),
        ("   ", 1, "为空"),
        ("pdx &", 6, "不完整"),
        ("& pdx", 1, "「&」"),
        ("pdx | | pproc", 7, "「|」"),
        ("(pdx | pproc", 13, "「)」"),
        ("pdx)", 4, "多余"),
        ("pdx pproc", 5, "多余"),
        ("()", 2, "「)」"),
        ("pdx & foo", 7, "未知的谓词「foo」"),
        ("weight < 1500", 1, "未知的谓词「weight」"),
        ("proc:0", 1, "从 1 开始"),
        ("proc:x", 1, "未知的谓词"),
        ("parts>=0", 1, "至少为 1"),
        ("age_years=-1", 1, "未知的谓词"),
        ("PDX", 1, "未知的谓词"),
    ],
)
def test_malformed_expressions_are_refused_with_the_column(text: str, column: int, words: str) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        parse_rule(text)
    assert caught.value.column == column
    assert words in caught.value.message
    assert caught.value.code == "drg_rule_invalid"


def test_implies_follows_and_or_structure() -> None:
    assert implies(parse_rule("pdx & pproc"), PDX)
    assert implies(parse_rule("pdx & proc:1 | pdx & proc:2"), PDX)
    assert not implies(parse_rule("pdx | pproc"), PDX)
    assert not implies(parse_rule("anydx & newborn"), PDX)


def test_assume_reduces_a_rule_to_what_remains() -> None:
    assert assume(PDX, PDX) == TRUE
    assert assume(parse_rule("pdx & pproc"), PDX) == PPROC
    assert assume(parse_rule("pdx & (proc:1 | proc:2)"), PDX) == parse_rule("proc:1 | proc:2")
    assert assume(parse_rule("pdx | pproc"), PDX) == TRUE
    assert assume(parse_rule("anydx & newborn"), PDX) == parse_rule("anydx & newborn")


ENV = RuleEnv(
    dx_list=frozenset({"A", "B"}),
    proc_tables={1: frozenset({"p1"}), 2: frozenset({"p2", "both"}), 3: frozenset({"both"})},
    or_procedures=frozenset({"p1", "orx"}),
    parts={"H1": "head", "H2": "head", "C1": "chest"},
)


def holds(text: str, c: object) -> bool:
    return compile_rule(parse_rule(text), ENV)(c)  # type: ignore[arg-type]


def test_diagnosis_predicates() -> None:
    assert holds("pdx", case("A", "X"))
    assert not holds("pdx", case("X", "A"))
    assert holds("anydx", case("X", "B"))
    assert not holds("anydx", case("X", "Y"))


def test_procedure_predicates() -> None:
    assert holds("pproc", case("X", px=("p1", "p2")))
    assert not holds("pproc", case("X", px=("p2", "p1")))  # only the principal procedure
    assert not holds("pproc", case("X"))
    assert holds("proc:2", case("X", px=("zz", "p2")))  # any position
    assert holds("proc:2 & proc:3", case("X", px=("both",)))  # one code counts for each table
    assert not holds("proc:4", case("X", px=("p1",)))
    assert holds("pproc_or", case("X", px=("orx",)))
    assert not holds("pproc_or", case("X", px=("zz", "orx")))
    assert holds("no_or_proc", case("X"))
    assert holds("no_or_proc", case("X", px=("zz", "p2")))
    assert not holds("no_or_proc", case("X", px=("zz", "orx")))


def test_person_predicates() -> None:
    assert holds("male", case("X", sex=1)) and not holds("male", case("X", sex=2))
    assert holds("female", case("X", sex=2)) and not holds("female", case("X", sex=1))
    assert holds("age_years=0", case("X", age=0)) and not holds("age_years=0", case("X", age=1))
    assert holds("age_years=45", case("X", age=45))


def test_newborn_is_age_in_days_up_to_28() -> None:
    assert holds("newborn", newborn("X", days=0))
    assert holds("newborn", newborn("X", days=28))
    assert not holds("newborn", newborn("X", days=29))
    assert not holds("newborn", case("X", age=0, days=None))
    assert not holds("newborn", case("X", age=3, days=5))  # days only count under one year


def test_weight_bands_need_a_recorded_weight() -> None:
    assert holds("weight<1500", newborn("X", weight=1499))
    assert not holds("weight<1500", newborn("X", weight=1500))
    assert holds("weight>=1500 & weight<2000", newborn("X", weight=1500))
    assert holds("weight>=2500", newborn("X", weight=2500))
    for absent in (None, 0):
        assert not holds("weight<1500", newborn("X", weight=absent))
        assert not holds("weight>=0", newborn("X", weight=absent))


def test_parts_counts_distinct_parts_of_all_diagnoses() -> None:
    assert holds("parts>=2", case("H1", "C1"))
    assert holds("parts>=2", case("X", "H1", "C1"))  # the principal need not carry a part
    assert not holds("parts>=2", case("H1", "H2"))  # same part twice
    assert not holds("parts>=3", case("H1", "C1", "H2"))
    assert holds("true", case("X"))
