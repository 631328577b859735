"""The referrals step of ``yilian simulate county`` (discovered by ``simulation.pipeline``; duck-typed).

Runs after the year of care (order 500), so it can read the stays the care stage wrote:

- **Up-referrals**, primary → county or out of county, ≈ 2 per 100 residents a year and never fewer
  than the out-of-county stays linked to one.  The preset's share of out-of-county stays (default 60 %,
  ``Rates.referred_out_of_county_share``) is linked to an approved up-referral from the resident's
  township centre, its timeline following the stay (submitted 0–3 days before admission, approved by
  the referral office since the receiver is out of network, checked in on admission, completed on
  discharge); ``encounter.referral_episode_id`` is set set-based (a temporary table and one
  ``UPDATE … WHERE id IN (…)`` with a correlated subquery, on SQLite and PostgreSQL alike).
- **Down-referrals**, county hospital → the resident's contracted centre or home township centre (some
  to the village clinic), submitted on the discharge day of sampled county-hospital stays; their count
  from the preset's ratio (``tianchang-2016`` down/up 2.31, ``qidong-2016`` up/down 21.4,
  ``target-2025`` 1.2), counted as the indicators count them (all but ``cancelled``).
- **Outcomes** (SYNTHETIC.md) by exact counts: 5 % declined, 2 % expired undecided, 3 % cancelled by the
  sender, 8 % of scheduled (outpatient up-referrals) a no-show that lapses, the rest complete their loop;
  accepted down-referrals get a follow-up task, done (mostly on time) when the loop closes.
- Every transition is a ``referral_event`` row (``seq`` = the version it produced, ``row`` = the
  transition table's row), the episode carries a time stamp per status reached, its deadlines copied
  from the referral policy's defaults, ``referred`` care relationships for accepted episodes.

Episodes need a sending clinician account (``created_by`` / ``sent_by``): one inactive placeholder
``app_user`` per institution (``sim-<code>``, no usable password) stands in for its referral clinicians.

Not done here: settlements of linked stays keep the care stage's ``out_of_county_unreferred`` place
(re-settling them is the care feature's call).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import BigInteger, Column, MetaData, Table, or_, select, text

from yilian.contracts.simulate import local_moment, stream, write
from yilian.core.clock import to_local
from yilian.core.steps import SimulationStep
from yilian.db.bulk import reserve_ids, sync_sequence
from yilian.db.models import (
    CareRelationship,
    ConsortiumMembership,
    Encounter,
    ReferralEpisode,
    ReferralEvent,
    ReferralFollowUpTask,
    User,
)
from yilian.referrals.config import ReferralPolicy
from yilian.referrals.records import TERMINAL, DeclineCode, EndReason, Event, Party, Status

#: (encounter id, resident id, institution id, admission, discharge, principal diagnosis)
Stay = tuple[int, int, int, date, date, str | None]
UP_PER_100: Final = 2.0
#: down_referrals ÷ up_referrals by preset (SYNTHETIC.md); others keep the two directions level.
DOWN_UP_RATIO: Final[dict[str, float]] = {"tianchang-2016": 6321 / 2732, "qidong-2016": 1373 / 29371,
                                          "target-2025": 1.2}
DECLINED, EXPIRED, CANCELLED, NO_SHOW = 0.05, 0.02, 0.03, 0.08
OUTPATIENT_SHARE: Final = 0.7  # of accepted unlinked up-referrals: a specialist appointment, not a stay
OUT_OF_COUNTY_SHARE: Final = 0.12  # of unlinked up-referrals
VILLAGE_SENDS: Final = 0.3  # unlinked up-referrals sent by the village clinic rather than the centre
VILLAGE_RECEIVES: Final = 0.15  # down-referrals of uncontracted residents received by the village clinic
FOLLOWUP_ON_TIME: Final = 0.9
FOLLOWUP_DAYS_MAX: Final = 21  # a down-referral's follow-up falls at most this long after discharge
EPISODE_DAYS_MAX: Final = 20  # an unlinked up-referral's care ends at most this long after submission
DIED: Final = "5"  # 离院方式 死亡: no down-referral from such a stay
_UP_DX: Final = ("I63.900", "I21.900", "C34.900x001", "J18.900", "I50.900", "K80.200x003", "S72.000", "I20.000")
_DOWN_DX: Final = ("I10.x00", "E11.900", "I69.300", "J44.900", "I25.103", "N18.900")
_ROLE: Final = {Party.SENDER: "clinician", Party.RECEIVER: "clinician", Party.REFERRAL_OFFICE: "referral_officer",
                Party.SYSTEM: None}
_REACHED: Final = {Status.ACCEPTED: "accepted_at", Status.SCHEDULED: "scheduled_at", Status.NO_SHOW: "no_show_at",
                   Status.IN_CARE: "in_care_at", Status.COMPLETED: "completed_at", Status.DECLINED: "declined_at",
                   Status.CANCELLED: "cancelled_at", Status.EXPIRED: "expired_at"}
_EPISODE_COLS = ("id", "resident_id", "direction", "urgency", "status", "version", "sending_institution_id",
                 "created_by", "sent_by", "receiving_institution_id", "governing_consortium_id",
                 "receiving_consortium_id", "out_of_network", "approval", "principal_dx", "diagnoses", "reason",
                 "care_setting", "benefits", "benefits_applied_at", "benefits_ended_at", "deadlines",
                 "status_entered_at", "status_entry_seq", "end_reason", "decline_code", "created_at", "updated_at",
                 "submitted_at", "approved_at", "accepted_at", "scheduled_at", "no_show_at", "in_care_at",
                 "completed_at", "declined_at", "cancelled_at", "expired_at")
_EVENT_COLS = ("referral_id", "seq", "row", "event", "from_status", "to_status", "party", "actor_user_id",
               "actor_role", "at", "reason")
_FOLLOWUP_COLS = ("referral_id", "resident_id", "institution_id", "team_id", "status", "due_at", "done_on",
                  "on_time", "mode", "source", "created_at", "completed_at")


@dataclass
class Plan:
    """One episode to write: who, where, when it starts, and how it ends."""

    i: int  # resident index
    direction: str
    sender: int
    receiver: int
    start: datetime  # submission
    outcome: str  # linked | done_in | done_out | no_show | declined | expired | cancelled | followup
    dx: str
    care_at: date | None = None  # admission / appointment / follow-up day
    care_end: date | None = None  # discharge
    encounter_id: int | None = None
    urgent: bool = False
    auto_accept: bool = False
    team_id: int | None = None
    extra: list[Any] = field(default_factory=list)


def up_down_counts(residents: int, linked: int, ratio: float) -> tuple[int, int, int, int]:
    """(up, down, cancelled up, cancelled down): up at ``UP_PER_100`` and enough to carry the linked
    stays beside the declined / expired / cancelled ones; down so that the non-cancelled counts hold the
    preset's ratio (the indicators leave cancelled referrals out)."""
    up = max(round(residents * UP_PER_100 / 100), math.ceil(linked / (1 - DECLINED - EXPIRED - CANCELLED - 0.05)))
    up_cancelled = round(up * CANCELLED)
    down_kept = round(ratio * (up - up_cancelled))
    down = round(down_kept / (1 - CANCELLED))
    return up, down, up_cancelled, down - down_kept


class _Planner:
    def __init__(self, ctx: Any) -> None:
        self.ctx, self.net, self.pop = ctx, ctx.network, ctx.population
        self.centres = [t.centre for t in self.net.townships]
        self.villages = [v for t in self.net.townships for v in t.villages]
        self.hospitals = list(self.net.hospitals.values())
        self.hospital_cum = _cumulative([1.0 if h.category == "A100" else (0.5 if h.category == "A210" else 0.3)
                                         for h in self.hospitals])
        self.team_of = ctx.extras.get("contracts.team_of")
        self.team_inst: dict[int, int] = ctx.extras.get("contracts.team_institution", {})
        self.start_of = ctx.extras.get("contracts.start_of")

    def out_of_county_stays(self) -> list[Stay]:
        e = Encounter
        stmt = (select(e.id, e.resident_id, e.institution_id, e.start_date, e.end_date, e.principal_dx)
                .where(e.source_system == self.net.insurance_source, e.kind == "inpatient",
                       e.end_date.between(self.ctx.year_start, self.ctx.year_end)).order_by(e.id))
        return [tuple(r) for r in self.ctx.session.execute(stmt)]

    def county_stays(self) -> list[Stay]:
        e = Encounter
        ids = [h.id for h in self.hospitals]
        stmt = (select(e.id, e.resident_id, e.institution_id, e.start_date, e.end_date, e.principal_dx)
                .where(e.institution_id.in_(ids), e.kind == "inpatient",
                       e.end_date.between(self.ctx.year_start, self.ctx.year_end),
                       or_(e.discharge_mode.is_(None), e.discharge_mode != DIED))
                .order_by(e.id))
        # Not a stay the resident died in, nor one whose follow-up would fall after the death.
        return [tuple(r) for r in self.ctx.session.execute(stmt)
                if self._alive_until(r[1] - self.pop.first_id) > r[4].toordinal() + FOLLOWUP_DAYS_MAX]

    def _alive_until(self, i: int) -> int:
        """The last day (ordinal) the resident can be in a referral: the day before death, else far on."""
        death = getattr(self.pop, "death", None)
        return death[i] - 1 if death and death[i] else 10**7

    def linked(self, stays: list[Stay]) -> list[Plan]:
        rng = stream(self.ctx.seed, self.ctx.year, "referrals", "link")
        share = float(self.ctx.preset.rates.referred_out_of_county_share)
        chosen = sorted(rng.sample(range(len(stays)), round(share * len(stays))))
        out = []
        for k in chosen:
            eid, rid, inst, admitted, discharged, dx = stays[k]
            i = rid - self.pop.first_id
            day = max(admitted - timedelta(days=1 + rng.randrange(3)), date.fromordinal(self.pop.birth[i]))
            out.append(Plan(i, "up", self.centres[self.pop.township[i]].id, inst,
                            local_moment(day, 8 + rng.randrange(9), rng.randrange(60)), "linked",
                            dx or rng.choice(_UP_DX), admitted, discharged, eid, urgent=rng.random() < 0.2))
        return out

    def unlinked_up(self, n: int, outcomes: list[str]) -> list[Plan]:
        rng = stream(self.ctx.seed, self.ctx.year, "referrals", "up")
        rng.shuffle(outcomes)
        pop, out = self.pop, []
        people = rng.choices(range(pop.n), cum_weights=pop.stay_cum, k=n) if n else []
        for i, outcome in zip(people, outcomes, strict=True):
            for _ in range(1000):  # a resident alive long enough for the episode (deaths: ``Population.death``)
                born = pop.birth[i]
                first = max(self.ctx.year_start.toordinal(), born)
                if self._alive_until(i) > first + EPISODE_DAYS_MAX:
                    break
                i = rng.choices(range(pop.n), cum_weights=pop.stay_cum)[0]
            last = min(self.ctx.year_end.toordinal(), self._alive_until(i) - EPISODE_DAYS_MAX)
            day = date.fromordinal(first + rng.randrange(max(1, last - first + 1)))
            sender = (self.villages[pop.village[i]] if rng.random() < VILLAGE_SENDS
                      else self.centres[pop.township[i]]).id
            if rng.random() < OUT_OF_COUNTY_SHARE:
                outs = self.net.out_of_county
                receiver = (outs[-1] if rng.random() < 0.3 else rng.choice(outs[:-1] or outs)).id
            else:
                receiver = rng.choices(self.hospitals, cum_weights=self.hospital_cum)[0].id
            care = day + timedelta(days=1 + rng.randrange(7))
            stay = care + timedelta(days=3 + rng.randrange(10))
            out.append(Plan(i, "up", sender, receiver, local_moment(day, 8 + rng.randrange(9), rng.randrange(60)),
                            outcome, rng.choice(_UP_DX), care, stay, urgent=rng.random() < 0.15))
        return out

    def down(self, n: int, outcomes: list[str], stays: list[Stay]) -> list[Plan]:
        rng = stream(self.ctx.seed, self.ctx.year, "referrals", "down")
        rng.shuffle(outcomes)
        if not stays:
            return []
        picks = sorted(rng.sample(range(len(stays)), min(n, len(stays))))
        picks += [rng.randrange(len(stays)) for _ in range(n - len(picks))]
        out = []
        for k, outcome in zip(picks, outcomes, strict=True):
            _eid, rid, inst, _admitted, discharged, dx = stays[k]
            i = rid - self.pop.first_id
            team = self.team_of[i] if self.team_of is not None else 0
            if team and self.start_of is not None and self.start_of[i] > discharged.toordinal():
                team = 0  # not yet contracted when discharged
            if team:
                receiver, auto = self.team_inst[team], True
            elif rng.random() < VILLAGE_RECEIVES:
                receiver, auto = self.villages[self.pop.village[i]].id, False
            else:
                receiver, auto = self.centres[self.pop.township[i]].id, False
            follow = discharged + timedelta(days=1 + (rng.randrange(6) if rng.random() < FOLLOWUP_ON_TIME
                                                       else 7 + rng.randrange(14)))
            out.append(Plan(i, "down", inst, receiver, local_moment(discharged, 9 + rng.randrange(3),
                                                                    rng.randrange(60)),
                            outcome, dx if dx and dx[:3] in {d[:3] for d in _DOWN_DX} else rng.choice(_DOWN_DX),
                            follow, None, auto_accept=auto, team_id=team or None,
                            extra=[rng.choice(("clinic", "home", "phone"))]))
        return out


def _cumulative(weights: list[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


def _outcomes(total: int, fixed: dict[str, int], scheduled_share: float, rest: str) -> list[str]:
    """``fixed`` counts, then the rest split into scheduled (with their no-shows) and ``rest``."""
    out = [k for k, n in fixed.items() for _ in range(n)]
    left = max(0, total - len(out))
    scheduled = round(left * scheduled_share)
    no_show = round(scheduled * NO_SHOW)
    out += ["no_show"] * no_show + ["done_out"] * (scheduled - no_show) + [rest] * (left - scheduled)
    return out[:total]


@dataclass
class _Timeline:
    events: list[tuple[int, Event, Status, Status, Party, datetime, str | None]] = field(default_factory=list)
    status: Status = Status.DRAFT

    def add(self, row: int, event: Event, to: Status, party: Party, at: datetime, reason: str | None = None) -> None:
        self.events.append((row, event, self.status, to, party, at, reason))
        self.status = to


def _timeline(p: Plan, approval: bool, rng: random.Random) -> _Timeline:
    t = _Timeline()
    at = p.start
    arrive = local_moment(p.care_at, 8, 30) if p.care_at is not None and p.direction == "up" else None
    t.add(1, Event.SUBMIT, Status.AWAITING_APPROVAL if approval else Status.REQUESTED, Party.SENDER, at)
    if approval:
        at += timedelta(hours=1 if p.urgent else 2 + rng.randrange(20))
        if arrive is not None and at > arrive - timedelta(hours=2):  # decided before the patient arrives
            at = p.start + timedelta(minutes=10)
        t.add(2, Event.APPROVE, Status.REQUESTED, Party.REFERRAL_OFFICE, at)
    decide = at + timedelta(minutes=20 if p.urgent else 60 + rng.randrange(600))
    if arrive is not None and decide > arrive - timedelta(minutes=30):
        decide = at + timedelta(minutes=10)
    if p.outcome == "cancelled":
        t.add(4, Event.CANCEL, Status.CANCELLED, Party.SENDER, decide, "患者要求撤回")
        return t
    if p.outcome == "declined":
        t.add(6, Event.DECLINE, Status.DECLINED, Party.RECEIVER, decide, "接收方无法接收")
        return t
    if p.outcome == "expired":
        t.add(17, Event.EXPIRE, Status.EXPIRED, Party.SYSTEM,
              at + timedelta(hours=6 if p.urgent else (120 if p.direction == "down" else 72)))
        return t
    assert p.care_at is not None
    if p.direction == "down":
        if p.auto_accept:
            t.add(18, Event.AUTO_ACCEPT, Status.ACCEPTED, Party.SYSTEM, at + timedelta(minutes=1))
        else:
            t.add(5, Event.ACCEPT, Status.ACCEPTED, Party.RECEIVER, decide)
        t.add(21, Event.RECORD_FOLLOWUP, Status.COMPLETED, Party.RECEIVER, local_moment(p.care_at, 15))
        return t
    care = max(local_moment(p.care_at, 8, 30), decide + timedelta(minutes=30))
    if p.outcome in ("no_show", "done_out"):
        t.add(5, Event.ACCEPT, Status.SCHEDULED, Party.RECEIVER, decide)
        if p.outcome == "no_show":
            t.add(9, Event.MARK_NO_SHOW, Status.NO_SHOW, Party.RECEIVER, care + timedelta(hours=4))
            t.add(26, Event.EXPIRE, Status.EXPIRED, Party.SYSTEM, care + timedelta(days=14))
            return t
        t.add(10, Event.CHECK_IN, Status.IN_CARE, Party.RECEIVER, care)
        t.add(12, Event.COMPLETE, Status.COMPLETED, Party.RECEIVER, care + timedelta(hours=2))
        return t
    t.add(5, Event.ACCEPT, Status.ACCEPTED, Party.RECEIVER, min(decide, care - timedelta(minutes=30)))
    t.add(10, Event.CHECK_IN, Status.IN_CARE, Party.RECEIVER, care)
    assert p.care_end is not None
    t.add(12, Event.COMPLETE, Status.COMPLETED, Party.RECEIVER, max(local_moment(p.care_end, 16), care))
    return t


_END_REASON: Final = {"cancelled": EndReason.CANCELLED_BY_SENDER, "declined": EndReason.DECLINED,
                      "expired": EndReason.EXPIRED_UNANSWERED, "no_show": EndReason.NO_SHOW_LAPSED}


class _Writer:
    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self.policy = ReferralPolicy()
        self.users = self._users()
        self.consortium, self.members = self._consortia()
        self.episodes: list[tuple[Any, ...]] = []
        self.events: list[tuple[Any, ...]] = []
        self.followups: list[tuple[Any, ...]] = []
        self.relations: dict[tuple[int, int, date], tuple[Any, ...]] = {}
        self.links: list[tuple[int, int]] = []

    def _users(self) -> dict[int, int]:
        """One inactive placeholder account per institution (its referral clinicians); an appended year
        reuses those of the years before."""
        insts = self.ctx.network.institutions
        names = {inst.id: f"sim-{inst.code.lower()}"[:60] for inst in insts}
        have = dict(self.ctx.session.execute(select(User.username, User.id).where(
            User.username.in_(list(names.values())))).all())
        missing = [inst for inst in insts if names[inst.id] not in have]
        if missing:
            first = reserve_ids(self.ctx.conn, User.__table__, len(missing))  # type: ignore[arg-type]
            made = local_moment(self.ctx.year_start, 0)
            rows = [(first + k, names[inst.id], f"{inst.name}转诊医生"[:60], "!", False, made)
                    for k, inst in enumerate(missing)]
            write(self.ctx.conn, User.__table__, ("id", "username", "display_name",  # type: ignore[arg-type]
                                                     "password_hash", "is_active", "created_at"), rows)
            sync_sequence(self.ctx.conn, User.__table__)  # type: ignore[arg-type]
            self.ctx.add_rows("app_user", len(rows))
            have.update({names[inst.id]: first + k for k, inst in enumerate(missing)})
        return {inst.id: have[names[inst.id]] for inst in insts}

    def _consortia(self) -> tuple[dict[int, int], dict[int, set[int]]]:
        m = ConsortiumMembership
        of: dict[int, int] = {}
        members: dict[int, set[int]] = {}
        for cid, inst in self.ctx.session.execute(select(m.consortium_id, m.institution_id).order_by(m.consortium_id)):
            of.setdefault(inst, cid)
            members.setdefault(cid, set()).add(inst)
        return of, members

    def add(self, rid: int, p: Plan, rng: random.Random) -> None:
        ctx = self.ctx
        governing = self.consortium.get(p.sender)
        receiving = self.consortium.get(p.receiver)
        in_county = receiving is not None or any(t.centre.id == p.receiver for t in ctx.network.townships)
        out_of_network = None if governing is None else (p.receiver not in self.members[governing] and not in_county)
        approval = bool(out_of_network) and self.policy.out_of_network_approval and p.direction == "up"
        t = _timeline(p, approval, rng)
        resident = ctx.population.first_id + p.i
        sender_user, receiver_user = self.users[p.sender], self.users[p.receiver]
        actor = {Party.SENDER: sender_user, Party.RECEIVER: receiver_user, Party.REFERRAL_OFFICE: sender_user,
                 Party.SYSTEM: None}
        reached: dict[str, datetime] = {}
        for seq, (row, event, frm, to, party, at, reason) in enumerate(t.events, start=2):
            self.events.append((rid, seq, row, event.value, frm.value, to.value, party.value, actor[party],
                                _ROLE[party], at, reason))
            column = _REACHED.get(to)
            if column is not None and column not in reached:
                reached[column] = at
        last = t.events[-1]
        final = t.status
        accepted = reached.get("accepted_at") or reached.get("scheduled_at")
        if accepted is not None:
            reached.setdefault("accepted_at", accepted)
        up_benefits = accepted is not None and p.direction == "up"
        deadlines = self.policy.deadline_set(down=p.direction == "down", urgent=p.urgent and p.direction == "up")
        setting = None if accepted is None else ("outpatient" if p.outcome in ("no_show", "done_out")
                                                  else ("inpatient" if p.direction == "up" else None))
        decline = rng.choice([c for c in DeclineCode if c != DeclineCode.OTHER]) if p.outcome == "declined" else None
        end_reason = _END_REASON.get(p.outcome) if final in TERMINAL and final != Status.COMPLETED else None
        created = p.start - timedelta(minutes=15)
        self.episodes.append((
            rid, resident, p.direction, "urgent" if p.urgent and p.direction == "up" else "routine", final.value,
            1 + len(t.events), p.sender, sender_user, sender_user, p.receiver, governing, receiving, out_of_network,
            ("approved" if approval else "not_required"), p.dx, p.dx,
            "上转进一步诊治" if p.direction == "up" else "病情稳定，转回基层康复管理", setting, [],
            accepted if up_benefits else None, last[5] if up_benefits else None, deadlines.to_seconds(),
            last[5], 1 + len(t.events), end_reason.value if end_reason else None,
            decline.value if decline else None, created, last[5], p.start,
            t.events[1][5] if approval else None, *(reached.get(c) for c in (
                "accepted_at", "scheduled_at", "no_show_at", "in_care_at", "completed_at", "declined_at",
                "cancelled_at", "expired_at"))))
        if accepted is not None:
            key = (resident, p.receiver, _local_day(accepted))
            self.relations.setdefault(key, (resident, p.receiver, "referred", key[2], _local_day(last[5])))
        if p.direction == "down" and accepted is not None and p.care_at is not None:
            due = accepted + (deadlines.followup_due or timedelta(days=7))
            done = final == Status.COMPLETED
            self.followups.append((rid, resident, p.receiver, p.team_id, "done" if done else "open", due,
                                   p.care_at, p.care_at <= _local_day(due), p.extra[0], "recorded", accepted,
                                   last[5]))
        if p.encounter_id is not None:
            self.links.append((p.encounter_id, rid))

    def flush(self) -> None:
        conn, ctx = self.ctx.conn, self.ctx
        ctx.add_rows("referral_episode", write(conn, ReferralEpisode.__table__, _EPISODE_COLS,  # type: ignore[arg-type]
                                               self.episodes))
        ctx.add_rows("referral_event", write(conn, ReferralEvent.__table__, _EVENT_COLS, self.events))  # type: ignore[arg-type]
        ctx.add_rows("referral_followup", write(conn, ReferralFollowUpTask.__table__,  # type: ignore[arg-type]
                                                _FOLLOWUP_COLS, self.followups))
        ctx.add_rows("care_relationship", write(conn, CareRelationship.__table__,  # type: ignore[arg-type]
                                                ("resident_id", "institution_id", "kind", "since", "until"),
                                                list(self.relations.values())))
        for table in (ReferralEpisode.__table__, ReferralEvent.__table__, ReferralFollowUpTask.__table__,
                      CareRelationship.__table__):
            sync_sequence(conn, table)  # type: ignore[arg-type]
        link_encounters(conn, self.links)


def _local_day(moment: datetime) -> date:
    return to_local(moment).date()


def link_encounters(conn: Any, links: list[tuple[int, int]]) -> int:
    """``encounter.referral_episode_id`` for the linked stays: the pairs go to a temporary table, then one
    correlated ``UPDATE`` (portable: SQLite and PostgreSQL both run it as written)."""
    if not links:
        return 0
    conn.execute(text("CREATE TEMPORARY TABLE sim_referral_link "
                      "(encounter_id BIGINT PRIMARY KEY, referral_id BIGINT NOT NULL)"))
    tmp = Table("sim_referral_link", MetaData(), Column("encounter_id", BigInteger, primary_key=True),
                Column("referral_id", BigInteger))
    write(conn, tmp, ("encounter_id", "referral_id"), links)
    n = conn.execute(text(
        "UPDATE encounter SET referral_episode_id = (SELECT l.referral_id FROM sim_referral_link l "
        "WHERE l.encounter_id = encounter.id) WHERE id IN (SELECT encounter_id FROM sim_referral_link)")).rowcount
    conn.execute(text("DROP TABLE sim_referral_link"))
    return int(n)


def run(ctx: Any, track: Any) -> None:
    assert ctx.network is not None and ctx.population is not None, "the year of care must run first"
    track.total(4)
    planner = _Planner(ctx)
    out_stays = planner.out_of_county_stays()
    linked = planner.linked(out_stays)
    ratio = float(getattr(ctx.preset.rates, "down_up_ratio", DOWN_UP_RATIO.get(ctx.preset.name, 1.0)))
    up, down, up_cancelled, down_cancelled = up_down_counts(ctx.residents, len(linked), ratio)
    track.advance()
    up_fixed = {"cancelled": up_cancelled, "declined": round(up * DECLINED), "expired": round(up * EXPIRED)}
    unlinked = planner.unlinked_up(up - len(linked),
                                   _outcomes(up - len(linked), up_fixed, OUTPATIENT_SHARE, "done_in"))
    down_fixed = {"cancelled": down_cancelled, "declined": round(down * DECLINED), "expired": round(down * EXPIRED)}
    downs = planner.down(down, _outcomes(down, down_fixed, 0.0, "followup"), planner.county_stays())
    track.advance()
    plans = sorted(linked + unlinked + downs, key=lambda p: (p.start, p.direction, p.i))
    writer = _Writer(ctx)
    if plans:
        first = reserve_ids(ctx.conn, ReferralEpisode.__table__, len(plans))  # type: ignore[arg-type]
        rng = stream(ctx.seed, ctx.year, "referrals", "timeline")
        for k, p in enumerate(plans):
            writer.add(first + k, p, rng)
    track.advance()
    writer.flush()
    ctx.extras["referrals.linked"] = len(writer.links)
    track.advance()


STAGES = (SimulationStep("referrals", "双向转诊", 500, run),)
