"""Scheduling service: slots by pool, booking per pool and channel, flags, holds, the repeated
no-show rule, status changes and release — every refusal leaves the data unchanged."""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scheduling_svc_world import DAY, NOW, at, episode, snapshot, world
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yilian.contracts.config import PriorityBenefit
from yilian.core.errors import Conflict, DomainError, Forbidden, InvalidTransition, NotFound, ValidationFailed
from yilian.db.models import Appointment, SchedulingPolicySetting, Slot
from yilian.scheduling import schedules, service
from yilian.scheduling.schemas import PoolIn, SessionIn
from yilian.scheduling.service import ReferralAccount

ALL = frozenset(PriorityBenefit)


def refused(session: Session, exc: type[DomainError], code: str, fn, *args, **kwargs) -> DomainError:  # type: ignore[no-untyped-def]
    before = snapshot(session)
    with pytest.raises(exc) as info:
        fn(*args, **kwargs)
    assert info.value.code == code, info.value
    session.expire_all()
    assert snapshot(session) == before, "a refusal changed data"
    return info.value


def test_generated_slots_by_pool_and_idempotent(session: Session) -> None:
    w = world(session)
    assert [len(w.slots(session, k)) for k in ("referral", "contract", "public")] == [3, 1, 12]
    again = schedules.do_generate_slots(session, w.who("admin"), w.schedule.id, SessionIn(
        first_day=DAY, start=time(8, 0), end=time(12, 0), referral_pool_id=w.referral.id,
        contract_pool_id=w.contract.id))
    assert again == []
    day = schedules.department_day(session, w.who("clin_h"), w.dept.id, DAY, now=NOW)
    assert {k: len(v) for k, v in day.by_pool.items()} == {"public": 12, "referral": 3, "contract": 1}


def test_public_booking_by_front_desk_and_family_doctor(session: Session) -> None:
    w = world(session)
    s1, s2 = w.slots(session, "public")[:2]
    a = service.do_book(session, w.who("clin_h"), s1.id, w.stranger.id, now=NOW)
    assert (a.status, a.channel, a.pool_kind, a.priority, a.registration_fee_waived) == (
        "booked", "public", "public", False, False)
    b2 = service.do_book(session, w.who("clin_a"), s2.id, w.plain.id, now=NOW)
    assert b2.place == 1 and session.get(Slot, s2.id).booked_count == 1  # type: ignore[union-attr]
    refused(session, Forbidden, "resident_out_of_scope", service.do_book, session, w.who("clin_b"),
            w.slots(session, "public")[2].id, w.plain.id, now=NOW)
    refused(session, Forbidden, "permission_denied", service.do_book, session, w.who("pharm_h"),
            w.slots(session, "public")[2].id, w.plain.id, now=NOW)


def test_booking_refusals(session: Session) -> None:
    w = world(session)
    s = w.slots(session, "public")[0]
    book = service.do_book
    h = w.who("clin_h")
    refused(session, NotFound, "slot_not_found", book, session, h, 99999, w.plain.id, now=NOW)
    refused(session, NotFound, "resident_not_found", book, session, h, s.id, 99999, now=NOW)
    refused(session, ValidationFailed, "slot_in_past", book, session, h, s.id, w.plain.id,
            now=s.start_at + timedelta(minutes=1))
    service.do_book(session, h, s.id, w.plain.id, now=NOW)
    refused(session, Conflict, "slot_taken", book, session, h, s.id, w.stranger.id, now=NOW)
    refused(session, ValidationFailed, "hold_requires_referral", book, session, h, w.slots(session, "public")[1].id,
            w.plain.id, hold=True, now=NOW)


def test_same_resident_twice_in_a_shared_slot(session: Session) -> None:
    w = world(session, capacity=3)
    s = w.slots(session, "public")[0]
    service.do_book(session, w.who("clin_h"), s.id, w.plain.id, now=NOW)
    refused(session, Conflict, "already_booked", service.do_book, session, w.who("clin_h"), s.id, w.plain.id, now=NOW)
    a2 = service.do_book(session, w.who("clin_h"), s.id, w.stranger.id, now=NOW)
    assert a2.place == 2


def test_contract_pool_is_for_contracted_residents(session: Session) -> None:
    w = world(session)
    s = w.slots(session, "contract")[0]
    refused(session, Forbidden, "pool_not_open", service.do_book, session, w.who("clin_a"), s.id, w.plain.id, now=NOW)
    a = service.do_book(session, w.who("clin_a"), s.id, w.contracted.id, now=NOW)
    assert (a.channel, a.pool_kind, a.priority, a.registration_fee_waived) == ("contract", "contract", True, False)


def test_referral_pool_is_for_referrals_from_its_consortium(session: Session) -> None:
    w = world(session)
    s = w.slots(session, "referral")[0]
    h = w.who("clin_h")
    refused(session, Forbidden, "pool_not_open", service.do_book, session, h, s.id, w.plain.id, now=NOW)
    from_c = episode(session, w, w.plain, w.centre_c, "clin_c")
    refused(session, Forbidden, "pool_not_open", service.do_book, session, h, s.id, w.plain.id, now=NOW,
            referral=ReferralAccount(from_c.id, w.centre_c.id, ALL))
    e = episode(session, w, w.plain, w.centre_a)
    a = service.do_book(session, h, s.id, w.plain.id, now=NOW, referral=ReferralAccount(e.id, w.centre_a.id, ALL))
    assert (a.channel, a.pool_kind, a.referral_episode_id) == ("referral", "referral", e.id)
    assert (a.registration_fee_waived, a.priority) == (True, True)  # "一免三优先" carried by the booking


def test_hold_then_confirm_or_release(session: Session) -> None:
    w = world(session)
    s1, s2 = w.slots(session, "referral")[:2]
    e = episode(session, w, w.plain, w.centre_a)
    acct = ReferralAccount(e.id, w.centre_a.id)
    held = service.do_hold(session, w.who("clin_a"), s1.id, w.plain.id, acct, now=NOW)
    assert (held.held, held.registration_fee_waived, held.priority) == (True, False, False)
    assert service.episode_appointment(session, e.id, s1.id) is held
    refused(session, Conflict, "slot_taken", service.do_book, session, w.who("clin_h"), s1.id, w.stranger.id,
            now=NOW)
    booked = service.do_confirm_hold(session, w.who("clin_h"), held.id, ALL, now=NOW)
    assert (booked.held, booked.registration_fee_waived, booked.priority) == (False, True, True)
    refused(session, Conflict, "not_held", service.do_confirm_hold, session, w.who("clin_h"), held.id, ALL, now=NOW)
    other = service.do_book(session, w.who("clin_a"), s2.id, w.plain.id, hold=True, referral=acct, now=NOW)
    gone = service.do_release(session, w.who("clin_a"), other.id, "转诊已撤回", now=s2.start_at + timedelta(hours=1))
    assert (gone.status, gone.active_place) == ("cancelled", None)
    assert service.episode_appointment(session, e.id, s2.id) is None
    assert session.get(Slot, s2.id).booked_count == 0  # type: ignore[union-attr]


def test_release_opens_reserved_slots_once(session: Session) -> None:
    w = world(session)
    first_ref = w.slots(session, "referral")[0]
    admin = w.who("admin")
    assert service.do_release_reserved(session, admin, NOW) == {"referral": 0, "contract": 0}
    due = first_ref.start_at - timedelta(hours=24)
    assert service.do_release_reserved(session, admin, due) == {"referral": 1, "contract": 0}
    assert service.do_release_reserved(session, admin, due) == {"referral": 0, "contract": 0}
    later = due + timedelta(hours=1)
    assert service.do_release_reserved(session, admin, later) == {"referral": 2, "contract": 1}
    assert service.do_release_reserved(session, admin, later) == {"referral": 0, "contract": 0}
    a = service.do_book(session, w.who("clin_h"), first_ref.id, w.stranger.id, now=later)
    assert (a.channel, a.pool_kind) == ("public", "public")
    refused(session, Forbidden, "permission_denied", service.do_release_reserved, session, w.who("clin_h"), later)


def test_release_is_computed_even_before_the_job_runs(session: Session) -> None:
    w = world(session)
    s = w.slots(session, "contract")[0]
    refused(session, Forbidden, "pool_not_open", service.do_book, session, w.who("clin_a"), s.id, w.plain.id,
            now=s.start_at - timedelta(hours=25))
    a = service.do_book(session, w.who("clin_a"), s.id, w.plain.id, now=s.start_at - timedelta(hours=23))
    assert a.pool_kind == "public" and session.get(Slot, s.id).released_at is None  # type: ignore[union-attr]


def _past_no_shows(session: Session, w, n: int) -> None:  # type: ignore[no-untyped-def]
    """``n`` bookings on earlier days, each marked as a no-show after its start."""
    admin = w.who("admin")
    for i in range(n):
        day = DAY - timedelta(days=20 + i)
        schedules.do_generate_slots(session, admin, w.schedule.id, SessionIn(first_day=day, start=time(8, 0),
                                                                             end=time(8, 15)))
        s = w.slots(session, "public", day)[0]
        a = service.do_book(session, w.who("clin_h"), s.id, w.plain.id, now=s.start_at - timedelta(days=1))
        service.do_mark_no_show(session, w.who("clin_h"), a.id, now=s.start_at + timedelta(minutes=30))


def test_repeated_no_shows_block_self_booking_only(session: Session) -> None:
    w = world(session)
    _past_no_shows(session, w, 3)
    s = w.slots(session, "public")[0]
    err = refused(session, Forbidden, "no_show_blocked", service.do_book, session, w.who("clin_a"), s.id, w.plain.id,
                  self_booking=True, now=NOW)
    assert "blocked_until" in err.details
    status = service.no_show_status(session, w.who("clin_a"), w.plain.id, w.hospital.id, now=NOW)
    assert status.no_shows == 3 and status.blocked_until is not None
    # A doctor or the front desk may still book for them.
    assert service.do_book(session, w.who("clin_a"), s.id, w.plain.id, now=NOW).self_booking is False


def test_no_show_threshold_is_configurable(session: Session) -> None:
    w = world(session)
    session.add(SchedulingPolicySetting(institution_id=w.hospital.id, valid_from=date(2024, 1, 1), no_show_limit=5,
                                        updated_at=NOW))
    _past_no_shows(session, w, 3)
    s = w.slots(session, "public")[0]
    assert service.do_book(session, w.who("clin_a"), s.id, w.plain.id, self_booking=True, now=NOW).self_booking


def test_status_change_refusals(session: Session) -> None:
    w = world(session)
    session.add(SchedulingPolicySetting(institution_id=w.hospital.id, valid_from=date(2024, 1, 1),
                                        cancel_cutoff_minutes=60, checkin_opens_minutes=30, updated_at=NOW))
    session.flush()
    s = w.slots(session, "public")[0]
    h = w.who("clin_h")
    a = service.do_book(session, h, s.id, w.plain.id, now=NOW)
    refused(session, NotFound, "appointment_not_found", service.do_cancel, session, h, 99999, now=NOW)
    refused(session, ValidationFailed, "cancel_too_late", service.do_cancel, session, h, a.id,
            now=s.start_at - timedelta(minutes=30))
    refused(session, ValidationFailed, "slot_not_started", service.do_mark_no_show, session, h, a.id, now=NOW)
    refused(session, ValidationFailed, "checkin_too_early", service.do_check_in, session, h, a.id, now=NOW)
    refused(session, InvalidTransition, "invalid_transition", service.do_complete, session, h, a.id, now=NOW)
    refused(session, Forbidden, "resident_out_of_scope", service.do_cancel, session, w.who("clin_b"), a.id, now=NOW)
    c = service.do_cancel(session, h, a.id, "患者改期", now=NOW)
    assert (c.status, c.active_place, c.cancel_reason) == ("cancelled", None, "患者改期")
    assert session.get(Slot, s.id).booked_count == 0  # type: ignore[union-attr]
    refused(session, InvalidTransition, "invalid_transition", service.do_cancel, session, h, a.id, now=NOW)
    # The place is free again.
    assert service.do_book(session, h, s.id, w.stranger.id, now=NOW).place == 1


def test_check_in_and_complete(session: Session) -> None:
    w = world(session)
    s = w.slots(session, "public")[0]
    h = w.who("clin_h")
    a = service.do_book(session, h, s.id, w.plain.id, now=NOW)
    a = service.do_check_in(session, h, a.id, now=s.start_at - timedelta(minutes=10))
    assert a.status == "checked_in" and a.checked_in_at is not None
    a = service.do_complete(session, h, a.id, now=s.start_at + timedelta(minutes=20))
    assert a.status == "completed"
    assert session.get(Slot, s.id).booked_count == 1  # type: ignore[union-attr]


# ---- pools and beds -----------------------------------------------------------------------


def test_pool_refusals(session: Session) -> None:
    w = world(session)
    mk = schedules.do_create_pool
    refused(session, ValidationFailed, "pool_consortium_required", mk, session, w.who("admin"),
            PoolIn(institution_id=w.hospital.id, kind="referral"))
    refused(session, Forbidden, "institution_out_of_scope", mk, session, w.who("clin_a"),
            PoolIn(institution_id=w.hospital.id, kind="referral", consortium_id=w.x.id))
    refused(session, ValidationFailed, "pool_public_fields", mk, session, w.who("admin"),
            PoolIn(institution_id=w.hospital.id, kind="public", release_before_minutes=10))
    p = mk(session, w.who("manager_x"), PoolIn(institution_id=w.hospital.id, kind="referral", consortium_id=w.x.id,
                                               release_before_minutes=120))
    assert (p.kind, p.release_before_minutes) == ("referral", 120)
    refused(session, ValidationFailed, "pool_mismatch", schedules.do_generate_slots, session, w.who("admin"),
            w.schedule.id, SessionIn(first_day=DAY, start=time(14, 0), end=time(15, 0),
                                     referral_pool_id=w.contract.id))


def test_shares_are_configurable(session: Session) -> None:
    w = world(session)
    session.add(SchedulingPolicySetting(institution_id=w.hospital.id, valid_from=date(2024, 1, 1),
                                        referral_share=Decimal("0.5"), contract_share=Decimal("0"), updated_at=NOW))
    day = DAY + timedelta(days=1)
    schedules.do_generate_slots(session, w.who("admin"), w.schedule.id, SessionIn(
        first_day=day, start=time(8, 0), end=time(10, 0), referral_pool_id=w.referral.id,
        contract_pool_id=w.contract.id))
    assert [len(w.slots(session, k, day)) for k in ("referral", "contract", "public")] == [4, 0, 4]


def test_ward_beds_with_referral_reserve(session: Session) -> None:
    from yilian.scheduling.schemas import BedDaysIn, WardIn

    w = world(session)
    admin = w.who("admin")
    refused(session, ValidationFailed, "reserve_exceeds_beds", schedules.do_create_ward, session, admin,
            WardIn(institution_id=w.hospital.id, code="W1", name="心内病区", beds=2, referral_reserved_beds=3,
                   referral_pool_id=w.referral.id))
    refused(session, ValidationFailed, "reserve_pool_required", schedules.do_create_ward, session, admin,
            WardIn(institution_id=w.hospital.id, code="W1", name="心内病区", beds=10, referral_reserved_beds=2))
    ward = schedules.do_create_ward(session, admin, WardIn(institution_id=w.hospital.id, code="W1", name="心内病区",
                                                           beds=10, referral_reserved_beds=2,
                                                           referral_pool_id=w.referral.id))
    beds = schedules.do_open_bed_days(session, admin, ward.id, BedDaysIn(first_day=DAY, last_day=DAY + timedelta(1)))
    assert sorted((s.kind, s.capacity) for s in beds) == [("bed", 2), ("bed", 2), ("bed", 8), ("bed", 8)]
    reserve = next(s for s in beds if s.pool_id == w.referral.id)
    e = episode(session, w, w.plain, w.centre_a)
    acct = ReferralAccount(e.id, w.centre_a.id, ALL)
    first = service.do_book(session, w.who("clin_h"), reserve.id, w.plain.id, referral=acct, now=NOW)
    e2 = episode(session, w, w.stranger, w.centre_a)
    second = service.do_book(session, w.who("clin_h"), reserve.id, w.stranger.id,
                             referral=ReferralAccount(e2.id, w.centre_a.id, ALL), now=NOW)
    assert (first.place, second.place) == (1, 2)
    refused(session, Conflict, "slot_taken", service.do_book, session, w.who("clin_h"), reserve.id, w.contracted.id,
            referral=ReferralAccount(e.id, w.centre_a.id, ALL), now=NOW)


# ---- property: the count always matches the places taken ----------------------------------


OPS = st.lists(st.tuples(st.sampled_from(["book", "cancel", "no_show"]), st.integers(0, 3)), min_size=1, max_size=12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_booked_count_matches_active_places(session: Session, ops: list[tuple[str, int]]) -> None:
    nested = session.begin_nested()
    try:
        w = world(session, capacity=2)
        s = w.slots(session, "public")[0]
        people = [w.plain, w.stranger, w.contracted]
        h = w.who("clin_h")
        for op, k in ops:
            appts = session.scalars(select(Appointment).where(Appointment.slot_id == s.id)).all()
            try:
                if op == "book":
                    service.do_book(session, h, s.id, people[k % 3].id, now=NOW)
                elif appts and op == "cancel":
                    service.do_cancel(session, h, appts[k % len(appts)].id, now=NOW)
                elif appts:
                    service.do_mark_no_show(session, h, appts[k % len(appts)].id, now=s.start_at + timedelta(hours=1))
            except DomainError:
                pass
            session.expire_all()
            slot = session.get(Slot, s.id)
            assert slot is not None
            active = session.scalar(select(func.count()).select_from(Appointment)
                                    .where(Appointment.slot_id == s.id, Appointment.active_place.is_not(None)))
            assert slot.booked_count == active <= slot.capacity
    finally:
        nested.rollback()
        session.expunge_all()


def test_department_day_hides_bookings_from_other_institutions(session: Session) -> None:
    w = world(session)
    s = w.slots(session, "public")[0]
    service.do_book(session, w.who("clin_h"), s.id, w.plain.id, now=NOW)
    staff = schedules.department_day(session, w.who("clin_h"), w.dept.id, DAY, now=NOW)
    assert staff.is_staff and w.plain.id in staff.names
    outsider = schedules.department_day(session, w.who("clin_a"), w.dept.id, DAY, now=NOW)
    assert not outsider.is_staff and outsider.names == {}
    assert all(not v.appointments for views in outsider.by_pool.values() for v in views)
    with pytest.raises(Forbidden):
        schedules.department_day(session, w.who("pharm_h"), w.dept.id, DAY, now=NOW)
    assert at(DAY, 9) == s.start_at  # 08:00–09:00 went to the reserved pools
