"""The hand-made year of care shared by the care-pattern and fund tests (see the tables in each test).

Residents: r1 (home T1, insured in the county), r2 (home T2, insured in the county), r3 (home T1,
uninsured), r4 (home T2, insured in the city district: not the county's insured).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import ind_kit as k
from sqlalchemy.orm import Session

from yilian.db.models import Resident


@dataclass
class Year:
    w: k.World
    r1: Resident
    r2: Resident
    r3: Resident
    r4: Resident


def build(session: Session) -> Year:
    w = k.world(session)
    r1 = k.resident(session, k.T1, name="王小明")
    r2 = k.resident(session, k.T2, name="李四")
    r3 = k.resident(session, k.T1, insured=None, name="赵五")
    r4 = k.resident(session, k.T2, insured=k.CITY_DISTRICT, name="钱六")
    # Visits (dated by visit date).                                 cost    fund   drugs
    k.visit(session, r1, w.v1, date(2025, 3, 1), "50", "30", "20")        # 1
    k.visit(session, r1, w.w1, date(2025, 3, 2), "100", "60", "40")       # 2
    k.visit(session, r1, w.hospital, date(2025, 3, 3), "400", "200", "100", kind="emergency")  # 3
    k.visit(session, r2, w.w2, date(2025, 4, 1), "80", "50", "30")        # 4
    k.visit(session, r2, w.city, date(2025, 4, 2), "300", "0", "100")     # 5 out of county (a claim)
    k.visit(session, r3, w.hospital, date(2025, 5, 1), "200", "0", "50")  # 6 uninsured
    k.visit(session, r4, w.tcm, date(2025, 6, 1), "150", "90", "60")      # 7 insured elsewhere
    k.visit(session, r1, w.w1, date(2024, 12, 31), "70", "40", "10")      # 8 prior year
    k.visit(session, r2, w.tcm, date(2025, 7, 1))                         # 9 not settled
    # Stays (dated by discharge date).
    k.stay(session, r1, w.hospital, date(2025, 2, 25), date(2025, 3, 5), "9000", "6000", "3000")   # 10: 8 days
    k.stay(session, r1, w.city, date(2025, 5, 1), date(2025, 5, 11), "20000", "10000", "8000")     # 11: out
    k.stay(session, r2, w.w2, date(2025, 6, 1), date(2025, 6, 1), "2000", "1600", "500")          # 12: 0 → 1 day
    k.stay(session, r2, w.tcm, date(2024, 12, 20), date(2025, 1, 2), "6000", "4000", "2000")      # 13: 13 days
    k.stay(session, r1, w.hospital, date(2025, 12, 28), date(2026, 1, 3), "5000", "3000", "1000")  # 14: 2026
    k.stay(session, r3, w.w1, date(2025, 8, 1), date(2025, 8, 5))                                 # 15: unsettled
    k.stay(session, r2, w.hospital, date(2024, 3, 1), date(2024, 3, 4), "5000", "3000", "1000")   # 16: prior year
    k.stay(session, r1, w.hospital, date(2025, 12, 30), None)                                     # 17: still in
    return Year(w, r1, r2, r3, r4)
