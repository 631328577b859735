"""Referral codes: counts by submission date, timely acceptance, closure, follow-up, down-referral rate,
orderly out-of-county stays.  Outcomes are counted as of a fixed moment."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import ind_kit as k
import pytest
from sqlalchemy.orm import Session

import builders as b
from yilian.identity.roles import Role
from yilian.indicators.catalogue import Cut

AS_OF = k.local(date(2026, 1, 15))
H = timedelta(hours=1)


def build(session: Session) -> k.World:
    """Up-referrals (24 h acceptance limit) and down-referrals (48 h):

    R1  W1→H  03-01 accepted +2 h, completed                       up ✓  timely ✓  closure ✓
    R2  W1→H  03-02 cancelled +1 h (withdrawn)                    up ✗  timely —  closure —
    R3  V1→H  04-01 accepted +30 h, in care                        up ✓  timely ✗  closure ✗
    R4  W2→Z  05-01 declined by the receiver +5 h                  up ✓  timely ✗  closure —
    R5  W2→O  06-01 approval rejected                              up ✓  timely —  closure —
    R6  W1→H  12-31 20:00 Beijing, still undecided                 up ✓  timely ✗ (limit passed by AS_OF)
    R7  W1→H  2026-01-01 00:30 Beijing (31 Dec UTC)                belongs to 2026
    R8  W1→H  07-01 approved +30 h, accepted 10 h after approval   up ✓  timely ✓ (counted from approval) closure ✓
    R9  W1→H  08-01 expired unanswered +72 h                       up ✓  timely ✗
    R10 W1→H  09-01 cancelled +30 h, undecided                     up ✗  timely ✗ (the limit passed first)
    D1  H→W1  03-06 auto-accepted; follow-up on time               down ✓ timely ✓ closure ✓ follow-up ✓
    D2  H→W1  07-01 accepted +10 h, completed; follow-up late      down ✓ timely ✓ closure ✓ follow-up ✗
    D3  Z→W2  12-20 accepted +1 h; follow-up due 12-27, none       down ✓ timely ✓ closure ✗ follow-up ✗
    D4  Z→W2  11-01 cancelled +1 h                                 down ✗
    """
    w = k.world(session)
    uid = b.user(session, Role.CLINICIAN, institution_id=w.w1.id).id
    r1 = k.resident(session, k.T1)
    r2 = k.resident(session, k.T2)

    def ref(who, sender, receiver, direction, day, hour=10, minute=0, **kw):  # type: ignore[no-untyped-def]
        return k.referral(session, who, sender, receiver, direction, k.local(day, hour, minute), user_id=uid, **kw)

    t = k.local(date(2025, 3, 1))
    ref(r1, w.w1, w.hospital, "up", date(2025, 3, 1), status="completed", accepted_at=t + 2 * H,
        completed_at=t + 9 * H)
    t = k.local(date(2025, 3, 2))
    ref(r1, w.w1, w.hospital, "up", date(2025, 3, 2), status="cancelled", cancelled_at=t + H)
    t = k.local(date(2025, 4, 1))
    ref(r1, w.v1, w.hospital, "up", date(2025, 4, 1), status="in_care", accepted_at=t + 30 * H)
    t = k.local(date(2025, 5, 1))
    ref(r2, w.w2, w.tcm, "up", date(2025, 5, 1), status="declined", end_reason="declined", declined_at=t + 5 * H)
    t = k.local(date(2025, 6, 1))
    ref(r2, w.w2, w.city, "up", date(2025, 6, 1), status="declined", approval="rejected",
        end_reason="approval_rejected", declined_at=t + 3 * H)
    ref(r1, w.w1, w.hospital, "up", date(2025, 12, 31), hour=20)
    ref(r1, w.w1, w.hospital, "up", date(2026, 1, 1), hour=0, minute=30)
    t = k.local(date(2025, 7, 1))
    ref(r1, w.w1, w.hospital, "up", date(2025, 7, 1), status="scheduled", approval="approved",
        approved_at=t + 30 * H, accepted_at=t + 40 * H)
    t = k.local(date(2025, 8, 1))
    ref(r1, w.w1, w.hospital, "up", date(2025, 8, 1), status="expired", end_reason="expired_unanswered",
        expired_at=t + 72 * H)
    t = k.local(date(2025, 9, 1))
    ref(r1, w.w1, w.hospital, "up", date(2025, 9, 1), status="cancelled", end_reason="cancelled_by_sender",
        cancelled_at=t + 30 * H)
    t = k.local(date(2025, 3, 6))
    d1 = ref(r1, w.hospital, w.w1, "down", date(2025, 3, 6), status="accepted", accepted_at=t)
    k.followup(session, d1, t + 7 * 24 * H, date(2025, 3, 10))
    t = k.local(date(2025, 7, 1))
    d2 = ref(r2, w.hospital, w.w1, "down", date(2025, 7, 1), status="completed", accepted_at=t + 10 * H)
    k.followup(session, d2, t + 10 * H + 7 * 24 * H, date(2025, 7, 10))
    t = k.local(date(2025, 12, 20))
    d3 = ref(r2, w.tcm, w.w2, "down", date(2025, 12, 20), status="accepted", accepted_at=t + H)
    k.followup(session, d3, t + H + 7 * 24 * H, None)
    t = k.local(date(2025, 11, 1))
    ref(r1, w.tcm, w.w2, "down", date(2025, 11, 1), status="cancelled", cancelled_at=t + H)
    # Lead-hospital stays (H leads C1, Z leads C2).
    k.stay(session, r1, w.hospital, date(2025, 2, 25), date(2025, 3, 5))  # D1 the day after: carries
    k.stay(session, r2, w.hospital, date(2025, 6, 15), date(2025, 6, 20))  # D2 eleven days later: no
    k.stay(session, r2, w.tcm, date(2025, 12, 10), date(2025, 12, 18))  # D3 two days later: carries
    k.stay(session, r1, w.tcm, date(2025, 10, 25), date(2025, 10, 30))  # D4 was cancelled: no
    return w


def test_counts_and_ratio(session: Session) -> None:
    build(session)
    rows = k.rows(session, "2025", as_of=AS_OF)
    # Up: R1, R3, R4, R5, R6, R8, R9 = 7 (R2 and R10 cancelled, R7 in 2026).  Down: D1, D2, D3 = 3 (D4 cancelled).
    assert k.figures(rows[("up_referrals", "", "")]) == (Decimal(7), None, Decimal(7), "ok", "")
    assert k.figures(rows[("down_referrals", "", "")]) == (Decimal(3), None, Decimal(3), "ok", "")
    assert k.figures(rows[("down_up_ratio", "", "")]) == (Decimal(3), Decimal(7), Decimal("0.4286"), "ok", "")
    assert k.figures(k.row(session, "up_referrals", "2026", as_of=AS_OF))[:1] == (Decimal(1),)


def test_timely_acceptance(session: Session) -> None:
    build(session)
    r = k.row(session, "referral_timely_accept_rate", as_of=AS_OF)
    # Denominator: R1, R3, R4, R6, R8, R9, R10, D1, D2, D3 = 10; on time: R1, R8, D1, D2, D3 = 5.
    assert k.figures(r) == (Decimal(5), Decimal(10), Decimal("0.5000"), "ok", "")
    # At 2026-01-01 12:00 Beijing R6 (submitted 12-31 20:00) is still inside its 24 h: left out → 5 / 9.
    early = k.row(session, "referral_timely_accept_rate", as_of=k.local(date(2026, 1, 1), 12))
    assert k.figures(early)[:3] == (Decimal(5), Decimal(9), Decimal("0.5556"))


def test_timely_acceptance_by_receiver(session: Session) -> None:
    build(session)
    rows = k.rows(session, "2025", Cut.CONSORTIUM, as_of=AS_OF)
    # C1 receivers (H, W1): R1, R3, R6, R8, R9, R10, D1, D2 → 8, on time R1, R8, D1, D2 = 4.
    assert k.figures(rows[("referral_timely_accept_rate", "C1", "")])[:3] == (Decimal(4), Decimal(8),
                                                                               Decimal("0.5000"))
    # C2 receivers (Z, W2): R4, D3 → D3 on time.
    assert k.figures(rows[("referral_timely_accept_rate", "C2", "")])[:3] == (Decimal(1), Decimal(2),
                                                                               Decimal("0.5000"))


def test_closure_and_followup(session: Session) -> None:
    build(session)
    rows = k.rows(session, "2025", as_of=AS_OF)
    # Accepted: R1, R3, R8, D1, D2, D3 = 6; completed: R1, D2 = 2.
    assert k.figures(rows[("referral_closure_rate", "", "")]) == (Decimal(2), Decimal(6), Decimal("0.3333"), "ok", "")
    # Accepted down-referrals due or followed up: D1 (on time), D2 (late), D3 (due, none) → 1 / 3.
    assert k.figures(rows[("down_followup_on_time_rate", "", "")]) == (
        Decimal(1), Decimal(3), Decimal("0.3333"), "ok", "")


def test_down_referral_rate(session: Session) -> None:
    build(session)
    county = k.rows(session, "2025", as_of=AS_OF)
    # Lead-hospital stays discharged 2025: two at H, two at Z; carrying a down-referral: one each.
    assert k.figures(county[("down_referral_rate", "", "")]) == (Decimal(2), Decimal(4), Decimal("0.5000"), "ok", "")
    by_c = k.rows(session, "2025", Cut.CONSORTIUM, as_of=AS_OF)
    assert k.figures(by_c[("down_referral_rate", "C1", "")])[:2] == (Decimal(1), Decimal(2))
    by_i = k.rows(session, "2025", Cut.INSTITUTION, as_of=AS_OF)
    assert k.figures(by_i[("down_referral_rate", "Z", "")])[:2] == (Decimal(1), Decimal(2))
    assert by_i[("down_referral_rate", "W1", "")].reason == "zero_denominator"


def test_orderly_out_of_county_rate(session: Session) -> None:
    w = k.world(session)
    uid = b.user(session, Role.CLINICIAN, institution_id=w.w1.id).id
    r1 = k.resident(session, k.T1)
    r2 = k.resident(session, k.T2)
    r3 = k.resident(session, k.T1, insured=None)
    approved = k.referral(session, r1, w.hospital, w.city, "up", k.local(date(2025, 4, 28)), user_id=uid,
                          approval="approved", status="completed")
    pending = k.referral(session, r2, w.tcm, w.city, "up", k.local(date(2025, 4, 28)), user_id=uid,
                         approval="pending", status="awaiting_approval")
    k.stay(session, r1, w.city, date(2025, 5, 1), date(2025, 5, 11), referral_episode_id=approved.id)  # orderly
    k.stay(session, r2, w.city, date(2025, 5, 1), date(2025, 5, 5), referral_episode_id=pending.id)  # not approved
    k.stay(session, r2, w.city, date(2025, 7, 1), date(2025, 7, 5))  # no referral
    k.stay(session, r3, w.city, date(2025, 7, 1), date(2025, 7, 5))  # not the county's insured
    k.stay(session, r1, w.hospital, date(2025, 7, 1), date(2025, 7, 5))  # in county
    assert k.figures(k.row(session, "orderly_out_of_county_rate", as_of=AS_OF)) == (
        Decimal(1), Decimal(3), Decimal("0.3333"), "ok", "")
    by_c = k.rows(session, "2025", Cut.CONSORTIUM, as_of=AS_OF)
    assert k.figures(by_c[("orderly_out_of_county_rate", "C1", "")])[:2] == (Decimal(1), Decimal(1))  # r1's
    assert k.figures(by_c[("orderly_out_of_county_rate", "C2", "")])[:2] == (Decimal(0), Decimal(2))  # r2's


@pytest.mark.parametrize("period,ups,downs", [("2025Q1", 1, 1), ("2025-12", 1, 1), ("2025Q3", 2, 1)])
def test_counts_by_quarter_and_month(session: Session, period: str, ups: int, downs: int) -> None:
    build(session)
    # Q1: R1 (R2 was withdrawn) and D1.  December: R6 (R7 is 2026 in Beijing time) and D3.
    # Q3: R8 (July), R9 (August); R10 (September) was cancelled; D2 (July).
    rows = k.rows(session, period, as_of=AS_OF)
    assert rows[("up_referrals", "", "")].value == Decimal(ups)
    assert rows[("down_referrals", "", "")].value == Decimal(downs)
