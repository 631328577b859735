"""CSV import of divisions, institutions and practitioners (idempotent, row-level rejections).

The kind is recognised from the header row; column layouts are in docs/registry/import.md.
Each row runs in a savepoint: a refused row is reported with its line number and reason and
the others go in.  Re-importing the same file reports every row unchanged.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from yilian.core.errors import DomainError, ValidationFailed
from yilian.identity.principal import Principal
from yilian.registry import repository, service
from yilian.registry.schemas import DivisionIn, ImportReport, InstitutionIn, PractitionerIn

LAYOUTS: dict[str, list[str]] = {
    "divisions": ["code", "name", "level", "parent_code"],
    "institutions": ["code", "name", "category", "level", "grade", "ownership", "beds", "division_code",
                     "parent_code", "in_county"],
    "practitioners": ["code", "name", "category", "title_level", "specialty", "institution_code",
                      "department_code"],
}
REQUIRED: dict[str, set[str]] = {
    "divisions": {"code", "name", "level"},
    "institutions": {"code", "name", "category", "division_code"},
    "practitioners": {"code", "name", "category", "title_level", "institution_code"},
}
MODELS: dict[str, type[BaseModel]] = {"divisions": DivisionIn, "institutions": InstitutionIn,
                                      "practitioners": PractitionerIn}


def detect_kind(header: list[str]) -> str:
    cols = {h.strip() for h in header}
    for kind in ("practitioners", "institutions", "divisions"):
        if REQUIRED[kind] <= cols and cols <= set(LAYOUTS[kind]):
            return kind
    layouts = "；".join(f"{k}: {','.join(v)}" for k, v in LAYOUTS.items())
    raise ValidationFailed(f"无法识别 CSV 的表头。支持的列布局：{layouts}", code="import_header_unknown")


def _upsert(session: Session, actor: Principal, kind: str, data: Any) -> str:
    if kind == "divisions":
        return service.do_upsert_division(session, actor, data)[1]
    if kind == "institutions":
        if repository.institution_by_code(session, data.code) is None:
            service.do_create_institution(session, actor, data)
            return "created"
        return "updated" if service.do_update_institution(session, actor, data)[1] else "unchanged"
    if repository.practitioner_by_code(session, data.code) is None:
        service.do_create_practitioner(session, actor, data)
        return "created"
    return "updated" if service.do_update_practitioner(session, actor, data)[1] else "unchanged"


def import_csv(session: Session, actor: Principal, text: str,
               progress: Callable[[int], None] | None = None) -> ImportReport:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if not reader.fieldnames:
        raise ValidationFailed("CSV 文件为空。", code="import_empty")
    kind = detect_kind(list(reader.fieldnames))
    rows = [(i + 2, {k.strip(): (v or "").strip() for k, v in row.items() if k}) for i, row in enumerate(reader)]
    if kind != "practitioners":
        # Parents first, so a file may list a village clinic before its township centre.
        rows.sort(key=lambda r: bool(r[1].get("parent_code")))
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    rejected: list[dict[str, object]] = []
    for line, raw in rows:
        data = {k: v for k, v in raw.items() if v != ""}
        try:
            model = MODELS[kind].model_validate(data)
        except ValidationError as exc:
            problems = "；".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            rejected.append({"line": line, "code": raw.get("code", ""), "reason": f"字段不合法：{problems}",
                             "error_code": "import_row_invalid"})
            continue
        try:
            with session.begin_nested():
                counts[_upsert(session, actor, kind, model)] += 1
        except DomainError as exc:
            rejected.append({"line": line, "code": raw.get("code", ""), "reason": exc.message,
                             "error_code": exc.code})
        if progress:
            progress(1)
    return ImportReport(kind=kind, total=len(rows), rejected=rejected, **counts)

