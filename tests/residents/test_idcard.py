"""Resident ID numbers (GB 11643-1999): parsing, refusals, masking, synthetic numbers."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yilian.core.errors import ValidationFailed
from yilian.residents.idcard import (
    PROVINCE_CODES,
    IdNumber,
    Sex,
    check_character,
    cross_check,
    make_id_number,
    mask_id_number,
    mask_name,
    mask_phone,
    parse_id_number,
)

TODAY = date(2025, 6, 30)


def iso7064_check(body17: str) -> str:
    """Reference check character by the recursive MOD 11-2 definition, not the weight table."""
    p = 0
    for c in body17:
        p = ((p + int(c)) * 2) % 11
    value = (12 - p) % 11
    return "X" if value == 10 else str(value)


def refusal(raw: str, code: str, *, today: date = TODAY) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        parse_id_number(raw, today=today)
    assert caught.value.code == code
    # The number itself never travels in a message or a detail (they end up in logs).
    if len(raw.strip()) >= 15:
        assert raw.strip() not in str(caught.value)
        assert raw.strip() not in repr(caught.value.details)
    return caught.value


# --------------------------------------------------------------------------- valid numbers


@pytest.mark.parametrize(
    ("raw", "division", "born", "sex"),
    [
        # The two examples printed in GB 11643-1999 itself (the second is refused below: born 1880).
        ("11010519491231002X", "110105", date(1949, 12, 31), Sex.FEMALE),
        ("320102199001011232", "320102", date(1990, 1, 1), Sex.MALE),
        ("530122198511300042", "530122", date(1985, 11, 30), Sex.FEMALE),
        ("532923201706071549", "532923", date(2017, 6, 7), Sex.FEMALE),
        ("650102196307040514", "650102", date(1963, 7, 4), Sex.MALE),
    ],
)
def test_valid_numbers_parse_into_their_parts(raw: str, division: str, born: date, sex: Sex) -> None:
    idn = parse_id_number(raw, today=TODAY)
    assert idn == IdNumber(normalised=raw, division_code=division, birth_date=born, sex=sex)
    assert iso7064_check(raw[:17]) == raw[17]


@pytest.mark.parametrize(
    "typed",
    [
        "11010519491231002x",
        "  11010519491231002X\n",
        "１１０１０５１９４９１２３１００２ｘ",
        "\u300011010519491231002X",
    ],
)
def test_lower_case_x_spaces_and_full_width_input_normalise(typed: str) -> None:
    assert parse_id_number(typed, today=TODAY).normalised == "11010519491231002X"


def test_born_today_is_accepted() -> None:
    raw = make_id_number("320102", TODAY, 123, Sex.MALE)
    assert parse_id_number(raw, today=TODAY).birth_date == TODAY


def test_default_today_is_the_real_date() -> None:
    assert parse_id_number("320102199001011232").birth_date == date(1990, 1, 1)
    with pytest.raises(ValidationFailed) as caught:
        parse_id_number("320102209912311232")  # born 2099-12-31
    assert caught.value.code == "id_number_birth_date"


def test_repr_and_str_show_only_the_masked_number() -> None:
    idn = parse_id_number("320102199001011232", today=TODAY)
    assert "320102199001011232" not in repr(idn)
    assert "320102199001011232" not in str(idn)
    assert idn.masked == "3201**********1232"


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize("raw", ["", "1234", "3201021990010112321", "32010219900101123"])
def test_wrong_length_is_refused(raw: str) -> None:
    err = refusal(raw, "id_number_length")
    assert f"实际为{len(raw)}位" in err.message


def test_first_generation_15_digit_number_is_refused_with_its_own_message() -> None:
    err = refusal("320102900101123", "id_number_length")
    assert "15位" in err.message


@pytest.mark.parametrize(
    ("raw", "position"),
    [
        ("11010519491231002A", 18),
        ("1101051949123100X2", 17),
        ("11O10519491231002X", 3),
        ("١١٠١٠٥١٩٤٩١٢٣١٠٠٢X", 1),
    ],
)
def test_non_digit_characters_are_refused_with_their_position(raw: str, position: int) -> None:
    err = refusal(raw, "id_number_chars")
    assert err.details["position"] == position
    assert f"第{position}位" in err.message


def test_wrong_check_character_is_refused() -> None:
    refusal("110105194912310021", "id_number_checksum")
    refusal("320102199001011233", "id_number_checksum")
    # A transposition of two digits, the typo the check character is made to catch.
    refusal("320102199001011322", "id_number_checksum")


@pytest.mark.parametrize("raw", ["00000019900101123X", "710000199001011237", "999999199001011238"])
def test_unknown_province_prefix_is_refused_even_with_a_right_check_character(raw: str) -> None:
    assert iso7064_check(raw[:17]) == raw[17]
    err = refusal(raw, "id_number_division")
    assert raw[:2] in err.message


def test_impossible_birth_date_is_refused() -> None:
    assert iso7064_check("32010219900230123") == "1"
    err = refusal("320102199002301231", "id_number_birth_date")
    assert err.details["reason"] == "invalid"


def test_birth_date_in_the_future_is_refused() -> None:
    raw = make_id_number("320102", date(2025, 7, 1), 123, Sex.MALE)
    err = refusal(raw, "id_number_birth_date", today=TODAY)
    assert err.details["reason"] == "future"


def test_birth_date_before_1900_is_refused() -> None:
    # GB 11643's own second example, born 1880-01-01, has a right check character.
    assert iso7064_check("44052418800101001") == "4"
    err = refusal("440524188001010014", "id_number_birth_date")
    assert err.details["reason"] == "too_early"


# --------------------------------------------------------------------------- cross check


def test_cross_check_accepts_matching_or_missing_values() -> None:
    idn = parse_id_number("11010519491231002X", today=TODAY)
    cross_check(idn, date(1949, 12, 31), Sex.FEMALE)
    cross_check(idn, date(1949, 12, 31), 2)
    cross_check(idn, None, None)


def test_cross_check_refuses_another_birth_date() -> None:
    idn = parse_id_number("11010519491231002X", today=TODAY)
    with pytest.raises(ValidationFailed) as caught:
        cross_check(idn, date(1949, 12, 30), None)
    assert caught.value.code == "id_number_birth_mismatch"


@pytest.mark.parametrize("sex", [1, Sex.MALE, 9])
def test_cross_check_refuses_another_sex(sex: int) -> None:
    idn = parse_id_number("11010519491231002X", today=TODAY)
    with pytest.raises(ValidationFailed) as caught:
        cross_check(idn, None, sex)
    assert caught.value.code == "id_number_sex_mismatch"


# --------------------------------------------------------------------------- masking


def test_mask_id_number_keeps_first_and_last_four() -> None:
    assert mask_id_number("320102199001011234") == "3201**********1234"
    assert mask_id_number("11010519491231002x") == "1101**********002X"
    assert mask_id_number("320102900101123") == "3201*******1123"
    assert mask_id_number("1234567") == "*******"


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张三明", "张*明"), ("张三", "张*"), ("欧阳娜娜", "欧**娜"), ("王", "*"), ("", ""), (" 李四 ", "李*")],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812341234", "138****1234"),
        ("+8613812341234", "+86*******1234"),
        ("88886666", "****6666"),
        ("110", "***"),
    ],
)
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


# --------------------------------------------------------------------------- synthetic numbers


def test_make_id_number_forces_the_sequence_parity_to_the_sex() -> None:
    assert make_id_number("320102", date(1990, 1, 1), 122, Sex.MALE) == "320102199001011232"
    assert make_id_number("320102", date(1990, 1, 1), 123, Sex.MALE) == "320102199001011232"
    female = make_id_number("320102", date(1990, 1, 1), 123, Sex.FEMALE)
    assert female[14:17] == "122"
    assert make_id_number("320102", date(1990, 1, 1), 999, Sex.FEMALE)[14:17] == "998"
    assert make_id_number("320102", date(1990, 1, 1), 0, Sex.MALE)[14:17] == "001"


@pytest.mark.parametrize(
    ("division", "born", "seq", "sex"),
    [
        ("32010", date(1990, 1, 1), 1, 1),
        ("32010a", date(1990, 1, 1), 1, 1),
        ("000000", date(1990, 1, 1), 1, 1),
        ("320102", date(1899, 12, 31), 1, 1),
        ("320102", date(1990, 1, 1), 1000, 1),
        ("320102", date(1990, 1, 1), -1, 1),
        ("320102", date(1990, 1, 1), 1, 0),
    ],
)
def test_make_id_number_refuses_wrong_arguments(division: str, born: date, seq: int, sex: int) -> None:
    with pytest.raises(ValueError):
        make_id_number(division, born, seq, sex)


divisions = st.builds(
    lambda province, rest: province + rest,
    st.sampled_from(sorted(PROVINCE_CODES)),
    st.from_regex(r"[0-9]{4}", fullmatch=True),
)


@given(
    division=divisions,
    born=st.dates(min_value=date(1900, 1, 1), max_value=TODAY),
    seq=st.integers(min_value=0, max_value=999),
    sex=st.sampled_from([Sex.MALE, Sex.FEMALE]),
)
def test_make_then_parse_round_trips(division: str, born: date, seq: int, sex: Sex) -> None:
    raw = make_id_number(division, born, seq, sex)
    assert iso7064_check(raw[:17]) == raw[17] == check_character(raw[:17])
    idn = parse_id_number(raw.lower(), today=TODAY)
    assert (idn.normalised, idn.division_code, idn.birth_date, idn.sex) == (raw, division, born, sex)
    assert idn.masked == raw[:4] + "*" * 10 + raw[-4:]


@given(
    raw=st.from_regex(r"[1-6][0-9]{16}", fullmatch=True).map(lambda b: b + iso7064_check(b)),
    position=st.integers(min_value=0, max_value=16),
    delta=st.integers(min_value=1, max_value=9),
)
def test_any_single_wrong_digit_is_refused(raw: str, position: int, delta: int) -> None:
    wrong = raw[:position] + str((int(raw[position]) + delta) % 10) + raw[position + 1 :]
    with pytest.raises(ValidationFailed):
        parse_id_number(wrong, today=TODAY)
