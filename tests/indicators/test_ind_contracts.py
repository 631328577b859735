"""Family-doctor contract codes: coverage on the period end, key populations, renewals, delivery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import ind_kit as k
import pytest
from sqlalchemy.orm import Session

from yilian.indicators import engine
from yilian.indicators.catalogue import Cut

BASES = [engine.Basis.AGGREGATE, engine.Basis.FACTS]


@dataclass
class Contracts:
    w: k.World


def build(session: Session) -> Contracts:
    """Residents (period end 2025-12-31):

    a  T1, born 1950 (elderly)      contract 2025 at W1 (in force) with package P; renewed 2026-01-10
    b  T1, born 1990, hypertension  no contract
    c  T2, born 2020 (child, 5)     contract 2025-06-01 … 2026-05-31 at W2 with P
    d  T2, born 1980                contract 2024 (ran out)
    e  T1, born 1970, t2dm + hypertension, contract 2025 at W1 with P, terminated early (stops 2025-10-01)
    f  T2, born 1960-12-31          turns 65 on the period end; no contract
    p  T1, born 1985, pregnant 2025-03-01 … 2025-11-30 (over by the period end); no contract
    h  T1, born 2026-01-01          not born yet
    q  home outside the county      contract 2024-07-01 … 2025-06-30 at W1, next one starts 2025-08-15 (46 days)
    """
    w = k.world(session)
    ta, tb = k.team(session, w.w1), k.team(session, w.w2)
    pkg = k.package(session, [("FU", "quarterly", ""), ("EX", "annual", ""), ("HT", "quarterly", "hypertension")])
    a = k.resident(session, k.T1, born=date(1950, 1, 1))
    b = k.resident(session, k.T1, born=date(1990, 1, 1))
    k.key_population(session, b, "hypertension")
    c = k.resident(session, k.T2, born=date(2020, 6, 1))
    d = k.resident(session, k.T2, born=date(1980, 1, 1))
    e = k.resident(session, k.T1, born=date(1970, 1, 1))
    k.key_population(session, e, "t2dm")
    k.key_population(session, e, "hypertension")
    k.resident(session, k.T2, born=date(1960, 12, 31))
    p = k.resident(session, k.T1, born=date(1985, 1, 1), sex=2)
    k.key_population(session, p, "pregnant", since=date(2025, 3, 1), until=date(2025, 11, 30))
    k.resident(session, k.T1, born=date(2026, 1, 1))
    q = k.resident(session, k.CITY_DISTRICT, born=date(1975, 1, 1))

    ca = k.contract(session, a, ta, date(2025, 1, 1), date(2025, 12, 31), status="renewed", packages=[pkg])
    k.contract(session, a, ta, date(2026, 1, 10), date(2026, 12, 31), status="signed")
    cc = k.contract(session, c, tb, date(2025, 6, 1), date(2026, 5, 31), packages=[pkg])
    k.contract(session, d, tb, date(2024, 1, 1), date(2024, 12, 31), status="expired", stop=date(2025, 1, 1))
    ce = k.contract(session, e, ta, date(2025, 1, 1), date(2025, 12, 31), status="terminated", stop=date(2025, 10, 1),
                    packages=[pkg])
    k.contract(session, q, ta, date(2024, 7, 1), date(2025, 6, 30), status="expired", stop=date(2025, 7, 1))
    k.contract(session, q, ta, date(2025, 8, 15), date(2026, 8, 14))
    # Deliveries.
    k.delivered(session, ca, pkg, "FU", date(2025, 2, 15))  # Q1
    k.delivered(session, ca, pkg, "FU", date(2025, 3, 20))  # Q1 again: does not carry into Q2
    k.delivered(session, ca, pkg, "FU", date(2025, 8, 1))  # Q3
    k.delivered(session, ca, pkg, "EX", date(2025, 6, 1))
    k.delivered(session, cc, pkg, "FU", date(2025, 9, 15))  # c's second period (Sep–Nov)
    k.delivered(session, ce, pkg, "HT", date(2025, 5, 5))  # e's second quarter
    return Contracts(w)


@pytest.mark.parametrize("basis", BASES)
def test_contract_rate(session: Session, basis: engine.Basis) -> None:
    build(session)
    rows = k.rows(session, "2025", basis=basis)
    # Population on 2025-12-31 (home in the county, born): a, b, c, d, e, f, p = 7; in force: a, c = 2.
    assert k.figures(rows[("contract_rate", "", "")]) == (Decimal(2), Decimal(7), Decimal("0.2857"), "ok", "")


def test_contract_rate_key_groups(session: Session) -> None:
    build(session)
    rows = k.rows(session, "2025")
    expected = {
        "elderly_65": (1, 2),  # a (contracted), f (65 on the day)
        "child_0_6": (1, 1),  # c
        "hypertension": (0, 2),  # b, e (e's contract stopped on 1 October)
        "t2dm": (0, 1),  # e
        "pregnant": (0, 0),  # p's pregnancy ended on 30 November
        "severe_mental": (0, 0), "tuberculosis": (0, 0), "disabled": (0, 0), "poverty": (0, 0),
        "": (2, 5),  # a, b, c, e, f once each; contracted a, c
    }
    for group, (num, den) in expected.items():
        r = rows[("contract_rate_key", "", group)]
        assert (r.numerator, r.denominator) == (Decimal(num), Decimal(den)), group
    assert rows[("contract_rate_key", "", "elderly_65")].value == Decimal("0.5000")
    assert rows[("contract_rate_key", "", "")].value == Decimal("0.4000")
    assert rows[("contract_rate_key", "", "pregnant")].reason == "zero_denominator"
    # Group rows come first, the all-groups row last.
    order = [key[2] for key in rows if key[0] == "contract_rate_key"]
    assert order == ["elderly_65", "child_0_6", "pregnant", "hypertension", "t2dm", "severe_mental", "tuberculosis",
                     "disabled", "poverty", ""]


def test_contract_rate_by_consortium(session: Session) -> None:
    build(session)
    rows = k.rows(session, "2025", Cut.CONSORTIUM)
    # C1 = home T1 (W1): a, b, e, p → a in force: 1/4.  C2 = home T2 (W2): c, d, f → c: 1/3.
    assert k.figures(rows[("contract_rate", "C1", "")])[:3] == (Decimal(1), Decimal(4), Decimal("0.2500"))
    assert k.figures(rows[("contract_rate", "C2", "")])[:3] == (Decimal(1), Decimal(3), Decimal("0.3333"))


def test_contract_renewal_rate(session: Session) -> None:
    build(session)
    rows = k.rows(session, "2025", Cut.INSTITUTION)
    # Terms that ran out in 2025 (early terminations excluded): a's (renewed on 2026-01-10, 10 days later) and
    # q's first (next one 46 days later) — both teams at W1 → 1/2.  e's was terminated early.
    assert k.figures(rows[("contract_renewal_rate", "W1", "")])[:3] == (Decimal(1), Decimal(2), Decimal("0.5000"))
    assert k.figures(rows[("contract_renewal_rate", "W2", "")])[3:] == ("no_data", "zero_denominator")


def test_contract_delivery_rate(session: Session) -> None:
    build(session)
    rows = k.rows(session, "2025", Cut.INSTITUTION)
    # a: FU due 03-31, 06-30, 09-30, 12-31 + EX due 12-31 = 5; delivered Q1, Q3, EX = 3.
    # e: stopped 10-01, so the term's last day is 09-30: FU 3 + EX (due 09-30) 1 + HT (hypertension) 3 = 7;
    #    delivered HT in Q2 = 1.  W1: 4 / 12.
    assert k.figures(rows[("contract_delivery_rate", "W1", "")])[:3] == (Decimal(4), Decimal(12), Decimal("0.3333"))
    # c: FU periods from 06-01: due 08-31, 11-30 in 2025 (the next is due 2026-02-28); EX due 2026-05-31 → 2 due,
    #    the Sep–Nov one delivered → 1/2.
    assert k.figures(rows[("contract_delivery_rate", "W2", "")])[:3] == (Decimal(1), Decimal(2), Decimal("0.5000"))
    county = k.rows(session, "2025")
    assert k.figures(county[("contract_delivery_rate", "", "")])[:3] == (Decimal(5), Decimal(14), Decimal("0.3571"))


def test_delivery_by_quarter(session: Session) -> None:
    build(session)
    # Q1 2025: a FU (delivered) + e FU + e HT = 3 due, 1 delivered.
    assert k.figures(k.row(session, "contract_delivery_rate", "2025Q1"))[:3] == (Decimal(1), Decimal(3),
                                                                                  Decimal("0.3333"))


@pytest.mark.parametrize("start", [date(2025, 1, 31), date(2024, 11, 30), date(2025, 2, 28), date(2024, 2, 29)])
def test_delivery_windows_match_the_contracts_rules(session: Session, start: date) -> None:
    """Month-end terms: which period a delivery falls in is the contracts feature's own rule
    (``contracts.rules.delivery_schedule``), checked here against the SQL on many delivery dates."""
    from datetime import timedelta

    from yilian.contracts.config import Frequency, PackageItem
    from yilian.contracts.rules import delivery_schedule

    w = k.world(session)
    pkg = k.package(session, [("M", "monthly", ""), ("Q", "quarterly", "")])
    r = k.resident(session, k.T1)
    end = date(start.year + 1, start.month, 1) - timedelta(days=1)
    c = k.contract(session, r, k.team(session, w.w1), start, end, packages=[pkg])
    days = [start + timedelta(days=n) for n in range(0, 300, 17)] + [date(2025, 2, 28), date(2025, 3, 30)]
    days = sorted({d for d in days if start <= d <= end and d <= date(2025, 12, 31)})
    for d in days:
        k.delivered(session, c, pkg, "M", d)
    for d in days[::3]:
        k.delivered(session, c, pkg, "Q", d)
    today = date(2026, 6, 30)
    expected_due = expected_done = 0
    for code, freq, dates in (("M", Frequency.MONTHLY, days), ("Q", Frequency.QUARTERLY, days[::3])):
        for occ in delivery_schedule(PackageItem(code, code, freq), start, end, dates, today):
            if date(2025, 1, 1) <= occ.due_on <= date(2025, 12, 31):
                expected_due += 1
                expected_done += occ.delivered_on is not None and occ.delivered_on <= date(2025, 12, 31)
    row = k.row(session, "contract_delivery_rate")
    assert (row.numerator, row.denominator) == (Decimal(expected_done), Decimal(expected_due))


@pytest.mark.parametrize("cut", [Cut.COUNTY, Cut.CONSORTIUM, Cut.INSTITUTION])
def test_grouped_delivery_path_equals_the_records(session: Session, cut: Cut) -> None:
    """The delivery rate's grouped measures (no row per contract item) equal the sums of the per-record
    subquery the drill-down reads, for every period kind."""
    build(session)
    for period in ("2025", "2025Q3", "2025-11", "2024"):
        fast = k.rows(session, period, cut)
        slow = k.rows(session, period, cut, basis=engine.Basis.FACTS)
        keys = [key for key in fast if key[0] == "contract_delivery_rate"]
        assert keys and all(fast[key] == slow[key] for key in keys), period


def test_grouped_delivery_path_with_several_packages(session: Session) -> None:
    """Contracts with two packages sharing an item code (owed once) and contracts grouped by term and key
    populations: the grouped path equals the records, and the count is the one worked out by hand."""
    w = k.world(session)
    t = k.team(session, w.w1)
    basic = k.package(session, [("FU", "quarterly", ""), ("HT", "quarterly", "hypertension")])
    extra = k.package(session, [("FU", "quarterly", ""), ("EX", "annual", "elderly_65")])
    old = k.resident(session, k.T1, born=date(1950, 1, 1))
    k.key_population(session, old, "hypertension")
    young = k.resident(session, k.T1, born=date(1990, 1, 1))
    twin = k.resident(session, k.T1, born=date(1991, 1, 1))
    c_old = k.contract(session, old, t, date(2025, 1, 1), date(2025, 12, 31), packages=[basic, extra])
    k.contract(session, young, t, date(2025, 1, 1), date(2025, 12, 31), packages=[basic])
    k.contract(session, twin, t, date(2025, 1, 1), date(2025, 12, 31), packages=[basic])
    k.delivered(session, c_old, basic, "FU", date(2025, 2, 1))
    k.delivered(session, c_old, extra, "EX", date(2025, 7, 1))
    # Due in 2025: old FU 4 (once, though in both packages) + HT 4 + EX 1 = 9; young and twin FU 4 each.
    fast = k.rows(session, "2025", Cut.COUNTY)
    slow = k.rows(session, "2025", Cut.COUNTY, basis=engine.Basis.FACTS)
    keys = [key for key in fast if key[0] == "contract_delivery_rate"]
    assert keys and all(fast[key] == slow[key] for key in keys)
    (row,) = [fast[key] for key in keys]
    assert (row.numerator, row.denominator) == (Decimal(2), Decimal(17))
