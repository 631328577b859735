"""Events the referral feature publishes, and its handlers for upstream events (after commit).

Published: ``referrals.notify`` (``notices.NOTIFY``) — the inbox messages of a transition;
its handler writes the ``notification`` rows.

Subscribed (REFERRAL.md row 22, "follow-up seen"): care's ``care.encounter_recorded`` and
``care.encounters_imported`` (a CSV chunk, by id range) and contracts'
``contracts.delivery_recorded``.  An encounter or delivery record of a down-referred
resident at the receiving institution (or one of its stations / village clinics), on or after
acceptance, completes the referral.  Handlers are idempotent: a redelivered event finds the
referral already completed and the transition refused, which they skip.

``register()`` subscribes the handlers; the app factory and the CLI root call it (it is
also called when the referral API, pages or CLI are imported, and is safe to call twice).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from yilian.care import events as care_events
from yilian.contracts import events as contract_events
from yilian.core.events import Event, subscribe
from yilian.referrals import repository, service
from yilian.referrals.notices import NOTIFY, write_inbox
from yilian.referrals.records import FollowUpSource

__all__ = ["NOTIFY", "on_delivery_recorded", "on_encounter_recorded", "on_encounters_imported", "register"]


def on_encounter_recorded(session: Session, event: Event) -> None:
    p = event.payload
    service.do_followup_seen(session, resident_id=int(p["resident_id"]), institution_id=int(p["institution_id"]),
                             on=date.fromisoformat(p["start_date"]), source=FollowUpSource.ENCOUNTER,
                             evidence_id=f"encounter:{p['encounter_id']}")


def on_encounters_imported(session: Session, event: Event) -> None:
    p = event.payload
    for encounter_id, resident_id, institution_id, on in repository.encounters_in_range(
            session, int(p["first_id"]), int(p["last_id"])):
        service.do_followup_seen(session, resident_id=resident_id, institution_id=institution_id, on=on,
                                 source=FollowUpSource.ENCOUNTER, evidence_id=f"encounter:{encounter_id}")


def on_delivery_recorded(session: Session, event: Event) -> None:
    p = event.payload
    service.do_followup_seen(session, resident_id=int(p["resident_id"]), institution_id=int(p["institution_id"]),
                             on=date.fromisoformat(p["delivered_on"]), source=FollowUpSource.DELIVERY,
                             evidence_id=f"delivery:{p['delivery_id']}")


def register() -> None:
    """Subscribe the referral handlers (idempotent)."""
    subscribe(NOTIFY, write_inbox)
    subscribe(care_events.ENCOUNTER_RECORDED, on_encounter_recorded)
    subscribe(care_events.ENCOUNTERS_IMPORTED, on_encounters_imported)
    subscribe(contract_events.DELIVERY_RECORDED, on_delivery_recorded)
