"""Scheduling policy: release leads, the no-show rule and appointment windows, as defaults.

Every value is [practice] (the seeds say slots are reserved for referrals, not
for how long): configurable per institution, these are the starting points.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

__all__ = ["SchedulingPolicy"]


@dataclass(frozen=True, slots=True)
class SchedulingPolicy:
    #: An unused referral-reserved slot opens to the public this long before it starts,
    #: so reserved capacity is not wasted (a referral rarely arrives that late).
    referral_release_before: timedelta = timedelta(hours=24)
    #: Same for slots reserved for contracted residents.
    contract_release_before: timedelta = timedelta(hours=24)
    #: ``no_show_limit`` no-shows within ``no_show_window_days`` block self-booking.
    no_show_limit: int = 3
    no_show_window_days: int = 90
    #: A booking may be marked no-show only this long after the slot starts.
    no_show_grace: timedelta = timedelta(0)
    #: A booking may be cancelled until this long before the slot starts.
    cancel_cutoff: timedelta = timedelta(0)
    #: Check-in opens this long before the slot starts (early arrivals for exams).
    checkin_opens_before: timedelta = timedelta(hours=24)
