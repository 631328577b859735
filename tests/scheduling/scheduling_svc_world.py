"""A small world for the scheduling service tests.

County hospital H (tier 3, department 心内科) leads tight county community X; community
centre A is a member of X, centre C a member of another consortium Y, centre B of none.
H has a public pool, a referral pool open to X (released 24 h before the slot) and a
contract pool for residents of teams in X's network.  One morning session on DAY
(08:00–12:00 Beijing, 15-minute slots): 16 slots, 3 referral, 1 contract, 12 public.

Residents: ``contracted`` (registered at A, under contract with A's team), ``plain``
(registered at A, no contract), ``stranger`` (registered at B only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

import builders as b
from yilian.contracts import service as contracts
from yilian.contracts import teams
from yilian.contracts.schemas import SignIn, TeamIn, TeamMemberIn
from yilian.core.clock import SHANGHAI, utcnow
from yilian.db.models import (
    Appointment,
    AuditLog,
    Consortium,
    Department,
    Institution,
    Practitioner,
    ReferralEpisode,
    Resident,
    Schedule,
    Slot,
    SlotPool,
    User,
)
from yilian.identity.principal import Principal
from yilian.identity.roles import Role
from yilian.identity.service import principal_of
from yilian.scheduling import schedules
from yilian.scheduling.schemas import PoolIn, ScheduleIn, SessionIn

NOW = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # 09:00 in Beijing on 3 March
DAY = date(2025, 3, 5)


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=SHANGHAI).astimezone(UTC)


@dataclass
class World:
    hospital: Institution
    centre_a: Institution
    centre_b: Institution
    centre_c: Institution
    x: Consortium
    y: Consortium
    dept: Department
    schedule: Schedule
    public: SlotPool
    referral: SlotPool
    contract: SlotPool
    contracted: Resident
    plain: Resident
    stranger: Resident
    users: dict[str, User]

    def who(self, name: str) -> Principal:
        return principal_of(self.users[name])

    def slots(self, session: Session, kind: str, day: date = DAY) -> list[Slot]:
        pool = {"public": self.public, "referral": self.referral, "contract": self.contract}[kind]
        stmt = select(Slot).where(Slot.pool_id == pool.id, Slot.start_at >= at(day, 0),
                                  Slot.start_at < at(day + timedelta(days=1), 0))
        return list(session.scalars(stmt.order_by(Slot.start_at)))


def world(session: Session, *, capacity: int = 1) -> World:
    b.division(session, "320102", "测试县", "county")
    hospital = b.institution(session, name="县人民医院", category="A100", level="3")
    centre_a = b.institution(session, name="甲社区卫生服务中心", category="B100", level="unrated")
    centre_b = b.institution(session, name="乙镇卫生院", category="C210", level="unrated")
    centre_c = b.institution(session, name="丙社区卫生服务中心", category="B100", level="unrated")
    x = b.consortium(session, lead=hospital)
    b.member(session, x, centre_a)
    y = b.consortium(session, lead=b.institution(session, name="邻县医院", category="A100", level="2"))
    b.member(session, y, centre_c)
    dept = Department(institution_id=hospital.id, code="CARD", name="心内科")
    session.add(dept)
    session.flush()
    users = {
        "admin": b.user(session, Role.SYSTEM_ADMIN),
        "clin_h": b.user(session, Role.CLINICIAN, institution_id=hospital.id),
        "clin_a": b.user(session, Role.CLINICIAN, institution_id=centre_a.id),
        "clin_b": b.user(session, Role.CLINICIAN, institution_id=centre_b.id),
        "clin_c": b.user(session, Role.CLINICIAN, institution_id=centre_c.id),
        "pharm_h": b.user(session, Role.PHARMACIST, institution_id=hospital.id),
        "manager_x": b.user(session, Role.CONSORTIUM_MANAGER, consortium_id=x.id),
    }
    admin = principal_of(users["admin"])
    sched = schedules.do_create_schedule(session, admin, ScheduleIn(institution_id=hospital.id, department_id=dept.id,
                                                                    name="心内科普通门诊"))
    public = schedules.ensure_public_pool(session, hospital.id)
    referral = schedules.do_create_pool(session, admin, PoolIn(institution_id=hospital.id, kind="referral",
                                                               consortium_id=x.id))
    contract = schedules.do_create_pool(session, admin, PoolIn(institution_id=hospital.id, kind="contract",
                                                               consortium_id=x.id))
    schedules.do_generate_slots(session, admin, sched.id, SessionIn(
        first_day=DAY, start=time(8, 0), end=time(12, 0), slot_minutes=15, capacity=capacity,
        referral_pool_id=referral.id, contract_pool_id=contract.id))
    contracted = b.resident(session, name="签约居民")
    plain = b.resident(session, name="普通居民")
    stranger = b.resident(session, name="外机构居民")
    for r in (contracted, plain):
        b.relate(session, r, centre_a)
    b.relate(session, stranger, centre_b)
    _contract(session, admin, centre_a, contracted)
    return World(hospital, centre_a, centre_b, centre_c, x, y, dept, sched, public, referral, contract,
                 contracted, plain, stranger, users)


def _contract(session: Session, admin: Principal, centre: Institution, r: Resident) -> None:
    gp = Practitioner(code=f"GP-{centre.id}", name="全科医生", category="physician", title_level="intermediate",
                      home_institution_id=centre.id, created_at=utcnow())
    session.add(gp)
    session.flush()
    team = teams.do_create_team(session, admin, TeamIn(
        institution_id=centre.id, code="T1", name="家庭医生团队",
        members=[TeamMemberIn(practitioner_id=gp.id, role="gp_lead", joined_on=date(2024, 1, 1))]), NOW.date())
    contracts.do_sign(session, admin, SignIn(resident_id=r.id, team_id=team.id), NOW.date())


def episode(session: Session, w: World, r: Resident, sender: Institution, user: str = "clin_a") -> ReferralEpisode:
    """A bare referral episode row (the referral service will own these)."""
    uid = w.users[user].id
    e = ReferralEpisode(resident_id=r.id, direction="up", urgency="routine", status="draft", version=1,
                        sending_institution_id=sender.id, created_by=uid, sent_by=uid,
                        receiving_institution_id=w.hospital.id, benefits=[], status_entry_seq=1,
                        created_at=utcnow(), updated_at=utcnow())
    session.add(e)
    session.flush()
    return e


def snapshot(session: Session) -> dict[str, Any]:
    """Everything a refused booking or status change must leave alone."""
    slots = [(s.id, s.booked_count, s.released_at) for s in session.scalars(select(Slot).order_by(Slot.id))]
    appts = [(a.id, a.status, a.active_place, a.version, a.held) for a in
             session.scalars(select(Appointment).order_by(Appointment.id))]
    writes = session.scalar(select(func.count()).select_from(AuditLog)
                            .where(AuditLog.action.notin_(("read", "search"))))
    return {"slots": slots, "appointments": appts, "audit_writes": writes}
