"""Contracts service: renewal, switching, termination, the daily job, delivery records, due lists,
priority rights — refusals leave the data unchanged."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

import pytest
from contracts_svc_world import TODAY, resident, sign, state, world
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from yilian.contracts import delivery, service
from yilian.contracts.config import PriorityBenefit
from yilian.contracts.schemas import DeliveryIn, RenewIn, SwitchIn, TerminateIn
from yilian.core.errors import Conflict, DomainError, Forbidden, InvalidTransition, NotFound, ValidationFailed
from yilian.db.models import CareRelationship, Contract, KeyPopulation

END = date(2026, 3, 2)  # last day of a contract signed on TODAY
IN_WINDOW = END - timedelta(days=30)


def refused(session: Session, exc: type[DomainError], code: str, fn, *args, **kwargs) -> DomainError:  # type: ignore[no-untyped-def]
    before = state(session)
    with pytest.raises(exc) as info:
        fn(*args, **kwargs)
    assert info.value.code == code, info.value
    assert state(session) == before, "a refusal changed data"
    return info.value


def contracted(session: Session, resident_id: int) -> list[tuple[int, date, date | None]]:
    rows = session.scalars(select(CareRelationship).where(CareRelationship.resident_id == resident_id,
                                                          CareRelationship.kind == "contracted"))
    return [(r.institution_id, r.since, r.until) for r in rows]


# ---- renew and switch ---------------------------------------------------------------------


def test_renew_chains_a_successor_and_keeps_the_relationship(session: Session) -> None:
    w = world(session)
    r = resident(session, w.centre_a)
    c = sign(session, w, r)
    old, new = service.do_renew(session, w.who("clin_a"), c.id, RenewIn(version=c.version), IN_WINDOW)
    assert (old.status, old.stop_on) == ("renewed", END + timedelta(days=1))
    assert (new.status, new.start_on, new.end_on, new.predecessor_id) == ("signed", END + timedelta(days=1),
                                                                          date(2027, 3, 2), c.id)
    assert contracted(session, r.id) == [(w.centre_a.id, TODAY, None)]


def test_renew_refusals(session: Session) -> None:
    w = world(session)
    c = sign(session, w, resident(session, w.centre_a))
    a = w.who("clin_a")
    refused(session, ValidationFailed, "renewal_too_early", service.do_renew, session, a, c.id,
            RenewIn(version=c.version), TODAY)
    refused(session, Conflict, "stale_version", service.do_renew, session, a, c.id, RenewIn(version=7), IN_WINDOW)
    refused(session, NotFound, "contract_not_found", service.do_renew, session, a, 999, RenewIn(version=1), IN_WINDOW)
    refused(session, Forbidden, "institution_out_of_scope", service.do_renew, session, w.who("clin_b"), c.id,
            RenewIn(version=c.version), IN_WINDOW)
    refused(session, ValidationFailed, "term_too_short", service.do_renew, session, a, c.id,
            RenewIn(version=c.version, end_on=date(2026, 6, 1)), IN_WINDOW)
    # After the term ended the job expires the contract; a renewal is then a new signing.
    refused(session, InvalidTransition, "invalid_transition", service.do_renew, session, a, c.id,
            RenewIn(version=c.version), END + timedelta(days=1))


def test_switch_moves_the_resident_and_the_relationship(session: Session) -> None:
    w = world(session)
    r = resident(session, w.centre_a, w.centre_b)
    c = sign(session, w, r)
    refused(session, ValidationFailed, "team_unchanged", service.do_switch, session, w.who("admin"), c.id,
            SwitchIn(version=c.version, team_id=w.team_a.id), IN_WINDOW)
    refused(session, Conflict, "team_without_lead", service.do_switch, session, w.who("admin"), c.id,
            SwitchIn(version=c.version, team_id=w.team_none.id), IN_WINDOW)
    old, new = service.do_switch(session, w.who("admin"), c.id, SwitchIn(version=c.version, team_id=w.team_b.id),
                                 IN_WINDOW)
    assert (old.status, new.team_id, new.institution_id) == ("switched", w.team_b.id, w.centre_b.id)
    assert sorted(contracted(session, r.id)) == sorted([(w.centre_a.id, TODAY, END),
                                                        (w.centre_b.id, END + timedelta(days=1), None)])


def test_switch_needs_room_in_the_new_team(session: Session) -> None:
    w = world(session)
    w.team_b.panel_limit = 1
    sign(session, w, resident(session, w.centre_b, name="已签"), w.team_b, actor="clin_b")
    c = sign(session, w, resident(session, w.centre_a, w.centre_b))
    refused(session, Conflict, "panel_full", service.do_switch, session, w.who("admin"), c.id,
            SwitchIn(version=c.version, team_id=w.team_b.id), IN_WINDOW)


# ---- terminate ----------------------------------------------------------------------------


def test_terminate_with_reason_closes_the_relationship(session: Session) -> None:
    w = world(session)
    r = resident(session, w.centre_a)
    c = sign(session, w, r)
    on = date(2025, 6, 1)
    t = service.do_terminate(session, w.who("clin_a"), c.id, TerminateIn(version=c.version, reason="moved_away", on=on),
                             date(2025, 6, 10))
    assert (t.status, t.stop_on, t.termination_reason) == ("terminated", on, "moved_away")
    assert contracted(session, r.id) == [(w.centre_a.id, TODAY, on - timedelta(days=1))]
    assert service.priority_rights(session, r.id, on).benefits == frozenset()
    # The resident may sign again from the termination date.
    assert sign(session, w, r, today=on).status == "active"


def test_terminate_refusals(session: Session) -> None:
    w = world(session)
    c = sign(session, w, resident(session, w.centre_a))
    a = w.who("clin_a")
    later = date(2025, 6, 10)
    refused(session, ValidationFailed, "reason_required", service.do_terminate, session, a, c.id,
            TerminateIn(version=c.version, reason="other"), later)
    refused(session, ValidationFailed, "termination_date_invalid", service.do_terminate, session, a, c.id,
            TerminateIn(version=c.version, reason="deceased", on=later + timedelta(days=1)), later)
    refused(session, ValidationFailed, "termination_date_invalid", service.do_terminate, session, a, c.id,
            TerminateIn(version=c.version, reason="deceased", on=TODAY - timedelta(days=1)), later)
    refused(session, Conflict, "stale_version", service.do_terminate, session, a, c.id,
            TerminateIn(version=c.version + 1, reason="deceased"), later)
    t = service.do_terminate(session, a, c.id, TerminateIn(version=c.version, reason="deceased"), later)
    refused(session, InvalidTransition, "invalid_transition", service.do_terminate, session, a, c.id,
            TerminateIn(version=t.version, reason="deceased"), later)


def test_terminating_a_future_contract_leaves_no_interval(session: Session) -> None:
    w = world(session)
    c = sign(session, w, resident(session, w.centre_a), start_on=TODAY + timedelta(days=20))
    t = service.do_terminate(session, w.who("clin_a"), c.id, TerminateIn(version=c.version, reason="duplicate"), TODAY)
    assert (t.status, t.stop_on) == ("terminated", t.start_on)


# ---- the daily job ------------------------------------------------------------------------


def test_catch_up_activates_and_expires_once(session: Session) -> None:
    w = world(session)
    r1, r2 = resident(session, w.centre_a, name="甲"), resident(session, w.centre_a, name="乙")
    future = sign(session, w, r1, start_on=TODAY + timedelta(days=5))
    running = sign(session, w, r2)
    assert service.do_catch_up(session, TODAY + timedelta(days=5)) == {"activated": 1, "expired": 0}
    assert service.do_catch_up(session, TODAY + timedelta(days=5)) == {"activated": 0, "expired": 0}
    assert session.get(Contract, future.id).status == "active"  # type: ignore[union-attr]
    assert service.do_catch_up(session, END + timedelta(days=1)) == {"activated": 0, "expired": 1}
    assert service.do_catch_up(session, END + timedelta(days=1)) == {"activated": 0, "expired": 0}
    assert session.get(Contract, running.id).status == "expired"  # type: ignore[union-attr]
    assert contracted(session, r2.id) == [(w.centre_a.id, TODAY, END)]  # closed with the term
    assert contracted(session, r1.id) == [(w.centre_a.id, TODAY + timedelta(days=5), None)]


# ---- delivery records and due lists -------------------------------------------------------


def test_due_and_overdue_and_delivery(session: Session) -> None:
    w = world(session)
    r = resident(session, w.centre_a, born=date(1950, 1, 1))
    session.add(KeyPopulation(resident_id=r.id, code="hypertension", since=date(2020, 1, 1)))
    session.flush()
    c = sign(session, w, r)
    day = date(2025, 6, 10)  # second quarter of the term
    rows = delivery.due_services(session, w.who("clin_a"), w.centre_a.id, today=day)
    got = {(x.item_code, x.seq, x.state) for x in rows}
    assert got == {("htn_followup", 1, "overdue"), ("htn_followup", 2, "due"), ("health_assessment", 1, "due"),
                   ("elderly_checkup", 1, "due")}
    assert rows[0].state == "overdue"  # most urgent first
    delivery.do_record_delivery(session, w.who("clin_a"), c.id, DeliveryIn(item_code="htn_followup",
                                                                         delivered_on=day), day)
    got = {(x.item_code, x.seq, x.state) for x in delivery.due_services(session, w.who("clin_a"), w.centre_a.id,
                                                                         today=day)}
    assert ("htn_followup", 2, "due") not in got and ("htn_followup", 1, "overdue") in got
    assert not delivery.due_services(session, w.who("clin_a"), w.centre_a.id, today=day, include_overdue=False,
                                     team_id=w.team_none.id)


def test_delivery_refusals(session: Session) -> None:
    w = world(session)
    c = sign(session, w, resident(session, w.centre_a))
    rec = delivery.do_record_delivery
    a = w.who("clin_a")
    day = date(2025, 6, 10)
    refused(session, ValidationFailed, "item_not_in_package", rec, session, a, c.id, DeliveryIn(item_code="x"), day)
    refused(session, ValidationFailed, "delivery_in_future", rec, session, a, c.id,
            DeliveryIn(item_code="health_assessment", delivered_on=day + timedelta(days=1)), day)
    refused(session, ValidationFailed, "delivery_outside_term", rec, session, a, c.id,
            DeliveryIn(item_code="health_assessment", delivered_on=TODAY - timedelta(days=1)), day)
    refused(session, Forbidden, "institution_out_of_scope", rec, session, w.who("clin_b"), c.id,
            DeliveryIn(item_code="health_assessment"), day)
    refused(session, NotFound, "contract_not_found", rec, session, a, 999, DeliveryIn(item_code="x"), day)
    refused(session, Forbidden, "institution_out_of_scope", delivery.due_services, session, w.who("clin_b"),
            w.centre_a.id, today=day)


def test_village_doctor_records_delivery_at_the_clinic(session: Session) -> None:
    w = world(session)
    c = sign(session, w, resident(session, w.centre_a))
    d = delivery.do_record_delivery(session, w.who("clin_village"), c.id, DeliveryIn(item_code="health_assessment"),
                                    date(2025, 6, 10))
    assert d.institution_id == w.clinic_a.id


def test_workbench_lists_my_residents_with_counts(session: Session) -> None:
    from yilian.core.paging import PageRequest

    w = world(session)
    r = resident(session, w.centre_a, born=date(1950, 1, 1))
    c = sign(session, w, r, today=date.today())
    page = delivery.workbench(session, w.who("clin_a"), PageRequest(1, 20))
    assert [(x.contract_id, x.resident_name) for x in page.items] == [(c.id, "张三")]
    assert page.items[0].due >= 1
    assert delivery.workbench(session, w.who("clin_b"), PageRequest(1, 20)).items == []
    with pytest.raises(Forbidden):
        delivery.workbench(session, w.who("clin_b"), PageRequest(1, 20), team_id=w.team_a.id)


# ---- priority rights ----------------------------------------------------------------------


def test_priority_rights(session: Session) -> None:
    w = world(session)
    r = resident(session, w.centre_a)
    assert service.priority_rights(session, r.id, TODAY).contract_id is None
    c = sign(session, w, r)
    rights = service.priority_rights(session, r.id, TODAY)
    assert rights.benefits == {PriorityBenefit.PRIORITY_APPOINTMENT, PriorityBenefit.PRIORITY_EXAM,
                               PriorityBenefit.PRIORITY_ADMISSION}
    assert (rights.contract_id, rights.institution_id, rights.consortia) == (c.id, w.centre_a.id,
                                                                             frozenset({w.x.id}))
    assert service.priority_rights(session, r.id, END + timedelta(days=1)).benefits == frozenset()
    with pytest.raises(Forbidden):
        service.read_priority_rights(session, w.who("clin_b"), r.id, TODAY)


# ---- property: whatever people do, contracts never overlap --------------------------------


ACTIONS = st.lists(
    st.tuples(st.sampled_from(["sign_a", "sign_b", "terminate", "renew", "tick"]), st.integers(0, 500),
              st.integers(0, 400)),
    min_size=1, max_size=8,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_no_two_contracts_of_a_resident_overlap(session: Session, actions: list[tuple[str, int, int]]) -> None:
    nested = session.begin_nested()
    try:
        w = world(session)
        r = resident(session, w.centre_a, w.centre_b)
        day = TODAY
        for action, shift, length in actions:
            day = day + timedelta(days=shift % 60)
            latest = session.scalars(select(Contract).where(Contract.resident_id == r.id)
                                     .order_by(Contract.id.desc())).first()
            try:
                if action in ("sign_a", "sign_b"):
                    team = w.team_a if action == "sign_a" else w.team_b
                    sign(session, w, r, team, actor="admin", today=day, start_on=day + timedelta(days=shift % 40),
                         end_on=day + timedelta(days=300 + length))
                elif action == "terminate" and latest is not None:
                    service.do_terminate(session, w.who("admin"), latest.id,
                                         TerminateIn(version=latest.version, reason="resident_request"), day)
                elif action == "renew" and latest is not None:
                    service.do_renew(session, w.who("admin"), latest.id, RenewIn(version=latest.version), day)
                elif action == "tick":
                    service.do_catch_up(session, day)
            except DomainError:
                pass
            intervals = sorted((c.start_on, service.interval_of(c).stop) for c in
                               session.scalars(select(Contract).where(Contract.resident_id == r.id)))
            nonempty = [i for i in intervals if i[0] < i[1]]
            for (_s1, e1), (s2, _e2) in pairwise(nonempty):
                assert e1 <= s2, f"overlap after {action}: {nonempty}"
    finally:
        nested.rollback()
        session.expunge_all()  # ids are reused by the next example: forget the rolled-back rows
