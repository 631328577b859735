"""The contracts step of an appended year (``yilian simulate county --append``; the simulation runner puts
it in place of ``contracts.simulate.run`` for such a year).

The teams, packages and contracts are the network's.  In the year:

- contracts in force whose term ends in the year are **renewed** at the preset's renewal rate
  (``Rates.contract_renewal_rate``, default 80 %, ``RENEWAL_RATE``) — the old one ``renewed`` (stopped on
  the successor's start), the successor ``active`` for a year from the day after the old term, chained by
  ``predecessor_id`` — or **end** (``expired`` the day after the term, the ``contracted`` relationship
  closed); a resident who dies before the term's end keeps it until then (``end_for_deceased``);
- **new signings** among the living residents without a contract hold the preset's contract rates on 31
  December (overall and key populations, as in the first year), by a running quota per group over the
  residents in block order: the aim less the renewed contracts;
- a sample of delivery records (履约) for the items owed in the year, of every contract in force in it;
- contracts in force when their resident died in the year are terminated with the reason ``deceased``.

Draws from streams keyed (seed, year, stage, block of residents), like the first year's.
"""

from __future__ import annotations

import random
from array import array
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from yilian.contracts import repository
from yilian.contracts.packages import ensure_basic_package
from yilian.contracts.rules import add_years
from yilian.contracts.service import policy_for
from yilian.contracts.simulate import (
    _CONTRACT_COLS,
    _DELIVERY_COLS,
    _REL_COLS,
    BLOCK,
    FIRST_QUARTER,
    RENEWAL_RATE,
    WRITE_BLOCKS,
    _deliveries,
    _items,
    _key_flags,
    _Team,
    _World,
    contract_rates,
    driver_value,
    end_for_deceased,
    local_moment,
    stream,
    write,
)
from yilian.db.bulk import is_postgres, reserve_ids, sync_sequence, update_rows
from yilian.db.models import (
    CareRelationship,
    Contract,
    ContractDelivery,
    ContractPackage,
    FamilyDoctorTeam,
    FamilyDoctorTeamMember,
)

#: (contract id, team id, start ordinal, end ordinal, version) of the contract in force, per resident index.
Current = tuple[int, int, int, int, int]


def _teams(ctx: Any) -> tuple[dict[int, list[_Team]], list[int], dict[int, _Team]]:
    """The first year's teams per township centre (by code), their leads and basic packages; villages
    dealt to them round-robin as then."""
    s, net = ctx.session, ctx.network
    on = ctx.year_end
    t, m = FamilyDoctorTeam, FamilyDoctorTeamMember
    leads = dict(s.execute(select(m.team_id, m.practitioner_id).where(m.role == "gp_lead").order_by(m.id)).all())
    packages: dict[int | None, int] = {}
    teams: dict[int, list[_Team]] = {}
    village_team: list[int] = []
    by_id: dict[int, _Team] = {}
    for town in net.townships:
        centre = town.centre
        cid = repository.tight_consortium_of(s, centre.id, on)
        if cid not in packages:
            packages[cid] = ensure_basic_package(s, ctx.actor, cid, policy_for(s, cid, on)).id
        mine = [_Team(tid, centre.id, leads.get(tid, 0), packages[cid]) for tid, in s.execute(
            select(t.id).where(t.institution_id == centre.id, t.dissolved_on.is_(None)).order_by(t.code))]
        n = max(1, len(mine))
        village_team.extend(v % n for v in range(len(town.villages)))
        teams[town.index] = mine
        by_id.update({team.id: team for team in mine})
    return teams, village_team, by_id


def _current(ctx: Any) -> dict[int, Current]:
    c = Contract
    first = ctx.population.first_id
    out: dict[int, Current] = {}
    for cid, rid, team, start, end, version in ctx.session.execute(
            select(c.id, c.resident_id, c.team_id, c.start_on, c.end_on, c.version)
            # Terms ending on the last day of the year before could not be renewed then: they are due now.
            .where(c.status == "active", c.end_on >= ctx.year_start - timedelta(days=1), c.start_on <= ctx.year_end)
            .order_by(c.id)):
        out[rid - first] = (cid, team, start.toordinal(), end.toordinal(), version)
    return out


def run(ctx: Any, track: Any) -> None:
    pop = ctx.population
    assert pop is not None and ctx.network is not None, "the network and population must be loaded first"
    start, end = ctx.year_start, ctx.year_end
    e_ord = end.toordinal()
    overall, key_aim = contract_rates(ctx)
    renewal = float(getattr(ctx.preset.rates, "contract_renewal_rate", RENEWAL_RATE))
    teams, village_team, team_by_id = _teams(ctx)
    items = _items(ctx, {t.package_id for ts in teams.values() for t in ts})
    key, elderly = _key_flags(ctx)
    world = _World(teams, village_team, items, key, elderly, (0.0, 0.0), array("i", bytes(4 * pop.n)),
                   array("i", bytes(4 * pop.n)))
    ctx.extras["contracts.team_of"] = world.team_of
    ctx.extras["contracts.start_of"] = world.start_of
    ctx.extras["contracts.team_institution"] = {t.id: t.institution_id for ts in teams.values() for t in ts}
    current = _current(ctx)
    death = pop.death
    blocks = (pop.n + BLOCK - 1) // BLOCK
    track.total(2 * blocks)

    def alive_at_end(i: int) -> bool:
        return bool(death[i] == 0 and pop.birth[i] <= e_ord)

    # Pass 1: which ending terms renew (1), end (2), or run on / end by death (0).
    fate = bytearray(pop.n)
    for b in range(blocks):
        rng = stream(ctx.seed, ctx.year, "contract-renewals", b)
        for i in range(b * BLOCK, min(pop.n, (b + 1) * BLOCK)):
            cur = current.get(i)
            if cur is None or cur[3] > e_ord or (death[i] and death[i] <= cur[3]):
                continue
            fate[i] = 1 if rng.random() < renewal else 2
        track.advance()
    # The year-end aims per group (non-key, key) among the living, less the renewed.
    size, held, free = [0, 0], [0, 0], [0, 0]
    for i in range(pop.n):
        if not alive_at_end(i):
            continue
        g = key[i]
        size[g] += 1
        if fate[i] == 1 or (i in current and fate[i] == 0):
            held[g] += 1
        elif fate[i] == 0:
            free[g] += 1
    rest = size[0]
    other = min(1.0, max(0.0, (overall * (size[0] + size[1]) - key_aim * size[1]) / rest)) if rest else 0.0
    aims = (other, key_aim)
    rates = [min(1.0, max(0.0, (round(aims[g] * size[g]) - held[g]) / free[g])) if free[g] else 0.0 for g in (0, 1)]
    quota = [[0, 0], [0, 0]]
    pg = is_postgres(ctx.conn)
    days = (end - start).days + 1
    for first_block in range(0, blocks, WRITE_BLOCKS):
        new: list[tuple[Any, ...]] = []  # (i, team, start, predecessor id, lead days, u)
        old: list[tuple[Any, ...]] = []  # updates of ending contracts
        deliveries: list[tuple[Any, ...]] = []
        closed: list[tuple[int, date]] = []  # contracted relationships to close (resident index, until)
        for b in range(first_block, min(blocks, first_block + WRITE_BLOCKS)):
            rng = stream(ctx.seed, ctx.year, "contracts", b)
            for i in range(b * BLOCK, min(pop.n, (b + 1) * BLOCK)):
                _resident(ctx, i, rng, current.get(i), fate[i], team_by_id, world, quota, rates, alive_at_end(i),
                          days, new, old, deliveries, closed)
            track.advance()
        _write(ctx, world, new, old, deliveries, closed, pg)
    for table in (Contract.__table__, ContractDelivery.__table__, CareRelationship.__table__):
        sync_sequence(ctx.conn, table)  # type: ignore[arg-type]
    ctx.extras["contracts.terminated"] = end_for_deceased(ctx)


def _resident(ctx: Any, i: int, rng: random.Random, cur: Current | None, fate: int, team_by_id: dict[int, _Team],
              world: _World, quota: list[list[int]], rates: list[float], alive: bool, days: int,
              new: list[tuple[Any, ...]], old: list[tuple[Any, ...]], deliveries: list[tuple[Any, ...]],
              closed: list[tuple[int, date]]) -> None:
    pop = ctx.population
    rid = pop.first_id + i
    lead_days, u = rng.randrange(8), rng.random()
    if cur is not None:
        cid, team_id, c_start, c_end, version = cur
        team = team_by_id.get(team_id) or _Team(team_id, 0, 0, 0)
        last = c_end if not pop.death[i] else min(c_end, pop.death[i] - 1)
        if team.package_id:
            _deliveries(deliveries, world, team, cid, i, rid, date.fromordinal(c_start),
                        date.fromordinal(min(last, ctx.year_end.toordinal())), ctx, u)
        if fate == 1:
            nxt = date.fromordinal(c_end + 1)
            renewed_at = local_moment(nxt - timedelta(days=1 + lead_days), 10)
            old.append((cid, "renewed", nxt, renewed_at, version + 1, renewed_at))
            new.append((i, team, nxt, cid, lead_days, u))
            world.team_of[i], world.start_of[i] = team.id, c_start
        elif fate == 2:
            stop = date.fromordinal(c_end + 1)
            old.append((cid, "expired", stop, local_moment(stop, 2), version + 1, local_moment(stop, 2)))
            closed.append((i, date.fromordinal(c_end)))
        else:
            world.team_of[i], world.start_of[i] = team.id, c_start
        return
    if not alive:
        return
    g = world.key[i]
    q = quota[g]
    q[0] += 1
    if round(rates[g] * q[0]) <= q[1]:
        return
    q[1] += 1
    birth = date.fromordinal(pop.birth[i])
    first = ctx.year_start
    begin = first + timedelta(days=rng.randrange(90) if rng.random() < FIRST_QUARTER else rng.randrange(days))
    if begin < birth:
        begin = min(ctx.year_end, birth + timedelta(days=rng.randrange(31)))
    teams = world.teams[pop.township[i]]
    if not teams:
        return
    team = teams[world.village_team[pop.village[i]] % len(teams)]
    world.team_of[i], world.start_of[i] = team.id, begin.toordinal()
    new.append((i, team, begin, None, lead_days, u))


def _write(ctx: Any, world: _World, new: list[tuple[Any, ...]], old: list[tuple[Any, ...]],
           deliveries: list[tuple[Any, ...]], closed: list[tuple[int, date]], pg: bool) -> None:
    conn, pop = ctx.conn, ctx.population
    end = ctx.year_end
    contracts: list[tuple[Any, ...]] = []
    packages: list[tuple[Any, ...]] = []
    relations: list[tuple[Any, ...]] = []
    if new:
        next_id = reserve_ids(conn, Contract.__table__, len(new))  # type: ignore[arg-type]
        for i, team, begin, predecessor, lead_days, u in new:
            rid = pop.first_id + i
            term_end = add_years(begin, 1) - timedelta(days=1)
            signed = max(date.fromordinal(pop.birth[i]), begin - timedelta(days=lead_days))
            made = local_moment(signed, 9)
            cid, next_id = next_id, next_id + 1
            contracts.append((cid, rid, team.id, team.institution_id, "active", signed, begin, term_end, None,
                              predecessor, None, 1, made, made))
            packages.append((cid, team.package_id))
            if predecessor is None:
                relations.append((rid, team.institution_id, "contracted", begin, None))
            last = min(term_end, end)
            if pop.death[i]:
                last = min(last, date.fromordinal(pop.death[i] - 1))
            _deliveries(deliveries, world, team, cid, i, rid, begin, last, ctx, u)
    if old:
        update_rows(conn, Contract.__table__, "id",  # type: ignore[arg-type]
                    ("status", "stop_on", "ended_at", "version", "updated_at"),
                    [tuple(driver_value(v, pg) for v in row) for row in old])
    ctx.add_rows("contract", write(conn, Contract.__table__, _CONTRACT_COLS, contracts))  # type: ignore[arg-type]
    ctx.add_rows("contract_package", write(conn, ContractPackage.__table__,  # type: ignore[arg-type]
                                           ("contract_id", "package_id"), packages))
    ctx.add_rows("care_relationship", write(conn, CareRelationship.__table__,  # type: ignore[arg-type]
                                            _REL_COLS, relations))
    ctx.add_rows("contract_delivery", write(conn, ContractDelivery.__table__,  # type: ignore[arg-type]
                                            _DELIVERY_COLS, deliveries))
    if closed:
        cr = CareRelationship
        until = {pop.first_id + i: day for i, day in closed}
        ids = ctx.session.execute(select(cr.id, cr.resident_id).where(
            cr.kind == "contracted", cr.until.is_(None), cr.resident_id.in_(list(until)))).all()
        update_rows(conn, CareRelationship.__table__, "id", ("until",),  # type: ignore[arg-type]
                    [(rel_id, driver_value(until[res], pg)) for rel_id, res in ids])
