"""The output contract of INDICATORS.md "Output": JSON, CSV and a readable table, and display helpers
shared by the pages and exports.

JSON numbers are written exactly as the Decimal values print (``0.9224``, ``12.50``), never via float.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, Final

from rich.table import Table

from yilian.indicators import catalogue
from yilian.indicators.catalogue import CUT_NAMES_ZH, REASON_NAMES_ZH, Indicator, Measure, Quantity, Reason
from yilian.indicators.values import IndicatorRow

FIELDS: Final = ("code", "name", "period", "cut", "unit", "group", "numerator", "denominator", "value", "status",
                 "reason")


def _plain(value: Decimal) -> str:
    return format(value, "f")


def row_values(row: IndicatorRow) -> dict[str, Any]:
    """The contract's fields of a row, in order (Decimals kept)."""
    return {"code": row.code, "name": row.name, "period": row.period, "cut": row.cut.value, "unit": row.unit,
            "group": row.group, "numerator": row.numerator, "denominator": row.denominator, "value": row.value,
            "status": row.status.value, "reason": row.reason}


def _json_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Decimal):
        return _plain(value)
    return json.dumps(value, ensure_ascii=False)


def to_json(rows: Iterable[IndicatorRow]) -> str:
    lines = ["{" + ", ".join(f'"{k}": {_json_value(v)}' for k, v in row_values(r).items()) + "}" for r in rows]
    if not lines:
        return "[]\n"
    return "[\n  " + ",\n  ".join(lines) + "\n]\n"


def to_csv(rows: Iterable[IndicatorRow]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(FIELDS)
    for r in rows:
        w.writerow(["" if v is None else _plain(v) if isinstance(v, Decimal) else v for v in row_values(r).values()])
    return buf.getvalue()


def reason_zh(reason: str) -> str:
    if not reason:
        return ""
    try:
        return REASON_NAMES_ZH[Reason(reason)]
    except ValueError:
        return reason


def show_value(ind: Indicator, value: Decimal | None) -> str:
    """A value for reading: fractions as percentages, money with thousands separators."""
    if value is None:
        return "—"
    if ind.measure == Measure.FRACTION:
        return f"{value * 100:.2f}%"
    if ind.measure == Measure.COUNT:
        return f"{int(value):,}"
    if ind.measure == Measure.YUAN:
        return f"{value:,.2f}"
    if ind.measure == Measure.DAYS:
        return f"{value:.2f}"
    return f"{value:.4f}"


def show_figure(quantity: Quantity | None, value: Decimal | None) -> str:
    if value is None or quantity is None:
        return "—"
    if quantity == Quantity.COUNT:
        return f"{int(value):,}"
    if quantity == Quantity.YUAN:
        return f"{value:,.2f}"
    return f"{value:.4f}"


def show_target(ind: Indicator) -> str:
    if ind.target is None:
        return ""
    op = {">=": "≥", "<=": "≤"}.get(ind.target.op, ind.target.op)
    return f"{op} {show_value(ind, ind.target.value)}"


def to_table(rows: Sequence[IndicatorRow]) -> Table:
    table = Table(show_lines=False, header_style="bold")
    for title in ("代码", "指标", "统计期", "口径", "单位", "分组", "分子", "分母", "数值", "状态"):
        table.add_column(title, overflow="fold")
    for r in rows:
        ind = catalogue.get(r.code)
        status = "正常" if r.status.value == "ok" else f"无数据：{reason_zh(r.reason)}"
        table.add_row(r.code, r.name, r.period, CUT_NAMES_ZH[r.cut], r.unit or "全县", r.group,
                      show_figure(ind.num_quantity, r.numerator), show_figure(ind.den_quantity, r.denominator),
                      show_value(ind, r.value), status)
    return table
