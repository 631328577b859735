"""Bench data for the indicators: add a year of family-doctor contracts and referrals to a simulated county.

``yilian simulate county`` writes the network, the population and a year of visits and stays; until the
contracts and referrals features add their simulation stages, this recipe adds their rows so every
implemented indicator has data to compute from.  Set-based ``INSERT … SELECT`` only (no Python loop per
row), deterministic (by resident and encounter ids), idempotent (refuses a database that already has
contracts).

- one family-doctor team per township / community health centre;
- one basic package: follow-up quarterly, examination annually, hypertension and diabetes follow-ups
  quarterly for those populations;
- 48 % of residents with a home centre hold a 2025 contract at it (ids ending 00–47 mod 100); 5 % also had
  a 2024 contract that ran out (renewed for ids ending 00–03, not for 04);
- deliveries: the Q1 follow-up for two thirds of contracts, the Q3 one for half, the examination for a
  third;
- up-referrals from the home centre to the county's lead hospital for 2 % of residents, dated through the
  year, with accepted / completed / declined / expired / cancelled outcomes by id; down-referrals for a
  quarter of the lead hospitals' stays, submitted the day after discharge, accepted, with a follow-up task
  (done on time for most).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import JSON, Integer, String, and_, case, cast, func, insert, literal, select
from sqlalchemy.orm import Session

from yilian.core.clock import utcnow
from yilian.db.models import (
    Consortium,
    ConsortiumMembership,
    Contract,
    ContractDelivery,
    ContractPackage,
    Encounter,
    FamilyDoctorTeam,
    Institution,
    ReferralEpisode,
    ReferralFollowUpTask,
    Resident,
    ServicePackage,
    ServicePackageItem,
    User,
)
from yilian.indicators.queries.sql import add_days, days_between, local_date, plus_seconds
from yilian.indicators.queries.units import HOME_CENTRE_CATEGORIES

HOUR = 3600


def _ts(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


def add(session: Session, year: int = 2025) -> dict[str, int]:
    if session.scalar(select(func.count()).select_from(Contract)):
        raise SystemExit("the database already has contracts: bench data is added once")
    now = utcnow()
    counts: dict[str, int] = {}
    user = User(username="bench-indicators", display_name="bench", password_hash="x", is_active=True, created_at=now)
    session.add(user)
    session.flush()
    centres = list(session.scalars(select(Institution).where(Institution.in_county.is_(True),
                                                             Institution.category.in_(HOME_CENTRE_CATEGORIES))))
    for c in centres:
        session.add(FamilyDoctorTeam(institution_id=c.id, code="BENCH", name=f"{c.name}家庭医生团队", created_at=now))
    pkg = ServicePackage(code="BENCH-BASIC", name="基础包", kind="basic", created_at=now)
    session.add(pkg)
    session.flush()
    for code, freq, pops in (("FU", "quarterly", ""), ("EX", "annual", ""), ("HT", "quarterly", "hypertension"),
                             ("DM", "quarterly", "t2dm")):
        session.add(ServicePackageItem(package_id=pkg.id, code=code, name=code, frequency=freq, populations=pops,
                                       price=0, payer="fund"))
    session.flush()
    counts["teams"] = len(centres)

    r, i, t = Resident, Institution, FamilyDoctorTeam
    start, end = date(year, 1, 1), date(year, 12, 31)
    home = (select(r.id.label("rid"), t.id.label("team_id"), t.institution_id.label("inst"))
            .join(i, and_(i.division_code == r.address_division_code, i.category.in_(HOME_CENTRE_CATEGORIES),
                          i.in_county.is_(True)))
            .join(t, t.institution_id == i.id))
    cols = ["resident_id", "team_id", "institution_id", "status", "signed_on", "start_on", "end_on", "stop_on",
            "version", "created_at", "updated_at"]
    prior = home.add_columns(literal("renewed"), literal(date(year - 2, 12, 20)), literal(date(year - 1, 1, 1)),
                             literal(date(year - 1, 12, 31)), literal(date(year, 1, 1)), literal(1), literal(now),
                             literal(now)).where(r.id % 100 < 5)
    counts["contracts_prior"] = session.execute(insert(Contract).from_select(cols, prior)).rowcount or 0
    current = home.add_columns(literal("active"), literal(date(year - 1, 12, 20)), literal(start), literal(end),
                               literal(None, type_=Contract.stop_on.type), literal(1), literal(now),
                               literal(now)).where(r.id % 100 < 48, r.id % 100 != 4)
    counts["contracts"] = session.execute(insert(Contract).from_select(cols, current)).rowcount or 0
    session.execute(insert(ContractPackage).from_select(
        ["contract_id", "package_id"], select(Contract.id, literal(pkg.id))))
    items = {it.code: it.id for it in session.scalars(select(ServicePackageItem)
                                                      .where(ServicePackageItem.package_id == pkg.id))}
    c = Contract
    for code, on, modulo in (("FU", date(year, 2, 15), 3), ("FU", date(year, 8, 10), 2), ("EX", date(year, 6, 1), 3)):
        sel = select(c.id, literal(items[code]), literal(code), c.resident_id, literal(on), c.institution_id,
                     literal(now)).where(c.start_on == start, c.id % modulo != (0 if modulo == 2 else 1))
        n = session.execute(insert(ContractDelivery).from_select(
            ["contract_id", "package_item_id", "item_code", "resident_id", "delivered_on", "institution_id",
             "recorded_at"], sel)).rowcount or 0
        counts["deliveries"] = counts.get("deliveries", 0) + n

    lead = session.scalar(select(ConsortiumMembership.institution_id).join(Consortium)
                          .where(ConsortiumMembership.role == "lead", Consortium.mode == "county_community")
                          .order_by(ConsortiumMembership.institution_id).limit(1))
    deadlines_up = literal({"accept_escalate": 24 * HOUR}, JSON)
    day_of_year = (r.id / 50) % 360
    submitted = plus_seconds(literal(_ts(start), type_=ReferralEpisode.submitted_at.type),
                             cast(day_of_year * 86400, Integer))
    outcome = r.id % 20
    status = case((outcome < 12, "completed"), (outcome < 15, "in_care"), (outcome == 15, "declined"),
                  (outcome == 16, "expired"), (outcome == 17, "cancelled"), else_="requested")
    accepted = case((outcome < 15, plus_seconds(submitted, cast((r.id % 36) * HOUR, Integer))), else_=None)
    up = (select(r.id, literal("up"), literal("routine"), status, t.institution_id, literal(user.id),
                 literal(user.id), literal(lead), literal(False), literal("not_required"), literal([], JSON),
                 deadlines_up, submitted, accepted,
                 case((status == "completed", plus_seconds(submitted, literal(5 * 86400))), else_=None),
                 case((status == "declined", plus_seconds(submitted, literal(5 * HOUR))), else_=None),
                 case((status == "expired", plus_seconds(submitted, literal(72 * HOUR))), else_=None),
                 case((status == "cancelled", plus_seconds(submitted, literal(HOUR))), else_=None),
                 case((status == "declined", "declined"), (status == "expired", "expired_unanswered"),
                      (status == "cancelled", "cancelled_by_sender"), else_=None),
                 literal(now), literal(now), literal(1), literal(1))
          .join(i, and_(i.division_code == r.address_division_code, i.category.in_(HOME_CENTRE_CATEGORIES),
                        i.in_county.is_(True)))
          .join(t, t.institution_id == i.id)
          .where(r.id % 50 == 0))
    ref_cols = ["resident_id", "direction", "urgency", "status", "sending_institution_id", "created_by", "sent_by",
                "receiving_institution_id", "out_of_network", "approval", "benefits", "deadlines", "submitted_at",
                "accepted_at", "completed_at", "declined_at", "expired_at", "cancelled_at", "end_reason",
                "created_at", "updated_at", "version", "status_entry_seq"]
    counts["up_referrals"] = session.execute(insert(ReferralEpisode).from_select(ref_cols, up)).rowcount or 0

    e = Encounter
    # Submitted the day after discharge, 10:00 Beijing time.
    down_at = plus_seconds(literal(_ts(start), type_=ReferralEpisode.submitted_at.type),
                           cast(days_between(literal(start), e.end_date) * 86400 + 86400, Integer))
    down = (select(e.resident_id, literal("down"), literal(None, type_=String), literal("accepted"), e.institution_id,
                   literal(user.id), literal(user.id), t.institution_id, literal(False), literal("not_required"),
                   literal([], JSON), literal({"accept_escalate": 48 * HOUR, "followup_due": 7 * 86400}, JSON),
                   down_at, plus_seconds(down_at, literal(2 * HOUR)),
                   literal(None, type_=ReferralEpisode.completed_at.type),
                   literal(None, type_=ReferralEpisode.declined_at.type),
                   literal(None, type_=ReferralEpisode.expired_at.type),
                   literal(None, type_=ReferralEpisode.cancelled_at.type), literal(None, type_=String),
                   literal(now), literal(now), literal(1), literal(1))
            .join(r, r.id == e.resident_id)
            .join(i, and_(i.division_code == r.address_division_code, i.category.in_(HOME_CENTRE_CATEGORIES),
                          i.in_county.is_(True)))
            .join(t, t.institution_id == i.id)
            .where(e.kind == "inpatient", e.institution_id == lead, e.end_date >= start, e.end_date <= end,
                   e.id % 4 == 0))
    counts["down_referrals"] = session.execute(insert(ReferralEpisode).from_select(ref_cols, down)).rowcount or 0
    ep = ReferralEpisode
    due = plus_seconds(ep.accepted_at, literal(7 * 86400))
    tasks = (select(ep.id, ep.resident_id, ep.receiving_institution_id, case((ep.id % 5 == 0, "open"), else_="done"),
                    due, case((ep.id % 5 == 0, None), (ep.id % 7 == 0, add_days(local_date(due), literal(3))),
                              else_=local_date(ep.accepted_at)), literal(now))
             .where(ep.direction == "down"))
    counts["followups"] = session.execute(insert(ReferralFollowUpTask).from_select(
        ["referral_id", "resident_id", "institution_id", "status", "due_at", "done_on", "created_at"],
        tasks)).rowcount or 0
    session.flush()
    return counts
