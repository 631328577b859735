"""A consortium's referral configuration from the database: policy rows, catalogues, designated centres.

``policy_for`` assembles ``config.ReferralPolicy`` from the row in force (the
consortium's, over the system row, over REFERRAL.md's defaults), the consortium's
catalogues (the system-wide catalogue when there is no governing consortium) and
its designated specialty centres.  ``do_import_catalogue`` loads a CSV
(``config.parse_catalogue_csv``) and ``do_configure_policy`` writes a new policy
row; both are for a ``consortium_manager`` of that consortium (or a system admin).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from yilian.contracts.config import PriorityBenefit
from yilian.core.clock import to_local, utcnow
from yilian.core.errors import Forbidden, NotFound, ValidationFailed
from yilian.db.models import ReferralCatalogueEntry, ReferralPolicySetting
from yilian.identity import audit
from yilian.identity.principal import Principal
from yilian.identity.roles import Role
from yilian.referrals import repository
from yilian.referrals.config import (
    CatalogueEntry,
    CatalogueKind,
    Catalogues,
    DeadlineSet,
    ReferralPolicy,
    catalogue_size_warnings,
    parse_catalogue_csv,
)
from yilian.referrals.schemas import PolicyIn

__all__ = ["CatalogueImport", "do_configure_policy", "do_import_catalogue", "policy_for"]

_SETS = ("routine", "urgent", "down")


def _deadline_set(base: DeadlineSet, seconds: dict[str, Any] | None) -> DeadlineSet:
    if not seconds:
        return base
    given = DeadlineSet.from_seconds(seconds)  # refuses unknown keys
    return replace(base, **{k: getattr(given, k) for k in seconds})


def policy_for(session: Session, consortium_id: int | None, on: date) -> ReferralPolicy:
    """The governing consortium's policy on ``on`` (``ReferralPolicy()`` plus system rows when none)."""
    policy = ReferralPolicy()
    for row in reversed(repository.policy_rows(session, consortium_id, on)):  # system first, specific wins
        changes: dict[str, Any] = {}
        deadlines = row.deadlines or {}
        for name in _SETS:
            if deadlines.get(name):
                changes[name] = _deadline_set(getattr(policy, name), deadlines[name])
        if row.benefits is not None:
            changes["benefits"] = frozenset(PriorityBenefit(c) for c in row.benefits)
        for name in ("down_auto_accept", "out_of_network_approval"):
            if getattr(row, name) is not None:
                changes[name] = getattr(row, name)
        if row.tick_interval_seconds:
            changes["tick_interval"] = timedelta(seconds=row.tick_interval_seconds)
        policy = replace(policy, **changes)
    rows = repository.catalogue_entries(session, consortium_id)
    entries = tuple(CatalogueEntry(CatalogueKind(e.kind), e.icd10, e.name) for e in rows)
    centres = repository.designated_centres(session, consortium_id) if consortium_id is not None else frozenset()
    return replace(policy, catalogues=Catalogues(entries), designated_centres=centres)


def _check_manager(actor: Principal, consortium_id: int | None) -> None:
    if actor.is_admin:
        return
    managed = {g.consortium_id for g in actor.grants if g.role == Role.CONSORTIUM_MANAGER}
    if consortium_id is None or consortium_id not in managed:
        raise Forbidden("只有该医联体的管理人员可以配置转诊目录和规则。", code="not_consortium_manager")


def _consortium_or_404(session: Session, consortium_id: int | None) -> None:
    if consortium_id is not None and repository.consortium(session, consortium_id) is None:
        raise NotFound("医联体不存在。", code="consortium_not_found", consortium_id=consortium_id)


@dataclass(frozen=True, slots=True)
class CatalogueImport:
    consortium_id: int | None
    loaded: dict[str, int]
    replaced: int
    warnings: list[str]


def do_import_catalogue(
    session: Session, actor: Principal, consortium_id: int | None, text: str, *, now: datetime | None = None
) -> CatalogueImport:
    """Load a catalogue CSV for a consortium: the catalogues named in the file replace the loaded ones.

    A bad row refuses the whole file (``catalogue_invalid``) and changes nothing; sizes that
    differ from the configured shape (Tianchang 41 + 15 / 122 / 50) are warnings.
    """
    _check_manager(actor, consortium_id)
    _consortium_or_404(session, consortium_id)
    entries = parse_catalogue_csv(text)
    now = now or utcnow()
    kinds = sorted({e.kind.value for e in entries})
    replaced = repository.delete_catalogue(session, consortium_id, kinds)
    for e in entries:
        session.add(ReferralCatalogueEntry(consortium_id=consortium_id, kind=e.kind.value, icd10=e.code,
                                           name=e.name, loaded_at=now))
    session.flush()
    policy = policy_for(session, consortium_id, to_local(now).date())
    expected = {k: n for k, n in policy.catalogue_sizes.items() if k.value in kinds}
    warnings = catalogue_size_warnings(policy.catalogues, expected)
    loaded = {k: sum(1 for e in entries if e.kind.value == k) for k in kinds}
    audit.record(session, actor, "import", "referral_catalogue", consortium_id,
                 after={"loaded": loaded, "replaced": replaced}, detail="；".join(warnings) or None)
    return CatalogueImport(consortium_id, loaded, replaced, warnings)


def do_configure_policy(
    session: Session, actor: Principal, consortium_id: int | None, data: PolicyIn, *, now: datetime | None = None
) -> ReferralPolicySetting:
    """Write the consortium's referral policy in force from ``valid_from`` (default today).

    Deadlines already copied onto referrals do not change: only later submissions use the new values.
    """
    _check_manager(actor, consortium_id)
    _consortium_or_404(session, consortium_id)
    now = now or utcnow()
    valid_from = data.valid_from or to_local(now).date()
    deadlines: dict[str, dict[str, int | None]] = {}
    for name in _SETS:
        given = getattr(data, name)
        if given:
            deadlines[name] = {k: None if v is None else int(v * 60) for k, v in given.items()}
            DeadlineSet.from_seconds(deadlines[name])  # unknown keys refused before anything is written
    for name, values in deadlines.items():
        for key, v in values.items():
            if v is not None and v <= 0:
                raise ValidationFailed(f"时限 {name}.{key} 须为正数（分钟）。", code="deadline_invalid")
    row = repository.policy_row(session, consortium_id, valid_from)
    before = audit.snapshot(row) if row is not None else None
    if row is None:
        row = ReferralPolicySetting(consortium_id=consortium_id, valid_from=valid_from, updated_at=now)
        session.add(row)
    row.deadlines = deadlines or None
    row.benefits = None if data.benefits is None else sorted(b.value for b in data.benefits)
    row.down_auto_accept = data.down_auto_accept
    row.out_of_network_approval = data.out_of_network_approval
    row.tick_interval_seconds = None if data.tick_interval_minutes is None else data.tick_interval_minutes * 60
    row.updated_by = actor.user_id
    row.updated_at = now
    session.flush()
    audit.record(session, actor, "update" if before else "create", "referral_policy", row.id, before=before,
                 after=audit.snapshot(row))
    return row
