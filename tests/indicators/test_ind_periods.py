"""Periods: parsing, ranges, prior year; refusals with a Chinese message and a stable code."""

from __future__ import annotations

from datetime import date

import pytest

from yilian.core.errors import ValidationFailed
from yilian.indicators import periods


def test_year_quarter_month() -> None:
    y = periods.parse("2025")
    assert (y.start, y.end, y.kind, y.label, y.days) == (date(2025, 1, 1), date(2025, 12, 31), "year", "2025", 365)
    q = periods.parse("2024Q1")
    assert (q.start, q.end, q.days) == (date(2024, 1, 1), date(2024, 3, 31), 91)  # leap year
    m = periods.parse("2025-02")
    assert (m.start, m.end) == (date(2025, 2, 1), date(2025, 2, 28))
    assert periods.parse(" 2025q4 ").label == "2025Q4"


def test_prior_year_and_months() -> None:
    assert periods.parse("2025Q2").prior_year().label == "2024Q2"
    assert periods.parse("2024-02").prior_year().end == date(2023, 2, 28)
    assert [m.label for m in periods.parse("2025Q3").months()] == ["2025-07", "2025-08", "2025-09"]
    assert len(periods.parse("2025").months()) == 12
    assert periods.parse("2025-03").title_zh() == "2025年3月"


@pytest.mark.parametrize("raw", ["", "25", "2025Q5", "2025Q0", "2025-13", "2025-00", "2025-3", "2025/03", "abcd",
                                 "1800", "2025-03-01", "2025H1"])
def test_bad_periods_are_refused(raw: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        periods.parse(raw)
    assert exc.value.code == "period_invalid"
    assert "统计期" in exc.value.message
