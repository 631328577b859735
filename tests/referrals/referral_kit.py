"""Typed builders for the pure referral tests: institutions, people, drafts, and walks to any status.

The network: a community centre (tier 1) and a county hospital (tier 3) in
consortium X; an unrelated clinic; a far hospital outside the network and the
county (out-of-network target).  Up and lateral referrals go centre → hospital,
down-referrals hospital → centre.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from yilian.contracts.config import PriorityBenefit
from yilian.identity.principal import Grant, Principal
from yilian.identity.roles import Role
from yilian.referrals.config import CatalogueEntry, CatalogueKind, Catalogues, ReferralPolicy
from yilian.referrals.records import (
    CareSetting,
    ContractTeam,
    DeclineCode,
    FollowUp,
    FollowUpEvidence,
    FollowUpMode,
    FollowUpSource,
    Handover,
    Outcome,
    ReferralFacts,
    Routing,
)
from yilian.referrals.states import (
    SYSTEM,
    Actor,
    Direction,
    Event,
    EventInput,
    ReferralSnapshot,
    Status,
    Urgency,
    next_snapshot,
    transition,
)
from yilian.scheduling.rules import Pool, PoolKind, SlotInfo

T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
LATER = T0 + timedelta(days=60)  # every deadline of REFERRAL.md has passed by then

CENTRE, HOSPITAL, CLINIC, FAR = 10, 20, 30, 40
X, Y = 1, 2  # consortia
COUNTY, OTHER_COUNTY = "341181", "320102"


def uid(person: Principal) -> int:
    assert person.user_id is not None
    return person.user_id


def clinician(user_id: int, *institutions: int) -> Principal:
    grants = tuple(Grant(Role.CLINICIAN, institution_id=i) for i in institutions)
    return Principal(user_id, f"u{user_id}", f"用户{user_id}", grants)


def officer(user_id: int, consortium: int, *, also_clinician_at: int | None = None) -> Principal:
    grants = [Grant(Role.REFERRAL_OFFICER, consortium_id=consortium)]
    if also_clinician_at is not None:
        grants.append(Grant(Role.CLINICIAN, institution_id=also_clinician_at))
    return Principal(user_id, f"u{user_id}", f"用户{user_id}", tuple(grants))


GP = clinician(100, CENTRE)
GP2 = clinician(101, CENTRE)
DUAL = clinician(102, CENTRE, HOSPITAL)  # multi-site practice: clinician at both ends
SPEC = clinician(200, HOSPITAL)
SPEC2 = clinician(201, HOSPITAL)
OUTSIDER = clinician(300, CLINIC)
FAR_DOC = clinician(600, FAR)
OFFICER_X = officer(400, X)
OFFICER_Y = officer(401, Y)
PHARMACIST_B = Principal(500, "ph", "药师", (Grant(Role.PHARMACIST, institution_id=HOSPITAL),))
MANAGER_X = Principal(501, "mgr", "管理", (Grant(Role.CONSORTIUM_MANAGER, consortium_id=X),))
ADMIN = Principal(502, "admin", "管理员", (Grant(Role.SYSTEM_ADMIN),))

_CLINICIANS = {CENTRE: (GP, GP2), HOSPITAL: (SPEC, SPEC2), CLINIC: (OUTSIDER,), FAR: (FAR_DOC,)}


def _entry(kind: CatalogueKind, code: str, name: str) -> CatalogueEntry:
    return CatalogueEntry(kind, code, name)


CATALOGUES = Catalogues(
    (
        _entry(CatalogueKind.UP, "I21", "急性心肌梗死"),
        _entry(CatalogueKind.DOWN, "I63", "脑梗死"),
        _entry(CatalogueKind.REHAB, "S72", "股骨骨折术后"),
        _entry(CatalogueKind.MUST_TREAT_COUNTY, "I21", "急性心肌梗死"),
        _entry(CatalogueKind.MUST_TREAT_TOWNSHIP, "J18", "肺炎"),
    )
)
POLICY = ReferralPolicy(catalogues=CATALOGUES)
HANDOVER = Handover("出院小结", "康复方案", "阿司匹林 100mg qd", "1周内随访血压")


def draft(
    direction: Direction = Direction.UP, *, out_of_network: bool = False, **overrides: Any
) -> ReferralSnapshot:
    """A complete, valid draft; ``overrides`` replace any snapshot field."""
    if direction == Direction.DOWN:
        sending, receiving, sent_by, dx = HOSPITAL, CENTRE, uid(SPEC), ("I63.900",)
        tiers = (3, 1)
    else:
        sending, receiving, sent_by, dx = CENTRE, HOSPITAL, uid(GP), ("I21.901",)
        tiers = (1, 3)
    if out_of_network:
        receiving = FAR
    facts = ReferralFacts(
        sender_tier=tiers[0],
        receiver_tier=3 if out_of_network else tiers[1],
        sender_county=COUNTY,
        receiver_county=OTHER_COUNTY if out_of_network else COUNTY,
        network=frozenset({CENTRE, HOSPITAL}),
        sender_consortia=frozenset({X}),
    )
    base = ReferralSnapshot(
        referral_id=1,
        resident_id=7,
        direction=direction,
        sending_institution_id=sending,
        receiving_institution_id=receiving,
        sent_by=sent_by,
        urgency=Urgency.ROUTINE,
        governing_consortium_id=X,
        receiving_consortium_id=None if out_of_network else X,
        diagnoses=dx,
        handover=HANDOVER if direction == Direction.DOWN else None,
        status_entered_at=T0 - timedelta(hours=1),
        facts=facts,
    )
    return replace(base, **overrides)


def sender_of(snap: ReferralSnapshot) -> Principal:
    """The author if we know them as a clinician of the sending institution, else a colleague."""
    people = _CLINICIANS[snap.sending_institution_id]
    return next((p for p in people if p.user_id == snap.sent_by), people[0])


def receiver_of(snap: ReferralSnapshot) -> Principal:
    return next(p for p in _CLINICIANS[snap.receiving_institution_id] if p.user_id != snap.sent_by)


def fellow_of_sender(snap: ReferralSnapshot) -> Principal:
    """Another clinician of the sending institution (not ``sent_by``)."""
    return next(p for p in _CLINICIANS[snap.sending_institution_id] if p.user_id != snap.sent_by)


def slot(
    slot_id: int,
    start: datetime,
    *,
    institution: int = HOSPITAL,
    kind: PoolKind = PoolKind.PUBLIC,
    consortium: int | None = X,
    free: bool = True,
    release_before: timedelta | None = None,
) -> SlotInfo:
    pool = Pool(kind, institution, consortium if kind != PoolKind.PUBLIC else None, release_before)
    return SlotInfo(slot_id, institution, start, free, pool)


def payload(event: Event, snap: ReferralSnapshot, now: datetime, **overrides: Any) -> EventInput:
    """A valid input for ``event`` on ``snap`` (version included)."""
    local_today = (now + timedelta(hours=8)).date()
    fields: dict[str, Any] = {"version": snap.version}
    if event in (Event.REJECT, Event.CANCEL, Event.REQUEST_CANCEL):
        fields["reason"] = "患者要求"
    elif event == Event.DECLINE:
        fields["decline_code"] = DeclineCode.NO_CAPACITY
    elif event in (Event.SCHEDULE, Event.RESCHEDULE):
        fields["slot"] = slot(
            900 + snap.version, now + timedelta(days=2), institution=snap.receiving_institution_id
        )
    elif event == Event.CHECK_IN:
        fields["care_setting"] = CareSetting.OUTPATIENT
    elif event == Event.NOTE:
        fields["text"] = "已安排检查"
    elif event == Event.COMPLETE:
        fields["outcome"] = Outcome("PCI术后", ("I21.901",), "回社区随访")
    elif event == Event.REASSIGN:
        fields["routing"] = Routing(snap.receiving_institution_id, department_id=5)
    elif event == Event.RECORD_FOLLOWUP:
        fields["followup"] = FollowUp(local_today, FollowUpMode.HOME, "血压稳定", "继续服药")
    elif event == Event.FOLLOWUP_SEEN:
        fields["evidence"] = FollowUpEvidence(
            FollowUpSource.ENCOUNTER, local_today, snap.receiving_institution_id, None, "evt-1"
        )
    fields.update(overrides)
    return EventInput(event, **fields)


def apply(
    snap: ReferralSnapshot,
    event: Event,
    actor: Actor,
    now: datetime,
    policy: ReferralPolicy = POLICY,
    **kw: Any,
) -> ReferralSnapshot:
    """Transition and read back, running a follow-on (row 18 after row 1) as the service would."""
    decision = transition(snap, payload(event, snap, now, **kw), actor, now, policy)
    after = next_snapshot(snap, decision)
    if decision.follow_on is not None:
        follow = transition(after, EventInput(decision.follow_on), SYSTEM, now, policy)
        after = next_snapshot(after, follow)
    return after


_STEP = timedelta(hours=1)


def reach(
    status: Status,
    direction: Direction = Direction.UP,
    *,
    urgency: Urgency = Urgency.ROUTINE,
    policy: ReferralPolicy = POLICY,
    **overrides: Any,
) -> tuple[ReferralSnapshot, datetime]:
    """A referral walked through real transitions to ``status``; returns it and the last step's time."""
    out_of_network = status == Status.AWAITING_APPROVAL
    snap = draft(direction, out_of_network=out_of_network, urgency=urgency, **overrides)
    if status == Status.DRAFT:
        return snap, T0
    t = T0
    snap = apply(snap, Event.SUBMIT, sender_of(snap), t, policy)
    path: dict[Status, list[Event]] = {
        Status.AWAITING_APPROVAL: [],
        Status.REQUESTED: [],
        Status.ACCEPTED: [Event.ACCEPT],
        Status.SCHEDULED: [Event.ACCEPT, Event.SCHEDULE],
        Status.NO_SHOW: [Event.ACCEPT, Event.SCHEDULE, Event.MARK_NO_SHOW],
        Status.IN_CARE: [Event.ACCEPT, Event.CHECK_IN],
        Status.CANCEL_REQUESTED: [Event.ACCEPT, Event.REQUEST_CANCEL],
        Status.COMPLETED: [Event.ACCEPT, Event.CHECK_IN]
        + ([Event.RECORD_FOLLOWUP] if direction == Direction.DOWN else [Event.COMPLETE]),
        Status.DECLINED: [Event.DECLINE],
        Status.CANCELLED: [Event.CANCEL],
        Status.EXPIRED: [Event.EXPIRE],
    }
    for event in path[status]:
        t = t + _STEP
        if event == Event.MARK_NO_SHOW:
            assert snap.slot is not None
            t = snap.slot.start + _STEP
        if event == Event.EXPIRE:
            t = LATER
        actor: Actor
        if event == Event.REQUEST_CANCEL or event == Event.CANCEL:
            actor = sender_of(snap)
        elif event == Event.EXPIRE:
            actor = SYSTEM
        else:
            actor = receiver_of(snap)
        snap = apply(snap, event, actor, t, policy)
    assert snap.status == status, (snap.status, status)
    return snap, t


def contract_team_at(institution: int) -> ContractTeam:
    return ContractTeam(team_id=77, institution_id=institution)


def local_date(moment: datetime) -> date:
    return (moment + timedelta(hours=8)).date()


ALL_BENEFITS = frozenset(PriorityBenefit)
