"""Inbox messages of the referral loop: queued on the session, written after commit.

A transition's ``Notify`` effects become ``Notice`` records; the service publishes them as
one ``referrals.notify`` event (``core.events``) that runs only after the request's
commit, so a refused or rolled-back event notifies nobody.  The handler writes one
``notification`` row per recipient party, keyed ``<event id>:<party>`` (``dedupe_key``),
so a redelivered event writes nothing twice.

Recipients: the sender is the user who submitted (``sent_by``); the receiver is every
clinician of the receiving institution (routing by department or practitioner narrows
the inbox view, not who may act); an office is every ``referral_officer`` of the named
consortium.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yilian.core.events import Event, publish
from yilian.db.models import Notification
from yilian.referrals import repository
from yilian.referrals.records import Party

__all__ = ["NOTIFY", "TOPIC_TITLES_ZH", "Notice", "publish_notices", "write_inbox"]

NOTIFY: Final = "referrals.notify"

TOPIC_TITLES_ZH: Final[dict[str, str]] = {
    "submitted": "收到新的转诊申请", "approved": "外转申请已审批同意", "approval_rejected": "外转申请被驳回",
    "approval_deemed": "外转申请超时，视同同意", "cancelled": "转诊已撤回", "accepted": "转诊已被接收",
    "declined": "转诊被拒绝", "schedule": "转诊已预约号源", "reschedule": "转诊已改约", "no_show": "患者未按预约就诊",
    "checked_in": "患者已到诊/入院", "note": "接收方补充了备注", "outcome": "转诊诊疗结果已反馈（闭环）",
    "cancel_requested": "转出方申请撤回转诊", "cancel_confirmed": "撤回申请已确认",
    "followup": "下转随访已完成（闭环）",
    "expired": "转诊超时关闭", "escalation.approval": "督办：外转审批超时", "escalation.accept": "督办：转诊超时未接收",
    "escalation.arrange": "督办：已接收但未安排", "escalation.attendance": "督办：未登记到诊情况",
    "escalation.outcome": "督办：诊疗结果未反馈", "escalation.cancel": "督办：撤回申请未确认",
    "escalation.followup": "督办：下转随访逾期",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Notice:
    referral_id: int
    topic: str
    recipients: tuple[str, ...]
    office_consortium_id: int | None
    sent_by: int
    receiving_institution_id: int
    resident_name: str
    at: datetime


def publish_notices(session: Session, notices: list[Notice]) -> None:
    """Queue the notices of one committed-together unit of work (runs after commit, or never)."""
    if not notices:
        return
    items = [{**asdict(n), "recipients": list(n.recipients), "at": n.at.isoformat()} for n in notices]
    publish(session, Event(NOTIFY, {"notices": items}))


def _recipient(party: str, n: dict[str, Any]) -> dict[str, Any] | None:
    if party == Party.SENDER:
        return {"recipient_user_id": n["sent_by"]}
    if party == Party.RECEIVER:
        return {"recipient_institution_id": n["receiving_institution_id"], "recipient_role": "clinician"}
    if party in (Party.REFERRAL_OFFICE, Party.RECEIVING_OFFICE) and n.get("office_consortium_id") is not None:
        return {"recipient_consortium_id": n["office_consortium_id"], "recipient_role": "referral_officer"}
    return None


def write_inbox(session: Session, event: Event) -> None:
    """After-commit handler: one notification per recipient party; idempotent on the event id."""
    for i, n in enumerate(event.payload.get("notices", [])):
        topic = str(n["topic"])
        title = f"{TOPIC_TITLES_ZH.get(topic, topic)}：转诊单 {n['referral_id']}（{n['resident_name']}）"
        for party in n["recipients"]:
            target = _recipient(party, n)
            key = f"{event.event_id}:{i}:{party}"
            if target is None or repository.notification_exists(session, key):
                continue
            row = Notification(
                **target, kind=f"referral.{topic}", title=title[:200], link=f"/referrals/{n['referral_id']}",
                payload={"referral_id": n["referral_id"], "topic": topic, "party": party},
                dedupe_key=key, created_at=datetime.fromisoformat(n["at"]),
            )
            try:
                with session.begin_nested():
                    session.add(row)
            except IntegrityError:  # a concurrent delivery of the same event wrote it first
                continue
