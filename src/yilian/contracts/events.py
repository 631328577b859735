"""Events the contracts feature publishes after commit (``core.events``).

Payloads are plain JSON values.  ``DELIVERY_RECORDED`` is what referrals listen for:
a delivery record of a down-referred resident at the receiving institution counts as
the follow-up (REFERRAL.md row 22).
"""

from __future__ import annotations

from datetime import date
from typing import Final

from yilian.core.events import Event

CONTRACT_SIGNED: Final = "contracts.signed"
CONTRACT_ENDED: Final = "contracts.ended"
DELIVERY_RECORDED: Final = "contracts.delivery_recorded"


def contract_signed(contract_id: int, resident_id: int, team_id: int, institution_id: int, start: date) -> Event:
    return Event(CONTRACT_SIGNED, {"contract_id": contract_id, "resident_id": resident_id, "team_id": team_id,
                                   "institution_id": institution_id, "start_on": start.isoformat()})


def contract_ended(contract_id: int, resident_id: int, status: str, stop: date) -> Event:
    return Event(CONTRACT_ENDED, {"contract_id": contract_id, "resident_id": resident_id, "status": status,
                                  "stop_on": stop.isoformat()})


def delivery_recorded(
    delivery_id: int, contract_id: int, resident_id: int, institution_id: int, parent_institution_id: int | None,
    item_code: str, on: date,
) -> Event:
    return Event(DELIVERY_RECORDED, {
        "delivery_id": delivery_id, "contract_id": contract_id, "resident_id": resident_id,
        "institution_id": institution_id, "parent_institution_id": parent_institution_id,
        "item_code": item_code, "delivered_on": on.isoformat(),
    })
