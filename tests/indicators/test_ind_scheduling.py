"""Reserved slot use and the appointment rate."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import ind_kit as k
from sqlalchemy.orm import Session

from yilian.indicators.catalogue import Cut

MARCH_10 = date(2025, 3, 10)


def build(session: Session) -> k.World:
    """Slots on 10 March 2025 (places in brackets):

    s1  H referral pool (1)   booked from the referral pool by a referral              → 1 used
    s2  H referral pool (2)   one booking cancelled, one mere hold                     → 0 used
    s3  W1 contract pool (1)  booked by a contracted resident, completed               → 1 used
    s4  H referral pool (1)   released to the public and then booked as public         → 0 used
    s5  H public pool (1)     not reserved                                             → left out
    s6  H referral pool (1)   dated 2026                                                → left out
    s7  H public pool (1)     r3's booking on 12 March, a no-show
    """
    w = k.world(session)
    r1, r2, r3 = k.resident(session, k.T1), k.resident(session, k.T2), k.resident(session, k.T1)
    ref_pool = k.pool(session, w.hospital, "referral", w.c1)
    con_pool = k.pool(session, w.w1, "contract")
    pub_pool = k.pool(session, w.hospital, "public")
    s1 = k.slot(session, w.hospital, ref_pool, MARCH_10)
    k.book(session, s1, r1, pool_kind="referral", channel="referral")
    s2 = k.slot(session, w.hospital, ref_pool, MARCH_10, hour=10, capacity=2)
    k.book(session, s2, r2, pool_kind="referral", channel="referral", status="cancelled")
    k.book(session, s2, r2, pool_kind="referral", channel="referral", held=True, place=2)
    s3 = k.slot(session, w.w1, con_pool, MARCH_10)
    k.book(session, s3, r1, pool_kind="contract", channel="contract", status="completed")
    s4 = k.slot(session, w.hospital, ref_pool, MARCH_10, hour=11)
    s4.released_at = k.local(MARCH_10, 8)
    k.book(session, s4, r3, pool_kind="public", channel="public")
    s5 = k.slot(session, w.hospital, pub_pool, MARCH_10)
    k.book(session, s5, r2, pool_kind="public", channel="public")
    k.slot(session, w.hospital, ref_pool, date(2026, 3, 10))
    s7 = k.slot(session, w.hospital, pub_pool, date(2025, 3, 12))
    k.book(session, s7, r3, pool_kind="public", channel="public", status="no_show")
    # Outpatient visits (emergencies are not counted).
    k.visit(session, r1, w.hospital, MARCH_10, "100", "50")  # matches s1
    k.visit(session, r1, w.w1, MARCH_10, "50", "20")  # matches s3
    k.visit(session, r2, w.hospital, MARCH_10, "100", "50")  # matches s5 (a public booking counts)
    k.visit(session, r2, w.hospital, date(2025, 3, 11), "100", "50")  # no booking that day
    k.visit(session, r3, w.hospital, date(2025, 3, 12), "100", "50")  # a no-show booking does not count
    k.visit(session, r1, w.hospital, MARCH_10, "300", "100", kind="emergency")
    k.visit(session, r1, w.city, MARCH_10, "300", "100")  # out of county
    return w


def test_reserved_slot_use_rate(session: Session) -> None:
    build(session)
    # Places offered from reserved pools in 2025: s1 1 + s2 2 + s3 1 + s4 1 = 5; used: s1, s3 = 2.
    assert k.figures(k.row(session, "reserved_slot_use_rate")) == (Decimal(2), Decimal(5), Decimal("0.4000"), "ok", "")
    rows = k.rows(session, "2025", Cut.INSTITUTION)
    assert k.figures(rows[("reserved_slot_use_rate", "H", "")])[:2] == (Decimal(1), Decimal(4))
    assert k.figures(rows[("reserved_slot_use_rate", "W1", "")])[:2] == (Decimal(1), Decimal(1))


def test_appointment_rate(session: Session) -> None:
    build(session)
    # In-county outpatient visits: 4 (r1 H, r1 W1, r2 H ×2) + r3 H = 5; matched: r1 H, r1 W1, r2 H on 10 March = 3.
    assert k.figures(k.row(session, "appointment_rate")) == (Decimal(3), Decimal(5), Decimal("0.6000"), "ok", "")
    rows = k.rows(session, "2025", Cut.CONSORTIUM)
    assert k.figures(rows[("appointment_rate", "C1", "")])[:2] == (Decimal(3), Decimal(5))
    assert rows[("appointment_rate", "C2", "")].reason == "zero_denominator"
