"""Institution categories (WS 218-2002) and what DOMAIN.md derives from them.

The code list and each category's attributes (primary care, fixed tier, default
consortium type) live in ``data/categories.tsv``, so a code can be added or
corrected without touching the rules below; the loader refuses an inconsistent
file instead of letting a wrong tier decide referral directions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Final

from yilian.core.errors import ConfigurationError, ValidationFailed
from yilian.registry.rules import ConsortiumType

__all__ = [
    "Category",
    "category_name",
    "default_consortium_type",
    "get_category",
    "is_primary_care",
    "load_categories",
    "parse_level",
    "tier",
]

_CODE: Final = re.compile(r"[A-Z][0-9]{3}")
_COLUMNS: Final = ("code", "name", "primary_care", "tier", "consortium_type")
_LEVELS: Final = {1: 1, 2: 2, 3: 3, "1": 1, "2": 2, "3": 3}
_UNRATED: Final = (None, "unrated", "")


@dataclass(frozen=True, slots=True)
class Category:
    code: str
    name: str
    #: 基层医疗卫生机构 as this project counts them (no 门诊部 / 诊所, see DOMAIN.md).
    primary_care: bool
    #: 0 or 1 when the category fixes the tier; ``None``: the hospital level decides.
    fixed_tier: int | None
    #: Default type of a consortium led by an institution of this category.
    consortium_type: ConsortiumType | None


def _parse(text: str, source: str) -> dict[str, Category]:
    rows: dict[str, Category] = {}
    lines = [
        (n, line) for n, line in enumerate(text.splitlines(), start=1) if line and not line.startswith("#")
    ]
    if not lines or tuple(lines[0][1].split("\t")) != _COLUMNS:
        raise ConfigurationError(
            f"{source}：表头应为 {' '.join(_COLUMNS)}", code="registry_categories_invalid"
        )
    for n, line in lines[1:]:
        fields = line.split("\t")
        where = f"{source} 第{n}行"
        if len(fields) != len(_COLUMNS):
            raise ConfigurationError(f"{where}：应有{len(_COLUMNS)}列", code="registry_categories_invalid")
        code, name, primary, fixed, ctype = fields
        if not _CODE.fullmatch(code) or code in rows or not name:
            raise ConfigurationError(f"{where}：代码缺失、格式错误或重复", code="registry_categories_invalid")
        if primary not in ("0", "1") or fixed not in ("", "0", "1"):
            raise ConfigurationError(
                f"{where}：primary_care 或 tier 取值错误", code="registry_categories_invalid"
            )
        # DOMAIN.md: every primary-care category fixes its tier (0 or 1, "whatever
        # their rating"); every other category takes its tier from the hospital level.
        if (primary == "1") != (fixed != ""):
            raise ConfigurationError(
                f"{where}：基层机构须给定 tier，非基层机构不得给定", code="registry_categories_invalid"
            )
        try:
            consortium_type = ConsortiumType(ctype) if ctype else None
        except ValueError:
            raise ConfigurationError(
                f"{where}：未知的医联体类型 {ctype}", code="registry_categories_invalid"
            ) from None
        rows[code] = Category(code, name, primary == "1", int(fixed) if fixed else None, consortium_type)
    return rows


@cache
def _builtin() -> Mapping[str, Category]:
    text = resources.files("yilian.registry").joinpath("data/categories.tsv").read_text("utf-8")
    return MappingProxyType(_parse(text, "categories.tsv"))


def load_categories(path: Path | None = None) -> Mapping[str, Category]:
    """The category catalogue: the built-in file (read once), or another file in its format."""
    if path is None:
        return _builtin()
    return MappingProxyType(_parse(path.read_text("utf-8"), str(path)))


def get_category(code: str) -> Category:
    try:
        return _builtin()[code.strip().upper()]
    except KeyError:
        raise ValidationFailed(
            f"未知的机构类别代码“{code}”"
            "（应为《卫生机构（组织）分类与代码》WS 218 中的代码，如 A100、B100、D600）",
            code="registry_unknown_category",
            category=code,
        ) from None


def category_name(code: str) -> str:
    return get_category(code).name


def is_primary_care(category: str) -> bool:
    """B100, B200, C100, C210, C220, D600 (门诊部 and 诊所 are not counted here)."""
    return get_category(category).primary_care


def parse_level(level: int | str | None) -> int | None:
    """Hospital level 1, 2, 3 (ints or their strings); ``None``, ``""`` or ``"unrated"`` = 未定级."""
    if level in _UNRATED:
        return None
    try:
        return _LEVELS[level]
    except KeyError:
        raise ValidationFailed(
            f"医院级别“{level}”无效，应为1、2、3或未定级", code="registry_invalid_level", level=str(level)
        ) from None


def tier(category: str, level: int | str | None) -> int:
    """The tier that decides referral direction (REFERRAL.md).

    0 for village clinics and community stations, 1 for the other primary-care
    institutions whatever their rating, else the hospital level with unrated as 1.
    """
    fixed = get_category(category).fixed_tier
    rated = parse_level(level)  # validated even when the category fixes the tier
    if fixed is not None:
        return fixed
    return rated if rated is not None else 1


def default_consortium_type(lead_category: str) -> ConsortiumType | None:
    """A100 → general; A2xx, A300, A4xx → tcm; G100 → mch; A5xx → specialty; else ``None``.

    ``None`` (a 护理院 or a township centre as lead, say) means there is no
    default and the commission chooses the type.
    """
    return get_category(lead_category).consortium_type
