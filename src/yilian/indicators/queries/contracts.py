"""Family-doctor contract codes (contracts feature's tables).

- ``coverage``: one record per resident living in the county on the period end (home township in the
  county, born by then), with whether a contract is in force that day and the key populations held that
  day — ``contract_rate`` and ``contract_rate_key`` (people by home).
- ``renewal``: contracts whose term ran out in the period (early terminations excluded), with whether
  the resident started a new contract within the renewal window — attributed to the team's institution.
- ``delivery``: the package items due in the period (one per period of the term by the item's frequency,
  counted from the term's first day as ``contracts.rules.occurrences``; items owed to the resident's key
  populations on the period end), with whether a delivery was recorded inside that period.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    case,
    cast,
    exists,
    extract,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Subquery

from yilian.contracts.rules import add_years
from yilian.db.models import (
    Contract,
    ContractDelivery,
    ContractPackage,
    KeyPopulation,
    Resident,
    ServicePackageItem,
)
from yilian.indicators.queries.records import RecordCode, Request, Tally
from yilian.indicators.queries.sql import add_days, add_months
from yilian.indicators.queries.units import county_codes, with_home_unit, with_unit
from yilian.residents.rules import CHILD_MAX_AGE, ELDERLY_AGE, RECORDED

KEY_GROUPS: Final = ("elderly_65", "child_0_6", "pregnant", "hypertension", "t2dm", "severe_mental",
                     "tuberculosis", "disabled", "poverty")
RECORDED_GROUPS: Final = tuple(g for g in KEY_GROUPS if g in {k.value for k in RECORDED})
FREQUENCY_MONTHS: Final = {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}


def in_force(on: Any) -> ColumnElement[bool]:
    """In force on ``on``: term started, and not stopped (``stop_on``, or the day after ``end_on``)."""
    c = Contract
    cond: ColumnElement[bool] = and_(
        c.start_on <= on, or_(and_(c.stop_on.is_(None), c.end_on >= on), c.stop_on > on))
    return cond


def _birthday_threshold(on: date, years: int) -> date:
    """Born on or before this date ⇔ at least ``years`` old on ``on`` (29 Feb counts from 1 March)."""
    return add_years(on, -years)


def coverage(req: Request) -> Subquery:
    end = req.end
    r = Resident
    active = select(Contract.resident_id.label("resident_id")).where(in_force(end)).distinct().subquery("active")
    kp = KeyPopulation
    recorded = (
        select(kp.resident_id.label("resident_id"),
               *[func.max(case((kp.code == g, 1), else_=0)).label(g) for g in RECORDED_GROUPS])
        .where(kp.since <= end, or_(kp.until.is_(None), kp.until >= end))
        .group_by(kp.resident_id).subquery("recorded")
    )
    elderly = case((r.birth_date <= _birthday_threshold(end, ELDERLY_AGE), 1), else_=0)
    child = case((r.birth_date > _birthday_threshold(end, CHILD_MAX_AGE + 1), 1), else_=0)
    flags: dict[str, Any] = {"elderly_65": elderly, "child_0_6": child}
    for g in RECORDED_GROUPS:
        flags[g] = func.coalesce(recorded.c[g], 0)
    any_key = case((or_(*[f == 1 for f in flags.values()]), 1), else_=0)
    contracted = case((active.c.resident_id.is_not(None), 1), else_=0).label("contracted")
    stmt = (
        select(literal_column("'resident'", String).label("record_kind"), r.id.label("record_id"),
               r.id.label("resident_id"), literal(end).label("day"),
               literal_column("NULL", Integer).label("institution_id"), contracted,
               *[f.label(g) for g, f in flags.items()], any_key.label("any_key"),
               *[case((and_(f == 1, active.c.resident_id.is_not(None)), 1), else_=0).label(f"{g}_c")
                 for g, f in flags.items()],
               case((and_(any_key == 1, active.c.resident_id.is_not(None)), 1), else_=0).label("any_key_c"))
        .select_from(r)
        .outerjoin(active, active.c.resident_id == r.id)
        .outerjoin(recorded, recorded.c.resident_id == r.id)
        .where(func.substr(r.address_division_code, 1, 6).in_(county_codes().scalar_subquery()),
               r.birth_date <= end)
    )
    return with_home_unit(stmt, req.cut, r.address_division_code, literal(end)).subquery("coverage")


def renewal(req: Request) -> Subquery:
    c = Contract
    nxt = aliased(Contract)
    window = req.policy.renewal_window_days
    renewed = exists().where(nxt.resident_id == c.resident_id, nxt.id != c.id, nxt.start_on > c.start_on,
                             nxt.start_on <= add_days(c.end_on, literal(window)))
    stmt = (
        select(literal_column("'contract'", String).label("record_kind"), c.id.label("record_id"),
               c.resident_id.label("resident_id"), c.end_on.label("day"), c.institution_id.label("institution_id"),
               case((renewed, 1), else_=0).label("renewed"))
        .where(c.end_on >= req.start, c.end_on <= req.end, c.status != "terminated",
               or_(c.stop_on.is_(None), c.stop_on > c.end_on))
    )
    return with_unit(stmt, req.cut, c.institution_id, c.end_on).subquery("renewal")


def _month_index(day: Any) -> Any:
    return cast(extract("year", day), Integer) * 12 + cast(extract("month", day), Integer)


def _owed(req: Request) -> Subquery:
    """(contract, item) pairs owed: items of the contract's packages (an item in two packages once),
    restricted to the resident's key populations on the period end when the item names any."""
    c, cp, item = Contract, ContractPackage, ServicePackageItem
    end = req.end
    kp = KeyPopulation
    recorded_match = exists().where(
        kp.resident_id == c.resident_id, kp.since <= end, or_(kp.until.is_(None), kp.until >= end),
        (literal(",") + item.populations + literal(",")).like(literal("%,") + kp.code + literal(",%")))
    r = Resident
    elderly = and_(item.populations.like("%elderly_65%"), r.birth_date <= _birthday_threshold(end, ELDERLY_AGE))
    child = and_(item.populations.like("%child_0_6%"),
                 r.birth_date > _birthday_threshold(end, CHILD_MAX_AGE + 1), r.birth_date <= end)
    months = case(*[(item.frequency == f, m) for f, m in FREQUENCY_MONTHS.items()], else_=0)
    last = case((c.stop_on.is_(None), c.end_on), else_=add_days(c.stop_on, literal(-1)))
    m = func.min(months)
    elapsed_at_start = _month_index(literal(req.start)) - _month_index(c.start_on)
    elapsed_at_end = _month_index(literal(req.end)) - _month_index(c.start_on)
    k_lo = case((m == 0, 1), (elapsed_at_start // m < 1, 1), else_=elapsed_at_start // m)
    k_hi = case((m == 0, 1), else_=elapsed_at_end // m + 2)
    return (
        select(c.id.label("contract_id"), c.resident_id.label("resident_id"), c.institution_id.label("institution_id"),
               c.start_on.label("start_on"), last.label("last_day"), item.code.label("item_code"),
               m.label("months"), k_lo.label("k_lo"), k_hi.label("k_hi"))
        .select_from(c)
        .join(cp, cp.contract_id == c.id)
        .join(item, item.package_id == cp.package_id)
        .join(r, r.id == c.resident_id)
        .where(c.start_on <= req.end, or_(c.stop_on.is_(None), c.stop_on > req.start),
               or_(item.populations == "", recorded_match, elderly, child))
        .group_by(c.id, c.resident_id, c.institution_id, c.start_on, c.stop_on, c.end_on, item.code)
        .subquery("owed")
    )


def delivery(req: Request) -> Subquery:
    owed = _owed(req)
    # Only the periods of the term that can end inside the report period: from k_lo (the months elapsed
    # at the report's start ÷ the item's months) for at most 15 periods (a year of monthly items and a
    # margin), never every period of a long term.
    offsets = select(literal_column("0", Integer).label("j")).cte("offsets", recursive=True)
    offsets = offsets.union_all(select(offsets.c.j + 1).where(offsets.c.j < 15))
    k = owed.c.k_lo + offsets.c.j
    periodic = (
        select(owed, add_months(owed.c.start_on, owed.c.months * (k - 1)).label("window_start"),
               add_days(add_months(owed.c.start_on, owed.c.months * k), literal(-1)).label("period_end"))
        .select_from(owed).join(offsets, offsets.c.j <= owed.c.k_hi - owed.c.k_lo)
        .where(owed.c.months > 0)
    )
    once = select(owed, owed.c.start_on.label("window_start"), owed.c.last_day.label("period_end")).where(
        owed.c.months == 0)
    occ = union_all(periodic, once).subquery("occ")
    due_on = case((occ.c.period_end > occ.c.last_day, occ.c.last_day), else_=occ.c.period_end)
    d = ContractDelivery
    delivered = exists().where(d.contract_id == occ.c.contract_id, d.item_code == occ.c.item_code,
                               d.delivered_on >= occ.c.window_start, d.delivered_on <= due_on,
                               d.delivered_on <= req.end)
    stmt = (
        select(literal_column("'occurrence'", String).label("record_kind"), occ.c.contract_id.label("record_id"),
               occ.c.resident_id.label("resident_id"), due_on.label("day"),
               occ.c.institution_id.label("institution_id"), occ.c.item_code.label("item_code"),
               case((delivered, 1), else_=0).label("delivered"))
        .where(occ.c.window_start <= occ.c.last_day, due_on >= req.start, due_on <= req.end)
    )
    return with_unit(stmt, req.cut, occ.c.institution_id, due_on).subquery("delivery")


BUILDERS: Final = {"coverage": coverage, "renewal": renewal, "delivery": delivery}

CODES: Final[tuple[RecordCode, ...]] = (
    RecordCode("contract_rate", "coverage", Tally("contracted"), Tally()),
    *(RecordCode("contract_rate_key", "coverage", Tally(f"{g}_c"), Tally(g), group=g) for g in KEY_GROUPS),
    RecordCode("contract_rate_key", "coverage", Tally("any_key_c"), Tally("any_key")),
    RecordCode("contract_renewal_rate", "renewal", Tally("renewed"), Tally()),
    RecordCode("contract_delivery_rate", "delivery", Tally("delivered"), Tally()),
)
