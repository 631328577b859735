"""Configurable parameters of the indicator definitions (INDICATORS.md), with its defaults.

Pure: no database, no web.  A deployment that needs other values passes its own ``IndicatorPolicy``
to the engine; snapshots record the catalogue version, and a non-default policy is part of it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class IndicatorPolicy:
    #: ``contract_renewal_rate``: a new contract of the same resident starting within this many days
    #: after the term ran out counts as a renewal.
    renewal_window_days: int = 30
    #: ``down_referral_rate``: a down-referral submitted up to this many days after discharge belongs
    #: to the stay.
    down_referral_days_after_discharge: int = 3

    def tag(self) -> str:
        """Empty for the defaults; otherwise a short description kept with the catalogue version."""
        if self == DEFAULT_POLICY:
            return ""
        return f"renew{self.renewal_window_days}-down{self.down_referral_days_after_discharge}"


DEFAULT_POLICY = IndicatorPolicy()
