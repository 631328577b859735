"""Referral API under ``/api/v1/referrals``: a thin route for every transition, the reads, catalogues.

Every event is ``POST /api/v1/referrals/{id}/<event>`` with the ``version`` the caller saw; the
answer is the referral as the caller now sees it.  Refusals come back as the shared JSON error
(``{"error": {"code", "message", "details"}}``) with the status of their class (403, 404, 409, 422).
Fixed paths (``/notifications``, ``/catalogues``, ``/policy``) come before ``/{referral_id}``.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

from fastapi import APIRouter, Query, UploadFile, status

from yilian.core.errors import ValidationFailed
from yilian.referrals import events, policy, reads, service
from yilian.referrals.schemas import (
    CatalogueImportOut,
    CheckInIn,
    DeclineIn,
    DraftIn,
    EventIn,
    FollowUpIn,
    NoteIn,
    NotificationOut,
    OutcomeIn,
    PolicyIn,
    ReasonIn,
    ReassignIn,
    RecordExtractOut,
    ReferralOut,
    SlotIn,
    SlotOut,
    SubmitIn,
    TimelineEntryOut,
)
from yilian.web.deps import DB, ApiUser

router = APIRouter(prefix="/api/v1/referrals", tags=["referrals"])
events.register()


def _out(session: DB, user: ApiUser, referral_id: int) -> ReferralOut:
    return ReferralOut.model_validate(asdict(reads.get_referral(session, user, referral_id)))


# ---- lists, notifications, configuration ---------------------------------------------------


@router.get("", response_model=list[ReferralOut], summary="我的转诊（sent 转出、received 接收、office 转诊办）")
def list_referrals(
    session: DB, user: ApiUser, side: Literal["sent", "received", "office"] = "sent", open_only: bool = False,
) -> list[ReferralOut]:
    return [ReferralOut.model_validate(asdict(v)) for v in reads.list_referrals(session, user, side,
                                                                               open_only=open_only)]


@router.get("/notifications", response_model=list[NotificationOut], summary="站内消息")
def list_notifications(session: DB, user: ApiUser, unread_only: bool = False) -> list[NotificationOut]:
    return [NotificationOut.model_validate(n) for n in reads.notifications(session, user, unread_only=unread_only)]


@router.post("/notifications/{notification_id}/read", response_model=NotificationOut, summary="标记已读")
def read_notification(notification_id: int, session: DB, user: ApiUser) -> NotificationOut:
    return NotificationOut.model_validate(reads.mark_read(session, user, notification_id))


@router.post("/catalogues", response_model=CatalogueImportOut, summary="导入病种目录（CSV）")
def import_catalogue(
    session: DB, user: ApiUser, file: UploadFile,
    consortium_id: Annotated[int | None, Query(description="医联体；为空表示系统默认目录")] = None,
) -> CatalogueImportOut:
    try:
        text = file.file.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed("目录文件须为 UTF-8 编码的 CSV", code="catalogue_invalid") from None
    return CatalogueImportOut.model_validate(asdict(policy.do_import_catalogue(session, user, consortium_id, text)))


@router.put("/policy", status_code=status.HTTP_204_NO_CONTENT, summary="配置医联体的转诊时限、一免三优先、自动接收")
def configure_policy(body: PolicyIn, session: DB, user: ApiUser, consortium_id: int | None = None) -> None:
    policy.do_configure_policy(session, user, consortium_id, body)


# ---- drafts and reads -----------------------------------------------------------------------


@router.post("", response_model=ReferralOut, status_code=status.HTTP_201_CREATED, summary="新建转诊草稿")
def create_draft(body: DraftIn, session: DB, user: ApiUser) -> ReferralOut:
    ep = service.do_create_draft(session, user, body)
    return _out(session, user, ep.id)


@router.put("/{referral_id}", response_model=ReferralOut, summary="修改转诊草稿")
def update_draft(referral_id: int, body: DraftIn, session: DB, user: ApiUser,
                 version: Annotated[int | None, Query()] = None) -> ReferralOut:
    service.do_update_draft(session, user, referral_id, version, body)
    return _out(session, user, referral_id)


@router.get("/{referral_id}", response_model=ReferralOut, summary="转诊单（含本人可执行的操作）")
def get_referral(referral_id: int, session: DB, user: ApiUser) -> ReferralOut:
    return _out(session, user, referral_id)


@router.get("/{referral_id}/timeline", response_model=list[TimelineEntryOut], summary="转诊时间线")
def timeline(referral_id: int, session: DB, user: ApiUser) -> list[TimelineEntryOut]:
    return [TimelineEntryOut.model_validate(asdict(t)) for t in reads.timeline(session, user, referral_id)]


@router.get("/{referral_id}/record", response_model=RecordExtractOut, summary="转诊附带的共享病历摘要（留痕）")
def record_extract(referral_id: int, session: DB, user: ApiUser) -> RecordExtractOut:
    return RecordExtractOut.model_validate(reads.read_extract(session, user, referral_id))


@router.get("/{referral_id}/slots", response_model=list[SlotOut], summary="可预占（hold）或可预约的号源")
def slots(referral_id: int, session: DB, user: ApiUser, hold: bool = False) -> list[SlotOut]:
    return [SlotOut.model_validate(asdict(s)) for s in reads.available_slots(session, user, referral_id, hold=hold)]


# ---- one route per transition ---------------------------------------------------------------


@router.post("/{referral_id}/submit", response_model=ReferralOut, summary="提交（1）")
def submit(referral_id: int, body: SubmitIn, session: DB, user: ApiUser) -> ReferralOut:
    service.do_submit(session, user, referral_id, body)
    return _out(session, user, referral_id)


@router.post("/{referral_id}/approve", response_model=ReferralOut, summary="外转审批同意（2）")
def approve(referral_id: int, body: EventIn, session: DB, user: ApiUser) -> ReferralOut:
    service.do_approve(session, user, referral_id, body)
    return _out(session, user, referral_id)


@router.post("/{referral_id}/reject", response_model=ReferralOut, summary="外转审批驳回（3）")
def reject(referral_id: int, body: ReasonIn, session: DB, user: ApiUser) -> ReferralOut:
    service.do_reject(session, user, referral_id, body)
    return _out(session, user, referral_id)


@router.post("/{referral_id}/cancel", response_model=ReferralOut, summary="撤回（4）")
def cancel(referral_id: int, body: ReasonIn, session: DB, user: ApiUser) -> ReferralOut:
    service.do_cancel(session, user, referral_id, body)
    return _out(session, user, referral_id)


@router.post("/{referral_id}/accept", response_model=ReferralOut, summary="接收（5）")
def accept(referral_id: int, body: EventIn, session: DB, user: ApiUser) -> ReferralOut:
    service.do_accept(session, user, referral_id, body)
    return _out(session, user, referral_id)


@router.post("/{referral_id}/decline", response_model=ReferralOut, summary="拒绝（6）")
def decline(referral_id: int, body: DeclineIn, session: DB, user: ApiUser) -> ReferralOut:
    service.do_decline(session, user, referral_id, body)
    return _out(session, user, referral_id)


@router.post("/{referral_id}/schedule", response_model=ReferralOut, summary="预约号源或床位（7）")
def schedule(referral_id: int, body: SlotIn, session: DB, user: ApiUser) -> ReferralOut:
    service.do_schedule(session, user, referral_id, body)
    return _out(session, user, referral_id)


@router.post("/{referral_id}/reschedule", response_model=ReferralOut, summary="改约（8）")
def reschedule(referral_id: int, body: SlotIn, session: DB, user: ApiUser) -> ReferralOut:
    service.do_reschedule(session, user, referral_id, body)
    return _out(session, user, referral_id)


@router.post("/{referral_id}/no-show", response_model=ReferralOut, summary="标记爽约（9）")
def no_show(referral_id: int, body: EventIn, session: DB, user: ApiUser) -> ReferralOut:
    service.do_mark_no_show(session, user, referral_id, body)
    return _out(session, user, referral_id)


@router.post("/{referral_id}/check-in", response_model=ReferralOut, summary="到诊/入院（10）")
def check_in(referral_id: int, body: CheckInIn, session: DB, user: ApiUser) -> ReferralOut:
    service.do_check_in(session, user, referral_id, body)
    return _out(session, user, referral_id)


@router.post("/{referral_id}/notes", response_model=ReferralOut, summary="备注（11）")
def note(referral_id: int, body: NoteIn, session: DB, user: ApiUser) -> ReferralOut:
    service.do_note(session, user, referral_id, body)
    return _out(session, user, referral_id)


@router.post("/{referral_id}/outcome", response_model=ReferralOut, summary="反馈诊疗结果（12）")
def outcome(referral_id: int, body: OutcomeIn, session: DB, user: ApiUser) -> ReferralOut:
    service.do_complete(session, user, referral_id, body)
    return _out(session, user, referral_id)


@router.post("/{referral_id}/request-cancel", response_model=ReferralOut, summary="申请撤回（13）")
def request_cancel(referral_id: int, body: ReasonIn, session: DB, user: ApiUser) -> ReferralOut:
    service.do_request_cancel(session, user, referral_id, body)
    return _out(session, user, referral_id)


@router.post("/{referral_id}/confirm-cancel", response_model=ReferralOut, summary="确认撤回（14）")
def confirm_cancel(referral_id: int, body: EventIn, session: DB, user: ApiUser) -> ReferralOut:
    service.do_confirm_cancel(session, user, referral_id, body)
    return _out(session, user, referral_id)


@router.post("/{referral_id}/reassign", response_model=ReferralOut, summary="改派科室或医生（15）")
def reassign(referral_id: int, body: ReassignIn, session: DB, user: ApiUser) -> ReferralOut:
    service.do_reassign(session, user, referral_id, body)
    return _out(session, user, referral_id)


@router.post("/{referral_id}/follow-up", response_model=ReferralOut, summary="记录下转随访（21）")
def follow_up(referral_id: int, body: FollowUpIn, session: DB, user: ApiUser) -> ReferralOut:
    service.do_record_followup(session, user, referral_id, body)
    return _out(session, user, referral_id)
