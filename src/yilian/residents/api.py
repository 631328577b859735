"""Residents API under ``/api/v1``: thin routes over ``residents.service``.

Routes with a fixed path (``/residents/duplicates``) are declared before the
``/residents/{resident_id}`` ones, and the id is an ``int`` path parameter, so
"duplicates" is never read as a resident id.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel

from yilian.core.paging import Page, PageRequest
from yilian.residents import service
from yilian.residents.schemas import (
    DuplicatePairOut,
    DuplicateReviewIn,
    DuplicateReviewOut,
    EnrolmentIn,
    EnrolmentOut,
    KeyPopulationEndIn,
    KeyPopulationIn,
    KeyPopulationOut,
    PageOut,
    RegisterOut,
    ResidentDetailOut,
    ResidentOut,
    ResidentRegisterIn,
)
from yilian.web.deps import DB, ApiUser

router = APIRouter(prefix="/api/v1", tags=["residents"])
M = TypeVar("M", bound=BaseModel)

PageNo = Annotated[int, Query(ge=1, description="页码，从 1 开始")]
PageSize = Annotated[int, Query(ge=1, le=500, description="每页条数")]


def _page_out(page: Page[Any], model: type[M]) -> PageOut[M]:
    items = [model.model_validate(item, from_attributes=True) for item in page.items]
    return PageOut(items=items, total=page.total, page=page.number, size=page.size, pages=page.pages)


@router.post("/residents", response_model=RegisterOut, status_code=status.HTTP_201_CREATED,
             summary="登记居民（同一身份证号码重复登记返回已有档案）")
def register_resident(
    body: ResidentRegisterIn, session: DB, user: ApiUser, response: Response
) -> RegisterOut:
    resident, created = service.do_register_resident(session, user, body, body.institution_id)
    if not created:
        response.status_code = status.HTTP_200_OK
    return RegisterOut(**asdict(service.summarise(session, resident)), created=created)


@router.get("/residents", response_model=PageOut[ResidentOut], summary="按姓名或身份证号码查找居民")
def search_residents(
    session: DB, user: ApiUser,
    q: Annotated[str | None, Query(max_length=60, description="姓名的一部分，或完整的18位身份证号码")] = None,
    page: PageNo = 1, size: PageSize = 20,
) -> PageOut[ResidentOut]:
    return _page_out(service.search_residents(session, user, q, PageRequest(page, size)), ResidentOut)


@router.get("/residents/duplicates", response_model=PageOut[DuplicatePairOut], summary="疑似重复的居民")
def duplicates(
    session: DB, user: ApiUser, page: PageNo = 1, size: PageSize = 20
) -> PageOut[DuplicatePairOut]:
    pairs = service.list_duplicate_candidates(session, user, PageRequest(page, size))
    return _page_out(pairs, DuplicatePairOut)


@router.post("/residents/duplicates/review", response_model=DuplicateReviewOut,
             summary="判定疑似重复：distinct 不同的人，same 同一人（不自动合并）")
def review_duplicate(body: DuplicateReviewIn, session: DB, user: ApiUser) -> DuplicateReviewOut:
    review = service.do_review_duplicate(session, user, body.resident_a_id, body.resident_b_id, body.decision)
    return DuplicateReviewOut.model_validate(review, from_attributes=True)


@router.get("/residents/{resident_id}", response_model=ResidentDetailOut, summary="居民档案（读取留痕）")
def get_resident(resident_id: int, session: DB, user: ApiUser) -> ResidentDetailOut:
    record = service.get_resident(session, user, resident_id)
    return ResidentDetailOut.model_validate(record, from_attributes=True)


@router.post("/residents/{resident_id}/enrolments", response_model=EnrolmentOut,
             status_code=status.HTTP_201_CREATED, summary="登记参保")
def add_enrolment(resident_id: int, body: EnrolmentIn, session: DB, user: ApiUser) -> EnrolmentOut:
    enrolment = service.do_add_enrolment(session, user, resident_id, body)
    return EnrolmentOut.model_validate(service.enrolment_view(enrolment), from_attributes=True)


@router.post("/residents/{resident_id}/key-populations", response_model=KeyPopulationOut,
             status_code=status.HTTP_201_CREATED, summary="登记重点人群（已有重叠记录时返回该记录）")
def record_key_population(
    resident_id: int, body: KeyPopulationIn, session: DB, user: ApiUser, response: Response
) -> KeyPopulationOut:
    kp, created = service.do_record_key_population(
        session, user, resident_id, body.code, body.since, body.until
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return KeyPopulationOut(**asdict(service.key_population_view(kp)), created=created)


@router.post("/residents/{resident_id}/key-populations/{key_population_id}/end",
             response_model=KeyPopulationOut, summary="结束一条重点人群记录")
def end_key_population(
    resident_id: int, key_population_id: int, body: KeyPopulationEndIn, session: DB, user: ApiUser
) -> KeyPopulationOut:
    kp = service.do_end_key_population(session, user, resident_id, key_population_id, body.until)
    return KeyPopulationOut(**asdict(service.key_population_view(kp)))
