"""Input and output models of the scheduling API (号源、预约、床位)."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PoolKindCode = Literal["public", "referral", "contract"]


class _In(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")


class PoolIn(_In):
    institution_id: int
    kind: PoolKindCode = Field(description="public 公共号源；referral 转诊预留；contract 签约居民预留")
    consortium_id: int | None = Field(
        default=None, description="转诊预留：向哪个医联体开放；签约预留：为空表示本机构团队"
    )
    name: str | None = Field(default=None, max_length=80)
    release_before_minutes: int | None = Field(
        default=None, ge=0, description="预留号源提前多少分钟释放为公共号源；为空按机构配置"
    )


class ScheduleIn(_In):
    institution_id: int
    department_id: int | None = None
    practitioner_id: int | None = None
    name: str = Field(min_length=1, max_length=80)
    registration_fee: Decimal = Field(default=Decimal("0"), ge=0, max_digits=16, decimal_places=2)


class SessionIn(_In):
    """One clinic session on each day of a date range, cut into slots."""

    first_day: date
    last_day: date | None = None
    start: time = Field(description="开始时间（北京时间）")
    end: time = Field(description="结束时间（北京时间）")
    slot_minutes: int = Field(default=15, ge=5, le=480)
    capacity: int = Field(default=1, ge=1, le=50, description="每个号源可约人数")
    referral_pool_id: int | None = Field(default=None, description="转诊预留号源池；为空则不预留")
    contract_pool_id: int | None = Field(default=None, description="签约居民预留号源池；为空则不预留")


class WardIn(_In):
    institution_id: int
    department_id: int | None = None
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=80)
    beds: int = Field(ge=0)
    referral_reserved_beds: int = Field(default=0, ge=0)
    referral_pool_id: int | None = None


class BedDaysIn(_In):
    first_day: date
    last_day: date | None = None


class BookIn(_In):
    resident_id: int
    self_booking: bool = Field(default=False, description="居民自助预约（适用多次爽约限制）")


class CancelIn(_In):
    reason: str | None = Field(default=None, max_length=200)


# ---- output -------------------------------------------------------------------------------


class PoolOut(BaseModel):
    id: int
    institution_id: int
    kind: str
    consortium_id: int | None
    name: str
    release_before_minutes: int | None


class ScheduleOut(BaseModel):
    id: int
    institution_id: int
    department_id: int | None
    practitioner_id: int | None
    name: str
    registration_fee: Decimal


class WardOut(BaseModel):
    id: int
    institution_id: int
    department_id: int | None
    code: str
    name: str
    beds: int
    referral_reserved_beds: int
    referral_pool_id: int | None


class SlotOut(BaseModel):
    id: int
    institution_id: int
    schedule_id: int | None
    ward_id: int | None
    pool_id: int
    pool_kind: str
    effective_kind: str
    kind: str
    start_at: datetime
    end_at: datetime
    capacity: int
    booked_count: int
    released_at: datetime | None


class AppointmentOut(BaseModel):
    id: int
    slot_id: int
    resident_id: int
    status: str
    held: bool
    channel: str
    pool_kind: str
    self_booking: bool
    registration_fee_waived: bool
    priority: bool
    referral_episode_id: int | None
    booked_at: datetime
    version: int


class ReleaseOut(BaseModel):
    released: dict[str, int]


class NoShowStatusOut(BaseModel):
    resident_id: int
    no_shows: int
    blocked_until: datetime | None
