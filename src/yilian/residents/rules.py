"""Pure rules of the master patient index: no database, no web, no clock of its own.

Periods here are **inclusive on both ends**: an enrolment's ``end_on`` and a key
population's ``until`` are the last day that still counts, the way an insurance
year (1 January – 31 December) or a pregnancy ending on the day of delivery is
written down.  The access scope reads ``care_relationship.until`` the same way
(``until >= today``), so one convention holds across the feature.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from yilian.core.errors import Conflict, ValidationFailed

__all__ = [
    "CARE_KIND_NAMES_ZH",
    "DERIVED",
    "KEY_POPULATION_NAMES_ZH",
    "RECORDED",
    "SCHEME_NAMES_ZH",
    "SEX_NAMES_ZH",
    "CareKind",
    "DuplicateDecision",
    "KeyPop",
    "Period",
    "Scheme",
    "age_on",
    "care_kind_name",
    "check_birth_date",
    "check_care_kind",
    "check_decision",
    "check_enrolment",
    "check_insured_division_code",
    "check_key_population_fits",
    "check_key_population_period",
    "check_recorded_code",
    "check_scheme",
    "check_sex",
    "derived_key_populations",
    "looks_like_id_number",
    "normalise_address_detail",
    "normalise_name",
    "normalise_phone",
    "overlaps",
]


class KeyPop(StrEnum):
    """Key-population codes used everywhere (DOMAIN.md, family doctors)."""

    ELDERLY_65 = "elderly_65"
    CHILD_0_6 = "child_0_6"
    PREGNANT = "pregnant"
    HYPERTENSION = "hypertension"
    T2DM = "t2dm"
    SEVERE_MENTAL = "severe_mental"
    TUBERCULOSIS = "tuberculosis"
    DISABLED = "disabled"
    POVERTY = "poverty"


#: Age groups follow from the birth date on any day, so they are computed, never
#: stored: a stored flag would be wrong the morning after the 65th birthday.
DERIVED: Final = frozenset({KeyPop.ELDERLY_65, KeyPop.CHILD_0_6})
RECORDED: Final = frozenset(KeyPop) - DERIVED

KEY_POPULATION_NAMES_ZH: Final[dict[KeyPop, str]] = {
    KeyPop.ELDERLY_65: "65岁及以上老年人",
    KeyPop.CHILD_0_6: "0～6岁儿童",
    KeyPop.PREGNANT: "孕产妇",
    KeyPop.HYPERTENSION: "高血压患者",
    KeyPop.T2DM: "2型糖尿病患者",
    KeyPop.SEVERE_MENTAL: "严重精神障碍患者",
    KeyPop.TUBERCULOSIS: "肺结核患者",
    KeyPop.DISABLED: "残疾人",
    KeyPop.POVERTY: "建档立卡贫困人口",
}

ELDERLY_AGE: Final = 65
# "0–6岁儿童" of the basic public health services: up to the day before the 7th birthday.
CHILD_MAX_AGE: Final = 6


class Scheme(StrEnum):
    RESIDENT = "resident"
    EMPLOYEE = "employee"


SCHEME_NAMES_ZH: Final[dict[Scheme, str]] = {
    Scheme.RESIDENT: "城乡居民基本医疗保险",
    Scheme.EMPLOYEE: "职工基本医疗保险",
}


class CareKind(StrEnum):
    """Why an institution may see a resident (ARCHITECTURE.md, care relationships seam)."""

    REGISTERED = "registered"
    CONTRACTED = "contracted"
    REFERRED = "referred"
    TREATED = "treated"


CARE_KIND_NAMES_ZH: Final[dict[CareKind, str]] = {
    CareKind.REGISTERED: "建档",
    CareKind.CONTRACTED: "签约",
    CareKind.REFERRED: "转诊",
    CareKind.TREATED: "就诊",
}


class DuplicateDecision(StrEnum):
    DISTINCT = "distinct"
    SAME = "same"


SEX_NAMES_ZH: Final[dict[int, str]] = {1: "男", 2: "女"}
NAME_MAX: Final = 60
EARLIEST_BIRTH_DATE: Final = date(1900, 1, 1)
ADDRESS_DETAIL_MAX_BYTES: Final = 240
# After removing spaces and hyphens: a mobile (11 digits), a landline with its area
# code, or an international number with "+".  Extensions are not kept.
_PHONE: Final = re.compile(r"\+?[0-9]{7,15}")
_PHONE_SEPARATORS: Final = str.maketrans("", "", " -()")
# A search for digits (an optional trailing X) is an attempt at an ID number: names
# never contain digits, and a partial number cannot be found through a keyed hash.
_ID_LIKE: Final = re.compile(r"[0-9]+X?")


@dataclass(frozen=True, slots=True)
class Period:
    """An inclusive date interval; ``end=None`` is open-ended."""

    start: date
    end: date | None = None


def overlaps(a: Period, b: Period) -> bool:
    return (b.end is None or a.start <= b.end) and (a.end is None or b.start <= a.end)


def age_on(birth_date: date, on: date) -> int:
    """Completed years on ``on``.  A 29 February birthday counts from 1 March in common years."""
    years = on.year - birth_date.year
    return years - 1 if (on.month, on.day) < (birth_date.month, birth_date.day) else years


def derived_key_populations(birth_date: date, on: date) -> list[KeyPop]:
    """``elderly_65`` from the 65th birthday, ``child_0_6`` until the day before the 7th."""
    if on < birth_date:
        return []
    age = age_on(birth_date, on)
    out: list[KeyPop] = []
    if age >= ELDERLY_AGE:
        out.append(KeyPop.ELDERLY_65)
    if age <= CHILD_MAX_AGE:
        out.append(KeyPop.CHILD_0_6)
    return out


def check_recorded_code(code: str) -> KeyPop:
    try:
        kp = KeyPop(code.strip())
    except ValueError:
        valid = "、".join(k.value for k in KeyPop if k in RECORDED)
        raise ValidationFailed(
            f"未知的重点人群代码“{code}”，可选：{valid}", code="key_population_unknown"
        ) from None
    if kp in DERIVED:
        raise ValidationFailed(
            f"“{KEY_POPULATION_NAMES_ZH[kp]}”由出生日期自动判定，无需登记", code="key_population_derived"
        )
    return kp


def check_key_population_period(since: date, until: date | None, birth_date: date, today: date) -> None:
    if since < birth_date:
        raise ValidationFailed("重点人群的起始日期不能早于出生日期", code="key_population_dates_invalid")
    if since > today:
        raise ValidationFailed("重点人群的起始日期不能晚于今天", code="key_population_dates_invalid")
    if until is not None and until < since:
        raise ValidationFailed("重点人群的结束日期不能早于起始日期", code="key_population_dates_invalid")


def check_key_population_fits(kp: KeyPop, sex: int) -> None:
    if kp == KeyPop.PREGNANT and sex != 2:
        raise ValidationFailed("孕产妇只能登记为女性居民的重点人群", code="key_population_sex_mismatch")


def check_scheme(value: str) -> Scheme:
    try:
        return Scheme(value.strip())
    except ValueError:
        valid = "、".join(f"{s.value}（{n}）" for s, n in SCHEME_NAMES_ZH.items())
        raise ValidationFailed(f"未知的医保险种“{value}”，可选：{valid}", code="scheme_unknown") from None


def check_insured_division_code(code: str) -> str:
    """Insurance is pooled by county or city: the insured division is a 6-digit code."""
    code = code.strip()
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        raise ValidationFailed("参保地应为6位的县级或市级行政区划代码", code="insured_division_invalid")
    return code


def check_enrolment(
    scheme: Scheme, new: Period, existing: Iterable[tuple[Scheme, Period]], birth_date: date
) -> None:
    """One enrolment per scheme at a time: the new period may not overlap one of the same scheme."""
    if new.end is not None and new.end < new.start:
        raise ValidationFailed("参保终止日期不能早于起始日期", code="enrolment_dates_invalid")
    if new.start < birth_date:
        raise ValidationFailed("参保起始日期不能早于出生日期", code="enrolment_dates_invalid")
    for other_scheme, other in existing:
        if other_scheme == scheme and overlaps(new, other):
            until = other.end.isoformat() if other.end else "至今"
            raise Conflict(
                f"该居民在{other.start.isoformat()}至{until}已参加{SCHEME_NAMES_ZH[scheme]}，同一险种的参保期间不能重叠",
                code="enrolment_overlap",
            )


def check_care_kind(value: str) -> CareKind:
    try:
        return CareKind(value)
    except ValueError:
        raise ValidationFailed(f"未知的关系类型“{value}”", code="care_kind_unknown") from None


def care_kind_name(kind: str) -> str:
    """The Chinese name of a relationship kind; a kind a later feature adds shows as its code."""
    try:
        return CARE_KIND_NAMES_ZH[CareKind(kind)]
    except ValueError:
        return kind


def check_decision(value: str) -> DuplicateDecision:
    try:
        return DuplicateDecision(value)
    except ValueError:
        raise ValidationFailed(
            "判定结果只能是 distinct（不同的人）或 same（同一人）", code="duplicate_decision_unknown"
        ) from None


def check_sex(value: int | None) -> int:
    if value not in SEX_NAMES_ZH:
        raise ValidationFailed("性别须为 1（男）或 2（女）", code="sex_invalid")
    return value


def check_birth_date(value: date | None, today: date) -> date:
    if value is None:
        raise ValidationFailed("请填写出生日期", code="birth_date_required")
    if value < EARLIEST_BIRTH_DATE or value > today:
        raise ValidationFailed("出生日期须在1900年1月1日至今天之间", code="birth_date_invalid")
    return value


def normalise_name(raw: str) -> str:
    """Trim and apply NFKC, so a name typed in full-width forms matches the stored one."""
    name = unicodedata.normalize("NFKC", raw).strip()
    if not name:
        raise ValidationFailed("请填写姓名", code="name_required")
    if len(name) > NAME_MAX:
        raise ValidationFailed(f"姓名不能超过{NAME_MAX}个字符", code="name_too_long")
    return name


def normalise_phone(raw: str) -> str:
    phone = unicodedata.normalize("NFKC", raw).strip().translate(_PHONE_SEPARATORS)
    if not _PHONE.fullmatch(phone):
        raise ValidationFailed("电话号码格式不正确：请填写手机号或带区号的固定电话", code="phone_invalid")
    return phone


def normalise_address_detail(raw: str) -> str | None:
    """Trimmed detail (village, street, house number), or None when blank.

    The limit counts UTF-8 bytes because the ciphertext column does: 240 bytes
    (80 Chinese characters) still fit ``address_detail_cipher`` once sealed.
    """
    detail = unicodedata.normalize("NFKC", raw).strip()
    if not detail:
        return None
    if len(detail.encode()) > ADDRESS_DETAIL_MAX_BYTES:
        raise ValidationFailed("详细住址过长：不能超过80个汉字", code="address_detail_too_long")
    return detail


def looks_like_id_number(query: str) -> bool:
    return bool(_ID_LIKE.fullmatch(unicodedata.normalize("NFKC", query).strip().upper()))
