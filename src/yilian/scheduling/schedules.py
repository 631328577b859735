"""Schedules, pools, slots and wards: set up capacity and show it by pool.

Slots are generated per session (a day's clinic from ``start`` to ``end`` cut into
``slot_minutes``): the configured shares go to the referral pool and the contract pool
(rounded down, at least one when a pool is given and the share is not zero), the rest
to the institution's public pool.  A ward's beds become one ``bed`` slot per day and pool,
its capacity the number of beds in that pool.  Generation is idempotent: a slot that
exists (same schedule or ward, pool and start) is not created twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_FLOOR, Decimal

from sqlalchemy.orm import Session

from yilian.core.clock import SHANGHAI, to_local, utcnow
from yilian.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yilian.db.models import Appointment, Department, Schedule, Slot, SlotPool, Ward
from yilian.identity import audit
from yilian.identity.principal import Principal
from yilian.identity.roles import Perm, Role
from yilian.identity.service import institution_scope
from yilian.scheduling import repository
from yilian.scheduling.rules import PoolKind, make_pool
from yilian.scheduling.schemas import BedDaysIn, PoolIn, ScheduleIn, SessionIn, WardIn
from yilian.scheduling.service import check_staff, settings_for, slot_kind_now

__all__ = [
    "POOL_NAMES_ZH",
    "DepartmentDay",
    "SlotView",
    "department_day",
    "departments",
    "do_create_pool",
    "do_create_schedule",
    "do_create_ward",
    "do_generate_slots",
    "do_open_bed_days",
    "ensure_public_pool",
    "list_pools",
    "list_slots",
    "slot_views",
]

POOL_NAMES_ZH: dict[str, str] = {"public": "公共号源", "referral": "转诊预留号源", "contract": "签约居民预留号源"}
MAX_DAYS = 92
BED_DAY_STARTS = time(8, 0)


def _check_pool_manage(session: Session, actor: Principal, institution_id: int, consortium_id: int | None) -> None:
    """Staff of the institution set up its pools; a consortium's manager may set up the referral
    pools reserved for that consortium (REFERRAL.md actors: "configures … referral pools")."""
    managed = {g.consortium_id for g in actor.grants if g.role == Role.CONSORTIUM_MANAGER}
    if consortium_id is not None and consortium_id in managed:
        scope = institution_scope(session, actor, Perm.RESIDENT_READ)
        if scope is None or institution_id in scope:
            return
    check_staff(session, actor, institution_id)


def ensure_public_pool(session: Session, institution_id: int) -> SlotPool:
    existing = repository.public_pool(session, institution_id)
    if existing is not None:
        return existing
    p = SlotPool(institution_id=institution_id, kind="public", consortium_id=None, name=POOL_NAMES_ZH["public"],
                 release_before_minutes=None, created_at=utcnow())
    session.add(p)
    session.flush()
    return p


def do_create_pool(session: Session, actor: Principal, data: PoolIn) -> SlotPool:
    if repository.institution(session, data.institution_id) is None:
        raise NotFound("医疗机构不存在。", code="institution_not_found", institution_id=data.institution_id)
    _check_pool_manage(session, actor, data.institution_id, data.consortium_id)
    if data.kind == "public":
        if data.consortium_id is not None or data.release_before_minutes is not None:
            raise ValidationFailed("公共号源池不指定医联体和释放时间。", code="pool_public_fields")
        return ensure_public_pool(session, data.institution_id)
    cfg = settings_for(session, data.institution_id, to_local(utcnow()).date())
    rule_pool = make_pool(PoolKind(data.kind), data.institution_id, cfg.policy, data.consortium_id)
    minutes = (data.release_before_minutes if data.release_before_minutes is not None
               else int(rule_pool.release_before.total_seconds() // 60) if rule_pool.release_before else None)
    p = SlotPool(institution_id=data.institution_id, kind=data.kind, consortium_id=data.consortium_id,
                 name=data.name or POOL_NAMES_ZH[data.kind], release_before_minutes=minutes, created_at=utcnow())
    session.add(p)
    session.flush()
    audit.record(session, actor, "create", "slot_pool", p.id, after=audit.snapshot(p))
    return p


def do_create_schedule(session: Session, actor: Principal, data: ScheduleIn) -> Schedule:
    check_staff(session, actor, data.institution_id)
    if data.department_id is None and data.practitioner_id is None:
        raise ValidationFailed("出诊表须属于科室或医生。", code="schedule_owner_required")
    if data.department_id is not None:
        dept = repository.department(session, data.department_id)
        if dept is None or dept.institution_id != data.institution_id:
            raise ValidationFailed("科室不属于该机构。", code="department_not_at_institution")
    if data.practitioner_id is not None and repository.practitioner(session, data.practitioner_id) is None:
        raise NotFound("医务人员不存在。", code="practitioner_not_found")
    s = Schedule(institution_id=data.institution_id, department_id=data.department_id,
                 practitioner_id=data.practitioner_id, name=data.name, registration_fee=data.registration_fee,
                 active=True, created_at=utcnow())
    session.add(s)
    session.flush()
    ensure_public_pool(session, data.institution_id)
    audit.record(session, actor, "create", "schedule", s.id, after=audit.snapshot(s))
    return s


def _days(first: date, last: date | None) -> Iterator[date]:
    last = last or first
    if last < first:
        raise ValidationFailed("结束日期早于开始日期。", code="date_range_invalid")
    if (last - first).days >= MAX_DAYS:
        raise ValidationFailed(f"一次最多生成{MAX_DAYS}天。", code="date_range_too_long")
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _reserved_pool(session: Session, pool_id: int | None, institution_id: int, kind: str) -> SlotPool | None:
    if pool_id is None:
        return None
    p = repository.pool(session, pool_id)
    if p is None or p.institution_id != institution_id or p.kind != kind:
        raise ValidationFailed(f"{POOL_NAMES_ZH[kind]}池不属于该机构。", code="pool_mismatch", pool_id=pool_id)
    return p


def _share(n: int, share: Decimal) -> int:
    if share <= 0 or n == 0:
        return 0
    return max(1, int((Decimal(n) * share).to_integral_value(rounding=ROUND_FLOOR)))


def _at(day: date, t: time) -> datetime:
    """A Beijing wall-clock time on ``day``, as the stored UTC instant."""
    return datetime.combine(day, t, tzinfo=SHANGHAI).astimezone(UTC)


def do_generate_slots(session: Session, actor: Principal, schedule_id: int, data: SessionIn) -> list[Slot]:
    sched = repository.schedule(session, schedule_id)
    if sched is None:
        raise NotFound("出诊表不存在。", code="schedule_not_found", schedule_id=schedule_id)
    check_staff(session, actor, sched.institution_id)
    if data.end <= data.start:
        raise ValidationFailed("结束时间须晚于开始时间。", code="session_invalid")
    referral = _reserved_pool(session, data.referral_pool_id, sched.institution_id, "referral")
    contract = _reserved_pool(session, data.contract_pool_id, sched.institution_id, "contract")
    public = ensure_public_pool(session, sched.institution_id)
    cfg = settings_for(session, sched.institution_id, data.first_day)
    now = utcnow()
    created: list[Slot] = []
    for day in _days(data.first_day, data.last_day):
        starts: list[datetime] = []
        at = _at(day, data.start)
        stop = _at(day, data.end)
        step = timedelta(minutes=data.slot_minutes)
        while at + step <= stop:
            starts.append(at)
            at += step
        n_ref = _share(len(starts), cfg.referral_share) if referral else 0
        n_con = _share(len(starts) - n_ref, cfg.contract_share) if contract else 0
        for i, start in enumerate(starts):
            pool = referral if i < n_ref else contract if i < n_ref + n_con else public
            assert pool is not None
            if repository.slot_exists(session, schedule_id=sched.id, ward_id=None, pool_id=pool.id, start=start):
                continue
            created.append(Slot(institution_id=sched.institution_id, schedule_id=sched.id, pool_id=pool.id,
                                kind="appointment", start_at=start, end_at=start + step, capacity=data.capacity,
                                booked_count=0, created_at=now))
    session.add_all(created)
    session.flush()
    audit.record(session, actor, "create", "slot", detail=f"出诊表{sched.id}生成号源{len(created)}个")
    return created


def do_create_ward(session: Session, actor: Principal, data: WardIn) -> Ward:
    check_staff(session, actor, data.institution_id)
    if data.referral_reserved_beds > data.beds:
        raise ValidationFailed("转诊预留床位不能多于床位总数。", code="reserve_exceeds_beds")
    if data.referral_reserved_beds and data.referral_pool_id is None:
        raise ValidationFailed("预留床位须指定转诊预留号源池。", code="reserve_pool_required")
    _reserved_pool(session, data.referral_pool_id, data.institution_id, "referral")
    if repository.ward_by_code(session, data.institution_id, data.code) is not None:
        raise Conflict(f"本机构已有编码为“{data.code}”的病区。", code="ward_code_taken")
    w = Ward(institution_id=data.institution_id, department_id=data.department_id, code=data.code, name=data.name,
             beds=data.beds, referral_reserved_beds=data.referral_reserved_beds,
             referral_pool_id=data.referral_pool_id, created_at=utcnow())
    session.add(w)
    session.flush()
    ensure_public_pool(session, data.institution_id)
    audit.record(session, actor, "create", "ward", w.id, after=audit.snapshot(w))
    return w


def do_open_bed_days(session: Session, actor: Principal, ward_id: int, data: BedDaysIn) -> list[Slot]:
    """One bed slot per day and pool: the public beds and the referral reserve."""
    w = repository.ward(session, ward_id)
    if w is None:
        raise NotFound("病区不存在。", code="ward_not_found", ward_id=ward_id)
    check_staff(session, actor, w.institution_id)
    public = ensure_public_pool(session, w.institution_id)
    parts = [(public.id, w.beds - w.referral_reserved_beds)]
    if w.referral_reserved_beds and w.referral_pool_id is not None:
        parts.append((w.referral_pool_id, w.referral_reserved_beds))
    now = utcnow()
    created: list[Slot] = []
    for day in _days(data.first_day, data.last_day):
        start = _at(day, BED_DAY_STARTS)
        for pool_id, beds in parts:
            if beds <= 0 or repository.slot_exists(session, schedule_id=None, ward_id=w.id, pool_id=pool_id,
                                                   start=start):
                continue
            created.append(Slot(institution_id=w.institution_id, ward_id=w.id, pool_id=pool_id, kind="bed",
                                start_at=start, end_at=start + timedelta(days=1), capacity=beds, booked_count=0,
                                created_at=now))
    session.add_all(created)
    session.flush()
    audit.record(session, actor, "create", "slot", detail=f"病区{w.id}开放床日{len(created)}个")
    return created


# ---- reading capacity ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SlotView:
    slot: Slot
    pool: SlotPool
    effective_kind: str
    appointments: list[Appointment]

    @property
    def free(self) -> int:
        return self.slot.capacity - self.slot.booked_count


def list_slots(
    session: Session, actor: Principal, *, institution_id: int | None = None, schedule_id: int | None = None,
    ward_id: int | None = None, start: datetime, stop: datetime, now: datetime | None = None,
) -> list[SlotView]:
    """Slots in a time window with the pool each effectively belongs to now (a released one is public)."""
    actor.require(Perm.REGISTRY_READ)
    now = now or utcnow()
    rows = repository.slots(session, schedule_ids=[schedule_id] if schedule_id is not None else None,
                            ward_id=ward_id, institution_id=institution_id, start=start, stop=stop)
    staff_of = institution_scope(session, actor, Perm.RESIDENT_WRITE)
    visible = [s.id for s, _p in rows if staff_of is None or s.institution_id in staff_of]
    appts = repository.appointments_of_slots(session, visible)
    return [SlotView(s, p, slot_kind_now(p, s, now).value, appts.get(s.id, [])) for s, p in rows]


@dataclass(frozen=True, slots=True)
class DepartmentDay:
    department: Department
    day: date
    is_staff: bool
    by_pool: dict[str, list[SlotView]]
    names: dict[int, str]


def department_day(session: Session, actor: Principal, department_id: int, day: date,
                   now: datetime | None = None) -> DepartmentDay:
    """A department's slots of one day grouped by effective pool; bookings shown to its staff only."""
    dept = repository.department(session, department_id)
    if dept is None:
        raise NotFound("科室不存在。", code="department_not_found", department_id=department_id)
    actor.require(Perm.REGISTRY_READ)
    schedules = [s.id for s in repository.schedules_of_department(session, dept.id)]
    start = _at(day, time(0, 0))
    views = list_slots(session, actor, institution_id=dept.institution_id, start=start,
                       stop=start + timedelta(days=1), now=now) if schedules else []
    views = [v for v in views if v.slot.schedule_id in schedules]
    staff_of = institution_scope(session, actor, Perm.RESIDENT_WRITE)
    is_staff = staff_of is None or dept.institution_id in staff_of
    if not is_staff and not actor.has(Perm.RESIDENT_WRITE):
        raise Forbidden("无权查看号源。", code="permission_denied")
    by_pool: dict[str, list[SlotView]] = {k: [] for k in POOL_NAMES_ZH}
    for v in views:
        by_pool[v.effective_kind].append(v)
    names = repository.resident_names(session, {a.resident_id for v in views for a in v.appointments}) \
        if is_staff else {}
    if names:
        audit.record(session, actor, "search", "appointment", detail=f"查看科室{dept.id}在{day}的预约")
    return DepartmentDay(dept, day, is_staff, by_pool, names)


def list_pools(session: Session, actor: Principal, institution_id: int) -> list[SlotPool]:
    actor.require(Perm.REGISTRY_READ)
    if repository.institution(session, institution_id) is None:
        raise NotFound("医疗机构不存在。", code="institution_not_found", institution_id=institution_id)
    return repository.pools_of(session, institution_id)


def slot_views(session: Session, slots: list[Slot], now: datetime | None = None) -> list[SlotView]:
    """Views of slots just created (no bookings yet)."""
    now = now or utcnow()
    pools = {p_id: repository.pool(session, p_id) for p_id in {s.pool_id for s in slots}}
    out: list[SlotView] = []
    for s in slots:
        p = pools[s.pool_id]
        assert p is not None
        out.append(SlotView(s, p, slot_kind_now(p, s, now).value, []))
    return out


def departments(session: Session, actor: Principal, institution_id: int | None = None) -> list[tuple[str, int, str]]:
    """Departments with an active schedule: (institution name, department id, department name)."""
    actor.require(Perm.REGISTRY_READ)
    return [(i.name, d.id, d.name) for d, i in repository.departments_with_schedules(session, institution_id)]
