"""Contract use cases: policy, priority rights, signing, renewal, switching, termination.

``check_*`` validates and authorises, ``do_*`` mutates and audits; nothing here commits.
The rules themselves are ``contracts.rules`` and the transition table
``contracts.states``: this module loads what they read, calls them, and writes what
they decide.  A change to an existing contract is a compare-and-set on its ``version``
(``stale_version`` when someone else changed it first); signings of one resident are
serialised by a row lock on the resident, the panel check by a lock on the team.

Teams and the package catalogue live in ``contracts.teams`` (a contract's packages in
``contracts.packages``), delivery records and the workbench
lists in ``contracts.delivery``.
"""

from __future__ import annotations

import uuid
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from yilian.contracts import events, repository, rules
from yilian.contracts.config import ContractPolicy, PriorityBenefit
from yilian.contracts.packages import ensure_basic_package, populations_of, still_applicable
from yilian.contracts.rules import ContractInterval, FamilyMember, InstitutionRef, TeamPanel
from yilian.contracts.schemas import FamilySignIn, RenewIn, SignIn, SwitchIn, TerminateIn
from yilian.contracts.states import (
    ContractEvent,
    ContractEventInput,
    ContractSnapshot,
    ContractStatus,
    Successor,
    TerminationReason,
    contract_transition,
    initial_status,
)
from yilian.core.clock import today_local, utcnow
from yilian.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yilian.core.events import publish
from yilian.db.models import Contract, ContractCombination, ContractPackage, FamilyDoctorTeam
from yilian.identity import audit
from yilian.identity.principal import Principal, system_principal
from yilian.identity.roles import Perm
from yilian.identity.service import check_resident_access, institution_scope
from yilian.residents import service as residents

__all__ = [
    "STATUS_NAMES_ZH",
    "ContractView",
    "PriorityRights",
    "check_institution_write",
    "contract_view",
    "do_catch_up",
    "do_family_sign",
    "do_renew",
    "do_sign",
    "do_switch",
    "do_terminate",
    "get_contract",
    "interval_of",
    "network_consortia",
    "policy_for",
    "priority_rights",
    "read_priority_rights",
    "team_or_404",
    "team_policy",
]

STATUS_NAMES_ZH: dict[str, str] = {
    ContractStatus.SIGNED: "已签约（未生效）",
    ContractStatus.ACTIVE: "履约中",
    ContractStatus.RENEWED: "已续约",
    ContractStatus.SWITCHED: "已转签",
    ContractStatus.TERMINATED: "已解约",
    ContractStatus.EXPIRED: "已到期",
}

# ---- policy -------------------------------------------------------------------------------


def policy_for(session: Session, consortium_id: int | None, on: date) -> ContractPolicy:
    """The policy in force: the consortium's row, then the system row, then the code's defaults."""
    policy = ContractPolicy()
    for row in reversed(repository.policy_rows(session, consortium_id, on)):  # general first, specific wins
        changes: dict[str, Any] = {
            name: getattr(row, name)
            for name in ("min_term_years", "renewal_window_days", "panel_limit", "combination_enabled")
            if getattr(row, name) is not None
        }
        if row.priority_rights is not None:
            changes["priority_rights"] = frozenset(PriorityBenefit(code) for code in row.priority_rights)
        policy = replace(policy, **changes)
    return policy


def team_policy(session: Session, team: FamilyDoctorTeam, on: date) -> ContractPolicy:
    return policy_for(session, repository.tight_consortium_of(session, team.institution_id, on), on)


# ---- priority rights (read by scheduling and referrals) -----------------------------------


@dataclass(frozen=True, slots=True)
class PriorityRights:
    """What a contract in force gives a resident on a day: the rights, and where they come from."""

    resident_id: int
    on: date
    benefits: frozenset[PriorityBenefit] = frozenset()
    contract_id: int | None = None
    team_id: int | None = None
    #: The contracted team's institution (scheduling's contract pool, referral auto-acceptance).
    institution_id: int | None = None
    #: Consortia whose network holds that institution.
    consortia: frozenset[int] = frozenset()


def priority_rights(session: Session, resident_id: int, on: date) -> PriorityRights:
    """The resident's contract priority rights on ``on`` (none without a contract in force).

    No actor: this is a fact other features' services read inside their own authorised
    use cases (booking a contract-pool slot, building a referral snapshot).
    """
    c = repository.contract_in_force_for(session, resident_id, on)
    if c is None:
        return PriorityRights(resident_id, on)
    team = repository.team(session, c.team_id)
    assert team is not None
    policy = team_policy(session, team, on)
    benefits = rules.priority_rights([interval_of(c)], on, policy)
    return PriorityRights(
        resident_id, on, benefits, c.id, c.team_id, c.institution_id,
        repository.network_consortia_of(session, c.institution_id, on),
    )


def network_consortia(session: Session, institution_id: int, on: date) -> frozenset[int]:
    """Consortia whose network holds the institution (direct lead or member, or through a county
    community that joined a group as a whole): whose referral and contract pools it may use."""
    return repository.network_consortia_of(session, institution_id, on)


# ---- shared checks ------------------------------------------------------------------------


def check_institution_write(session: Session, actor: Principal, institution_id: int) -> None:
    """Writes for a team need a clinician (or admin) of the team's institution."""
    actor.require(Perm.RESIDENT_WRITE)
    scope = institution_scope(session, actor, Perm.RESIDENT_WRITE)
    if scope is not None and institution_id not in scope:
        raise Forbidden("只能管理本机构家庭医生团队的签约。", code="institution_out_of_scope",
                        institution_id=institution_id)


def team_or_404(session: Session, team_id: int, *, lock: bool = False) -> FamilyDoctorTeam:
    team = repository.team(session, team_id, lock=lock)
    if team is None:
        raise NotFound("家庭医生团队不存在。", code="team_not_found", team_id=team_id)
    return team


def _contract_or_404(session: Session, contract_id: int, *, lock: bool = False) -> Contract:
    c = repository.contract(session, contract_id, lock=lock)
    if c is None:
        raise NotFound("签约合同不存在。", code="contract_not_found", contract_id=contract_id)
    return c


def interval_of(c: Contract) -> ContractInterval:
    stop = c.stop_on if c.stop_on is not None else c.end_on + timedelta(days=1)
    return ContractInterval(c.id, c.team_id, c.start_on, stop)


def _snapshot(c: Contract, today: date | None = None) -> ContractSnapshot:
    """The contract as the rules see it; with ``today``, as it stands today even when the daily
    job has not yet activated or expired it (nothing is written for that: a refused event must
    leave the row as it was, and the job writes the system events)."""
    status = ContractStatus(c.status)
    if today is not None:
        if status == ContractStatus.SIGNED and today >= c.start_on:
            status = ContractStatus.ACTIVE
        if status == ContractStatus.ACTIVE and today > c.end_on:
            status = ContractStatus.EXPIRED
    return ContractSnapshot(c.id, c.resident_id, c.team_id, status, c.start_on, c.end_on)


def _check_team_usable(session: Session, team: FamilyDoctorTeam, on: date) -> None:
    if team.dissolved_on is not None and team.dissolved_on <= on:
        raise Conflict("该家庭医生团队已解散，不能签约。", code="team_dissolved", team_id=team.id)
    if not any(m.role == "gp_lead" for m in repository.current_members(session, team.id, on)):
        raise Conflict("该团队没有在岗的团队长（全科医生），不能签约。", code="team_without_lead", team_id=team.id)


def _panel(session: Session, team: FamilyDoctorTeam, on: date) -> TeamPanel:
    return TeamPanel(team.id, team.institution_id, repository.panel_count(session, team.id, on), team.panel_limit)


def _default_end(start: date, policy: ContractPolicy) -> date:
    return rules.add_years(start, policy.min_term_years) - timedelta(days=1)


# ---- signing ------------------------------------------------------------------------------


def _packages_for(
    session: Session, actor: Principal, team: FamilyDoctorTeam, resident_id: int, chosen: list[int],
    policy: ContractPolicy, on: date,
) -> list[int]:
    """The basic package (created from the policy's defaults if none is configured) plus the
    personalised packages chosen, each meant for a key population the resident belongs to."""
    consortium_id = repository.tight_consortium_of(session, team.institution_id, on)
    populations = populations_of(session, [resident_id], on)[resident_id]
    out: list[int] = []
    for pid in dict.fromkeys(chosen):
        pkg = repository.package(session, pid)
        if pkg is None or not pkg.active:
            raise NotFound("服务包不存在或已停用。", code="package_not_found", package_id=pid)
        if pkg.consortium_id is not None and pkg.consortium_id != consortium_id:
            raise ValidationFailed("该服务包不在本医联体提供。", code="package_not_offered", package_id=pid)
        if pkg.kind == "basic":
            continue
        if pkg.population not in populations:
            raise ValidationFailed(f"居民不属于服务包“{pkg.name}”面向的重点人群，不能选择该服务包。",
                                   code="package_not_for_resident", package_id=pid)
        out.append(pkg.id)
    # Last, so a refused choice leaves no default package behind.
    return [ensure_basic_package(session, actor, consortium_id, policy).id, *out]


def _combination_refs(session: Session, chosen: list[int]) -> list[InstitutionRef]:
    found = repository.institutions(session, chosen)
    missing = [i for i in chosen if i not in found]
    if missing:
        raise NotFound("组合签约的机构不存在。", code="institution_not_found", institution_ids=missing)
    return [InstitutionRef(i, found[i].category, found[i].tier) for i in chosen]


def _insert_contract(
    session: Session, actor: Principal, team: FamilyDoctorTeam, resident_id: int, start: date, end: date,
    today: date, package_ids: list[int], *, combination: list[int] | None = None,
    household_key: str | None = None, predecessor_id: int | None = None,
) -> Contract:
    now = utcnow()
    c = Contract(
        resident_id=resident_id, team_id=team.id, institution_id=team.institution_id,
        status=initial_status(start, today).value, signed_on=today, start_on=start, end_on=end,
        household_key=household_key, predecessor_id=predecessor_id, signed_by=actor.user_id,
        version=1, created_at=now, updated_at=now,
    )
    session.add(c)
    session.flush()
    session.add_all(ContractPackage(contract_id=c.id, package_id=p) for p in package_ids)
    for pos, (slot, inst) in enumerate(zip(team_policy(session, team, today).combination_slots,
                                           combination or [], strict=False), start=1):
        session.add(ContractCombination(contract_id=c.id, position=pos, slot_code=slot.code, institution_id=inst))
    session.flush()
    residents.do_add_care_relationship(session, actor, resident_id, team.institution_id, "contracted", since=start)
    audit.record(session, actor, "create", "contract", c.id, after=audit.snapshot(c), resident_id=resident_id)
    publish(session, events.contract_signed(c.id, resident_id, team.id, team.institution_id, start))
    return c


def do_sign(session: Session, actor: Principal, data: SignIn, today: date | None = None) -> Contract:
    """Sign one resident to a team: term ≥ the minimum, no overlap with another contract,
    room in the team's panel, optional "1+1+1" combination."""
    today = today or today_local()
    team = team_or_404(session, data.team_id)
    check_institution_write(session, actor, team.institution_id)
    if repository.resident(session, data.resident_id) is None:
        raise NotFound("居民不存在。", code="resident_not_found", resident_id=data.resident_id)
    check_resident_access(session, actor, data.resident_id)
    start = data.start_on or today
    if start < today:
        raise ValidationFailed("签约起始日不能早于今天。", code="start_in_past", start_on=str(start))
    _check_team_usable(session, team, start)
    repository.lock_resident(session, data.resident_id)
    team = team_or_404(session, data.team_id, lock=True)
    policy = team_policy(session, team, today)
    end = data.end_on or _default_end(start, policy)
    existing = [interval_of(c) for c in repository.contracts_of_resident(session, data.resident_id)]
    rules.check_signing(_panel(session, team, today), start, end, existing, policy)
    if data.combination:
        rules.check_combination(_combination_refs(session, data.combination), team.institution_id, policy)
    packages = _packages_for(session, actor, team, data.resident_id, data.package_ids, policy, start)
    return _insert_contract(session, actor, team, data.resident_id, start, end, today, packages,
                            combination=data.combination)


@dataclass(frozen=True, slots=True)
class FamilySigning:
    household_key: str
    signed: list[Contract] = field(default_factory=list)
    already_with_team: tuple[int, ...] = ()


def do_family_sign(session: Session, actor: Principal, data: FamilySignIn, today: date | None = None) -> FamilySigning:
    """Family-level signing: every member with the same team, or nobody (``contracts.rules``)."""
    today = today or today_local()
    team = team_or_404(session, data.team_id)
    check_institution_write(session, actor, team.institution_id)
    for rid in dict.fromkeys(data.resident_ids):
        if repository.resident(session, rid) is None:
            raise NotFound("居民不存在。", code="resident_not_found", resident_id=rid)
        check_resident_access(session, actor, rid)
    start = data.start_on or today
    if start < today:
        raise ValidationFailed("签约起始日不能早于今天。", code="start_in_past", start_on=str(start))
    _check_team_usable(session, team, start)
    for rid in sorted(set(data.resident_ids)):  # a fixed order: two families sharing a member cannot deadlock
        repository.lock_resident(session, rid)
    team = team_or_404(session, data.team_id, lock=True)
    policy = team_policy(session, team, today)
    end = data.end_on or _default_end(start, policy)
    contracts = repository.contracts_of_residents(session, data.resident_ids)
    members = [FamilyMember(rid, tuple(interval_of(c) for c in contracts.get(rid, []))) for rid in data.resident_ids]
    plan = rules.plan_family_signing(_panel(session, team, today), members, start, end, policy)
    key = uuid.uuid4().hex[:16]
    signed = [
        _insert_contract(session, actor, team, rid, start, end, today,
                         _packages_for(session, actor, team, rid, data.package_ids, policy, start),
                         household_key=key)
        for rid in plan.to_sign
    ]
    return FamilySigning(key, signed, plan.already_with_team)


# ---- transitions --------------------------------------------------------------------------


def _write(session: Session, c: Contract, version: int, values: dict[str, object]) -> None:
    """Compare-and-set on the version the actor saw: exactly one of two racing writers wins."""
    stmt = (
        update(Contract)
        .where(Contract.id == c.id, Contract.version == version)
        .values(version=Contract.version + 1, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if session.execute(stmt).rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("该签约已被他人更新，请刷新后重试。", code="stale_version", contract_id=c.id)
    session.refresh(c)


def _end_relationship(session: Session, actor: Principal, c: Contract, stop: date) -> None:
    """Close the ``contracted`` care relationship unless another contract at the same
    institution keeps the resident there after ``stop``."""
    for other in repository.contracts_of_resident(session, c.resident_id):
        if other.id != c.id and other.institution_id == c.institution_id and interval_of(other).stop > stop:
            return
    until = max(stop - timedelta(days=1), c.start_on)
    with suppress(NotFound):  # already closed (e.g. by the residents feature): nothing to do
        residents.do_end_care_relationship(session, actor, c.resident_id, c.institution_id, "contracted", until)


def _apply_system(session: Session, c: Contract, event: ContractEvent, today: date) -> None:
    actor = system_principal("contracts")
    decision = contract_transition(_snapshot(c), ContractEventInput(event), today, ContractPolicy())
    before = audit.snapshot(c)
    values: dict[str, object] = {"status": decision.to_status.value}
    if decision.stop is not None:
        values["stop_on"] = decision.stop
        values["ended_at"] = utcnow()
    _write(session, c, c.version, values)
    audit.record(session, actor, event.value, "contract", c.id, before=before, after=audit.snapshot(c),
                 resident_id=c.resident_id)
    if decision.stop is not None:
        _end_relationship(session, actor, c, decision.stop)
        publish(session, events.contract_ended(c.id, c.resident_id, c.status, decision.stop))


def _catch_up_one(session: Session, c: Contract, today: date) -> int:
    """Apply the system events a contract is due (activate, expire)."""
    applied = 0
    if c.status == ContractStatus.SIGNED and today >= c.start_on:
        _apply_system(session, c, ContractEvent.ACTIVATE, today)
        applied += 1
    if c.status == ContractStatus.ACTIVE and today > c.end_on:
        _apply_system(session, c, ContractEvent.EXPIRE, today)
        applied += 1
    return applied


def do_catch_up(session: Session, today: date | None = None, batch: int = 1000) -> dict[str, int]:
    """The daily job (``yilian contracts tick``): activate signed contracts whose term began and
    expire active ones whose term ended.  Idempotent: a second run finds nothing to do."""
    today = today or today_local()
    counts = {"activated": 0, "expired": 0}
    while rows := repository.contracts_to_catch_up(session, today, batch):
        for c in rows:
            was = c.status
            _catch_up_one(session, c, today)
            if was == ContractStatus.SIGNED:
                counts["activated"] += 1
            if c.status == ContractStatus.EXPIRED:
                counts["expired"] += 1
    return counts


def _successor(
    session: Session, actor: Principal, c: Contract, team: FamilyDoctorTeam, event: ContractEvent,
    end_on: date | None, today: date,
) -> tuple[Contract, Contract]:
    """Renewal or switch: the old contract ends with its term, the successor starts the next day."""
    policy = team_policy(session, team, today)
    start = c.end_on + timedelta(days=1)
    succ = Successor(team.id, start, end_on or _default_end(start, policy))
    decision = contract_transition(_snapshot(c, today), ContractEventInput(event, successor=succ), today, policy)
    _check_team_usable(session, team, start)
    if event == ContractEvent.SWITCH:
        existing = [interval_of(x) for x in repository.contracts_of_resident(session, c.resident_id)]
        rules.check_signing(_panel(session, team, today), succ.start, succ.end, existing, policy)
    before = audit.snapshot(c)
    _write(session, c, c.version, {"status": decision.to_status.value, "stop_on": decision.stop,
                                   "ended_at": utcnow(), "ended_by": actor.user_id})
    audit.record(session, actor, event.value, "contract", c.id, before=before, after=audit.snapshot(c),
                 resident_id=c.resident_id)
    old_packages = repository.package_ids_of(session, [c.id])[c.id]
    if event == ContractEvent.RENEW:
        packages = old_packages
    else:
        # Personalised packages the resident still qualifies for carry over; the new team's
        # consortium may offer another basic package.
        kept = still_applicable(session, c.resident_id, old_packages, start)
        packages = _packages_for(session, actor, team, c.resident_id, kept, policy, start)
        if team.institution_id != c.institution_id:
            _end_relationship(session, actor, c, start)
    new = _insert_contract(session, actor, team, c.resident_id, succ.start, succ.end, today, packages,
                           predecessor_id=c.id)
    publish(session, events.contract_ended(c.id, c.resident_id, c.status, start))
    return c, new


def _check_version(c: Contract, version: int | None) -> None:
    """The version the person saw: missing → ``version_required``, outdated → ``stale_version``."""
    if version is None:
        raise ValidationFailed("缺少版本号，请刷新后重试。", code="version_required")
    if version != c.version:
        raise Conflict("该签约已被他人更新，请刷新后重试。", code="stale_version", contract_id=c.id,
                       expected=c.version, given=version)


def do_renew(
    session: Session, actor: Principal, contract_id: int, data: RenewIn, today: date | None = None
) -> tuple[Contract, Contract]:
    """Renew with the same team (续约), within the renewal window before the term ends."""
    today = today or today_local()
    c = _contract_or_404(session, contract_id, lock=True)
    check_institution_write(session, actor, c.institution_id)
    _check_version(c, data.version)
    team = team_or_404(session, c.team_id, lock=True)
    return _successor(session, actor, c, team, ContractEvent.RENEW, data.end_on, today)


def do_switch(
    session: Session, actor: Principal, contract_id: int, data: SwitchIn, today: date | None = None
) -> tuple[Contract, Contract]:
    """Switch to another team at the end of the term (转签); personalised packages carry over."""
    today = today or today_local()
    c = _contract_or_404(session, contract_id, lock=True)
    new_team = team_or_404(session, data.team_id)
    check_institution_write(session, actor, c.institution_id)
    check_institution_write(session, actor, new_team.institution_id)
    _check_version(c, data.version)
    new_team = team_or_404(session, data.team_id, lock=True)
    return _successor(session, actor, c, new_team, ContractEvent.SWITCH, data.end_on, today)


def do_terminate(
    session: Session, actor: Principal, contract_id: int, data: TerminateIn, today: date | None = None
) -> Contract:
    """End a contract early with a coded reason (解约); a contract not yet started never was in force."""
    today = today or today_local()
    c = _contract_or_404(session, contract_id, lock=True)
    check_institution_write(session, actor, c.institution_id)
    _check_version(c, data.version)
    inp = ContractEventInput(ContractEvent.TERMINATE, on=data.on, reason=TerminationReason(data.reason),
                             reason_text=data.reason_text)
    decision = contract_transition(_snapshot(c, today), inp, today, ContractPolicy())
    assert decision.stop is not None
    before = audit.snapshot(c)
    _write(session, c, c.version, {
        "status": decision.to_status.value, "stop_on": decision.stop, "ended_at": utcnow(), "ended_by": actor.user_id,
        "termination_reason": data.reason, "termination_text": (data.reason_text or "").strip() or None,
    })
    audit.record(session, actor, "terminate", "contract", c.id, before=before, after=audit.snapshot(c),
                 resident_id=c.resident_id)
    _end_relationship(session, actor, c, decision.stop)
    publish(session, events.contract_ended(c.id, c.resident_id, c.status, decision.stop))
    return c


# ---- reads --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContractView:
    id: int
    resident_id: int
    team_id: int
    institution_id: int
    status: str
    status_name: str
    signed_on: date
    start_on: date
    end_on: date
    stop_on: date | None
    household_key: str | None
    predecessor_id: int | None
    termination_reason: str | None
    termination_text: str | None
    version: int
    package_ids: list[int]
    combination: list[int]


def contract_view(session: Session, c: Contract) -> ContractView:
    return ContractView(
        c.id, c.resident_id, c.team_id, c.institution_id, c.status, STATUS_NAMES_ZH.get(c.status, c.status),
        c.signed_on, c.start_on, c.end_on, c.stop_on, c.household_key, c.predecessor_id, c.termination_reason,
        c.termination_text, c.version, repository.package_ids_of(session, [c.id])[c.id],
        [x.institution_id for x in repository.combination_of(session, c.id)],
    )


def get_contract(session: Session, actor: Principal, contract_id: int) -> ContractView:
    """A contract, read by someone with the resident in scope (audited like any record read)."""
    c = _contract_or_404(session, contract_id)
    check_resident_access(session, actor, c.resident_id)
    audit.record_read(session, actor, c.resident_id, f"查看签约合同 {c.id}")
    return contract_view(session, c)


def read_priority_rights(
    session: Session, actor: Principal, resident_id: int, on: date | None = None
) -> PriorityRights:
    """``priority_rights`` for a person: the resident must be in their scope."""
    if repository.resident(session, resident_id) is None:
        raise NotFound("居民不存在。", code="resident_not_found", resident_id=resident_id)
    check_resident_access(session, actor, resident_id)
    return priority_rights(session, resident_id, on or today_local())
