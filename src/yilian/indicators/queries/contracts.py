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

from calendar import monthrange
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
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
from yilian.indicators.queries.sql import add_days
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


def _recorded(on: date) -> Subquery:
    """Per resident, 0/1 for each recorded key population held on ``on``."""
    kp = KeyPopulation
    return (
        select(kp.resident_id.label("resident_id"),
               *[func.max(case((kp.code == g, 1), else_=0)).label(g) for g in RECORDED_GROUPS])
        .where(kp.since <= on, or_(kp.until.is_(None), kp.until >= on))
        .group_by(kp.resident_id).subquery("recorded")
    )


def coverage(req: Request) -> Subquery:
    end = req.end
    r = Resident
    active = select(Contract.resident_id.label("resident_id")).where(in_force(end)).distinct().subquery("active")
    recorded = _recorded(end)
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
               r.birth_date <= end, or_(r.deceased_on.is_(None), r.deceased_on > end))  # alive on the period end
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


def _day(day: Any) -> Any:
    return cast(extract("day", day), Integer)


def _days_in_month(month_index: Any) -> Any:
    """Days in the month ``year × 12 + month`` (integer arithmetic, the same on every database)."""
    year = (month_index - 1) // 12
    month = month_index - year * 12
    leap = or_(and_(year % 4 == 0, year % 100 != 0), year % 400 == 0)
    return case((month == 2, case((leap, 29), else_=28)), (month.in_((4, 6, 9, 11)), 30), else_=31)


def _elapsed(s_index: Any, s_day: Any, d_index: Any, d_day: Any, d_dim: Any) -> Any:
    """Whole months from a term's start to a day: the largest n with ``add_months(start, n) ≤ day`` (−1 or
    less before the start), as ``contracts.rules.add_months`` clamps month ends.  Arguments are the two
    dates' month indices and days (and the day's month length), computed once per row."""
    anchor = case((s_day < d_dim, s_day), else_=d_dim)
    return d_index - s_index - case((d_day < anchor, 1), else_=0)


def _elapsed_to(s_index: Any, s_day: Any, day: date) -> Any:
    """``_elapsed`` to a fixed date (its parts computed here, not per row)."""
    index = day.year * 12 + day.month
    return _elapsed(s_index, s_day, literal(index), literal(day.day), literal(monthrange(day.year, day.month)[1]))


def _owed(req: Request) -> Subquery:
    """(contract, item) pairs owed: items of the contract's packages (an item code in two packages once, as
    the first package has it), restricted to the resident's key populations on the period end when the
    item names any; with the term's first and last day (the day before ``stop_on``), their month indices
    and days, and the item's months (0 = once a term)."""
    c, cp, item, r = Contract, ContractPackage, ServicePackageItem, Resident
    recorded = _recorded(req.end)
    months = case(*[(item.frequency == f, m) for f, m in FREQUENCY_MONTHS.items()], else_=0)
    last = case((c.stop_on.is_(None), c.end_on), else_=add_days(c.stop_on, literal(-1)))
    return (
        select(c.id.label("contract_id"), c.resident_id.label("resident_id"), c.institution_id.label("institution_id"),
               c.start_on.label("start_on"), last.label("last_day"), item.code.label("item_code"),
               months.label("months"), _month_index(c.start_on).label("s_index"), _day(c.start_on).label("s_day"),
               _month_index(last).label("l_index"), _day(last).label("l_day"))
        .select_from(c)
        .join(cp, cp.contract_id == c.id)
        .join(item, item.package_id == cp.package_id)
        .join(r, r.id == c.resident_id)
        .outerjoin(recorded, recorded.c.resident_id == c.resident_id)
        .where(c.start_on <= req.end, or_(c.stop_on.is_(None), c.stop_on > req.start),
               _owed_condition(req, item.populations, recorded), _first_package(c.id, cp.package_id, item.code))
        .offset(0)
        .subquery("owed")
    )


# The ``.offset(0)`` below keep each stage a separate step: without them the database inlines the stages
# into one expression per row whose size multiplies with every stage (seconds per million rows).


def _schedule(req: Request) -> Subquery:
    """Per owed item, which of its periods are due in the report period — by arithmetic, no row per period.

    Periods run from the term's first day (``contracts.rules.occurrences``): period k is
    ``[add_months(start, m(k−1)), add_months(start, mk) − 1]``, the last one (``last_k``, the period holding
    the term's last day) cut at that day.  A period k < last_k is due in the report period when
    ``elapsed(start, report start) < mk ≤ elapsed(start, report end + 1)``; the last one when the term's last
    day falls in it.  A once-a-term item has one period, due on the term's last day."""
    o = _owed(req)
    m = case((o.c.months == 0, 1), else_=o.c.months)
    first_k = _elapsed_to(o.c.s_index, o.c.s_day, req.start) // m + 1
    to_k = _elapsed_to(o.c.s_index, o.c.s_day, req.end + timedelta(days=1)) // m
    last_k = case((o.c.months == 0, 1),
                  else_=_elapsed(o.c.s_index, o.c.s_day, o.c.l_index, o.c.l_day, _days_in_month(o.c.l_index)) // m + 1)
    lo = case((first_k < 1, 1), else_=first_k)
    hi = case((o.c.months == 0, 0), (to_k < last_k - 1, to_k), else_=last_k - 1)
    last_due = case((and_(o.c.last_day >= o.c.start_on, o.c.last_day >= req.start, o.c.last_day <= req.end), 1),
                    else_=0)
    staged = select(o, lo.label("first_k"), hi.label("regular_to"), last_k.label("last_k"),
                    last_due.label("last_due")).offset(0).subquery("staged")
    due_n = case((staged.c.regular_to >= staged.c.first_k, staged.c.regular_to - staged.c.first_k + 1), else_=0)
    return select(staged, (due_n + staged.c.last_due).label("due_n")).offset(0).subquery("schedule")


def _done(req: Request) -> Subquery:
    """(contract, item code, done_n): how many periods due in the report period hold a delivery recorded
    inside them by the report's end.  Straight from the delivery records (joined to their contract and
    package item), so the owed items need not be read twice; a delivery falls in period
    ``elapsed(start, day) // months + 1``."""
    c, d, item = Contract, ContractDelivery, ServicePackageItem
    last = case((c.stop_on.is_(None), c.end_on), else_=add_days(c.stop_on, literal(-1)))
    months = case(*[(item.frequency == f, m) for f, m in FREQUENCY_MONTHS.items()], else_=0)
    dated = (
        select(d.contract_id, d.item_code, months.label("months"), _month_index(c.start_on).label("s_index"),
               _day(c.start_on).label("s_day"), _month_index(last).label("l_index"), _day(last).label("l_day"),
               _month_index(d.delivered_on).label("d_index"), _day(d.delivered_on).label("d_day"),
               case((and_(last >= req.start, last <= req.end), 1), else_=0).label("last_due"))
        .select_from(d)
        .join(c, c.id == d.contract_id)
        .join(item, item.id == d.package_item_id)
        .where(d.delivered_on >= c.start_on, d.delivered_on <= last, d.delivered_on <= req.end,
               d.delivered_on >= add_days(literal(req.start), literal(-366)),
               c.start_on <= req.end, or_(c.stop_on.is_(None), c.stop_on > req.start))
        .offset(0)
        .subquery("dated")
    )
    m = case((dated.c.months == 0, 1), else_=dated.c.months)
    last_k = _elapsed(dated.c.s_index, dated.c.s_day, dated.c.l_index, dated.c.l_day,
                      _days_in_month(dated.c.l_index)) // m + 1
    k = _elapsed(dated.c.s_index, dated.c.s_day, dated.c.d_index, dated.c.d_day,
                 _days_in_month(dated.c.d_index)) // m + 1
    first_k = _elapsed_to(dated.c.s_index, dated.c.s_day, req.start) // m + 1
    to_k = _elapsed_to(dated.c.s_index, dated.c.s_day, req.end + timedelta(days=1)) // m
    staged = select(dated, case((dated.c.months == 0, 1), else_=k).label("k"),
                    case((dated.c.months == 0, 1), else_=last_k).label("last_k"), first_k.label("first_k"),
                    to_k.label("to_k")).offset(0).subquery("staged_done")
    regular = and_(staged.c.months > 0, staged.c.k >= staged.c.first_k, staged.c.k <= staged.c.to_k,
                   staged.c.k < staged.c.last_k)
    due_k = or_(regular, and_(staged.c.k == staged.c.last_k, staged.c.last_due == 1))
    return (select(staged.c.contract_id, staged.c.item_code, func.count(func.distinct(staged.c.k)).label("done_n"))
            .where(due_k)
            .group_by(staged.c.contract_id, staged.c.item_code)
            .subquery("done"))


def delivery(req: Request) -> Subquery:
    """One record per owed item with periods due in the report period: how many are due (``due_n``) and
    how many of those have a delivery recorded inside the period by the report's end (``done_n``)."""
    sch = _schedule(req)
    done = _done(req)
    done_n = func.coalesce(done.c.done_n, 0)
    day = case((sch.c.last_day < req.end, sch.c.last_day), else_=literal(req.end))
    stmt = (
        select(literal_column("'contract_item'", String).label("record_kind"), sch.c.contract_id.label("record_id"),
               sch.c.resident_id.label("resident_id"), day.label("day"),
               sch.c.institution_id.label("institution_id"), sch.c.item_code.label("item_code"),
               sch.c.due_n, done_n.label("done_n"), case((done_n > 0, 1), else_=0).label("has_done"))
        .select_from(sch)
        .outerjoin(done, and_(done.c.contract_id == sch.c.contract_id, done.c.item_code == sch.c.item_code))
        .where(sch.c.due_n > 0)
    )
    # A contract's items belong to the team institution's units on the last due day inside the period.
    return with_unit(stmt, req.cut, sch.c.institution_id, day).subquery("delivery")


def _population_flags(end: date, recorded: Subquery) -> dict[str, Any]:
    """0/1 per key population the contract's resident holds on ``end``: recorded ones from ``recorded``,
    ``elderly_65`` / ``child_0_6`` from the birth date (``Resident`` must be in the FROM clause)."""
    r = Resident
    flags: dict[str, Any] = {g: func.coalesce(recorded.c[g], 0) for g in RECORDED_GROUPS}
    flags["elderly_65"] = case((r.birth_date <= _birthday_threshold(end, ELDERLY_AGE), 1), else_=0)
    flags["child_0_6"] = case((r.birth_date > _birthday_threshold(end, CHILD_MAX_AGE + 1), 1), else_=0)
    return flags


def _owed_by(populations: Any, flags: dict[str, Any]) -> Any:
    """The item is owed: it names no population, or one whose flag is 1."""
    padded = literal(",") + populations + literal(",")
    return or_(populations == "", *[and_(f == 1, padded.like(f"%,{g},%")) for g, f in flags.items()])


def _owed_condition(req: Request, populations: Any, recorded: Subquery) -> Any:
    """The item is owed to the contract's resident: it names no population, or one the resident holds on
    the period end (recorded, or ``elderly_65`` / ``child_0_6`` from the birth date)."""
    return _owed_by(populations, _population_flags(req.end, recorded))


def _first_package(contract_id: Any, package_id: Any, code: Any) -> Any:
    """No earlier package of the same contract holds the same item code (an item is owed once)."""
    cp2, item2 = aliased(ContractPackage), aliased(ServicePackageItem)
    return ~exists().where(cp2.contract_id == contract_id, cp2.package_id < package_id,
                           item2.package_id == cp2.package_id, item2.code == code)


def delivery_sums(req: Request, codes: Sequence[RecordCode]) -> Select[Any]:
    """``contract_delivery_rate`` per unit without a row per contract item: the due periods are counted
    per group of identical terms (institution, first and last day, item frequency) by the same arithmetic
    as ``delivery``; the delivered periods per delivery record.  Same definitions, same numbers as the
    per-record ``delivery`` subquery the drill-down reads (a test checks both)."""
    c, cp, item, r, d = Contract, ContractPackage, ServicePackageItem, Resident, ContractDelivery
    recorded = _recorded(req.end)
    last = case((c.stop_on.is_(None), c.end_on), else_=add_days(c.stop_on, literal(-1)))
    months = case(*[(item.frequency == f, m) for f, m in FREQUENCY_MONTHS.items()], else_=0)
    day = case((last < req.end, last), else_=literal(req.end))
    overlap = and_(c.start_on <= req.end, or_(c.stop_on.is_(None), c.stop_on > req.start))
    # Owed items per group of identical terms.  Contracts are grouped before their items are joined — by
    # term, package and the resident's key populations — so the items are joined to groups, not to every
    # contract.  An item code in two packages of one contract is owed once, as the first package has it: the
    # later packages' copies (rare: found from the contracts with several packages, fenced so the database
    # looks for them first) are counted back out.
    flags = _population_flags(req.end, recorded)
    per_contract = (
        select(c.institution_id.label("institution_id"), c.start_on.label("start_on"), last.label("last_day"),
               day.label("day"), cp.package_id.label("package_id"), *[f.label(g) for g, f in flags.items()],
               func.count().label("n"))
        .select_from(c)
        .join(cp, cp.contract_id == c.id)
        .join(r, r.id == c.resident_id)
        .outerjoin(recorded, recorded.c.resident_id == c.resident_id)
        .where(overlap)
        .group_by(c.institution_id, c.start_on, last, day, cp.package_id, *flags.values())
        .subquery("per_contract")
    )
    every = (
        select(per_contract.c.institution_id, per_contract.c.start_on, per_contract.c.last_day,
               months.label("months"), per_contract.c.day, func.sum(per_contract.c.n).label("n"))
        .select_from(per_contract)
        .join(item, item.package_id == per_contract.c.package_id)
        .where(_owed_by(item.populations, {g: per_contract.c[g] for g in flags}))
        .group_by(per_contract.c.institution_id, per_contract.c.start_on, per_contract.c.last_day, months,
                  per_contract.c.day)
    )
    cp_other = aliased(ContractPackage)
    shared = (select(cp.contract_id.label("contract_id"), cp.package_id.label("package_id"))
              .where(exists().where(cp_other.contract_id == cp.contract_id, cp_other.package_id < cp.package_id))
              .offset(0).subquery("shared"))
    repeated = (
        select(c.institution_id.label("institution_id"), c.start_on.label("start_on"), last.label("last_day"),
               months.label("months"), day.label("day"), (-func.count()).label("n"))
        .select_from(shared)
        .join(c, c.id == shared.c.contract_id)
        .join(item, item.package_id == shared.c.package_id)
        .join(r, r.id == c.resident_id)
        .outerjoin(recorded, recorded.c.resident_id == c.resident_id)
        .where(overlap, _owed_condition(req, item.populations, recorded),
               ~_first_package(c.id, shared.c.package_id, item.code))
        .group_by(c.institution_id, c.start_on, last, months, day)
    )
    terms = every.union_all(repeated).subquery("terms")
    t = (select(terms, _month_index(terms.c.start_on).label("s_index"), _day(terms.c.start_on).label("s_day"),
                _month_index(terms.c.last_day).label("l_index"), _day(terms.c.last_day).label("l_day"))
         .offset(0).subquery("t"))
    m = case((t.c.months == 0, 1), else_=t.c.months)
    first_k = _elapsed_to(t.c.s_index, t.c.s_day, req.start) // m + 1
    to_k = _elapsed_to(t.c.s_index, t.c.s_day, req.end + timedelta(days=1)) // m
    last_k = _elapsed(t.c.s_index, t.c.s_day, t.c.l_index, t.c.l_day, _days_in_month(t.c.l_index)) // m + 1
    lo = case((first_k < 1, 1), else_=first_k)
    hi = case((t.c.months == 0, 0), (to_k < last_k - 1, to_k), else_=last_k - 1)
    regular = case((hi >= lo, hi - lo + 1), else_=0)
    last_due = case((and_(t.c.last_day >= t.c.start_on, t.c.last_day >= req.start, t.c.last_day <= req.end), 1),
                    else_=0)
    due = select(t.c.institution_id, t.c.day, ((regular + last_due) * t.c.n).label("due_n"),
                 literal_column("0", Integer).label("done_n"))
    # Delivered: one per (contract, item, period) due in the report period, for owed items only; the item's
    # frequency and populations are those of the package item the delivery names.
    dated = (
        select(d.contract_id, d.item_code, c.institution_id, day.label("day"), months.label("months"),
               _month_index(c.start_on).label("s_index"), _day(c.start_on).label("s_day"),
               _month_index(last).label("l_index"), _day(last).label("l_day"),
               _month_index(d.delivered_on).label("d_index"), _day(d.delivered_on).label("d_day"),
               case((and_(last >= req.start, last <= req.end), 1), else_=0).label("last_due"))
        .select_from(d)
        .join(c, c.id == d.contract_id)
        .join(item, item.id == d.package_item_id)
        .join(r, r.id == c.resident_id)
        .outerjoin(recorded, recorded.c.resident_id == c.resident_id)
        .where(d.delivered_on >= c.start_on, d.delivered_on <= last, d.delivered_on <= req.end,
               d.delivered_on >= add_days(literal(req.start), literal(-366)), overlap,
               _owed_condition(req, item.populations, recorded))
        .offset(0)
        .subquery("dated")
    )
    mm = case((dated.c.months == 0, 1), else_=dated.c.months)
    k = _elapsed(dated.c.s_index, dated.c.s_day, dated.c.d_index, dated.c.d_day,
                 _days_in_month(dated.c.d_index)) // mm + 1
    staged = select(
        dated, case((dated.c.months == 0, 1), else_=k).label("k"),
        case((dated.c.months == 0, 1), else_=_elapsed(dated.c.s_index, dated.c.s_day, dated.c.l_index,
                                                      dated.c.l_day, _days_in_month(dated.c.l_index)) // mm + 1
             ).label("last_k"),
        (_elapsed_to(dated.c.s_index, dated.c.s_day, req.start) // mm + 1).label("first_k"),
        (_elapsed_to(dated.c.s_index, dated.c.s_day, req.end + timedelta(days=1)) // mm).label("to_k"),
    ).offset(0).subquery("staged_done")
    due_k = or_(and_(staged.c.months > 0, staged.c.k >= staged.c.first_k, staged.c.k <= staged.c.to_k,
                     staged.c.k < staged.c.last_k),
                and_(staged.c.k == staged.c.last_k, staged.c.last_due == 1))
    periods_done = (select(staged.c.institution_id, staged.c.day, staged.c.contract_id, staged.c.item_code,
                           staged.c.k).where(due_k)
                    .group_by(staged.c.institution_id, staged.c.day, staged.c.contract_id, staged.c.item_code,
                              staged.c.k)
                    .subquery("periods_done"))
    done = select(periods_done.c.institution_id, periods_done.c.day, literal_column("0", Integer).label("due_n"),
                  func.count().label("done_n")).group_by(periods_done.c.institution_id, periods_done.c.day)
    both = due.union_all(done).subquery("both")
    by_day = (select(both.c.institution_id, both.c.day, func.sum(both.c.due_n).label("due_n"),
                     func.sum(both.c.done_n).label("done_n"))
              .group_by(both.c.institution_id, both.c.day).subquery("by_day"))
    mapped = with_unit(select(by_day.c.due_n, by_day.c.done_n), req.cut, by_day.c.institution_id,
                       by_day.c.day).subquery("mapped")
    (i,) = [n for n, code in enumerate(codes) if code.code == "contract_delivery_rate"]
    return select(mapped.c.unit, func.coalesce(func.sum(mapped.c.done_n), 0).label(f"c{i}_n"),
                  func.coalesce(func.sum(mapped.c.due_n), 0).label(f"c{i}_d")).group_by(mapped.c.unit)


#: Sources whose measures have a faster set-based path than summing their per-record subquery.
MEASURES: Final = {"delivery": delivery_sums}

BUILDERS: Final = {"coverage": coverage, "renewal": renewal, "delivery": delivery}

CODES: Final[tuple[RecordCode, ...]] = (
    RecordCode("contract_rate", "coverage", Tally("contracted"), Tally()),
    *(RecordCode("contract_rate_key", "coverage", Tally(f"{g}_c"), Tally(g), group=g) for g in KEY_GROUPS),
    RecordCode("contract_rate_key", "coverage", Tally("any_key_c"), Tally("any_key")),
    RecordCode("contract_renewal_rate", "renewal", Tally("renewed"), Tally()),
    RecordCode("contract_delivery_rate", "delivery", Tally("has_done", weight="done_n"), Tally(weight="due_n")),
)
