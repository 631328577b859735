"""JSON shapes of the payment API (money and points as decimal strings, never floats)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

KIND_ZH = {"drg": "DRG 点数法", "dip": "DIP 病种分值", "budget": "医共体总额预算", "capitation": "家庭医生按人头付费",
           "grouping": "DRG 分组"}
CASE_KIND_ZH = {"normal": "正常", "high": "高倍率", "low": "低倍率", "ungrouped": "未入组", "no_weight": "无权重",
                "extreme": "极端费用", "unscored": "无分值"}
STATUS_ZH = {"grouped": "已入组", "ungrouped": "未入组", "invalid": "无效", "scored": "有分值", "unscored": "无分值"}
ENTRY_ZH = {"budget": "年度预算", "prepay": "年初预付", "spending_member": "成员单位基金支出",
            "spending_outside": "网外（含县外）基金支出", "provisional": "月度预结算（进度差额）", "surplus": "结余",
            "retained": "结余留用", "returned": "结余返还基金", "share": "结余分配", "overspend": "超支",
            "overspend_band": "超支分档", "overspend_consortium": "医共体承担超支", "overspend_fund": "基金分担超支",
            "luohu_previous": "上年签约居民住院支出", "luohu_current": "本年签约居民住院支出", "saving": "节余",
            "excess": "超出上年"}
TIER_ZH = {"county_hospital": "县级医院", "township_centre": "乡镇卫生院", "village_clinic": "村卫生室"}


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True, ser_json_inf_nan="strings")


class RunOut(_Out):
    id: int
    kind: str
    year: int
    division_code: str | None
    consortium_id: int | None
    base_run_id: int | None
    overrides: dict[str, str] | None
    params: dict[str, Any]
    options: dict[str, Any]
    rules_name: str | None
    rules_version: str | None
    weights_source: str | None
    weights_name: str | None
    weights_version: str | None
    budget: Decimal | None
    point_value: Decimal | None
    point_value_source: str | None
    total_points: Decimal | None
    total_payment: Decimal | None
    cases: int
    flagged: int
    institutions: int
    summary: dict[str, Any]
    inputs_digest: str
    result_digest: str
    note: str | None
    duration_ms: int
    created_at: datetime
    created_by: str


class LineOut(BaseModel):
    institution_code: str
    institution_name: str
    level: str
    role: str | None
    coefficient: Decimal | None
    cases: int
    flagged: int
    high: int
    low: int
    total_cost: Decimal
    fund_paid: Decimal
    points: Decimal | None
    cmi: Decimal | None
    case_money: Decimal | None
    provisional: Decimal | None
    payment: Decimal | None
    balance: Decimal | None
    rounding: Decimal | None
    detail: dict[str, Any] | None


class RunDetailOut(BaseModel):
    run: RunOut
    partial: bool = Field(description="只列出了您可查看的机构")
    lines: list[LineOut]
    whatifs: list[int]


class RunPageOut(BaseModel):
    items: list[RunOut]
    total: int
    page: int
    size: int


class MonthOut(_Out):
    month: int
    cases: int
    points: Decimal
    point_value: Decimal
    provisional: Decimal


class CaseOut(_Out):
    encounter_id: int
    month: int
    status: str
    group_code: str
    kind: str
    cost: Decimal
    points: Decimal | None
    money: Decimal | None
    flagged: bool


class StatementOut(BaseModel):
    run_id: int
    line: LineOut
    months: list[MonthOut]
    cases: list[CaseOut]
    total_cases: int
    page: int
    size: int


class CaseDetailOut(BaseModel):
    run_id: int
    institution_code: str
    case: CaseOut
    start_date: date
    end_date: date | None
    sex: int
    age_years: int
    age_days: int | None
    birth_weight_g: int | None
    diagnoses: list[str]
    procedures: list[str]
    rw: Decimal | None
    drg: str | None
    mdc: str | None
    adrg: str | None
    explanation: str
    pack_note: str | None


class LedgerEntryOut(BaseModel):
    position: int
    month: int
    entry: str
    entry_zh: str
    institution_code: str | None
    amount: Decimal
    balance: Decimal | None
    note: str | None


class WeightOut(_Out):
    code: str
    rw: Decimal
    avg_cost: Decimal | None
    source: str
    cases: int


class DiffOut(BaseModel):
    institution_code: str
    institution_name: str
    level: str
    cases: int
    points_a: Decimal | None
    points_b: Decimal | None
    payment_a: Decimal
    payment_b: Decimal
    difference: Decimal
    percent: Decimal | None


class CompareOut(BaseModel):
    a: RunOut
    b: RunOut
    total_a: Decimal
    total_b: Decimal
    lines: list[DiffOut]


class WhatIfIn(BaseModel):
    """``set``: what-if keys of PAYMENT.md with their values as text, e.g. ``{"coefficient.2": "0.9"}``."""

    year: int | None = None
    set: dict[str, str] = Field(min_length=1)
