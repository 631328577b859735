"""Reading a regional weights table (RW per DRG) from a file, named and versioned like a rule pack.

Two forms:

* a CSV file ``drg,rw[,avg_cost,avg_los]`` (plus the ``*`` row whose ``avg_cost`` is
  ``city_avg_cost``): its name is the file name, its version ``sha256:`` and the first 12 hex
  digits of the content, so two different tables can never pass for the same version;
* a folder with ``weights.csv`` and a ``pack.tsv`` (``key	value`` rows ``name``, ``version``,
  ``published``), as the bureau publishes a rule pack: name and version come from ``pack.tsv``.

The rows are handed to :func:`yilian.payment.settlement.weights.weights_from_rows`, which checks the
values; this module checks the file (encoding, header, shape) and names the file and line.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from yilian.core.errors import ValidationFailed

REQUIRED = ("drg", "rw")
OPTIONAL = ("avg_cost", "avg_los")
PACK_KEYS = ("name", "version", "published")


@dataclass(frozen=True, slots=True)
class WeightTable:
    name: str
    version: str
    path: Path
    rows: tuple[dict[str, str], ...]


def _refuse(path: Path, message: str, line: int | None = None) -> ValidationFailed:
    where = f"第 {line} 行：" if line else "："
    return ValidationFailed(f"权重表 {path} {where}{message}", code="weights_unreadable", file=str(path), line=line)


def _read_text(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _refuse(path, f"无法读取（{exc.strerror or exc}）") from None


def _pack_meta(path: Path) -> dict[str, str]:
    meta: dict[str, str] = {}
    try:
        text = _read_text(path).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refuse(path, "不是 UTF-8 编码") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or (number == 1 and line.split("\t")[0] == "key"):
            continue
        key, sep, value = line.partition("\t")
        if not sep or key not in PACK_KEYS:
            raise _refuse(path, f"应为「key<TAB>value」，键只能是 {'、'.join(PACK_KEYS)}", number)
        meta[key] = value.strip()
    for key in ("name", "version"):
        if not meta.get(key):
            raise _refuse(path, f"缺少「{key}」")
    return meta


def load_weight_table(path: Path) -> WeightTable:
    """Read a weights CSV (or a folder with ``weights.csv`` and ``pack.tsv``)."""
    meta: dict[str, str] | None = None
    csv_path = path
    if path.is_dir():
        csv_path = path / "weights.csv"
        meta = _pack_meta(path / "pack.tsv")
    raw = _read_text(csv_path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refuse(csv_path, "不是 UTF-8 编码") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise _refuse(csv_path, "文件为空") from None
    except csv.Error as exc:
        raise _refuse(csv_path, f"CSV 格式错误（{exc}）", 1) from None
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if missing or unknown or len(set(header)) != len(header):
        raise _refuse(csv_path, f"表头应为 drg,rw[,avg_cost,avg_los]，收到「{','.join(header)}」", 1)
    rows: list[dict[str, str]] = []
    try:
        for values in reader:
            if not values or all(not v.strip() for v in values):
                continue
            if len(values) != len(header):
                raise _refuse(csv_path, f"列数为 {len(values)}，表头为 {len(header)} 列", reader.line_num)
            rows.append(dict(zip(header, values, strict=True)))
    except csv.Error as exc:
        raise _refuse(csv_path, f"CSV 格式错误（{exc}）", reader.line_num) from None
    if not rows:
        raise _refuse(csv_path, "没有权重行")
    if meta is not None:
        return WeightTable(meta["name"], meta["version"], path, tuple(rows))
    digest = hashlib.sha256(raw).hexdigest()[:12]
    return WeightTable(csv_path.name, f"sha256:{digest}", path, tuple(rows))
