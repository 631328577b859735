"""Care pages: an institution's encounters with filters, and the fragment of a resident's
encounters that the resident's page loads with htmx.

Both are reads of health data: the service checks the scope and writes the audit row; routes only
turn query strings into the service's filter and pick a template.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from yilian.care import service
from yilian.care.rules import KIND_NAMES_ZH
from yilian.core.errors import ValidationFailed
from yilian.core.paging import PageRequest
from yilian.web.deps import DB, PageUser, settings_of
from yilian.web.templating import render

router = APIRouter(include_in_schema=False)

KINDS: list[tuple[str, str]] = list(KIND_NAMES_ZH.items())


def _date(value: str, what: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"{what}格式应为 年-月-日。", code="form_invalid") from None


def _int(value: str, what: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit():
        raise ValidationFailed(f"{what}无效。", code="form_invalid")
    return int(value)


@router.get("/care/encounters")
def encounters_page(
    request: Request, session: DB, user: PageUser,
    institution: str = "", date_from: Annotated[str, Query(alias="from")] = "", to: str = "", kind: str = "",
    page: int = 1,
) -> Response:
    flt = service.EncounterFilter(institution_id=_int(institution, "机构"), date_from=_date(date_from, "起始日期"),
                                  date_to=_date(to, "结束日期"), kind=kind.strip() or None)
    result = service.encounters_of_institution(session, user, flt, PageRequest(page, settings_of(request).page_size))
    query = {"institution": institution, "from": date_from, "to": to, "kind": kind}
    context: dict[str, Any] = {"page": result, "q": query, "kinds": KINDS,
                               "base_url": "/care/encounters?" + urlencode(query)}
    if request.headers.get("hx-target") == "encounter-results":
        return render(request, "care/_encounter_table.html", **context)
    return render(request, "care/encounters.html", institutions=service.institution_choices(session, user),
                  **context)


@router.get("/care/residents/{resident_id:int}/encounters")
def resident_encounters_fragment(
    request: Request, session: DB, user: PageUser, resident_id: int, page: int = 1
) -> Response:
    """HTML fragment for the resident's page: ``hx-get`` it into a section (see docs/care/care.md)."""
    result = service.list_encounters_of_resident(session, user, resident_id,
                                                 PageRequest(page, settings_of(request).page_size))
    return render(request, "care/_resident_encounters.html", page=result, resident_id=resident_id)
