"""Small builders for the indicator tests: a hand-made county, encounters with settlements, enrolments,
contracts, referrals and slots.  Every test computes its expected numbers by hand from these rows."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

import builders as b
from yilian.core.clock import SHANGHAI, utcnow
from yilian.db.models import (
    Appointment,
    Consortium,
    Contract,
    ContractDelivery,
    ContractPackage,
    Department,
    Encounter,
    FamilyDoctorTeam,
    Institution,
    InsuranceEnrolment,
    KeyPopulation,
    ReferralEpisode,
    ReferralFollowUpTask,
    Resident,
    Schedule,
    ServicePackage,
    ServicePackageItem,
    Settlement,
    Slot,
    SlotPool,
)
from yilian.identity.principal import Principal
from yilian.indicators import engine, periods
from yilian.indicators.catalogue import Cut
from yilian.indicators.values import IndicatorRow

_seq = itertools.count(1)
COUNTY = "320681"
T1, T2 = "320681100", "320681101"
CITY_DISTRICT = "320602"


@dataclass
class World:
    hospital: Institution  # county general hospital, lead of c1
    tcm: Institution  # TCM hospital, lead of c2
    w1: Institution  # township centre (C210) in T1, member of c1
    w2: Institution  # township centre (C220) in T2, member of c2
    v1: Institution  # village clinic (D600) in T1, member of c1
    city: Institution  # out-of-county city hospital
    c1: Consortium
    c2: Consortium


def world(session: Session) -> World:
    b.division(session, COUNTY, "测试县", "county")
    b.division(session, T1, "一镇", "township", COUNTY)
    b.division(session, T2, "二镇", "township", COUNTY)
    b.division(session, CITY_DISTRICT, "市区", "county")
    hospital = b.institution(session, code="H", name="县人民医院", category="A100", level="3", division_code=COUNTY)
    tcm = b.institution(session, code="Z", name="县中医院", category="A210", level="2", division_code=COUNTY)
    w1 = b.institution(session, code="W1", name="一镇中心卫生院", category="C210", level="unrated", division_code=T1)
    w2 = b.institution(session, code="W2", name="二镇卫生院", category="C220", level="unrated", division_code=T2)
    v1 = b.institution(session, code="V1", name="一镇甲村卫生室", category="D600", level="unrated", division_code=T1,
                       parent_id=w1.id)
    city = b.institution(session, code="O", name="市第一医院", category="A100", level="3",
                         division_code=CITY_DISTRICT)
    city.in_county = False
    session.flush()
    c1 = b.consortium(session, code="C1", lead=hospital, division_code=COUNTY)
    b.member(session, c1, w1)
    b.member(session, c1, v1)
    c2 = b.consortium(session, code="C2", lead=tcm, division_code=COUNTY)
    b.member(session, c2, w2)
    return World(hospital, tcm, w1, w2, v1, city, c1, c2)


def resident(session: Session, home: str | None, *, insured: str | None = COUNTY, born: date = date(1960, 5, 1),
             sex: int = 1, name: str = "张三明", insured_from: date = date(2020, 1, 1),
             insured_until: date | None = None) -> Resident:
    r = b.resident(session, name=name, sex=sex, birth_date=born, division_code=home)
    if insured:
        session.add(InsuranceEnrolment(resident_id=r.id, scheme="resident", insured_division_code=insured,
                                       start_on=insured_from, end_on=insured_until))
        session.flush()
    return r


def _settle(session: Session, e: Encounter, inst: Institution, day: date, cost: str, fund: str, drugs: str) -> None:
    total, paid, drug = Decimal(cost), Decimal(fund), Decimal(drugs)
    session.add(Settlement(
        encounter_id=e.id, settled_on=day, scheme="resident", place="county" if inst.in_county else "out_of_county",
        in_county=inst.in_county, source="his" if inst.in_county else "insurance", total_cost=total,
        cost_drugs=drug, cost_exams=total - drug, cost_treatment=Decimal(0), cost_materials=Decimal(0),
        cost_beds=Decimal(0), cost_other=Decimal(0), policy_cost=total, deductible=Decimal(0), ratio=Decimal("0.5"),
        fund_paid=paid, patient_paid=total - paid))
    session.flush()


def _encounter(session: Session, r: Resident, inst: Institution, kind: str, start: date, end: date | None,
               referral_episode_id: int | None = None) -> Encounter:
    n = next(_seq)
    e = Encounter(source_system="test", source_id=f"E{n}", resident_id=r.id, institution_id=inst.id, kind=kind,
                  start_date=start, end_date=end, age_years=60, principal_dx="I10", diagnoses="I10",
                  referral_episode_id=referral_episode_id, received_at=utcnow())
    session.add(e)
    session.flush()
    return e


def visit(session: Session, r: Resident, inst: Institution, day: date, cost: str | None = None, fund: str = "0",
          drugs: str = "0", kind: str = "outpatient") -> Encounter:
    e = _encounter(session, r, inst, kind, day, None)
    if cost is not None:
        _settle(session, e, inst, day, cost, fund, drugs)
    return e


def stay(session: Session, r: Resident, inst: Institution, admitted: date, discharged: date | None,
         cost: str | None = None, fund: str = "0", drugs: str = "0",
         referral_episode_id: int | None = None) -> Encounter:
    e = _encounter(session, r, inst, "inpatient", admitted, discharged, referral_episode_id)
    if cost is not None:
        _settle(session, e, inst, discharged or admitted, cost, fund, drugs)
    return e


def key_population(session: Session, r: Resident, code: str, since: date = date(2020, 1, 1),
                   until: date | None = None) -> None:
    session.add(KeyPopulation(resident_id=r.id, code=code, since=since, until=until))
    session.flush()


def team(session: Session, inst: Institution) -> FamilyDoctorTeam:
    t = FamilyDoctorTeam(institution_id=inst.id, code=f"TEAM{next(_seq)}", name="团队", created_at=utcnow())
    session.add(t)
    session.flush()
    return t


def contract(session: Session, r: Resident, t: FamilyDoctorTeam, start: date, end: date, *, status: str = "active",
             stop: date | None = None, packages: list[ServicePackage] | None = None) -> Contract:
    now = utcnow()
    c = Contract(resident_id=r.id, team_id=t.id, institution_id=t.institution_id, status=status, signed_on=start,
                 start_on=start, end_on=end, stop_on=stop, created_at=now, updated_at=now)
    session.add(c)
    session.flush()
    for p in packages or []:
        session.add(ContractPackage(contract_id=c.id, package_id=p.id))
    session.flush()
    return c


def package(session: Session, items: list[tuple[str, str, str]]) -> ServicePackage:
    """items: (code, frequency, populations comma-joined)."""
    p = ServicePackage(code=f"PKG{next(_seq)}", name="基础包", kind="basic", created_at=utcnow())
    session.add(p)
    session.flush()
    for code, freq, pops in items:
        session.add(ServicePackageItem(package_id=p.id, code=code, name=code, frequency=freq, populations=pops,
                                       price=Decimal(0), payer="fund"))
    session.flush()
    return p


def delivered(session: Session, c: Contract, p: ServicePackage, item_code: str, on: date) -> None:
    item = next(i for i in session.query(ServicePackageItem).filter_by(package_id=p.id, code=item_code))
    session.add(ContractDelivery(contract_id=c.id, package_item_id=item.id, item_code=item_code,
                                 resident_id=c.resident_id, delivered_on=on, institution_id=c.institution_id,
                                 recorded_at=utcnow()))
    session.flush()


def local(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """A UTC timestamp at a Beijing wall-clock time."""
    return datetime.combine(day, time(hour, minute), SHANGHAI).astimezone(UTC)


def referral(session: Session, r: Resident, sender: Institution, receiver: Institution, direction: str,
             submitted: datetime | None, *, status: str = "requested", approval: str | None = "not_required",
             user_id: int, **stamps: Any) -> ReferralEpisode:
    now = utcnow()
    deadlines = stamps.pop("deadlines", {"accept_escalate": 48 * 3600 if direction == "down" else 24 * 3600})
    ep = ReferralEpisode(resident_id=r.id, direction=direction, urgency=None if direction == "down" else "routine",
                         status=status, sending_institution_id=sender.id, created_by=user_id, sent_by=user_id,
                         receiving_institution_id=receiver.id, approval=approval, deadlines=deadlines,
                         benefits=[], created_at=now, updated_at=now, submitted_at=submitted, **stamps)
    session.add(ep)
    session.flush()
    return ep


def followup(session: Session, ep: ReferralEpisode, due_at: datetime, done_on: date | None) -> None:
    session.add(ReferralFollowUpTask(referral_id=ep.id, resident_id=ep.resident_id,
                                     institution_id=ep.receiving_institution_id, status="done" if done_on else "open",
                                     due_at=due_at, done_on=done_on, created_at=utcnow()))
    session.flush()


def pool(session: Session, inst: Institution, kind: str, consortium: Consortium | None = None) -> SlotPool:
    p = SlotPool(institution_id=inst.id, kind=kind, consortium_id=consortium.id if consortium else None,
                 name=kind, created_at=utcnow())
    session.add(p)
    session.flush()
    return p


def slot(session: Session, inst: Institution, p: SlotPool, day: date, hour: int = 9, capacity: int = 1) -> Slot:
    dept = Department(institution_id=inst.id, code=f"D{next(_seq)}", name="内科")
    session.add(dept)
    session.flush()
    sched = Schedule(institution_id=inst.id, department_id=dept.id, name="门诊", registration_fee=Decimal(0),
                     created_at=utcnow())
    session.add(sched)
    session.flush()
    start = local(day, hour)
    s = Slot(institution_id=inst.id, schedule_id=sched.id, pool_id=p.id, kind="appointment", start_at=start,
             end_at=start + timedelta(minutes=30), capacity=capacity, booked_count=0, created_at=utcnow())
    session.add(s)
    session.flush()
    return s


def book(session: Session, s: Slot, r: Resident, *, pool_kind: str, channel: str, status: str = "booked",
         held: bool = False, place: int = 1) -> Appointment:
    now = utcnow()
    a = Appointment(slot_id=s.id, place=place, active_place=None if status == "cancelled" else place,
                    resident_id=r.id, status=status, held=held, channel=channel, pool_kind=pool_kind,
                    booked_at=now, status_changed_at=now)
    session.add(a)
    session.flush()
    return a


def rows(session: Session, period: str, cut: Cut = Cut.COUNTY, *, basis: engine.Basis = engine.Basis.AGGREGATE,
         as_of: datetime | None = None) -> dict[tuple[str, str, str], IndicatorRow]:
    out = engine.compute(session, periods.parse(period), cut, basis=basis, as_of=as_of)
    return {r.key: r for r in out}


def row(session: Session, code: str, period: str = "2025", cut: Cut = Cut.COUNTY, unit: str = "", group: str = "",
        **kw: Any) -> IndicatorRow:
    return rows(session, period, cut, **kw)[(code, unit, group)]


def figures(r: IndicatorRow) -> tuple[Decimal | None, Decimal | None, Decimal | None, str, str]:
    return (r.numerator, r.denominator, r.value, r.status.value, r.reason)


def admin() -> Principal:
    return b.admin()
