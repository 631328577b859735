"""Referral queries: the only SQL of the feature.

Reads of other features' tables (institutions and consortia for the facts of a
snapshot, slots and appointments for holds, care relationships for scope,
encounters for the follow-up seam) are allowed here by ARCHITECTURE.md "a
repository may read other features' tables for set-based reports, access scope
and the seams".  Holds and bookings are written by scheduling's service.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select, update
from sqlalchemy.orm import Session

from yilian.db.models import (
    Consortium,
    Department,
    Encounter,
    Institution,
    Notification,
    Practitioner,
    ReferralCatalogueEntry,
    ReferralDesignatedCentre,
    ReferralEpisode,
    ReferralEscalation,
    ReferralEvent,
    ReferralFollowUpTask,
    ReferralPolicySetting,
    Resident,
    Slot,
    SlotPool,
)

# The network queries live with the registry (re-exported for this feature's service).
from yilian.registry.repository import network_consortia_of as network_consortia_of
from yilian.registry.repository import tight_consortium_of as tight_consortium_of

#: Township / community health centres (DOMAIN.md): the default down-referral receivers.
CENTRE_CATEGORIES = ("B100", "C100", "C210", "C220")
OPEN_STATUSES = ("awaiting_approval", "requested", "accepted", "scheduled", "no_show", "in_care", "cancel_requested")


# ---- registry and residents facts ----------------------------------------------------------


def institution(session: Session, institution_id: int) -> Institution | None:
    return session.get(Institution, institution_id)


def institutions(session: Session, ids: Iterable[int]) -> dict[int, Institution]:
    wanted = set(ids)
    if not wanted:
        return {}
    return {i.id: i for i in session.scalars(select(Institution).where(Institution.id.in_(wanted)))}


def institution_by_code(session: Session, code: str) -> Institution | None:
    return session.scalar(select(Institution).where(Institution.code == code))


def consortium_by_code(session: Session, code: str) -> Consortium | None:
    return session.scalar(select(Consortium).where(Consortium.code == code))


def consortium(session: Session, consortium_id: int) -> Consortium | None:
    return session.get(Consortium, consortium_id)


def resident(session: Session, resident_id: int) -> Resident | None:
    return session.get(Resident, resident_id)


def residents(session: Session, ids: Iterable[int]) -> dict[int, Resident]:
    wanted = set(ids)
    if not wanted:
        return {}
    return {r.id: r for r in session.scalars(select(Resident).where(Resident.id.in_(wanted)))}


def department(session: Session, department_id: int) -> Department | None:
    return session.get(Department, department_id)


def practitioner(session: Session, practitioner_id: int) -> Practitioner | None:
    return session.get(Practitioner, practitioner_id)


def home_centres(session: Session, division_code: str | None) -> list[int]:
    """Township or community health centres of the resident's home township."""
    if not division_code:
        return []
    stmt = select(Institution.id).where(
        Institution.division_code == division_code, Institution.category.in_(CENTRE_CATEGORIES)
    )
    return list(session.scalars(stmt.order_by(Institution.id)))


# ---- policy and catalogues -----------------------------------------------------------------


def policy_rows(session: Session, consortium_id: int | None, on: date) -> list[ReferralPolicySetting]:
    """The latest row in force of the consortium and of the system (``consortium_id`` empty), specific first."""
    out: list[ReferralPolicySetting] = []
    for cid in ([consortium_id] if consortium_id is not None else []) + [None]:
        cond = ReferralPolicySetting.consortium_id.is_(None) if cid is None else (
            ReferralPolicySetting.consortium_id == cid)
        row = session.scalars(
            select(ReferralPolicySetting).where(cond, ReferralPolicySetting.valid_from <= on)
            .order_by(ReferralPolicySetting.valid_from.desc()).limit(1)
        ).first()
        if row is not None:
            out.append(row)
    return out


def policy_row(session: Session, consortium_id: int | None, valid_from: date) -> ReferralPolicySetting | None:
    cond = ReferralPolicySetting.consortium_id.is_(None) if consortium_id is None else (
        ReferralPolicySetting.consortium_id == consortium_id)
    return session.scalar(select(ReferralPolicySetting).where(cond, ReferralPolicySetting.valid_from == valid_from))


def catalogue_entries(session: Session, consortium_id: int | None) -> list[ReferralCatalogueEntry]:
    cond = ReferralCatalogueEntry.consortium_id.is_(None) if consortium_id is None else (
        ReferralCatalogueEntry.consortium_id == consortium_id)
    stmt = select(ReferralCatalogueEntry).where(cond)
    return list(session.scalars(stmt.order_by(ReferralCatalogueEntry.kind, ReferralCatalogueEntry.icd10)))


def delete_catalogue(session: Session, consortium_id: int | None, kinds: Sequence[str]) -> int:
    cond = ReferralCatalogueEntry.consortium_id.is_(None) if consortium_id is None else (
        ReferralCatalogueEntry.consortium_id == consortium_id)
    rows = list(session.scalars(select(ReferralCatalogueEntry).where(cond, ReferralCatalogueEntry.kind.in_(kinds))))
    for r in rows:
        session.delete(r)
    session.flush()
    return len(rows)


def designated_centres(session: Session, consortium_id: int) -> frozenset[int]:
    stmt = select(ReferralDesignatedCentre.institution_id).where(
        ReferralDesignatedCentre.consortium_id == consortium_id)
    return frozenset(session.scalars(stmt))


# ---- episodes ------------------------------------------------------------------------------


def episode(session: Session, referral_id: int) -> ReferralEpisode | None:
    return session.get(ReferralEpisode, referral_id, populate_existing=True)


def escalation_rows(session: Session, referral_id: int) -> list[ReferralEscalation]:
    stmt = select(ReferralEscalation).where(ReferralEscalation.referral_id == referral_id)
    return list(session.scalars(stmt.order_by(ReferralEscalation.at, ReferralEscalation.id)))


def event_rows(session: Session, referral_id: int) -> list[ReferralEvent]:
    stmt = select(ReferralEvent).where(ReferralEvent.referral_id == referral_id)
    return list(session.scalars(stmt.order_by(ReferralEvent.seq, ReferralEvent.id)))


def compare_and_set(session: Session, referral_id: int, version: int, values: dict[str, Any]) -> bool:
    """``UPDATE … WHERE id = :id AND version = :version``; False when someone else moved it first."""
    stmt = (
        update(ReferralEpisode)
        .where(ReferralEpisode.id == referral_id, ReferralEpisode.version == version)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    result = session.execute(stmt)
    return bool(getattr(result, "rowcount", 0) == 1)


def followup_task(session: Session, referral_id: int) -> ReferralFollowUpTask | None:
    return session.scalar(select(ReferralFollowUpTask).where(ReferralFollowUpTask.referral_id == referral_id))


def open_episode_ids(session: Session, after_id: int, limit: int) -> list[int]:
    """Open referrals (neither draft nor ended), in id order, for the deadline job."""
    stmt = (
        select(ReferralEpisode.id)
        .where(ReferralEpisode.status.in_(OPEN_STATUSES), ReferralEpisode.id > after_id)
        .order_by(ReferralEpisode.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def down_referrals_awaiting_followup(
    session: Session, resident_ids: Iterable[int], institution_ids: Iterable[int]
) -> list[ReferralEpisode]:
    """Down-referrals of these residents at these receiving institutions that still owe a follow-up."""
    rids, iids = set(resident_ids), set(institution_ids)
    if not rids or not iids:
        return []
    stmt = select(ReferralEpisode).where(
        ReferralEpisode.direction == "down",
        ReferralEpisode.status.in_(("accepted", "scheduled", "no_show", "in_care")),
        ReferralEpisode.resident_id.in_(rids),
        ReferralEpisode.receiving_institution_id.in_(iids),
    )
    return list(session.scalars(stmt.order_by(ReferralEpisode.id)))


def encounters_in_range(session: Session, first_id: int, last_id: int) -> list[tuple[int, int, int, date]]:
    """(encounter id, resident, institution, date) of an imported chunk that meets an open down-referral."""
    open_down = select(ReferralEpisode.resident_id).where(
        ReferralEpisode.direction == "down",
        ReferralEpisode.status.in_(("accepted", "scheduled", "no_show", "in_care")),
    )
    stmt = select(Encounter.id, Encounter.resident_id, Encounter.institution_id, Encounter.start_date).where(
        Encounter.id >= first_id, Encounter.id <= last_id, Encounter.resident_id.in_(open_down)
    )
    return [(a, b, c, d) for a, b, c, d in session.execute(stmt.order_by(Encounter.id)).tuples()]


# ---- lists for the pages and the API ---------------------------------------------------------


def list_episodes(
    session: Session,
    *,
    sending: set[int] | None = None,
    receiving: set[int] | None = None,
    governing: set[int] | None = None,
    receiving_consortia: set[int] | None = None,
    statuses: Sequence[str] | None = None,
    limit: int = 200,
) -> list[ReferralEpisode]:
    """Referrals matching any of the given party sets (None = not this side), newest first."""
    sides: list[ColumnElement[bool]] = []
    if sending is not None:
        sides.append(ReferralEpisode.sending_institution_id.in_(sending) if sending else false())
    if receiving is not None:
        sides.append(and_(ReferralEpisode.receiving_institution_id.in_(receiving) if receiving else false(),
                          ReferralEpisode.status != "draft"))
    if governing is not None:
        sides.append(and_(ReferralEpisode.governing_consortium_id.in_(governing) if governing else false(),
                          ReferralEpisode.status != "draft"))
    if receiving_consortia is not None:
        sides.append(and_(ReferralEpisode.receiving_consortium_id.in_(receiving_consortia)
                          if receiving_consortia else false(), ReferralEpisode.status != "draft"))
    stmt = select(ReferralEpisode)
    if sides:
        stmt = stmt.where(or_(*sides))
    if statuses:
        stmt = stmt.where(ReferralEpisode.status.in_(statuses))
    stmt = stmt.order_by(ReferralEpisode.updated_at.desc(), ReferralEpisode.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def open_escalation_counts(session: Session, referral_ids: Iterable[int]) -> dict[int, int]:
    ids = set(referral_ids)
    if not ids:
        return {}
    stmt = (select(ReferralEscalation.referral_id, func.count()).where(ReferralEscalation.referral_id.in_(ids))
            .group_by(ReferralEscalation.referral_id))
    return {rid: int(n) for rid, n in session.execute(stmt).tuples()}


def institution_names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = session.execute(select(Institution.id, Institution.name).where(Institution.id.in_(wanted))).tuples()
    return {i: n for i, n in rows}


def departments_of(session: Session, institution_id: int) -> list[Department]:
    return list(session.scalars(select(Department).where(Department.institution_id == institution_id)
                                .order_by(Department.code)))


def first_practitioner_at(session: Session, institution_id: int) -> int | None:
    stmt = select(Practitioner.id).where(Practitioner.home_institution_id == institution_id)
    return session.scalar(stmt.order_by(Practitioner.id).limit(1))


def referral_receivers(session: Session, exclude: int | None) -> list[Institution]:
    stmt = select(Institution).order_by(Institution.tier.desc(), Institution.code)
    if exclude is not None:
        stmt = stmt.where(Institution.id != exclude)
    return list(session.scalars(stmt))


# ---- slots (scheduling's tables) -------------------------------------------------------------


def slot_with_pool(session: Session, slot_id: int) -> tuple[Slot, SlotPool] | None:
    row = session.execute(
        select(Slot, SlotPool).join(SlotPool, SlotPool.id == Slot.pool_id).where(Slot.id == slot_id)
        .execution_options(populate_existing=True)
    ).first()
    return None if row is None else (row[0], row[1])


def slots_at(
    session: Session, institution_id: int, since: datetime, until: datetime, kinds: Sequence[str]
) -> list[tuple[Slot, SlotPool]]:
    stmt = (
        select(Slot, SlotPool)
        .join(SlotPool, SlotPool.id == Slot.pool_id)
        .where(Slot.institution_id == institution_id, Slot.start_at > since, Slot.start_at < until,
               Slot.booked_count < Slot.capacity, SlotPool.kind.in_(kinds))
        .order_by(Slot.start_at, Slot.id)
    )
    return [(s, p) for s, p in session.execute(stmt).tuples()]


# ---- notifications ---------------------------------------------------------------------------


def notification_exists(session: Session, dedupe_key: str) -> bool:
    return session.scalar(select(Notification.id).where(Notification.dedupe_key == dedupe_key)) is not None


def notifications_for(
    session: Session, user_id: int | None, institutions: set[int], consortia: set[int], *, unread_only: bool,
    limit: int = 100,
) -> list[Notification]:
    conds: list[ColumnElement[bool]] = []
    if user_id is not None:
        conds.append(Notification.recipient_user_id == user_id)
    if institutions:
        conds.append(and_(Notification.recipient_institution_id.in_(institutions),
                          Notification.recipient_role == "clinician"))
    if consortia:
        conds.append(and_(Notification.recipient_consortium_id.in_(consortia),
                          Notification.recipient_role == "referral_officer"))
    if not conds:
        return []
    stmt = select(Notification).where(or_(*conds))
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return list(session.scalars(stmt.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)))


def notification(session: Session, notification_id: int) -> Notification | None:
    return session.get(Notification, notification_id)


def notifications_of_referral(session: Session, referral_id: int) -> list[Notification]:
    """Messages about one referral (they link to its page), oldest first."""
    stmt = select(Notification).where(Notification.link == f"/referrals/{referral_id}")
    return list(session.scalars(stmt.order_by(Notification.id)))
