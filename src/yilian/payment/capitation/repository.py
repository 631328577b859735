"""What family-doctor capitation reads: contracts in force in the year, their packages' items, the
deliveries recorded, key populations, and contracted residents' outpatient fund spending elsewhere.
Lists of ids are queried in chunks (SQLite allows ~32 k bound parameters)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from typing import Any

from sqlalchemy import BigInteger, cast, func, or_, select
from sqlalchemy.orm import Session

from yilian.db.models import (
    Contract,
    ContractDelivery,
    ContractPackage,
    Encounter,
    KeyPopulation,
    Resident,
    ServicePackageItem,
    Settlement,
)

CHUNK = 5000


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start:start + CHUNK])


def contracts_in_year(session: Session, institution_ids: Sequence[int], first: date, last: date) -> list[Contract]:
    """Contracts of the teams at these institutions that were in force at some time in the year."""
    c = Contract
    out: list[Contract] = []
    for chunk in _chunks(sorted(institution_ids)):
        out.extend(session.scalars(select(c).where(
            c.institution_id.in_(chunk), c.start_on <= last, c.end_on >= first,
            or_(c.stop_on.is_(None), c.stop_on > first)).order_by(c.id)))
    return out


def package_items(session: Session, contract_ids: Sequence[int]) -> dict[int, list[ServicePackageItem]]:
    """Items of each contract's packages."""
    pairs: list[tuple[int, int]] = []
    for chunk in _chunks(contract_ids):
        pairs.extend((int(a), int(b)) for a, b in session.execute(
            select(ContractPackage.contract_id, ContractPackage.package_id)
            .where(ContractPackage.contract_id.in_(chunk))))
    items: dict[int, list[ServicePackageItem]] = {}
    package_ids = sorted({p for _, p in pairs})
    for chunk in _chunks(package_ids):
        for item in session.scalars(select(ServicePackageItem).where(ServicePackageItem.package_id.in_(chunk))):
            items.setdefault(item.package_id, []).append(item)
    out: dict[int, list[ServicePackageItem]] = {}
    for contract_id, package_id in pairs:
        out.setdefault(contract_id, []).extend(items.get(package_id, []))
    return out


def deliveries(session: Session, contract_ids: Sequence[int], first: date, last: date
               ) -> dict[tuple[int, str], list[date]]:
    out: dict[tuple[int, str], list[date]] = {}
    d = ContractDelivery
    for chunk in _chunks(contract_ids):
        for cid, code, on in session.execute(select(d.contract_id, d.item_code, d.delivered_on).where(
                d.contract_id.in_(chunk), d.delivered_on >= first, d.delivered_on <= last)):
            out.setdefault((int(cid), code), []).append(on)
    return out


def populations(session: Session, resident_ids: Sequence[int], on: date) -> dict[int, set[str]]:
    """Recorded key-population codes on ``on`` (derived ones are added by the caller)."""
    out: dict[int, set[str]] = {}
    k = KeyPopulation
    for chunk in _chunks(resident_ids):
        for rid, code in session.execute(select(k.resident_id, k.code).where(
                k.resident_id.in_(chunk), k.since <= on, or_(k.until.is_(None), k.until >= on))):
            out.setdefault(int(rid), set()).add(code)
    return out


def birth_dates(session: Session, resident_ids: Sequence[int]) -> dict[int, date]:
    out: dict[int, date] = {}
    for chunk in _chunks(resident_ids):
        for rid, born in session.execute(select(Resident.id, Resident.birth_date).where(Resident.id.in_(chunk))):
            out[int(rid)] = born
    return out


def outside_outpatient_cents(session: Session, resident_ids: Iterable[int], network: Sequence[int], first: date,
                             last: date) -> int:
    """Outpatient and emergency fund payments, settled in the year, for these residents at institutions
    outside ``network``."""
    s, e = Settlement, Encounter
    total = 0
    ids = sorted(set(resident_ids))
    for chunk in _chunks(ids):
        stmt: Any = (select(func.sum(cast(func.round(s.fund_paid * 100), BigInteger)))
                     .join(e, e.id == s.encounter_id)
                     .where(e.kind.in_(("outpatient", "emergency")), s.settled_on >= first, s.settled_on <= last,
                            e.resident_id.in_(chunk)))
        if network:
            stmt = stmt.where(e.institution_id.not_in(list(network)))
        total += int(session.scalar(stmt) or 0)
    return total
