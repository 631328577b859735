"""Exports of indicator rows: CSV (the output contract plus the unit's name) and XLSX (openpyxl)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Font

from yilian.indicators import catalogue, output
from yilian.indicators.catalogue import CUT_NAMES_ZH, MEASURE_NAMES_ZH
from yilian.indicators.values import IndicatorRow

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADERS_ZH = ("代码", "指标", "统计期", "口径", "单位代码", "单位名称", "分组", "分子", "分母", "数值", "计量",
              "显示值", "状态", "原因", "目标")


def to_csv(rows: Sequence[IndicatorRow]) -> str:
    """The contract's CSV with a ``unit_name`` column appended (BOM so spreadsheet tools read UTF-8)."""
    text = output.to_csv(rows)
    lines = text.splitlines()
    names = ["unit_name", *[r.unit_name for r in rows]]
    return "\ufeff" + "\n".join(f"{line},{_csv_cell(name)}" for line, name in zip(lines, names, strict=True)) + "\n"


def _csv_cell(value: str) -> str:
    if any(ch in value for ch in ',"\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def to_xlsx(rows: Sequence[IndicatorRow], title: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "指标"
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append(list(HEADERS_ZH))
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for r in rows:
        ind = catalogue.get(r.code)
        ws.append([r.code, r.name, r.period, CUT_NAMES_ZH[r.cut], r.unit, r.unit_name or ("全县" if not r.unit else ""),
                   r.group, r.numerator, r.denominator, r.value, MEASURE_NAMES_ZH[ind.measure],
                   output.show_value(ind, r.value), "正常" if r.status.value == "ok" else "无数据",
                   output.reason_zh(r.reason), output.show_target(ind)])
    for col, width in zip("ABCDEFGHIJKLMNO", (30, 30, 9, 8, 14, 24, 12, 16, 16, 12, 6, 12, 8, 18, 12), strict=True):
        ws.column_dimensions[col].width = width
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
