"""The contracts step of ``yilian simulate county`` (discovered by ``simulation.pipeline``; duck-typed,
since features sit below simulation and cannot import it).

Runs after the population (order 300, before the year of care):

- family-doctor teams at every township centre, through ``contracts.teams.do_create_team`` (a GP lead
  from the centre, village doctors of the team's villages as GPs) — a few per township, audited;
- the basic package of each consortium from the contracts policy's defaults (``ensure_basic_package``);
- contracts at the preset's rates (SYNTHETIC.md: ``target-2025`` 48 % overall and ≈ 75 % of key
  populations, the 2016 presets 30 % / 60 %), picked by running quota per group so ``contract_rate`` on
  the year's last day lands on the aim whatever the county's size.  Terms start during the year (the
  signing campaign in the first quarter), so they cover 31 December; 70 % renew a contract of the year
  before (``renewed`` predecessor), and enough lapsed contracts (``expired`` during the year) are added
  for an 80 % renewal rate; ``contracted`` care relationships and a sample of delivery records (履约);
- written set-based with ``copy_rows`` under ids from ``reserve_ids``, in batches of resident blocks.

Every draw comes from a stream keyed like ``simulation.rng.stream`` (re-implemented in ``stream``), one
per block of residents, so write batch sizes never change the data.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from sqlalchemy import Connection, Table, select

from yilian.contracts import repository
from yilian.contracts.packages import ensure_basic_package
from yilian.contracts.rules import add_months, add_years
from yilian.contracts.schemas import TeamIn, TeamMemberIn
from yilian.contracts.service import policy_for
from yilian.contracts.states import TerminationReason
from yilian.contracts.teams import do_create_team
from yilian.core.clock import SHANGHAI
from yilian.core.steps import SimulationStep
from yilian.db.bulk import copy_rows, is_postgres, reserve_ids, sync_sequence, update_rows
from yilian.db.models import (
    CareRelationship,
    Contract,
    ContractDelivery,
    ContractPackage,
    Resident,
    ServicePackageItem,
)

BLOCK: Final = 1000  # residents per stream (as ``simulation.rng.BLOCK``): part of the data's identity
WRITE_BLOCKS: Final = 20  # blocks per write batch: memory against round trips; does not change the data
#: (overall, key populations) contract rates by preset; others use the 2016 defaults (SYNTHETIC.md).
RATES: Final[dict[str, tuple[float, float]]] = {"target-2025": (0.48, 0.75)}
DEFAULT_RATES: Final = (0.30, 0.60)
PRIOR_SHARE: Final = 0.70  # current contracts that renew one of the year before
RENEWAL_RATE: Final = 0.80  # renewed ÷ (renewed + lapsed) among terms running out in the year
TEAM_PANEL: Final = 1500  # contracts a team is sized for (the policy's panel limit is 2,000)
FIRST_QUARTER: Final = 0.55  # share of signings in the January–March campaign
DELIVERED: Final = 0.75  # share of owed package items delivered (a sample of the year's 履约)
# Population flag bits of ``simulation.population`` (the arrays the context carries).
HTN, T2DM = 1, 2
ELDERLY_AGE, CHILD_MAX_AGE = 65, 6

_CONTRACT_COLS = ("id", "resident_id", "team_id", "institution_id", "status", "signed_on", "start_on", "end_on",
                  "stop_on", "predecessor_id", "ended_at", "version", "created_at", "updated_at")
_REL_COLS = ("resident_id", "institution_id", "kind", "since", "until")
_DELIVERY_COLS = ("contract_id", "package_item_id", "item_code", "resident_id", "delivered_on", "institution_id",
                  "practitioner_id", "note", "recorded_at")


def stream(seed: int, year: int, stage: str, unit: int | str = 0) -> random.Random:
    """A generator for one unit of one stage, keyed exactly as ``simulation.rng.stream``."""
    key = f"yilian-sim|{seed}|{year}|{stage}|{unit}".encode()
    return random.Random(int.from_bytes(hashlib.blake2b(key, digest_size=16).digest(), "big"))


def local_moment(day: date, hour: int, minute: int = 0) -> datetime:
    """``day`` at a Beijing wall-clock time, as an aware UTC datetime."""
    return datetime.combine(day, time(hour, minute), SHANGHAI).astimezone(UTC)


def driver_value(v: Any, postgres: bool) -> Any:
    """A value as the driver takes it: PostgreSQL's COPY adapts Python values; SQLite gets the forms
    SQLAlchemy would store (ISO dates, naive UTC timestamps, 0/1, JSON text)."""
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False)
    if postgres:
        return v
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, bool):
        return int(v)
    return v


def write(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
    """Rows (tuples in ``columns`` order, Python values) through ``copy_rows``; returns the count."""
    if not rows:
        return 0
    pg = is_postgres(conn)
    return copy_rows(conn, table, columns, [tuple(driver_value(v, pg) for v in r) for r in rows])


def contract_rates(ctx: Any) -> tuple[float, float]:
    """The preset's (overall, key-population) aims; a preset's own rates win when it states them."""
    r = ctx.preset.rates
    overall, key = RATES.get(ctx.preset.name, DEFAULT_RATES)
    return float(getattr(r, "contract_rate", overall)), float(getattr(r, "contract_rate_key", key))


@dataclass
class _Team:
    id: int
    institution_id: int
    lead: int  # practitioner id
    package_id: int
    contracted: int = 0


@dataclass
class _World:
    teams: dict[int, list[_Team]]  # township index → its teams
    village_team: list[int]  # network village index → team position within its township
    items: dict[int, list[tuple[int, str, frozenset[str]]]]  # package id → (item id, code, populations)
    key: bytearray  # per resident: 1 if in a key population on 31 December
    elderly: bytearray
    rates: tuple[float, float]  # (non-key, key) selection rates
    team_of: array[int] = field(default_factory=lambda: array("i"))  # resident index → team id, 0: none
    start_of: array[int] = field(default_factory=lambda: array("i"))  # first day under contract (ordinal)


def _key_flags(ctx: Any) -> tuple[bytearray, bytearray]:
    """Key population on 31 December: a recorded condition (every population flag is one), aged ≥ 65
    or 0–6.  Pregnancies count whole, a slight overstatement that only moves residents between groups."""
    pop = ctx.population
    end = ctx.year_end
    elderly_by = add_years(end, -ELDERLY_AGE).toordinal()
    child_after = add_years(end, -(CHILD_MAX_AGE + 1)).toordinal()
    key, elderly = bytearray(pop.n), bytearray(pop.n)
    for i in range(pop.n):
        born = pop.birth[i]
        old = born <= elderly_by
        elderly[i] = old
        key[i] = bool(pop.flags[i]) or old or born > child_after
    return key, elderly


def _teams(ctx: Any, overall: float) -> tuple[dict[int, list[_Team]], list[int]]:
    """A few teams per township centre, sized on the contracts expected there; villages dealt round-robin."""
    net, pop, session = ctx.network, ctx.population, ctx.session
    on = ctx.year_end
    joined = date(ctx.year - 1, 1, 1)
    per_town = [0] * len(net.townships)
    for t in pop.township:
        per_town[t] += 1
    packages: dict[int | None, int] = {}
    teams: dict[int, list[_Team]] = {}
    village_team: list[int] = []
    for t in net.townships:
        centre = t.centre
        cid = repository.tight_consortium_of(session, centre.id, on)
        if cid not in packages:
            packages[cid] = ensure_basic_package(session, ctx.actor, cid, policy_for(session, cid, on)).id
        leads = list(dict.fromkeys(p for ps in centre.physicians.values() for p in ps))
        expected = per_town[t.index] * overall
        n = max(1, min(len(leads), math.ceil(expected / TEAM_PANEL)))
        village_team.extend(v % n for v in range(len(t.villages)))
        limit = math.ceil(expected / n * 1.3) if expected / n > TEAM_PANEL * 1.2 else None
        mine = []
        for k in range(n):
            members = [TeamMemberIn(practitioner_id=leads[k], role="gp_lead", joined_on=joined)]
            for v, village in enumerate(t.villages):
                doctors = [p for ps in village.physicians.values() for p in ps]
                if v % n == k and doctors:
                    members.append(TeamMemberIn(practitioner_id=doctors[0], role="gp", joined_on=joined))
            team = do_create_team(session, ctx.actor, TeamIn(
                institution_id=centre.id, code=f"JTYS-{k + 1:02d}", name=f"{centre.name}家庭医生团队{k + 1}",
                panel_limit=limit, members=members), today=joined)
            mine.append(_Team(team.id, centre.id, leads[k], packages[cid]))
            ctx.add_rows("family_doctor_team", 1)
            ctx.add_rows("family_doctor_team_member", len(members))
        teams[t.index] = mine
    return teams, village_team


def _items(ctx: Any, package_ids: set[int]) -> dict[int, list[tuple[int, str, frozenset[str]]]]:
    out: dict[int, list[tuple[int, str, frozenset[str]]]] = {p: [] for p in package_ids}
    i = ServicePackageItem
    stmt = select(i.id, i.package_id, i.code, i.populations).where(i.package_id.in_(package_ids)).order_by(i.id)
    for item_id, pkg, code, pops in ctx.session.execute(stmt):
        out[pkg].append((item_id, code, frozenset(p for p in pops.split(",") if p)))
    return out


@dataclass
class _Batch:
    """Contracts of some blocks before their ids: (kind, resident index, team, start, renews, lead days, u)."""

    specs: list[tuple[Any, ...]] = field(default_factory=list)


class _Signer:
    def __init__(self, ctx: Any, world: _World) -> None:
        self.ctx, self.w = ctx, world
        self.pop = ctx.population
        self.start, self.end = ctx.year_start, ctx.year_end
        self.days = (self.end - self.start).days + 1
        self.quota = [[0, 0], [0, 0]]  # per group (non-key, key): [seen, chosen]
        self.lapse = [min(1.0, r * PRIOR_SHARE * (1 - RENEWAL_RATE) / RENEWAL_RATE / max(1e-9, 1 - r))
                      for r in world.rates]

    def block(self, b: int, batch: _Batch) -> None:
        rng = stream(self.ctx.seed, self.ctx.year, "contracts", b)
        pop, w = self.pop, self.w
        death = getattr(pop, "death", None) or ()
        for i in range(b * BLOCK, min(pop.n, (b + 1) * BLOCK)):
            g = w.key[i]
            if death and death[i]:
                # Dying in the year: outside the year-end quota (the rates count the living); signed at the
                # group's rate before the death, the contract ends with it (``end_for_deceased``).
                if rng.random() < w.rates[g] and death[i] > self.start.toordinal() + 1:
                    batch.specs.append(self._current(rng, i, before=death[i]))
                continue
            q = self.quota[g]
            q[0] += 1
            take = round(w.rates[g] * q[0]) > q[1]  # running quota: the group's count stays on its rate
            draw = rng.random()
            if take:
                q[1] += 1
                batch.specs.append(self._current(rng, i))
            elif draw < self.lapse[g]:
                lapsed = self._lapsed(rng, i)
                if lapsed is not None:
                    batch.specs.append(lapsed)

    def _team(self, i: int) -> _Team:
        teams = self.w.teams[self.pop.township[i]]
        team: _Team = teams[self.w.village_team[self.pop.village[i]]]
        if team.contracted >= TEAM_PANEL * 1.3:
            team = min(teams, key=lambda t: t.contracted)
        team.contracted += 1
        return team

    def _current(self, rng: random.Random, i: int, before: int = 0) -> tuple[Any, ...]:
        birth = date.fromordinal(self.pop.birth[i])
        if rng.random() < FIRST_QUARTER:
            start = self.start + timedelta(days=rng.randrange(90))
        else:
            start = self.start + timedelta(days=rng.randrange(self.days))
        if start < birth:
            start = min(self.end, birth + timedelta(days=rng.randrange(31)))
        if before and start.toordinal() >= before:  # in force before the resident's death
            start = self.start + timedelta(days=rng.randrange(before - self.start.toordinal()))
        prev = add_years(start, -1)
        renews = prev >= birth and rng.random() < PRIOR_SHARE
        team = self._team(i)
        self.w.team_of[i] = team.id
        self.w.start_of[i] = (add_years(start, -1) if renews else start).toordinal()
        return ("current", i, team, start, renews, rng.randrange(8), rng.random())

    def _lapsed(self, rng: random.Random, i: int) -> tuple[Any, ...] | None:
        birth = date.fromordinal(self.pop.birth[i])
        start = date(self.ctx.year - 1, 1, 2) + timedelta(days=rng.randrange(363))
        if start < birth:
            return None
        teams = self.w.teams[self.pop.township[i]]
        return ("lapsed", i, teams[self.w.village_team[self.pop.village[i]]], start, False, rng.randrange(8),
                rng.random())


def _rows(ctx: Any, world: _World, batch: _Batch) -> dict[str, list[tuple[Any, ...]]]:
    """The batch's rows under reserved ids: predecessors and lapsed contracts first, then current ones."""
    pop = ctx.population
    n = sum(2 if s[4] else 1 for s in batch.specs)
    out: dict[str, list[tuple[Any, ...]]] = {"old": [], "new": [], "pkg": [], "rel": [], "delivery": []}
    if not n:
        return out
    next_id = reserve_ids(ctx.conn, Contract.__table__, n)  # type: ignore[arg-type]
    end = ctx.year_end
    for kind, i, team, start, renews, lead_days, u in batch.specs:
        rid = pop.first_id + i
        birth = date.fromordinal(pop.birth[i])
        term_end = add_years(start, 1) - timedelta(days=1)
        signed = max(birth, start - timedelta(days=lead_days))
        made = local_moment(signed, 9)
        if kind == "lapsed":
            stop = term_end + timedelta(days=1)
            cid, next_id = next_id, next_id + 1
            out["old"].append((cid, rid, team.id, team.institution_id, "expired", signed, start, term_end, stop, None,
                               local_moment(stop, 2), 2, made, local_moment(stop, 2)))
            out["rel"].append((rid, team.institution_id, "contracted", start, term_end))
            _deliveries(out["delivery"], world, team, cid, i, rid, start, min(term_end, end), ctx, u)
            out["pkg"].append((cid, team.package_id))
            continue
        predecessor = None
        since = start
        if renews:
            prev = add_years(start, -1)
            predecessor, next_id = next_id, next_id + 1
            prev_signed = max(birth, prev - timedelta(days=lead_days))
            renewed_at = local_moment(start - timedelta(days=1 + lead_days), 10)
            out["old"].append((predecessor, rid, team.id, team.institution_id, "renewed", prev_signed, prev,
                               start - timedelta(days=1), start, None, renewed_at, 2, local_moment(prev_signed, 9),
                               renewed_at))
            out["pkg"].append((predecessor, team.package_id))
            _deliveries(out["delivery"], world, team, predecessor, i, rid, prev, start - timedelta(days=1), ctx, u)
            since = prev
        cid, next_id = next_id, next_id + 1
        out["new"].append((cid, rid, team.id, team.institution_id, "active", signed, start, term_end, None,
                           predecessor, None, 1, made, made))
        out["pkg"].append((cid, team.package_id))
        out["rel"].append((rid, team.institution_id, "contracted", since, None))
        death = getattr(pop, "death", None)
        last = min(term_end, end, date.fromordinal(death[i] - 1) if death and death[i] else end)
        _deliveries(out["delivery"], world, team, cid, i, rid, start, last, ctx, u)
    return out


def _deliveries(rows: list[tuple[Any, ...]], world: _World, team: _Team, cid: int, i: int, rid: int,
                first: date, last: date, ctx: Any, u: float) -> None:
    """Owed items of the term's periods that start in the year, ``DELIVERED`` of them recorded.

    The contract's draw ``u`` and the period decide, so no stream is consumed here."""
    flags = ctx.population.flags[i]
    held = {"hypertension"} if flags & HTN else set()
    if flags & T2DM:
        held.add("t2dm")
    if world.elderly[i]:
        held.add("elderly_65")
    for item_id, code, pops in world.items[team.package_id]:
        if pops and not pops & held:
            continue
        months = 3 if code.endswith("followup") else 12
        k = 0
        while True:
            period = add_months(first, months * k)
            if period > last:
                break
            h = (u * 7919 + k * 0.618 + len(code) * 0.137) % 1.0
            on = period + timedelta(days=int(h * 28))
            if period >= ctx.year_start and on <= last and h < DELIVERED:
                rows.append((cid, item_id, code, rid, on, team.institution_id, team.lead, None, local_moment(on, 16)))
            k += 1


def run(ctx: Any, track: Any) -> None:
    pop, net = ctx.population, ctx.network
    assert pop is not None and net is not None, "structure and population stages must run first"
    overall, key_aim = contract_rates(ctx)
    key, elderly = _key_flags(ctx)
    n_key = sum(key)
    rest = pop.n - n_key
    other = min(1.0, max(0.0, (overall * pop.n - key_aim * n_key) / rest)) if rest else 0.0
    teams, village_team = _teams(ctx, overall)
    items = _items(ctx, {t.package_id for ts in teams.values() for t in ts})
    world = _World(teams, village_team, items, key, elderly, (other, key_aim), array("i", bytes(4 * pop.n)),
                   array("i", bytes(4 * pop.n)))
    ctx.extras["contracts.team_of"] = world.team_of  # for referrals: down-referrals go to the resident's team
    ctx.extras["contracts.start_of"] = world.start_of
    ctx.extras["contracts.team_institution"] = {t.id: t.institution_id for ts in teams.values() for t in ts}
    signer = _Signer(ctx, world)
    blocks = (pop.n + BLOCK - 1) // BLOCK
    track.total(blocks)
    conn = ctx.conn
    for first in range(0, blocks, WRITE_BLOCKS):
        batch = _Batch()
        for b in range(first, min(blocks, first + WRITE_BLOCKS)):
            signer.block(b, batch)
        rows = _rows(ctx, world, batch)
        ctx.add_rows("contract", write(conn, Contract.__table__, _CONTRACT_COLS, rows["old"]))  # type: ignore[arg-type]
        ctx.add_rows("contract", write(conn, Contract.__table__, _CONTRACT_COLS, rows["new"]))  # type: ignore[arg-type]
        ctx.add_rows("contract_package", write(conn, ContractPackage.__table__,  # type: ignore[arg-type]
                                               ("contract_id", "package_id"), rows["pkg"]))
        ctx.add_rows("care_relationship", write(conn, CareRelationship.__table__,  # type: ignore[arg-type]
                                                _REL_COLS, rows["rel"]))
        ctx.add_rows("contract_delivery", write(conn, ContractDelivery.__table__,  # type: ignore[arg-type]
                                                _DELIVERY_COLS, rows["delivery"]))
        track.advance(min(WRITE_BLOCKS, blocks - first))
    for table in (Contract.__table__, ContractDelivery.__table__, CareRelationship.__table__):
        sync_sequence(conn, table)  # type: ignore[arg-type]
    ctx.extras["contracts.terminated"] = end_for_deceased(ctx)


def end_for_deceased(ctx: Any) -> int:
    """Contracts in force when their resident died in the year end that day: ``terminated`` with the
    coded reason ``deceased`` (居民死亡), and the ``contracted`` care relationship closes — set-based."""
    conn = ctx.conn
    c, r = Contract, Resident
    dead = list(ctx.session.execute(
        select(c.id, c.version, r.deceased_on, r.id).join(r, r.id == c.resident_id)
        .where(r.deceased_on.between(ctx.year_start, ctx.year_end), c.status == "active",
               c.start_on <= r.deceased_on).order_by(c.id)))
    if not dead:
        return 0
    pg = is_postgres(conn)
    rows = [(cid, "terminated", TerminationReason.DECEASED.value, died, local_moment(died, 18), version + 1,
             local_moment(died, 18)) for cid, version, died, _rid in dead]
    n = update_rows(conn, Contract.__table__, "id",  # type: ignore[arg-type]
                    ("status", "termination_reason", "stop_on", "ended_at", "version", "updated_at"),
                    [tuple(driver_value(v, pg) for v in row) for row in rows])
    rels = {rid: died for _cid, _version, died, rid in dead}
    cr = CareRelationship
    open_rels = ctx.session.execute(select(cr.id, cr.resident_id).where(
        cr.kind == "contracted", cr.until.is_(None), cr.resident_id.in_(list(rels)))).all()
    update_rows(conn, CareRelationship.__table__, "id", ("until",),  # type: ignore[arg-type]
                [(rid_, driver_value(rels[res], pg)) for rid_, res in open_rels])
    return n


STAGES = (SimulationStep("contracts", "家庭医生签约", 300, run),)
