"""The CSV layout of ``yilian care import`` (docs/care/import.md): one row = one encounter with its
settlement.  Pure: turns a header into column positions and a row of strings into the same
``EncounterData`` the API builds, refusing unreadable values with stable codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Final

from yilian.care.rules import EncounterData, SettlementData, parse_decimal, refuse
from yilian.core.errors import ValidationFailed

__all__ = ["COLUMNS", "REQUIRED", "Header", "parse_row", "read_header"]

COLUMNS: Final = (
    "source_system", "source_id", "resident_id_number", "institution_code", "department_code", "practitioner_code",
    "kind", "start_date", "end_date", "los_days", "discharge_mode", "birth_weight_g", "diagnoses", "procedures",
    "referral_episode_id", "settled_on", "scheme", "source", "total_cost", "cost_drugs", "cost_exams",
    "cost_treatment", "cost_materials", "cost_beds", "cost_other", "policy_cost", "deductible", "ratio",
    "fund_paid", "patient_paid",
)
REQUIRED: Final = frozenset({
    "source_system", "source_id", "resident_id_number", "institution_code", "kind", "start_date", "diagnoses",
    "scheme", "total_cost",
})
SEPARATOR: Final = "|"
_DATE_NAMES_ZH: Final = {"start_date": "就诊（入院）日期", "end_date": "出院日期", "settled_on": "结算日期"}
_INT_NAMES_ZH: Final = {"los_days": "住院天数", "birth_weight_g": "出生体重", "referral_episode_id": "转诊编号"}


class Header:
    """Column positions of one file (columns may come in any order; optional ones may be absent)."""

    __slots__ = ("index", "positions", "width")

    def __init__(self, positions: dict[str, int], width: int) -> None:
        self.positions = positions
        self.width = width
        #: Position of each layout column in ``COLUMNS`` order, -1 when the file leaves it out.
        self.index = tuple(positions.get(name, -1) for name in COLUMNS)


def read_header(header: Sequence[str]) -> Header:
    names = [h.strip().lstrip("\ufeff") for h in header]
    unknown = [n for n in names if n not in COLUMNS]
    missing = sorted(REQUIRED - set(names))
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if unknown or missing or duplicated:
        problems = []
        if unknown:
            problems.append(f"未知的列：{'、'.join(unknown)}")
        if missing:
            problems.append(f"缺少必需的列：{'、'.join(missing)}")
        if duplicated:
            problems.append(f"重复的列：{'、'.join(duplicated)}")
        raise ValidationFailed("CSV 表头不符合导入格式（见 docs/care/import.md）：" + "；".join(problems) + "。",
                               code="import_header_invalid", unknown=unknown, missing=missing)
    return Header({n: i for i, n in enumerate(names)}, len(names))


def _date(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise refuse(f"{_DATE_NAMES_ZH[name]}“{value[:20]}”不是有效日期，格式应为 YYYY-MM-DD。", "date_invalid",
                     field=name) from None


def _int(value: str, name: str) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise refuse(f"{_INT_NAMES_ZH[name]}“{value[:20]}”不是整数。", "number_invalid", field=name) from None


def _codes(value: str) -> tuple[str, ...]:
    return tuple(part for part in (p.strip() for p in value.split(SEPARATOR)) if part)


def source_id_of(fields: Sequence[str], header: Header) -> str:
    """The row's source id for the rejection report (never the resident's ID number)."""
    i = header.positions["source_id"]
    return fields[i].strip()[:64] if i < len(fields) else ""


def parse_row(fields: Sequence[str], header: Header) -> tuple[EncounterData, str]:
    """``(encounter, resident ID number)``; the number goes straight to hashing, never into the data."""
    if len(fields) != header.width:
        raise refuse(f"该行有{len(fields)}列，表头有{header.width}列（含逗号的内容须加英文双引号）。",
                     "row_width_invalid")
    values = dict(zip(COLUMNS, [fields[i].strip() if i >= 0 else "" for i in header.index], strict=True))
    get = values.__getitem__

    start = _date(get("start_date"), "start_date")
    if start is None:
        raise refuse("就诊（入院）日期不能为空。", "start_date_required")
    total = get("total_cost")
    if not total:
        raise refuse("总费用不能为空。", "total_cost_required")
    def money(name: str) -> Decimal | None:
        value = get(name)
        return parse_decimal(value, name) if value else None

    def cost(name: str) -> Decimal:
        return money(name) or Decimal("0.00")

    settlement = SettlementData(
        scheme=get("scheme"), total_cost=parse_decimal(total, "total_cost"), source=get("source") or None,
        settled_on=_date(get("settled_on"), "settled_on"), cost_drugs=cost("cost_drugs"),
        cost_exams=cost("cost_exams"), cost_treatment=cost("cost_treatment"), cost_materials=cost("cost_materials"),
        cost_beds=cost("cost_beds"), cost_other=cost("cost_other"), policy_cost=money("policy_cost"),
        deductible=money("deductible"), ratio=money("ratio"), fund_paid=money("fund_paid"),
        patient_paid=money("patient_paid"),
    )
    data = EncounterData(
        source_system=get("source_system"), source_id=get("source_id"), institution_code=get("institution_code"),
        kind=get("kind"), start_date=start, settlement=settlement, diagnoses=_codes(get("diagnoses")),
        procedures=_codes(get("procedures")), end_date=_date(get("end_date"), "end_date"),
        los_days=_int(get("los_days"), "los_days"), discharge_mode=get("discharge_mode") or None,
        birth_weight_g=_int(get("birth_weight_g"), "birth_weight_g"), department_code=get("department_code") or None,
        practitioner_code=get("practitioner_code") or None,
        referral_episode_id=_int(get("referral_episode_id"), "referral_episode_id"),
    )
    raw_id = get("resident_id_number")
    if not raw_id:
        raise refuse("居民身份证号码不能为空。", "resident_id_number_required")
    return data, raw_id
