"""Strict reading of a rule pack's tab-separated files: every refusal names file and line."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

from yilian.core.errors import ValidationFailed

PACK_INVALID = "drg_pack_invalid"


def fail(path: Path, line: int | None, message: str) -> NoReturn:
    where = f"第 {line} 行：" if line else "："
    raise ValidationFailed(f"规则包文件 {path} {where}{message}", code=PACK_INVALID, file=str(path), line=line)


def read_rows(path: Path, columns: tuple[str, ...]) -> list[list[str]]:
    """The data rows of ``path`` after checking the header; row ``i`` is on line ``i + 2``.

    The format is fixed (UTF-8, one header row, tabs, no quoting); a CR before the LF
    and a byte-order mark are tolerated because spreadsheet tools add them silently.
    Checks run over whole columns and look for the line only on failure: a large pack
    has ~200,000 rows, and loading is part of every CLI run.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        fail(path, None, "文件不存在")
    except OSError as exc:
        fail(path, None, f"无法读取（{exc.strerror}）")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        fail(path, data.count(b"\n", 0, exc.start) + 1, "不是有效的 UTF-8 文本")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    while lines and lines[-1].strip() == "":
        lines.pop()
    if not lines:
        fail(path, 1, f"文件为空，缺少表头「{' '.join(columns)}」")
    header = lines[0].split("\t")
    if tuple(header) != columns:
        fail(path, 1, f"表头应为「{' '.join(columns)}」（制表符分隔），实为「{' '.join(header)}」")
    width = len(columns)
    rows = [line.split("\t") for line in lines[1:]]
    for number, fields in enumerate(rows, start=2):
        if len(fields) != width:
            if not "".join(fields).strip():
                fail(path, number, "空行")
            fail(path, number, f"应有 {width} 列，实有 {len(fields)} 列")
    return rows


def check_codes(path: Path, rows: list[list[str]], index: int, what: str = "编码") -> None:
    """Codes are used as is: an empty or padded code could never match a case, so refuse it."""
    if any(not r[index] or r[index] != r[index].strip() for r in rows):
        number, value = next(
            (n, r[index]) for n, r in enumerate(rows, start=2) if not r[index] or r[index] != r[index].strip()
        )
        fail(path, number, f"{what}「{value}」为空或前后有空白")


def code(path: Path, line: int, value: str, what: str = "编码") -> str:
    if not value or value != value.strip():
        fail(path, line, f"{what}「{value}」为空或前后有空白")
    return value


def integer(path: Path, line: int, value: str, what: str, minimum: int = 0) -> int:
    if not (value.isascii() and value.isdigit()) or int(value) < minimum:
        fail(path, line, f"{what}应为不小于 {minimum} 的整数，实为「{value}」")
    return int(value)


def integers(path: Path, rows: list[list[str]], index: int, what: str, minimum: int = 0) -> list[int]:
    """Column ``index`` as integers; a pack has few distinct numbers, so each is checked once."""
    parsed: dict[str, int] = {}
    for number, r in enumerate(rows, start=2):
        value = r[index]
        if value not in parsed:
            parsed[value] = integer(path, number, value, what, minimum)
    return [parsed[r[index]] for r in rows]


def choice(path: Path, line: int, value: str, what: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        fail(path, line, f"{what}应为 {' / '.join(allowed)} 之一，实为「{value}」")
    return value
