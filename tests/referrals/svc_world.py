"""A small referral world on the migrated schema, for the service, API and concurrency tests.

County 341181 (Tianchang-shaped): consortium X (county community) led by the county hospital
HOSP (tier 3) with the centre CENTRE (tier 1), its village clinic VILLAGE (tier 0) and a second
centre OTHER (tier 1, the "unrelated institution C").  Consortium Y: another county community
(HOSP_Y, CENTRE_Y).  FAR: a tier-3 hospital of another county in no network (out of network).

Plain functions, not fixtures: a test builds what it needs in its own transaction and names it.
``refused`` runs a call the way the edge does (a savepoint rolled back on error) and checks that
the refusal changed nothing: the referral rows, transitions, escalations, slots and appointments,
care relationships, follow-up tasks, notifications and queued events are as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import builders as b
from yilian.core.errors import DomainError
from yilian.core.events import Event as CoreEvent
from yilian.db.models import (
    Appointment,
    CareRelationship,
    Contract,
    Department,
    FamilyDoctorTeam,
    Institution,
    Notification,
    ReferralCatalogueEntry,
    ReferralEpisode,
    ReferralEscalation,
    ReferralEvent,
    ReferralFollowUpTask,
    Resident,
    RoleGrant,
    Slot,
    User,
)
from yilian.identity import audit
from yilian.identity.principal import Principal
from yilian.identity.roles import Role
from yilian.identity.service import principal_of
from yilian.referrals import service, slots
from yilian.referrals.notices import NOTIFY, write_inbox
from yilian.referrals.schemas import CheckInIn, DraftIn, EventIn, SubmitIn

NOW = datetime(2026, 6, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, a Monday
COUNTY, FAR_COUNTY = "341181", "320102"
TOWNSHIP = "341181100"
PENDING = "yilian_pending_events"


@dataclass
class World:
    hosp: Institution
    centre: Institution
    village: Institution
    other: Institution
    hosp_y: Institution
    centre_y: Institution
    far: Institution
    x: int
    y: int
    users: dict[str, User] = field(default_factory=dict)
    resident: Resident | None = None
    stranger: Resident | None = None
    slots_x: list[Slot] = field(default_factory=list)
    slots_y: list[Slot] = field(default_factory=list)
    far_slots: list[Slot] = field(default_factory=list)
    department: Department | None = None

    def p(self, name: str) -> Principal:
        return principal_of(self.users[name])

    @property
    def rid(self) -> int:
        assert self.resident is not None
        return self.resident.id


def _user(session: Session, name: str, role: Role, *, institution: Institution | None = None,
          consortium: int | None = None) -> User:
    return b.user(session, role, institution_id=institution.id if institution else None, consortium_id=consortium,
                  username=f"{name}-{next(b._seq)}")


def _also(session: Session, user: User, role: Role, institution: Institution) -> None:
    session.add(RoleGrant(user_id=user.id, role=role.value, institution_id=institution.id))
    session.flush()
    session.refresh(user)


CATALOGUE_CSV = """catalogue,icd10,name
up,I21,急性心肌梗死
up,I63,脑梗死
down,I63,脑梗死恢复期
down,I10,原发性高血压
rehab,S72,股骨骨折术后
must_treat_county,I21,急性心肌梗死
must_treat_township,J18,肺炎
"""


def world(session: Session) -> World:
    b.division(session, COUNTY, "天长市", "county")
    b.division(session, TOWNSHIP, "天长街道", "township", parent_code=COUNTY)
    b.division(session, FAR_COUNTY, "远方区", "county")
    hosp = b.institution(session, name="县人民医院", category="A100", level="3", division_code=COUNTY)
    centre = b.institution(session, name="街道卫生院", category="C210", level="unrated", division_code=TOWNSHIP)
    village = b.institution(session, name="东村卫生室", category="D600", level="unrated", division_code=TOWNSHIP,
                            parent_id=centre.id)
    other = b.institution(session, name="西镇卫生院", category="C220", level="unrated", division_code=COUNTY)
    hosp_y = b.institution(session, name="县中医院", category="A210", level="3", division_code=COUNTY)
    centre_y = b.institution(session, name="北镇卫生院", category="C220", level="unrated", division_code=COUNTY)
    far = b.institution(session, name="省立医院", category="A100", level="3", division_code=FAR_COUNTY)
    x = b.consortium(session, lead=hosp, division_code=COUNTY)
    for inst in (centre, village, other):
        b.member(session, x, inst)
    y = b.consortium(session, lead=hosp_y, division_code=COUNTY)
    b.member(session, y, centre_y)
    w = World(hosp, centre, village, other, hosp_y, centre_y, far, x.id, y.id)
    w.users = {
        "gp": _user(session, "gp", Role.CLINICIAN, institution=centre),
        "gp2": _user(session, "gp2", Role.CLINICIAN, institution=centre),
        "cunyi": _user(session, "cunyi", Role.CLINICIAN, institution=village),
        "spec": _user(session, "spec", Role.CLINICIAN, institution=hosp),
        "spec2": _user(session, "spec2", Role.CLINICIAN, institution=hosp),
        "dual": _user(session, "dual", Role.CLINICIAN, institution=centre),
        "outsider": _user(session, "outsider", Role.CLINICIAN, institution=other),
        "far_doc": _user(session, "far", Role.CLINICIAN, institution=far),
        "spec_y": _user(session, "specy", Role.CLINICIAN, institution=hosp_y),
        "officer_x": _user(session, "zzb", Role.REFERRAL_OFFICER, consortium=x.id),
        "officer_y": _user(session, "zzby", Role.REFERRAL_OFFICER, consortium=y.id),
        "manager_x": _user(session, "mgr", Role.CONSORTIUM_MANAGER, consortium=x.id),
        "pharmacist": _user(session, "ph", Role.PHARMACIST, institution=hosp),
    }
    _also(session, w.users["dual"], Role.CLINICIAN, hosp)
    w.resident = b.resident(session, name="王大爷", division_code=TOWNSHIP)
    b.relate(session, w.resident, centre)
    b.relate(session, w.resident, village)
    w.stranger = b.resident(session, name="李四", division_code=COUNTY)
    b.relate(session, w.stranger, far)
    for kind, code, name in (("up", "I21", "急性心肌梗死"), ("up", "I63", "脑梗死"), ("down", "I63", "脑梗死恢复期"),
                             ("down", "I10", "原发性高血压"), ("rehab", "S72", "股骨骨折术后"),
                             ("must_treat_county", "I21", "急性心肌梗死"), ("must_treat_township", "J18", "肺炎")):
        session.add(ReferralCatalogueEntry(consortium_id=x.id, kind=kind, icd10=code, name=name, loaded_at=NOW))
    dep = Department(institution_id=hosp.id, code="XNK", name="心内科")
    session.add(dep)
    session.flush()
    w.department = dep
    tomorrow = NOW + timedelta(days=1)
    w.slots_x = slots.open_referral_slots(session, hosp.id, x.id, [tomorrow + timedelta(minutes=30 * i)
                                                                  for i in range(6)], department_id=dep.id)
    w.slots_y = slots.open_referral_slots(session, hosp.id, y.id, [tomorrow + timedelta(hours=5)],
                                          department_id=dep.id, name="Y 预留")
    dep_y = Department(institution_id=hosp_y.id, code="NK", name="内科")
    session.add(dep_y)
    session.flush()
    w.far_slots = slots.open_referral_slots(session, hosp_y.id, y.id, [tomorrow], name="外院", department_id=dep_y.id)
    return w


def contract_with(session: Session, w: World, institution: Institution) -> FamilyDoctorTeam:
    """A contract in force for the resident with a team of ``institution`` (auto-acceptance)."""
    team = FamilyDoctorTeam(institution_id=institution.id, code=f"T{next(b._seq)}", name="家庭医生一队",
                            created_at=NOW)
    session.add(team)
    session.flush()
    session.add(Contract(resident_id=w.rid, team_id=team.id, institution_id=institution.id, status="active",
                         signed_on=date(2026, 1, 1), start_on=date(2026, 1, 1), end_on=date(2026, 12, 31),
                         version=1, created_at=NOW, updated_at=NOW))
    session.flush()
    return team


# ---- drafts and walks ----------------------------------------------------------------------


def up_draft(session: Session, w: World, *, sender: str = "gp", receiver: Institution | None = None,
             **fields: Any) -> ReferralEpisode:
    data = {"resident_id": w.rid, "receiving_institution_id": (receiver or w.hosp).id, "direction": "up",
            "urgency": "routine", "diagnoses": ["I21.901"], **fields}
    return service.do_create_draft(session, w.p(sender), DraftIn(**data), now=NOW)


def down_draft(session: Session, w: World, *, sender: str = "spec", receiver: Institution | None = None,
               **fields: Any) -> ReferralEpisode:
    data = {"resident_id": w.rid, "receiving_institution_id": (receiver or w.centre).id, "direction": "down",
            "diagnoses": ["I63.900"], "summary": "出院小结", "care_plan": "康复训练",
            "medications": "阿司匹林 100mg qd",
            "followup_instructions": "1周内随访血压", **fields}
    return service.do_create_draft(session, w.p(sender), DraftIn(**data), now=NOW)


def submitted(session: Session, w: World, *, slot: Slot | None = None, at: datetime = NOW,
              **fields: Any) -> ReferralEpisode:
    ep = up_draft(session, w, **fields)
    return service.do_submit(session, w.p(fields.get("sender", "gp")), ep.id,
                             SubmitIn(version=ep.version, slot_id=slot.id if slot else None), now=at)


def hospital_treated(session: Session, w: World) -> None:
    """The resident was treated at the hospital (so its clinicians may refer them down)."""
    b.relate(session, w.resident, w.hosp, kind="treated")  # type: ignore[arg-type]


def accepted(session: Session, w: World, *, slot: Slot | None = None) -> ReferralEpisode:
    ep = submitted(session, w, slot=slot)
    return service.do_accept(session, w.p("spec"), ep.id, EventIn(version=ep.version), now=NOW + timedelta(hours=1))


def in_care(session: Session, w: World) -> ReferralEpisode:
    ep = accepted(session, w, slot=w.slots_x[0])
    return service.do_check_in(session, w.p("spec"), ep.id, CheckInIn(version=ep.version, care_setting="outpatient"),
                               now=NOW + timedelta(hours=2))


# ---- "changed nothing" ----------------------------------------------------------------------


def _rows(session: Session, model: Any) -> list[dict[str, Any]]:
    return [audit.snapshot(r) for r in session.scalars(select(model).order_by(*model.__table__.primary_key.columns))]


def state(session: Session) -> dict[str, Any]:
    """Everything a refused event must leave as it was (the audit log may gain an access-denied row)."""
    session.flush()
    session.expire_all()
    return {
        "episodes": _rows(session, ReferralEpisode), "events": _rows(session, ReferralEvent),
        "escalations": _rows(session, ReferralEscalation), "slots": _rows(session, Slot),
        "appointments": _rows(session, Appointment), "care": _rows(session, CareRelationship),
        "tasks": _rows(session, ReferralFollowUpTask), "notifications": _rows(session, Notification),
        "pending": [e.payload for e in session.info.get(PENDING, [])],
    }


def refused(session: Session, call: Callable[[], object], error: type[DomainError], code: str) -> DomainError:
    """Run ``call`` as the edge does (rolled back on error); assert the refusal and that nothing changed."""
    before = state(session)
    with pytest.raises(error) as caught, session.begin_nested():
        call()
    assert caught.value.code == code, (caught.value.code, caught.value.message)
    assert type(caught.value) is error or error is DomainError
    assert state(session) == before
    return caught.value


def deliver(session: Session) -> list[Notification]:
    """Run the queued notification events in this session (what the edge does after commit)."""
    pending: list[CoreEvent] = session.info.pop(PENDING, [])
    for ev in pending:
        if ev.name == NOTIFY:
            write_inbox(session, ev)
    session.flush()
    return list(session.scalars(select(Notification).order_by(Notification.id)))


def events_of(session: Session, ep: ReferralEpisode) -> list[ReferralEvent]:
    return list(session.scalars(select(ReferralEvent).where(ReferralEvent.referral_id == ep.id)
                                .order_by(ReferralEvent.seq)))
