"""Reading a discharge from text fields (the CSV columns of oracle-cases.csv)."""

from __future__ import annotations

import pytest

from yilian.payment.drg import CaseError, DrgCase, Reason, parse_case
from yilian.payment.drg.case import split_codes


def parse(
    sex: str = "1", age: str = "60", days: str = "", weight: str = "", dx: str = "I50.900", px: str = ""
) -> DrgCase | CaseError:
    return parse_case(sex, age, days, weight, dx, px)


def test_a_typical_row() -> None:
    assert parse(dx="I50.900|J96.000", px="35.2200|88.7200") == DrgCase(
        sex=1, age_years=60, diagnoses=("I50.900", "J96.000"), procedures=("35.2200", "88.7200")
    )
    assert parse(sex="2", age="0", days="3", weight="3200", dx="P59.900") == DrgCase(
        sex=2, age_years=0, diagnoses=("P59.900",), age_days=3, birth_weight_g=3200
    )


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"sex": "9"}, Reason.INVALID_SEX),
        ({"sex": "男"}, Reason.INVALID_SEX),
        ({"sex": ""}, Reason.INVALID_SEX),
        ({"age": ""}, Reason.INVALID_AGE),
        ({"age": "abc"}, Reason.INVALID_AGE),
        ({"age": "5.0"}, Reason.INVALID_AGE),
        ({"age": "-1"}, Reason.INVALID_AGE),
        ({"age": "６０"}, Reason.INVALID_AGE),  # full-width digits are not read as a number
        ({"age": "0", "days": "x"}, Reason.INVALID_AGE),
        ({"weight": "3kg"}, Reason.INVALID_BIRTH_WEIGHT),
    ],
)
def test_unreadable_fields_become_case_errors(fields: dict[str, str], reason: Reason) -> None:
    result = parse(**fields)
    assert isinstance(result, CaseError) and result.reason == reason and result.message


def test_age_in_days_is_read_only_under_one_year() -> None:
    result = parse(age="45", days="garbage")
    assert isinstance(result, DrgCase) and result.age_days is None


def test_padding_is_trimmed_but_codes_are_not_normalised() -> None:
    result = parse(sex=" 1 ", age=" 60", dx=" I50.900 | j96.000 |", px="")
    assert isinstance(result, DrgCase)
    assert result.diagnoses == ("I50.900", "j96.000") and result.procedures == ()


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("", ()),
        ("   ", ()),
        ("A", ("A",)),
        ("A|B|C", ("A", "B", "C")),
        ("A||B|", ("A", "B")),
        ("|B", ("", "B")),  # an empty principal stays empty: it is refused, never replaced
    ],
)
def test_split_codes(text: str, codes: tuple[str, ...]) -> None:
    assert split_codes(text) == codes
