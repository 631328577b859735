"""REFERRAL.md integrity cases 14–16 and 18 on committed rows: one session per thread, on the suite's
database (SQLite with BEGIN IMMEDIATE, or PostgreSQL READ COMMITTED with row locks)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from svc_world import NOW, up_draft, world

from yilian.core.errors import Conflict, DomainError
from yilian.db.models import Appointment, ReferralEpisode, ReferralEscalation, ReferralEvent, Slot
from yilian.db.session import make_engine, session_scope
from yilian.identity.principal import Principal
from yilian.referrals import jobs, service
from yilian.referrals.schemas import DeclineIn, DraftIn, EventIn, SubmitIn

pytestmark = pytest.mark.concurrency


def _race(engine: Any, calls: list[Callable[[Any], object]]) -> list[object]:
    """Run each call in its own thread and session, all released at once; exceptions are returned."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[Any], object]) -> object:
        start.wait()
        try:
            with session_scope(engine) as session:
                return call(session)
        except DomainError as exc:
            return exc

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def _setup(engine: Any, *, submit: bool = True) -> tuple[dict[str, Principal], int, list[int], int]:
    with session_scope(engine) as session:
        w = world(session)
        people = {k: w.p(k) for k in w.users}
        ep = up_draft(session, w)
        if submit:
            ep = service.do_submit(session, w.p("gp"), ep.id, SubmitIn(version=1), now=NOW)
        return people, ep.id, [s.id for s in w.slots_x], w.rid


def _count(engine: Any, model: Any, *where: Any) -> int:
    with session_scope(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _conflicts(results: list[object]) -> list[str]:
    return [r.code for r in results if isinstance(r, Conflict)]


def test_16_two_receivers_accept_at_once_one_wins(committed_db: str) -> None:
    engine = make_engine(committed_db)
    try:
        people, rid, _, _ = _setup(engine)
        results = _race(engine, [
            lambda s: service.do_accept(s, people["spec"], rid, EventIn(version=2), now=NOW + timedelta(hours=1)),
            lambda s: service.do_accept(s, people["spec2"], rid, EventIn(version=2), now=NOW + timedelta(hours=1)),
        ])
        assert _conflicts(results) == ["stale_version"]
        assert _count(engine, ReferralEvent, ReferralEvent.referral_id == rid, ReferralEvent.event == "accept") == 1
        with session_scope(engine) as session:
            ep = session.get(ReferralEpisode, rid)
            assert ep is not None and (ep.status, ep.version) == ("accepted", 3)
    finally:
        engine.dispose()


def test_15_accept_and_decline_at_once_exactly_one_commits(committed_db: str) -> None:
    engine = make_engine(committed_db)
    try:
        people, rid, _, _ = _setup(engine)
        results = _race(engine, [
            lambda s: service.do_accept(s, people["spec"], rid, EventIn(version=2), now=NOW),
            lambda s: service.do_decline(s, people["spec2"], rid, DeclineIn(version=2, code="no_capacity"), now=NOW),
        ])
        assert _conflicts(results) == ["stale_version"]
        assert _count(engine, ReferralEvent, ReferralEvent.referral_id == rid) == 2  # submit + the winner
        with session_scope(engine) as session:
            ep = session.get(ReferralEpisode, rid)
            assert ep is not None and ep.version == 3 and ep.status in ("accepted", "declined")
    finally:
        engine.dispose()


def test_14_two_submits_holding_the_same_slot_one_hold(committed_db: str) -> None:
    engine = make_engine(committed_db)
    try:
        people, first, slot_ids, _ = _setup(engine, submit=False)
        with session_scope(engine) as session:  # a second draft about the same resident, by a colleague
            ep = session.get(ReferralEpisode, first)
            assert ep is not None
            second = service.do_create_draft(session, people["gp2"], DraftIn(
                resident_id=ep.resident_id, receiving_institution_id=ep.receiving_institution_id, direction="up",
                urgency="routine", diagnoses=["I21"]), now=NOW).id
        slot = slot_ids[0]
        results = _race(engine, [
            lambda s: service.do_submit(s, people["gp"], first, SubmitIn(version=1, slot_id=slot), now=NOW),
            lambda s: service.do_submit(s, people["gp2"], second, SubmitIn(version=1, slot_id=slot), now=NOW),
        ])
        # One refusal: the loser finds the place taken (the races meet at the conditional UPDATE) or, when
        # the winner has committed first, this same resident already holding the slot.
        conflicts = _conflicts(results)
        assert len(conflicts) == 1 and conflicts[0] in ("slot_taken", "already_booked"), conflicts
        with session_scope(engine) as session:
            statuses = sorted(session.scalars(select(ReferralEpisode.status).where(
                ReferralEpisode.id.in_((first, second)))))
            assert statuses == ["draft", "requested"]
            assert session.get(Slot, slot).booked_count == 1  # type: ignore[union-attr]
            holds = session.scalar(select(func.count()).select_from(Appointment).where(Appointment.slot_id == slot))
            assert holds == 1
    finally:
        engine.dispose()


def test_18_the_job_expires_while_a_clinician_accepts(committed_db: str) -> None:
    engine = make_engine(committed_db)
    try:
        people, rid, _, _ = _setup(engine)
        later = NOW + timedelta(hours=80)  # escalation and expiry both due
        results = _race(engine, [
            lambda s: jobs.tick(s, later),
            lambda s: service.do_accept(s, people["spec"], rid, EventIn(version=2), now=later),
        ])
        tick, accept = results
        assert isinstance(tick, jobs.TickResult)
        with session_scope(engine) as session:
            ep = session.get(ReferralEpisode, rid)
            assert ep is not None and ep.version == 3
            transitions = session.scalars(select(ReferralEvent.event).where(ReferralEvent.referral_id == rid,
                                                                            ReferralEvent.seq == 3)).all()
        if ep.status == "expired":  # the job won: the clinician lost with stale_version
            assert isinstance(accept, Conflict) and accept.code == "stale_version"
            assert tick.counts["expire"] == 1 and transitions == ["expire"]
        else:  # the clinician won: the job skipped silently
            assert ep.status == "accepted" and transitions == ["accept"]
            assert tick.counts["expire"] == 0
    finally:
        engine.dispose()


def test_two_job_runs_at_once_write_each_action_once(committed_db: str) -> None:
    engine = make_engine(committed_db)
    try:
        _, rid, _, _ = _setup(engine)
        later = NOW + timedelta(hours=25)
        results = _race(engine, [lambda s: jobs.tick(s, later), lambda s: jobs.tick(s, later)])
        totals = sorted(r.total for r in results if isinstance(r, jobs.TickResult))
        assert totals == [0, 1]
        assert _count(engine, ReferralEscalation, ReferralEscalation.referral_id == rid) == 1
    finally:
        engine.dispose()
