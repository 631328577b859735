"""Registrations of one ID number racing on committed rows: one resident, every caller gets it."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from residents_world import number, resident_in, world
from sqlalchemy import func, select

from yilian.db.models import CareRelationship, Resident
from yilian.db.session import make_engine, session_scope
from yilian.identity.service import principal_of
from yilian.residents import service
from yilian.residents.crypto import cipher

WORKERS = 8


@pytest.mark.concurrency
def test_parallel_registrations_of_one_number_make_one_resident(committed_db: str) -> None:
    engine = make_engine(committed_db)
    try:
        with session_scope(engine) as session:
            w = world(session)
            actors = [principal_of(w.clin_a_user), principal_of(w.clin_b_user)]
        raw = number()
        # Load the PII key before the threads start: this test races registrations, not the
        # first-run creation of the key file.
        cipher()
        start = threading.Barrier(WORKERS)

        def register(i: int) -> tuple[int, bool]:
            start.wait()  # all lookups at once, before anyone has committed
            with session_scope(engine) as session:
                r, created = service.do_register_resident(session, actors[i % 2], resident_in(id_number=raw))
                return r.id, created

        with ThreadPoolExecutor(WORKERS) as pool:
            outcomes = list(pool.map(register, range(WORKERS)))
        assert len({rid for rid, _ in outcomes}) == 1
        assert sum(created for _, created in outcomes) == 1
        with session_scope(engine) as session:
            assert session.scalar(select(func.count()).select_from(Resident)) == 1
            kinds = session.execute(select(CareRelationship.institution_id, CareRelationship.kind)).all()
            assert sorted(kinds) == sorted([(w.inst_a.id, "registered"), (w.inst_b.id, "registered")])
    finally:
        engine.dispose()
