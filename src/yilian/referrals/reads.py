"""What the pages and the API show: one referral with its timeline and the actions open to the reader,
the lists of each side (my referrals, the receiver's inbox, the referral office), the record extract,
the slots a referral may use, and the notification inbox.

Who may read a referral: clinicians of the sending and the receiving institution (a draft: only the
sender's), the referral officers of the governing and the receiving consortium, the governing
consortium's managers, and system administrators.  A referral carries health data (diagnoses, the
handover), so every read of one is audited; the shared-record extract has its own audited read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy.orm import Session

from yilian.core.clock import to_local, utcnow
from yilian.core.errors import Forbidden, NotFound
from yilian.db.models import Notification, ReferralEpisode
from yilian.identity import audit
from yilian.identity.principal import Principal
from yilian.identity.roles import Role
from yilian.referrals import repository, slots
from yilian.referrals.config import ReferralPolicy
from yilian.referrals.notices import TOPIC_TITLES_ZH
from yilian.referrals.records import EVENT_NAMES_ZH, STATUS_NAMES_ZH, Direction, Event, Status
from yilian.referrals.rules import pending_escalation, pending_final
from yilian.referrals.snapshot import diagnoses_of, facts_for, snapshot_of
from yilian.referrals.states import EVENT_PARTIES, Party, events_allowed, resolve_party

__all__ = [
    "DIRECTION_NAMES_ZH", "DeadlineView", "FollowUpView", "ReferralView", "Side", "TimelineEntry", "approvals",
    "available_slots", "get_referral", "list_referrals", "mark_read", "notifications", "read_extract", "timeline",
]

DIRECTION_NAMES_ZH: Final = {"up": "上转", "down": "下转", "lateral": "平转"}
DEADLINE_NAMES_ZH: Final = {
    "approval": "外转审批时限", "accept": "接收时限", "arrange": "安排时限", "attendance": "到诊登记时限",
    "outcome": "结果反馈时限", "cancel": "撤回确认时限", "followup": "随访时限", "expire": "超时关闭",
    "deem_approval": "视同同意",
}
PERSON_EVENTS: Final = frozenset(e for e, parties in EVENT_PARTIES.items() if parties != {Party.SYSTEM})


@dataclass(frozen=True, slots=True)
class DeadlineView:
    key: str
    name: str
    at: datetime
    overdue: bool


@dataclass(frozen=True, slots=True)
class FollowUpView:
    status: str
    due_at: datetime
    team_id: int | None
    assignee_user_id: int | None
    done_on: date | None
    on_time: bool | None
    mode: str | None
    findings: str | None
    plan: str | None
    source: str | None


@dataclass(frozen=True, slots=True)
class ReferralView:
    id: int
    resident_id: int
    resident_name: str
    direction: str
    direction_name: str
    urgency: str | None
    status: str
    status_name: str
    version: int
    sending_institution_id: int
    sending_institution_name: str
    receiving_institution_id: int
    receiving_institution_name: str
    receiving_department_id: int | None
    receiving_practitioner_id: int | None
    governing_consortium_id: int | None
    receiving_consortium_id: int | None
    sent_by: int
    out_of_network: bool | None
    approval: str | None
    diagnoses: list[str]
    principal_in_catalogue: bool | None
    reason: str | None
    summary: str | None
    care_plan: str | None
    medications: str | None
    followup_instructions: str | None
    slot_id: int | None
    slot_state: str | None
    slot_start: datetime | None
    care_setting: str | None
    benefits: list[str]
    end_reason: str | None
    decline_code: str | None
    outcome_summary: str | None
    outcome_diagnoses: list[str]
    outcome_recommendations: str | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    accepted_at: datetime | None
    completed_at: datetime | None
    next_deadline: DeadlineView | None
    escalations: list[str]
    followup: FollowUpView | None
    allowed_events: list[str]


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    kind: str
    seq: int | None
    event: str
    event_name: str
    from_status: str | None
    to_status: str | None
    party: str | None
    actor: str | None
    reason: str | None
    payload: dict[str, Any] | None


# ---- access -------------------------------------------------------------------------------


def _grants(actor: Principal, role: Role) -> set[int]:
    return {(g.institution_id if role in (Role.CLINICIAN, Role.PHARMACIST) else g.consortium_id) or -1
            for g in actor.grants if g.role == role} - {-1}


def _may_read(actor: Principal, ep: ReferralEpisode) -> bool:
    if actor.is_admin:
        return True
    clin = _grants(actor, Role.CLINICIAN)
    if ep.sending_institution_id in clin:
        return True
    if ep.status == Status.DRAFT.value:
        return False
    offices = _grants(actor, Role.REFERRAL_OFFICER)
    managed = _grants(actor, Role.CONSORTIUM_MANAGER)
    return (ep.receiving_institution_id in clin or bool({ep.governing_consortium_id, ep.receiving_consortium_id}
                                                        & offices) or ep.governing_consortium_id in managed)


def _episode(session: Session, actor: Principal, referral_id: int) -> ReferralEpisode:
    ep = repository.episode(session, referral_id)
    if ep is None:
        raise NotFound("转诊单不存在", code="referral_not_found", referral_id=referral_id)
    if not _may_read(actor, ep):
        raise Forbidden("您不是该转诊的参与方，无权查看。", code="referral_not_visible")
    return ep


# ---- one referral -------------------------------------------------------------------------


def _next_deadline(session: Session, ep: ReferralEpisode, now: datetime) -> DeadlineView | None:
    if ep.status in (Status.DRAFT.value, *(s.value for s in (Status.COMPLETED, Status.DECLINED, Status.CANCELLED,
                                                               Status.EXPIRED))):
        return None
    snap = snapshot_of(session, ep)
    policy = ReferralPolicy()  # a submitted referral carries its own copied deadlines
    options: list[tuple[datetime, str]] = []
    esc = pending_escalation(snap, policy)
    if esc is not None and esc[0] not in snap.escalations:
        options.append((esc[1], esc[0].kind.value))
    fin = pending_final(snap, policy)
    if fin is not None:
        options.append((fin[1], fin[0].value))
    if not options:
        return None
    at, key = min(options)
    return DeadlineView(key, DEADLINE_NAMES_ZH.get(key, key), at, at <= now)


def _allowed(session: Session, actor: Principal, ep: ReferralEpisode, now: datetime) -> list[str]:
    status, direction = Status(ep.status), Direction(ep.direction)
    candidates = events_allowed(status, direction) & PERSON_EVENTS
    if not candidates:
        return []
    facts = facts_for(session, resident_id=ep.resident_id, sending_id=ep.sending_institution_id,
                      receiving_id=ep.receiving_institution_id, governing_id=ep.governing_consortium_id,
                      on=to_local(now).date())
    snap = snapshot_of(session, ep, facts)
    return sorted(e.value for e in candidates if not isinstance(resolve_party(snap, e, actor), Forbidden))


def _followup(session: Session, referral_id: int) -> FollowUpView | None:
    t = repository.followup_task(session, referral_id)
    if t is None:
        return None
    return FollowUpView(t.status, t.due_at, t.team_id, t.assignee_user_id, t.done_on, t.on_time, t.mode, t.findings,
                        t.plan, t.source)


def _view(session: Session, actor: Principal, ep: ReferralEpisode, now: datetime, names: dict[int, str],
          resident_name: str, *, detail: bool) -> ReferralView:
    slot_start = None
    if ep.slot_id is not None:
        found = repository.slot_with_pool(session, ep.slot_id)
        slot_start = found[0].start_at if found else None
    return ReferralView(
        id=ep.id, resident_id=ep.resident_id, resident_name=resident_name, direction=ep.direction,
        direction_name=DIRECTION_NAMES_ZH[ep.direction], urgency=ep.urgency, status=ep.status,
        status_name=STATUS_NAMES_ZH[Status(ep.status)], version=ep.version,
        sending_institution_id=ep.sending_institution_id,
        sending_institution_name=names.get(ep.sending_institution_id, ""),
        receiving_institution_id=ep.receiving_institution_id,
        receiving_institution_name=names.get(ep.receiving_institution_id, ""),
        receiving_department_id=ep.receiving_department_id, receiving_practitioner_id=ep.receiving_practitioner_id,
        governing_consortium_id=ep.governing_consortium_id, receiving_consortium_id=ep.receiving_consortium_id,
        sent_by=ep.sent_by, out_of_network=ep.out_of_network, approval=ep.approval,
        diagnoses=list(diagnoses_of(ep.diagnoses)), principal_in_catalogue=ep.principal_in_catalogue,
        reason=ep.reason, summary=ep.summary, care_plan=ep.care_plan, medications=ep.medications,
        followup_instructions=ep.followup_instructions, slot_id=ep.slot_id, slot_state=ep.slot_state,
        slot_start=slot_start, care_setting=ep.care_setting, benefits=list(ep.benefits or []),
        end_reason=ep.end_reason, decline_code=ep.decline_code, outcome_summary=ep.outcome_summary,
        outcome_diagnoses=list(diagnoses_of(ep.outcome_diagnoses)), outcome_recommendations=ep.outcome_recommendations,
        created_at=ep.created_at, updated_at=ep.updated_at, submitted_at=ep.submitted_at, accepted_at=ep.accepted_at,
        completed_at=ep.completed_at, next_deadline=_next_deadline(session, ep, now),
        escalations=[f"{e.kind}@{e.entry_seq}" for e in repository.escalation_rows(session, ep.id)],
        followup=_followup(session, ep.id) if detail else None,
        allowed_events=_allowed(session, actor, ep, now) if detail else [],
    )


def get_referral(session: Session, actor: Principal, referral_id: int, now: datetime | None = None) -> ReferralView:
    """One referral as its reader sees it (with the actions open to them); an audited read."""
    now = now or utcnow()
    ep = _episode(session, actor, referral_id)
    names = repository.institution_names(session, {ep.sending_institution_id, ep.receiving_institution_id})
    resident = repository.resident(session, ep.resident_id)
    audit.record_read(session, actor, ep.resident_id, f"查看转诊单 {ep.id}")
    return _view(session, actor, ep, now, names, resident.name if resident else "", detail=True)


def timeline(session: Session, actor: Principal, referral_id: int) -> list[TimelineEntry]:
    """Transitions and escalations of a referral in time order (both parties see the same)."""
    ep = _episode(session, actor, referral_id)
    users = _user_names(session, {e.actor_user_id for e in repository.event_rows(session, ep.id) if e.actor_user_id})
    out = [
        TimelineEntry(e.at, "transition", e.seq, e.event, EVENT_NAMES_ZH[Event(e.event)], e.from_status, e.to_status,
                      e.party, users.get(e.actor_user_id or 0, "系统" if e.actor_user_id is None else ""), e.reason,
                      e.payload)
        for e in repository.event_rows(session, ep.id)
    ]
    out += [
        TimelineEntry(x.at, "escalation", None, f"escalate.{x.kind}",
                      TOPIC_TITLES_ZH.get(f"escalation.{x.kind}", x.kind), None, None, "system", "系统", None,
                      {"due_at": x.due_at.isoformat(), "entry_seq": x.entry_seq})
        for x in repository.escalation_rows(session, ep.id)
    ]
    return sorted(out, key=lambda t: (t.at, t.seq or 0))


def _user_names(session: Session, ids: set[int]) -> dict[int, str]:
    from yilian.identity import repository as users

    out: dict[int, str] = {}
    for uid in ids:
        u = users.user_by_id(session, uid)
        if u is not None:
            out[uid] = u.display_name
    return out


def read_extract(session: Session, actor: Principal, referral_id: int) -> dict[str, Any]:
    """The shared-record extract attached at submission: the receiver reads it through the referral
    (not the whole record) before acceptance; every read is audited."""
    ep = _episode(session, actor, referral_id)
    resident = repository.resident(session, ep.resident_id)
    audit.record_read(session, actor, ep.resident_id, f"通过转诊单 {ep.id} 查看共享病历摘要")
    extract = ep.record_extract or {}
    attached = extract.get("attached_at")
    return {
        "referral_id": ep.id, "resident_id": ep.resident_id, "resident_name": resident.name if resident else "",
        "attached_at": datetime.fromisoformat(attached) if attached else None,
        "encounters": list(extract.get("encounters", [])), "diagnoses": list(extract.get("diagnoses", [])),
        "medications": extract.get("medications"),
    }


# ---- lists --------------------------------------------------------------------------------


class Side:
    SENT = "sent"
    RECEIVED = "received"
    OFFICE = "office"


def list_referrals(
    session: Session, actor: Principal, side: str, *, open_only: bool = False, now: datetime | None = None,
) -> list[ReferralView]:
    """My institutions' referrals: ``sent`` (GP side), ``received`` (the receiver's inbox, with deadlines),
    ``office`` (the referral office's consortia: approvals and overdue referrals).  An audited listing."""
    now = now or utcnow()
    clin = _grants(actor, Role.CLINICIAN)
    offices = _grants(actor, Role.REFERRAL_OFFICER)
    statuses = list(repository.OPEN_STATUSES) if open_only else None
    if side == Side.SENT:
        rows = repository.list_episodes(session, sending=clin, statuses=statuses)
    elif side == Side.RECEIVED:
        rows = repository.list_episodes(session, receiving=clin, statuses=statuses)
    elif side == Side.OFFICE:
        rows = repository.list_episodes(session, governing=offices, receiving_consortia=offices, statuses=statuses)
    else:
        raise NotFound("未知的列表", code="list_unknown", side=side)
    names = repository.institution_names(
        session, {r.sending_institution_id for r in rows} | {r.receiving_institution_id for r in rows})
    people = repository.residents(session, {r.resident_id for r in rows})
    audit.record(session, actor, "search", "referral_episode", detail=f"查看转诊列表（{side}）：{len(rows)}条")
    views = [_view(session, actor, r, now, names, people[r.resident_id].name if r.resident_id in people else "",
                   detail=False) for r in rows]
    if side == Side.RECEIVED or side == Side.OFFICE:
        far = datetime.max.replace(tzinfo=now.tzinfo)
        views.sort(key=lambda v: (v.next_deadline.at if v.next_deadline else far, v.id))
    return views


def approvals(session: Session, actor: Principal, now: datetime | None = None) -> list[ReferralView]:
    """The referral office's queue: out-of-network referrals awaiting approval in its consortia."""
    return [v for v in list_referrals(session, actor, Side.OFFICE, open_only=True, now=now)
            if v.status == Status.AWAITING_APPROVAL.value]


def available_slots(session: Session, actor: Principal, referral_id: int, *, hold: bool,
                    now: datetime | None = None) -> list[slots.AvailableSlot]:
    """Free future slots of the receiver that this referral may hold (a referral pool open to the sender)
    or be scheduled into."""
    now = now or utcnow()
    ep = _episode(session, actor, referral_id)
    consortia = repository.network_consortia_of(session, ep.sending_institution_id, to_local(now).date())
    return slots.available_slots(session, ep.receiving_institution_id, now, referral_consortia=consortia, hold=hold)


# ---- notifications ------------------------------------------------------------------------


def notifications(session: Session, actor: Principal, *, unread_only: bool = False) -> list[Notification]:
    return repository.notifications_for(session, actor.user_id, _grants(actor, Role.CLINICIAN),
                                        _grants(actor, Role.REFERRAL_OFFICER), unread_only=unread_only)


def mark_read(session: Session, actor: Principal, notification_id: int, now: datetime | None = None) -> Notification:
    mine = {n.id: n for n in notifications(session, actor)}
    n = mine.get(notification_id)
    if n is None:
        raise NotFound("消息不存在。", code="notification_not_found")
    if n.read_at is None:
        n.read_at = now or utcnow()
        n.read_by = actor.user_id
        session.flush()
    return n
