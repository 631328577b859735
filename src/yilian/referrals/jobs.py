"""The deadline job (REFERRAL.md "Deadlines" → "The job"): escalate and expire, once.

``tick(session, now)`` walks the open referrals, asks the pure ``due_actions`` what is due
at ``now`` and applies each action through ``transition`` as the system actor — escalation
first, then the final action (expire, deemed approval), both when both are due after
downtime.  Each referral is one savepoint: an escalation key already present (unique on
referral, kind, status entry) or a version moved by a person (compare-and-set) rolls that
referral back and it is skipped silently, to be looked at again on the next run.
Notifications are published only for what a run wrote, after commit.

Idempotent: a second run at the same ``now`` finds the escalation keys present and the
statuses changed, writes nothing and publishes nothing; ``tick`` then counts zeros.

``DeadlineTicker`` runs the job every ``tick_interval`` (5 min) inside the app, each run in
its own transaction; the app factory starts and stops it.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from yilian.core import events as core_events
from yilian.core.clock import to_local, utcnow
from yilian.core.errors import DomainError
from yilian.referrals import repository
from yilian.referrals.config import ReferralPolicy
from yilian.referrals.execute import apply_decision
from yilian.referrals.notices import Notice, publish_notices
from yilian.referrals.policy import policy_for
from yilian.referrals.records import EscalationKind, Event, EventInput
from yilian.referrals.rules import due_actions
from yilian.referrals.service import SYSTEM_AUDIT
from yilian.referrals.snapshot import snapshot_of
from yilian.referrals.states import SYSTEM, next_snapshot, transition

__all__ = ["ACTION_KEYS", "DeadlineTicker", "TickResult", "tick"]

log = logging.getLogger("yilian.referrals.jobs")

#: What ``tick`` counts, in this order (``yilian referrals tick`` prints every key, zeros included).
ACTION_KEYS: Final = (*(f"escalate.{k.value}" for k in EscalationKind), "expire", "deem_approval")


@dataclass(frozen=True, slots=True)
class TickResult:
    now: datetime
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _key(event: Event, kind: EscalationKind | None) -> str:
    return f"escalate.{kind.value}" if event == Event.ESCALATE and kind is not None else event.value


def _one(session: Session, referral_id: int, now: datetime, policies: dict[int | None, ReferralPolicy]) -> Counter[str]:
    done: Counter[str] = Counter()
    notices: list[Notice] = []
    try:
        with session.begin_nested():
            ep = repository.episode(session, referral_id)
            if ep is None:
                return done
            snap = snapshot_of(session, ep)
            cid = ep.governing_consortium_id
            if cid not in policies:
                policies[cid] = policy_for(session, cid, to_local(now).date())
            policy = policies[cid]
            resident = repository.resident(session, ep.resident_id)
            for action in due_actions(snap, now, policy):
                inp = EventInput(action.event)
                d = transition(snap, inp, SYSTEM, now, policy)
                notices += apply_decision(session, ep, d, inp, actor=SYSTEM_AUDIT, now=now,
                                          resident_name=resident.name if resident else "")
                snap = next_snapshot(snap, d)
                done[_key(action.event, action.escalation.kind if action.escalation else None)] += 1
    except (DomainError, IntegrityError) as exc:
        # Lost a race (a person moved the version, another run wrote the escalation): skip quietly.
        log.info("referral %s skipped by the deadline job: %s", referral_id, exc)
        return Counter()
    publish_notices(session, notices)
    return done


def tick(session: Session, now: datetime | None = None, *, batch: int = 500) -> TickResult:
    """Apply every due deadline action once, stamped with ``now`` (the injected clock)."""
    now = now or utcnow()
    counts: Counter[str] = Counter()
    policies: dict[int | None, ReferralPolicy] = {}
    after = 0
    while True:
        ids = repository.open_episode_ids(session, after, batch)
        if not ids:
            break
        for rid in ids:
            counts += _one(session, rid, now, policies)
        after = ids[-1]
    return TickResult(now, {k: counts.get(k, 0) for k in ACTION_KEYS})


class DeadlineTicker:
    """Runs ``tick`` every ``interval`` in a daemon thread, each run in its own committed transaction."""

    def __init__(self, maker: sessionmaker[Session], interval: timedelta | None = None) -> None:
        self.maker = maker
        self.interval = interval or ReferralPolicy().tick_interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> TickResult:
        session = self.maker()
        try:
            result = tick(session)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        core_events.run_pending(session, self.maker)
        return result

    def _loop(self) -> None:
        while not self._stop.wait(self.interval.total_seconds()):
            try:
                result = self.run_once()
                if result.total:
                    log.info("referral deadline job: %s", result.counts)
            except Exception:
                log.exception("referral deadline job failed")

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="referral-deadlines", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
