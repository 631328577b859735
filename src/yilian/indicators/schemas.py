"""Pydantic input and output models of the indicators API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from yilian.indicators.rules import Level, MissingPolicy, Rule


class ScorecardItemIn(BaseModel):
    indicator: str = Field(min_length=1, max_length=48)
    group: str = Field(default="", max_length=24)
    weight: Decimal = Field(gt=0, max_digits=8, decimal_places=3)
    rule: Rule = Rule.LINEAR
    target: Decimal
    floor: Decimal | None = None


class ScorecardIn(BaseModel):
    code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=120)
    level: Level
    missing_policy: MissingPolicy = MissingPolicy.REDISTRIBUTE
    description: str | None = Field(default=None, max_length=2000)
    items: list[ScorecardItemIn] = Field(min_length=1, max_length=60)


class IndicatorRowOut(BaseModel):
    code: str
    name: str
    period: str
    cut: str
    unit: str
    group: str
    numerator: Decimal | None
    denominator: Decimal | None
    value: Decimal | None
    status: str
    reason: str


class SnapshotOut(BaseModel):
    period: str
    cut: str
    catalogue_version: str
    computed_at: str
    computed_by: str
    rows: int


class ValuesOut(BaseModel):
    period: str
    cut: str
    source: str  # snapshot | live
    snapshot: SnapshotOut | None
    rows: list[IndicatorRowOut]


class DrillRowOut(BaseModel):
    record_kind: str
    record_id: int
    day: str | None
    institution: str
    resident: str
    resident_id_masked: str
    in_numerator: bool
    detail: dict[str, Any]


class DrillOut(BaseModel):
    code: str
    period: str
    cut: str
    unit: str
    group: str
    part: str
    total: int
    page: int
    size: int
    items: list[DrillRowOut]


class SnapshotRequest(BaseModel):
    period: str
    cut: str = "all"
    months: bool = True
