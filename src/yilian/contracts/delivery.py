"""Delivery records (履约) and the family doctor's lists: due / overdue services, "my residents".

What a contract owes is computed, never stored: the items of its packages owed to the
resident's key populations, one per period of the term (``rules.delivery_schedule``),
matched against the delivery records.  A due list is per institution or team and reads
all it needs in a handful of queries (contracts, packages, items, deliveries), then runs
the pure schedule per contract.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from yilian.contracts import events, repository, rules
from yilian.contracts.config import Frequency, PackageItem
from yilian.contracts.packages import populations_of
from yilian.contracts.rules import DeliveryState
from yilian.contracts.schemas import DeliveryIn
from yilian.contracts.service import STATUS_NAMES_ZH, interval_of, team_policy
from yilian.core.clock import today_local, utcnow
from yilian.core.errors import Forbidden, NotFound
from yilian.core.events import publish
from yilian.core.paging import Page, PageRequest
from yilian.db.models import Contract, ContractDelivery, FamilyDoctorTeam, ServicePackageItem
from yilian.identity import audit
from yilian.identity.principal import Principal
from yilian.identity.roles import Perm
from yilian.identity.scope import resident_filter
from yilian.identity.service import institution_scope

__all__ = ["DueRow", "WorkbenchRow", "do_record_delivery", "due_services", "my_teams", "workbench"]


def _item(row: ServicePackageItem) -> PackageItem:
    pops = frozenset(p for p in row.populations.split(",") if p)
    return PackageItem(row.code, row.name, Frequency(row.frequency), pops)


def _delivering_institution(session: Session, actor: Principal, c: Contract) -> int:
    """Where the delivery happens: the team's centre, or one of its stations / village clinics
    where the actor works."""
    actor.require(Perm.RESIDENT_WRITE)
    scope = institution_scope(session, actor, Perm.RESIDENT_WRITE)
    if scope is None or c.institution_id in scope:
        return c.institution_id
    children = [i for i in repository.institutions(session, scope).values() if i.parent_id == c.institution_id]
    if not children:
        raise Forbidden("只能为本机构（或下属站点、村卫生室）签约的居民记录履约。", code="institution_out_of_scope")
    return min(i.id for i in children)


def do_record_delivery(
    session: Session, actor: Principal, contract_id: int, data: DeliveryIn, today: date | None = None
) -> ContractDelivery:
    """Record that a package item was delivered: it must be in the contract's packages, dated
    while the contract was in force, and not in the future."""
    today = today or today_local()
    c = repository.contract(session, contract_id)
    if c is None:
        raise NotFound("签约合同不存在。", code="contract_not_found", contract_id=contract_id)
    where = _delivering_institution(session, actor, c)
    on = data.delivered_on or today
    package_ids = repository.package_ids_of(session, [c.id])[c.id]
    rows = repository.items_of_packages(session, package_ids)
    rules.check_delivery(data.item_code, on, [_item(r) for r in rows], interval_of(c), today)
    item_row = next(r for r in rows if r.code == data.item_code)
    d = ContractDelivery(contract_id=c.id, package_item_id=item_row.id, item_code=item_row.code,
                         resident_id=c.resident_id, delivered_on=on, institution_id=where,
                         practitioner_id=data.practitioner_id, note=data.note, recorded_by=actor.user_id,
                         recorded_at=utcnow())
    session.add(d)
    session.flush()
    audit.record(session, actor, "create", "contract_delivery", d.id, after=audit.snapshot(d),
                 resident_id=c.resident_id)
    inst = repository.institution(session, where)
    publish(session, events.delivery_recorded(d.id, c.id, c.resident_id, where, inst.parent_id if inst else None,
                                              d.item_code, on))
    return d


# ---- due and overdue ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DueRow:
    contract_id: int
    resident_id: int
    resident_name: str
    team_id: int
    team_name: str
    item_code: str
    item_name: str
    seq: int
    window_start: date
    due_on: date
    state: str


def _schedules(
    session: Session, pairs: list[tuple[Contract, FamilyDoctorTeam]], today: date
) -> dict[int, list[tuple[PackageItem, rules.Occurrence]]]:
    """Every occurrence of every owed item, per contract, with its state on ``today``."""
    contract_ids = [c.id for c, _ in pairs]
    packages = repository.package_ids_of(session, contract_ids)
    items_by_package: dict[int, list[ServicePackageItem]] = defaultdict(list)
    for row in repository.items_of_packages(session, {p for ps in packages.values() for p in ps}):
        items_by_package[row.package_id].append(row)
    delivered: dict[tuple[int, str], list[date]] = defaultdict(list)
    for cid, rows in repository.deliveries_of(session, contract_ids).items():
        for d in rows:
            delivered[(cid, d.item_code)].append(d.delivered_on)
    populations = populations_of(session, [c.resident_id for c, _ in pairs], today)
    out: dict[int, list[tuple[PackageItem, rules.Occurrence]]] = {}
    for c, _team in pairs:
        owed = rules.items_owed(
            (_item(r) for p in packages[c.id] for r in items_by_package[p]), populations.get(c.resident_id, set())
        )
        last = interval_of(c).stop - timedelta(days=1)
        seen: set[str] = set()
        occ: list[tuple[PackageItem, rules.Occurrence]] = []
        for item in owed:
            if item.code in seen:  # the same item in two packages is owed once
                continue
            seen.add(item.code)
            for o in rules.delivery_schedule(item, c.start_on, last, delivered[(c.id, item.code)], today):
                occ.append((item, o))
        out[c.id] = occ
    return out


def _teams_in_scope(session: Session, actor: Principal, institution_id: int, team_id: int | None) -> list[int]:
    actor.require(Perm.RESIDENT_READ)
    scope = institution_scope(session, actor, Perm.RESIDENT_READ)
    if scope is not None and institution_id not in scope:
        raise Forbidden("无权查看该机构的签约居民。", code="institution_out_of_scope", institution_id=institution_id)
    teams = [t.id for t in repository.teams_at(session, {institution_id})]
    if team_id is not None:
        if team_id not in teams:
            raise NotFound("该机构没有这个家庭医生团队。", code="team_not_found", team_id=team_id)
        return [team_id]
    return teams


def due_services(
    session: Session, actor: Principal, institution_id: int, *, team_id: int | None = None,
    today: date | None = None, include_overdue: bool = True,
) -> list[DueRow]:
    """Services due now (period running, nothing recorded) and overdue (period ended unserved)
    for the contracts in force at an institution, most urgent first."""
    today = today or today_local()
    teams = _teams_in_scope(session, actor, institution_id, team_id)
    pairs = repository.contracts_for_due(session, teams, today)
    schedules = _schedules(session, pairs, today)
    names = repository.birth_dates(session, [c.resident_id for c, _ in pairs])
    wanted = {DeliveryState.DUE} | ({DeliveryState.OVERDUE} if include_overdue else set())
    rows = [
        DueRow(c.id, c.resident_id, names[c.resident_id][0], t.id, t.name, item.code, item.name_zh, o.seq,
               o.window_start, o.due_on, o.state.value)
        for c, t in pairs for item, o in schedules[c.id] if o.state in wanted
    ]
    audit.record(session, actor, "search", "contract_due", institution_id,
                 detail=f"查看应履约服务：{len(rows)}项")
    return sorted(rows, key=lambda r: (r.state != DeliveryState.OVERDUE, r.due_on, r.resident_name, r.item_code))


# ---- the workbench ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkbenchRow:
    contract_id: int
    version: int
    resident_id: int
    resident_name: str
    team_id: int
    team_name: str
    status: str
    status_name: str
    start_on: date
    end_on: date
    due: int
    overdue: int
    renewable: bool


def my_teams(session: Session, actor: Principal, today: date | None = None) -> list[FamilyDoctorTeam]:
    """The actor's own teams (membership with their login), else every team of their institutions."""
    today = today or today_local()
    actor.require(Perm.RESIDENT_READ)
    own = repository.teams_of_user(session, actor.user_id, today) if actor.user_id is not None else []
    if own:
        return [t for t in (repository.team(session, i) for i in own) if t is not None]
    return repository.teams_at(session, institution_scope(session, actor, Perm.RESIDENT_READ))


def workbench(
    session: Session, actor: Principal, page: PageRequest, *, team_id: int | None = None, q: str | None = None,
    today: date | None = None,
) -> Page[WorkbenchRow]:
    """"My residents": contracts of my teams in force (or signed to start), with due and overdue
    counts; only residents in the actor's scope."""
    today = today or today_local()
    teams = {t.id: t for t in my_teams(session, actor, today)}
    ids = [team_id] if team_id is not None and team_id in teams else list(teams)
    if team_id is not None and team_id not in teams:
        raise Forbidden("只能查看本人或本机构的家庭医生团队。", code="team_out_of_scope", team_id=team_id)
    stmt = repository.workbench_query(ids, today, resident_filter(session, actor, Contract.resident_id), q)
    rows, total = repository.paged(session, stmt, page.number, page.size)
    schedules = _schedules(session, [(c, t) for c, _r, t in rows], today)
    policy_window = {t.id: _window(session, t, today) for _c, _r, t in rows}
    items: list[WorkbenchRow] = []
    for c, r, t in rows:
        states = [o.state for _i, o in schedules[c.id]]
        renewable = c.status == "active" and c.end_on - policy_window[t.id] <= today <= c.end_on
        items.append(WorkbenchRow(
            c.id, c.version, r.id, r.name, t.id, t.name, c.status, STATUS_NAMES_ZH.get(c.status, c.status),
            c.start_on, c.end_on, states.count(DeliveryState.DUE), states.count(DeliveryState.OVERDUE), renewable,
        ))
    audit.record(session, actor, "search", "contract", detail=f"家庭医生工作台：第{page.number}页，{len(items)}人")
    return Page(items=items, total=total, number=page.number, size=page.size)


def _window(session: Session, team: FamilyDoctorTeam, today: date) -> timedelta:
    return timedelta(days=team_policy(session, team, today).renewal_window_days)
