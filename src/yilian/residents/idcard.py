"""Resident ID numbers (居民身份证号码, GB 11643-1999) and masking of personal data.

An ID number has 18 characters: a 6-digit address code (the division where it
was first issued), the birth date as ``YYYYMMDD``, a 3-digit sequence code whose
last digit is odd for men and even for women, and an ISO 7064 MOD 11-2 check
character (``0``-``9`` or ``X``).

Parsing never puts the number itself into an error message, detail or ``repr``:
messages and logs are seen by more people than the resident's record
(ARCHITECTURE.md, "Personal data is protected by construction").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import IntEnum
from typing import Final

from yilian.core.clock import today_local
from yilian.core.errors import ValidationFailed

__all__ = [
    "PROVINCE_CODES",
    "IdNumber",
    "Sex",
    "check_character",
    "cross_check",
    "make_id_number",
    "mask_id_number",
    "mask_name",
    "mask_phone",
    "parse_id_number",
]


class Sex(IntEnum):
    """Sex codes of GB/T 2261.1, the values stored and exchanged everywhere."""

    MALE = 1
    FEMALE = 2


#: Province-level prefixes of the address code (GB/T 2260), plus 81/82/83, which
#: the residence permits of Hong Kong, Macao and Taiwan residents (港澳台居民居住证,
#: 2018) carry in the same 18-character format.  71 (台湾省 in GB/T 2260) is left
#: out on purpose: no card or permit is issued with it, so it can only be a typo.
PROVINCE_CODES: Final[dict[str, str]] = {
    "11": "北京市",
    "12": "天津市",
    "13": "河北省",
    "14": "山西省",
    "15": "内蒙古自治区",
    "21": "辽宁省",
    "22": "吉林省",
    "23": "黑龙江省",
    "31": "上海市",
    "32": "江苏省",
    "33": "浙江省",
    "34": "安徽省",
    "35": "福建省",
    "36": "江西省",
    "37": "山东省",
    "41": "河南省",
    "42": "湖北省",
    "43": "湖南省",
    "44": "广东省",
    "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市",
    "51": "四川省",
    "52": "贵州省",
    "53": "云南省",
    "54": "西藏自治区",
    "61": "陕西省",
    "62": "甘肃省",
    "63": "青海省",
    "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
    "81": "香港特别行政区（居住证）",
    "82": "澳门特别行政区（居住证）",
    "83": "台湾地区（居住证）",
}

ID_LENGTH: Final = 18
EARLIEST_BIRTH_DATE: Final = date(1900, 1, 1)

# ISO 7064 MOD 11-2: weight of position i (1-based, left to right) is 2**(18-i) mod 11.
_WEIGHTS: Final = tuple(pow(2, 17 - i, 11) for i in range(17))
# Check character indexed by (weighted sum mod 11): the value that makes the whole
# sum, check included, congruent to 1 mod 11; "X" stands for 10.
_CHECK_CHARS: Final = "10X98765432"
_SHAPE: Final = re.compile(r"[0-9]{17}[0-9X]")
# People type numbers with a Chinese input method switched to full width
# ("３２０１…ｘ"); accept those digits and X instead of refusing a correct number.
_FULL_WIDTH: Final = str.maketrans(
    {**{chr(0xFF10 + d): str(d) for d in range(10)}, "Ｘ": "X", "ｘ": "X", "x": "X"}
)


@dataclass(frozen=True, slots=True)
class IdNumber:
    """A parsed, valid ID number.  ``repr`` shows the masked form only."""

    normalised: str
    division_code: str
    birth_date: date
    sex: Sex

    @property
    def masked(self) -> str:
        return mask_id_number(self.normalised)

    def __repr__(self) -> str:
        return f"IdNumber({self.masked!r})"

    __str__ = __repr__


def check_character(body17: str) -> str:
    """The MOD 11-2 check character for the first 17 digits."""
    total = sum(int(c) * w for c, w in zip(body17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def _refuse(message: str, code: str, **details: object) -> ValidationFailed:
    return ValidationFailed(message, code=code, **details)


def _first_bad_position(value: str) -> int:
    """1-based position of the first character that breaks the 17 digits + check shape."""
    for pos, char in enumerate(value[:17], start=1):
        if char not in "0123456789":
            return pos
    return 18


def parse_id_number(raw: str, *, today: date | None = None) -> IdNumber:
    """Validate and normalise an ID number as typed by a person or sent by a system.

    Checks run from the coarsest to the finest, so the message names what is
    actually wrong: length, characters, address code, birth date, check character.
    ``today`` is the reference date for "not in the future" (China's date by
    default); a simulation passes its own clock.
    """
    value = raw.strip().translate(_FULL_WIDTH)
    if len(value) != ID_LENGTH:
        if len(value) == 15:
            # First-generation cards (15 digits, no check) stopped being valid in 2013.
            message = "15位的第一代身份证号码已停止使用，请填写18位的居民身份证号码"
        else:
            message = f"身份证号码应为18位，实际为{len(value)}位"
        raise _refuse(message, "id_number_length", length=len(value))
    if not _SHAPE.fullmatch(value):
        pos = _first_bad_position(value)
        if pos == 18:
            message = "身份证号码第18位（校验码）只能是数字或X"
        else:
            message = f"身份证号码前17位只能是数字，第{pos}位不是数字"
        raise _refuse(message, "id_number_chars", position=pos)

    division = value[:6]
    if division[:2] not in PROVINCE_CODES:
        raise _refuse(
            f"身份证号码前6位不是有效的行政区划代码：省级代码“{division[:2]}”不存在",
            "id_number_division",
        )

    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise _refuse(
            "身份证号码第7至14位的出生日期不是有效日期", "id_number_birth_date", reason="invalid"
        ) from None
    if born < EARLIEST_BIRTH_DATE:
        raise _refuse(
            "身份证号码中的出生日期早于1900年，请核对号码", "id_number_birth_date", reason="too_early"
        )
    if born > (today or today_local()):
        raise _refuse("身份证号码中的出生日期晚于今天，请核对号码", "id_number_birth_date", reason="future")

    if check_character(value[:17]) != value[17]:
        raise _refuse("身份证号码校验码（第18位）不符，号码可能有输错的数字，请核对", "id_number_checksum")

    sex = Sex.MALE if int(value[16]) % 2 else Sex.FEMALE
    return IdNumber(normalised=value, division_code=division, birth_date=born, sex=sex)


def cross_check(idn: IdNumber, birth_date: date | None, sex: int | None) -> None:
    """Refuse a birth date or sex entered elsewhere on a form that contradicts the number.

    ``None`` means "not entered": the number then supplies the value, nothing to
    compare.  Sex is compared as a GB/T 2261.1 code, so ``1``/``2`` and ``Sex``
    both work; "unknown" codes (0, 9) contradict a number, which always has one.
    """
    if birth_date is not None and birth_date != idn.birth_date:
        raise _refuse("填写的出生日期与身份证号码中的出生日期不一致", "id_number_birth_mismatch")
    if sex is not None and sex != idn.sex:
        raise _refuse("填写的性别与身份证号码第17位所示的性别不一致", "id_number_sex_mismatch")


def make_id_number(division6: str, birth_date: date, seq3: int, sex: int) -> str:
    """A valid ID number for synthetic residents.

    The last digit of the sequence code carries the sex, so ``seq3``'s parity is
    forced to match ``sex`` (odd for men, even for women): ``seq3`` and ``seq3 ^ 1``
    give the same number.  A generator that wants distinct numbers draws a
    sequence in 0..499 and passes ``2 * n``.  Birth dates after today are allowed:
    a simulated year may lie ahead of the calendar (parse such numbers with the
    simulation's ``today``).  Wrong arguments are programming errors: ``ValueError``.
    """
    if len(division6) != 6 or not division6.isascii() or not division6.isdigit():
        raise ValueError(f"division6 must be 6 digits, got {division6!r}")
    if division6[:2] not in PROVINCE_CODES:
        raise ValueError(f"unknown province prefix {division6[:2]!r}")
    if birth_date < EARLIEST_BIRTH_DATE:
        raise ValueError(f"birth date before {EARLIEST_BIRTH_DATE.isoformat()}")
    if not 0 <= seq3 <= 999:
        raise ValueError(f"seq3 must be in 0..999, got {seq3}")
    if sex not in (Sex.MALE, Sex.FEMALE):
        raise ValueError(f"sex must be 1 (male) or 2 (female), got {sex}")
    seq = (seq3 & ~1) | (1 if sex == Sex.MALE else 0)
    body = f"{division6}{birth_date:%Y%m%d}{seq:03d}"
    return body + check_character(body)


def mask_id_number(value: str) -> str:
    """``320102199001011234`` → ``3201**********1234``: the first and last four stay.

    Anything too short to keep eight characters without giving most of it away
    (under 15, the old first-generation length) is masked completely.
    """
    value = value.strip()
    if len(value) < 15:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:].upper()


def mask_name(name: str) -> str:
    """``张三明`` → ``张*明``, ``张三`` → ``张*``, ``欧阳娜娜`` → ``欧**娜``: first and last stay.

    A two-character name keeps only the surname, otherwise half the name would
    show; the mask keeps the name's length, as Chinese forms usually do.
    """
    name = name.strip()
    if len(name) <= 1:
        return "*" * len(name)
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone(phone: str) -> str:
    """``13812341234`` → ``138****1234``: carrier prefix and last four stay.

    Shorter numbers (landlines without area code) keep only the last four.
    """
    phone = phone.strip()
    n = len(phone)
    if n >= 11:
        return phone[:3] + "*" * (n - 7) + phone[-4:]
    if n > 4:
        return "*" * (n - 4) + phone[-4:]
    return "*" * n
