"""Care API under ``/api/v1``: thin routes over ``care.service``.

``POST /api/v1/care/encounters`` answers 201 for a new record and 200 for the same record sent
again (nothing written).  The answer to a sender names no resident: knowing an ID number must not
be enough to learn whose it is.  Lists, which are reads of health data, do name residents and are
audited by the service.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from yilian.care import service
from yilian.care.schemas import EncounterIn, EncounterListOut, EncounterPageOut, IngestOut
from yilian.core.paging import Page, PageRequest
from yilian.web.deps import DB, ApiUser

router = APIRouter(prefix="/api/v1", tags=["care"])

PageNo = Annotated[int, Query(ge=1, description="页码，从 1 开始")]
PageSize = Annotated[int, Query(ge=1, le=500, description="每页条数")]


def _page_out(page: Page[service.EncounterView]) -> EncounterPageOut:
    items = [EncounterListOut.model_validate(asdict(v)) for v in page.items]
    return EncounterPageOut(items=items, total=page.total, page=page.number, size=page.size, pages=page.pages)


@router.post("/care/encounters", response_model=IngestOut, status_code=status.HTTP_201_CREATED,
             summary="报送一次就诊及其结算（同一来源编号重复报送不重复入库）")
def ingest_encounter(body: EncounterIn, session: DB, user: ApiUser, response: Response) -> IngestOut:
    encounter, created = service.do_ingest_encounter(session, user, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    view = asdict(service.encounter_view_of(session, encounter))
    view.pop("resident_name")
    return IngestOut.model_validate({**view, "created": created})


@router.get("/care/encounters", response_model=EncounterPageOut, summary="机构的就诊记录（按就诊或入院日期）")
def list_encounters(
    session: DB, user: ApiUser,
    institution: Annotated[int | None, Query(description="机构 id；不填为管辖范围内全部机构")] = None,
    date_from: Annotated[date | None, Query(alias="from", description="起始日期（含）")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="结束日期（含）")] = None,
    kind: Annotated[str | None, Query(description="outpatient、emergency 或 inpatient")] = None,
    page: PageNo = 1, size: PageSize = 20,
) -> EncounterPageOut:
    flt = service.EncounterFilter(institution_id=institution, date_from=date_from, date_to=date_to, kind=kind or None)
    return _page_out(service.encounters_of_institution(session, user, flt, PageRequest(page, size)))


@router.get("/residents/{resident_id}/encounters", response_model=EncounterPageOut,
            summary="居民的就诊与结算记录（读取留痕）")
def resident_encounters(
    resident_id: int, session: DB, user: ApiUser, page: PageNo = 1, size: PageSize = 20
) -> EncounterPageOut:
    return _page_out(service.list_encounters_of_resident(session, user, resident_id, PageRequest(page, size)))
