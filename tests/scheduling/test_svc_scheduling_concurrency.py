"""Atomic booking under real concurrency: committed rows, one connection and session per worker.

Runs on whichever database the suite uses (a fresh SQLite file in WAL mode with a busy
timeout, or a fresh PostgreSQL database), created by ``committed_db`` and dropped after.
Workers start together behind a barrier so their transactions really overlap.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import builders as b
from yilian.core.errors import DomainError
from yilian.db.models import Appointment, Department, Slot
from yilian.db.session import make_engine, session_scope
from yilian.scheduling import schedules, service
from yilian.scheduling.schemas import ScheduleIn

pytestmark = pytest.mark.concurrency

NOW = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)
START = NOW + timedelta(days=2)
WORKERS = 50


@dataclass
class Setup:
    engine: Engine
    single: int  # slot id, capacity 1
    triple: int  # slot id, capacity 3
    residents: list[int]


@pytest.fixture()
def setup(committed_db: str) -> Iterator[Setup]:
    engine = make_engine(committed_db, pool_size=WORKERS, max_overflow=0, pool_timeout=60)
    try:
        with session_scope(engine) as s:
            b.division(s, "320102", "测试县", "county")
            h = b.institution(s, name="县人民医院", category="A100", level="3")
            dept = Department(institution_id=h.id, code="CARD", name="心内科")
            s.add(dept)
            s.flush()
            sched = schedules.do_create_schedule(s, b.admin(), ScheduleIn(institution_id=h.id, department_id=dept.id,
                                                                          name="门诊"))
            pool = schedules.ensure_public_pool(s, h.id)
            slots = [Slot(institution_id=h.id, schedule_id=sched.id, pool_id=pool.id, kind="appointment",
                          start_at=START + timedelta(minutes=15 * i), end_at=START + timedelta(minutes=15 * (i + 1)),
                          capacity=cap, booked_count=0, created_at=NOW) for i, cap in enumerate((1, 3))]
            s.add_all(slots)
            residents = [b.resident(s, name=f"居民{i}") for i in range(WORKERS)]
            s.flush()
            ids = Setup(engine, slots[0].id, slots[1].id, [r.id for r in residents])
        yield ids
    finally:
        engine.dispose()


def run_parallel(engine: Engine, n: int, action: Callable[[Session, int], object]) -> Counter[str]:
    """Run ``action(session, i)`` in ``n`` threads started together, each with its own session
    (so its own connection and transaction); count the outcomes by error code."""
    barrier = threading.Barrier(n)

    def one(i: int) -> str:
        barrier.wait(timeout=60)
        try:
            with session_scope(engine) as s:
                action(s, i)
            return "ok"
        except DomainError as exc:
            return exc.code

    with ThreadPoolExecutor(max_workers=n) as pool:
        return Counter(pool.map(one, range(n)))


def _counts(engine: Engine, slot_id: int) -> tuple[int, int, int]:
    with session_scope(engine) as s:
        slot = s.get(Slot, slot_id)
        assert slot is not None
        active = s.scalar(select(func.count()).select_from(Appointment)
                          .where(Appointment.slot_id == slot_id, Appointment.active_place.is_not(None)))
        total = s.scalar(select(func.count()).select_from(Appointment).where(Appointment.slot_id == slot_id))
        return slot.booked_count, int(active or 0), int(total or 0)


def test_fifty_parallel_bookings_of_one_slot_make_one_booking(setup: Setup) -> None:
    results = run_parallel(setup.engine, WORKERS, lambda s, i: service.do_book(
        s, b.admin(), setup.single, setup.residents[i], now=NOW))
    assert results == Counter({"ok": 1, "slot_taken": WORKERS - 1})
    assert _counts(setup.engine, setup.single) == (1, 1, 1)


def test_fifty_parallel_bookings_of_a_three_place_slot_make_three(setup: Setup) -> None:
    results = run_parallel(setup.engine, WORKERS, lambda s, i: service.do_book(
        s, b.admin(), setup.triple, setup.residents[i], now=NOW))
    assert results == Counter({"ok": 3, "slot_taken": WORKERS - 3})
    assert _counts(setup.engine, setup.triple) == (3, 3, 3)


def _book(setup: Setup, slot_id: int, *resident_indexes: int) -> list[int]:
    with session_scope(setup.engine) as s:
        return [service.do_book(s, b.admin(), slot_id, setup.residents[i], now=NOW).id for i in resident_indexes]


def test_parallel_cancellations_count_once(setup: Setup) -> None:
    first, _second = _book(setup, setup.triple, 0, 1)
    results = run_parallel(setup.engine, 10, lambda s, i: service.do_cancel(s, b.admin(), first, now=NOW))
    assert results["ok"] == 1
    assert set(results) - {"ok"} <= {"invalid_transition", "stale_version"}
    assert _counts(setup.engine, setup.triple) == (1, 1, 2)  # one place given back, not two


def test_parallel_no_show_flips_count_once(setup: Setup) -> None:
    (appt,) = _book(setup, setup.single, 0)
    later = START + timedelta(hours=1)
    results = run_parallel(setup.engine, 10, lambda s, i: service.do_mark_no_show(s, b.admin(), appt, now=later))
    assert results["ok"] == 1
    assert set(results) - {"ok"} <= {"invalid_transition", "stale_version"}
    with session_scope(setup.engine) as s:
        status = service.no_show_status(s, b.admin(), setup.residents[0], now=later)
        assert status.no_shows == 1
        a = s.get(Appointment, appt)
        assert a is not None and a.status == "no_show" and a.version == 2
