"""Time: stored in UTC, shown in Asia/Shanghai; dates of care are plain dates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Naive datetimes coming back from SQLite are UTC by our storage rule."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def to_local(value: datetime) -> datetime:
    return as_utc(value).astimezone(SHANGHAI)


def format_local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return "" if value is None else to_local(value).strftime(fmt)


def today_local() -> date:
    return utcnow().astimezone(SHANGHAI).date()
