"""Population denominators count the residents alive on the period end (``resident.deceased_on``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import ind_kit as k
from sqlalchemy.orm import Session


def test_contract_rate_leaves_out_the_dead(session: Session) -> None:
    """Period 2025 (end 2025-12-31), residents at home in the county:

    a  born 1950, contract 2025 in force                        alive        → den, num
    b  born 1990, no contract                                   alive        → den
    c  born 1960, contract 2025, terminated on death 2025-06-30  died 06-30   → neither
    d  born 1980, no contract                                   died 12-31   → neither (dead on the end day)
    e  born 1970, no contract                                   dies 2026-01-05 → den (alive on the end day)

    contract_rate = 1 / 3; before the deaths were excluded it would have been 1 / 5.
    """
    w = k.world(session)
    team = k.team(session, w.w1)
    a = k.resident(session, k.T1, born=date(1950, 1, 1))
    k.resident(session, k.T1, born=date(1990, 1, 1))
    c = k.resident(session, k.T1, born=date(1960, 1, 1))
    d = k.resident(session, k.T2, born=date(1980, 1, 1))
    e = k.resident(session, k.T2, born=date(1970, 1, 1))
    k.contract(session, a, team, date(2025, 1, 1), date(2025, 12, 31))
    k.contract(session, c, team, date(2025, 1, 1), date(2025, 12, 31), status="terminated", stop=date(2025, 6, 30))
    c.deceased_on, d.deceased_on, e.deceased_on = date(2025, 6, 30), date(2025, 12, 31), date(2026, 1, 5)
    session.flush()
    rows = k.rows(session, "2025")
    assert k.figures(rows[("contract_rate", "", "")])[:3] == (Decimal(1), Decimal(3), Decimal("0.3333"))
    # The elderly group: a (born 1950) and c (born 1960, 65 on the end day, but dead) → a only.
    r = rows[("contract_rate_key", "", "elderly_65")]
    assert (r.numerator, r.denominator) == (Decimal(1), Decimal(1))
