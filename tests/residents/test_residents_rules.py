"""Pure rules of the master patient index: derived key populations, periods, codes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yilian.core.errors import Conflict, ValidationFailed
from yilian.residents import rules
from yilian.residents.rules import KeyPop, Period, Scheme

# ---- derived key populations --------------------------------------------------------------


def test_elderly_from_the_65th_birthday_not_the_day_before() -> None:
    born = date(1959, 5, 1)
    assert KeyPop.ELDERLY_65 not in rules.derived_key_populations(born, date(2024, 4, 30))
    assert KeyPop.ELDERLY_65 in rules.derived_key_populations(born, date(2024, 5, 1))


def test_child_until_the_day_before_the_7th_birthday() -> None:
    born = date(2017, 5, 1)
    assert rules.derived_key_populations(born, date(2024, 4, 30)) == [KeyPop.CHILD_0_6]
    assert rules.derived_key_populations(born, date(2024, 5, 1)) == []


def test_newborn_is_a_child_and_nobody_is_anything_before_birth() -> None:
    born = date(2024, 5, 1)
    assert rules.derived_key_populations(born, born) == [KeyPop.CHILD_0_6]
    assert rules.derived_key_populations(born, born - timedelta(days=1)) == []


def test_leap_day_birthday_counts_from_first_of_march_in_common_years() -> None:
    born = date(1960, 2, 29)
    assert rules.age_on(born, date(2025, 2, 28)) == 64
    assert rules.age_on(born, date(2025, 3, 1)) == 65
    assert rules.age_on(born, date(2024, 2, 29)) == 64


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 12, 31)),
       st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_elderly_exactly_when_the_65th_birthday_has_passed(born: date, on: date) -> None:
    try:
        birthday_65 = born.replace(year=born.year + 65)
    except ValueError:  # 29 February in a common year: the birthday is 1 March
        birthday_65 = date(born.year + 65, 3, 1)
    derived = rules.derived_key_populations(born, on)
    assert (KeyPop.ELDERLY_65 in derived) == (on >= birthday_65)


def test_recorded_codes_checked() -> None:
    assert rules.check_recorded_code("t2dm") is KeyPop.T2DM
    with pytest.raises(ValidationFailed) as info:
        rules.check_recorded_code("elderly_65")
    assert info.value.code == "key_population_derived"
    with pytest.raises(ValidationFailed) as info:
        rules.check_recorded_code("diabetes")
    assert info.value.code == "key_population_unknown"
    assert {KeyPop.PREGNANT, KeyPop.HYPERTENSION, KeyPop.T2DM, KeyPop.SEVERE_MENTAL,
                              KeyPop.TUBERCULOSIS, KeyPop.DISABLED, KeyPop.POVERTY} == rules.RECORDED


def test_pregnant_only_for_women() -> None:
    rules.check_key_population_fits(KeyPop.PREGNANT, 2)
    with pytest.raises(ValidationFailed) as info:
        rules.check_key_population_fits(KeyPop.PREGNANT, 1)
    assert info.value.code == "key_population_sex_mismatch"


# ---- enrolment periods --------------------------------------------------------------------

BORN = date(1980, 1, 1)
YEAR_2023 = (Scheme.RESIDENT, Period(date(2023, 1, 1), date(2023, 12, 31)))


def test_enrolment_overlapping_same_scheme_refused() -> None:
    with pytest.raises(Conflict) as info:
        rules.check_enrolment(Scheme.RESIDENT, Period(date(2023, 12, 31)), [YEAR_2023], BORN)
    assert info.value.code == "enrolment_overlap"


def test_enrolment_next_day_and_other_scheme_allowed() -> None:
    rules.check_enrolment(Scheme.RESIDENT, Period(date(2024, 1, 1)), [YEAR_2023], BORN)
    rules.check_enrolment(Scheme.EMPLOYEE, Period(date(2023, 6, 1), date(2023, 8, 31)), [YEAR_2023], BORN)


def test_open_ended_enrolment_blocks_any_later_start() -> None:
    running = (Scheme.EMPLOYEE, Period(date(2020, 1, 1)))
    with pytest.raises(Conflict):
        rules.check_enrolment(Scheme.EMPLOYEE, Period(date(2030, 1, 1), date(2030, 12, 31)), [running], BORN)


@pytest.mark.parametrize("period", [Period(date(2024, 2, 1), date(2024, 1, 31)), Period(date(1979, 12, 31))])
def test_enrolment_dates_must_make_sense(period: Period) -> None:
    with pytest.raises(ValidationFailed) as info:
        rules.check_enrolment(Scheme.RESIDENT, period, [], BORN)
    assert info.value.code == "enrolment_dates_invalid"


@given(st.dates(), st.one_of(st.none(), st.dates()), st.dates(), st.one_of(st.none(), st.dates()))
def test_overlap_is_symmetric(a0: date, a1: date | None, b0: date, b1: date | None) -> None:
    a, b = Period(a0, a1), Period(b0, b1)
    assert rules.overlaps(a, b) == rules.overlaps(b, a)


# ---- small normalisations -----------------------------------------------------------------


def test_id_like_queries_and_phone_normalisation() -> None:
    assert rules.looks_like_id_number("32010219900101123X")
    assert rules.looks_like_id_number("３２０１０２")  # full-width digits typed with a Chinese IME
    assert not rules.looks_like_id_number("张三")
    assert not rules.looks_like_id_number("")
    assert rules.normalise_phone("138-1234 5678") == "13812345678"
    with pytest.raises(ValidationFailed) as info:
        rules.normalise_phone("call me")
    assert info.value.code == "phone_invalid"


def test_address_detail_limit_counts_bytes() -> None:
    assert rules.normalise_address_detail("  ") is None
    assert rules.normalise_address_detail("幸福村" * 26) is not None
    with pytest.raises(ValidationFailed) as info:
        rules.normalise_address_detail("幸福村" * 27)
    assert info.value.code == "address_detail_too_long"
