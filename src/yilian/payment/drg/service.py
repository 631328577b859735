"""Use cases of DRG grouping: group a CSV file of discharges with a compiled pack.

The CLI (``yilian drg group``) and any other entry point call these; they hold no
logic of their own. Files stream in chunks, so memory stays flat for any file size.
"""

from __future__ import annotations

import contextlib
import csv
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from yilian.core.errors import ValidationFailed
from yilian.payment.drg.case import CaseError, DrgCase, Reason, parse_case
from yilian.payment.drg.grouper import Grouper
from yilian.payment.drg.result import Status

if TYPE_CHECKING:
    from _csv import Reader

INPUT_COLUMNS = ("case_id", "sex", "age_years", "age_days", "birth_weight_g", "diagnoses", "procedures")
OUTPUT_HEADER = ("case_id", "status", "mdc", "adrg", "drg", "message")
CHUNK_ROWS = 5000
INPUT_UNREADABLE = "drg_input_unreadable"

Progress = Callable[[int], None]


@dataclass
class Summary:
    pack_name: str
    pack_version: str
    total: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_reason: Counter[str] = field(default_factory=Counter)

    def count(self, status: Status) -> int:
        return self.by_status[status]


def _unreadable(path: Path, line: int | None, message: str) -> ValidationFailed:
    where = f"第 {line} 行：" if line else "："
    return ValidationFailed(f"输入文件 {path} {where}{message}", code=INPUT_UNREADABLE, file=str(path), line=line)


def count_data_lines(path: Path) -> int:
    """Lines after the header (an estimate of rows, for a progress bar only)."""
    lines = 0
    last = b"\n"
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    return max(lines - 1 + (last != b"\n"), 0)


def _first_bad_line(path: Path) -> int:
    """Exact line of the first byte sequence that is not UTF-8, 0 if unknown (error path only)."""
    try:
        with path.open("rb") as f:
            for number, raw in enumerate(f, start=1):
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError:
                    return number
    except OSError:
        pass
    return 0


def _columns(path: Path, header: list[str]) -> list[int]:
    names = [h.strip() for h in header]
    missing = [c for c in INPUT_COLUMNS if c not in names]
    if missing:
        raise _unreadable(path, 1, f"缺少列 {', '.join(missing)}（需要 {', '.join(INPUT_COLUMNS)}）")
    doubled = sorted({c for c in INPUT_COLUMNS if names.count(c) > 1})
    if doubled:
        raise _unreadable(path, 1, f"列 {', '.join(doubled)} 出现了不止一次")
    return [names.index(c) for c in INPUT_COLUMNS]


def group_rows(
    grouper: Grouper,
    path: Path,
    source: TextIO,
    sink: TextIO,
    explain: bool = False,
    progress: Progress | None = None,
) -> Summary:
    """Group CSV rows from ``source`` into ``sink``; ``path`` names the input in errors."""
    reader = csv.reader(source)
    try:
        return _group_reader(grouper, path, reader, sink, explain, progress)
    except UnicodeDecodeError:
        raise _unreadable(path, _first_bad_line(path) or reader.line_num + 1, "不是有效的 UTF-8 文本") from None
    except csv.Error as exc:
        raise _unreadable(path, reader.line_num, f"CSV 格式错误（{exc}）") from None


def _group_reader(
    grouper: Grouper,
    path: Path,
    reader: Reader,
    sink: TextIO,
    explain: bool,
    progress: Progress | None,
) -> Summary:
    pack = grouper.pack
    summary = Summary(pack.name, pack.version)
    header = next(reader, None)
    if header is None:
        raise _unreadable(path, 1, "文件为空，缺少表头")
    i_id, i_sex, i_age, i_days, i_weight, i_dx, i_px = _columns(path, header)
    width = len(header)
    writer = csv.writer(sink, lineterminator="\n")
    writer.writerow(OUTPUT_HEADER)
    by_status, by_reason = summary.by_status, summary.by_reason
    group, reject = grouper.group, grouper.reject
    while chunk := list(islice(reader, CHUNK_ROWS)):
        out = []
        for row in chunk:
            if len(row) != width:
                if not row:  # a blank line is no row
                    continue
                result = reject(CaseError(Reason.MALFORMED_ROW, f"该行有 {len(row)} 个字段，表头有 {width} 个"))
                case_id = row[i_id] if i_id < len(row) else ""
            else:
                case_id = row[i_id]
                case = parse_case(row[i_sex], row[i_age], row[i_days], row[i_weight], row[i_dx], row[i_px])
                result = group(case, explain) if isinstance(case, DrgCase) else reject(case)
            message = result.message
            if result.status is not Status.GROUPED:
                by_reason[result.reason] += 1
            if result.trace is not None:
                message = f"{message}；{result.trace.render()}" if message else result.trace.render()
            by_status[result.status] += 1
            out.append((case_id, result.status, result.mdc or "", result.adrg or "", result.drg, message))
        writer.writerows(out)
        summary.total += len(out)
        if progress is not None:
            progress(len(chunk))
    return summary


def group_csv(
    grouper: Grouper,
    input_path: Path,
    output_path: Path,
    explain: bool = False,
    progress: Progress | None = None,
) -> Summary:
    """Group ``input_path`` into ``output_path`` (header + one row per input row).

    The output is written to a temporary file beside it and renamed at the end, so a
    run that stops on an unreadable input leaves no half-written result behind.
    """
    partial = output_path.with_name(f".{output_path.name}.partial")
    try:
        source = input_path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise _unreadable(input_path, None, f"无法打开（{exc.strerror}）") from None
    try:
        with source, partial.open("w", encoding="utf-8", newline="") as sink:
            summary = group_rows(grouper, input_path, source, sink, explain, progress)
        os.replace(partial, output_path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise ValidationFailed(
            f"无法写入结果文件 {output_path}（{exc.strerror}）",
            code="drg_output_unwritable",
            file=str(output_path),
        ) from None
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    return summary
