"""Events the scheduling feature publishes after commit (``core.events``)."""

from __future__ import annotations

from typing import Final

from yilian.core.events import Event

APPOINTMENT_BOOKED: Final = "scheduling.appointment_booked"
APPOINTMENT_STATUS: Final = "scheduling.appointment_status"
SLOTS_RELEASED: Final = "scheduling.slots_released"


def appointment_booked(appointment_id: int, slot_id: int, resident_id: int, institution_id: int,
                       pool_kind: str, referral_episode_id: int | None) -> Event:
    return Event(APPOINTMENT_BOOKED, {
        "appointment_id": appointment_id, "slot_id": slot_id, "resident_id": resident_id,
        "institution_id": institution_id, "pool_kind": pool_kind, "referral_episode_id": referral_episode_id,
    })


def appointment_status(appointment_id: int, resident_id: int, status: str,
                       referral_episode_id: int | None) -> Event:
    return Event(APPOINTMENT_STATUS, {"appointment_id": appointment_id, "resident_id": resident_id,
                                      "status": status, "referral_episode_id": referral_episode_id})


def slots_released(counts: dict[str, int]) -> Event:
    return Event(SLOTS_RELEASED, dict(counts))
