"""Events care publishes, after commit (core/events.py).

Downstream features subscribe instead of care calling them: referrals completes a down-referral's
follow-up when an encounter of the resident at the receiving institution arrives (REFERRAL.md
row 22).  A CSV batch publishes one event per chunk with its id range, not one per row: a year of
visits is millions of rows, and a handler reads the range in one query.  Handlers key on
``event_id`` (idempotent), as the dispatcher requires.
"""

from __future__ import annotations

from typing import Final

from yilian.core.events import Event
from yilian.db.models import Encounter

ENCOUNTER_RECORDED: Final = "care.encounter_recorded"
ENCOUNTERS_IMPORTED: Final = "care.encounters_imported"


def encounter_recorded(e: Encounter) -> Event:
    return Event(ENCOUNTER_RECORDED, {
        "encounter_id": e.id, "resident_id": e.resident_id, "institution_id": e.institution_id, "kind": e.kind,
        "start_date": e.start_date.isoformat(), "end_date": e.end_date.isoformat() if e.end_date else None,
        "referral_episode_id": e.referral_episode_id,
    })


def encounters_imported(first_id: int, last_id: int) -> Event:
    """Encounters with ids in [first_id, last_id] were written by one import chunk."""
    return Event(ENCOUNTERS_IMPORTED, {"first_id": first_id, "last_id": last_id})
