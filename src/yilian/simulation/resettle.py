"""Re-settling (转诊后重新结算, order 550): out-of-county stays the referral step linked to an approved
up-referral are referred stays, so they are settled again as ``out_of_county``.

The care stage settles every out-of-county claim as ``out_of_county_unreferred`` because the link comes
later (``yilian.referrals.simulate``, order 500).  Here each linked episode's claims are taken in the order
the bureau settles them (settlement day, then encounter id) and the unreferred ones among them are
re-computed by the care feature's one claims calculation (``care.reimbursement``) with the place
``place_of`` gives a referral link (approved) — the deductible running on across the episode: each claim
is credited with the deductibles the episode's earlier claims paid in its care group.  Totals and cost
categories stay; place, deductible, ratio, fund and patient shares change, written set-based
(``db.bulk.update_rows``: a temporary table and one ``UPDATE … FROM``).

SQLite keeps ``NUMERIC`` as binary floating point (see ``settle.py``): when fund + patient would not
equal the total as doubles, the policy-range cost moves by a cent (up to a few) until it does, on both
databases alike.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from yilian.care.reimbursement import Claim, place_of, reimburse
from yilian.care.rules import CareGroup, Scheme
from yilian.db.bulk import is_postgres, update_rows
from yilian.db.models import Encounter, Institution, Settlement
from yilian.simulation.pipeline import SimContext, Stage, Tracker, register_stage
from yilian.simulation.settle import care_config

_COLUMNS = ("place", "policy_cost", "deductible", "ratio", "fund_paid", "patient_paid")
_UNREFERRED = "out_of_county_unreferred"
_NUDGES = 50


def _exact(fund: Decimal, patient: Decimal, total: Decimal) -> bool:
    return float(fund) + float(patient) == float(total)


def run(ctx: SimContext, track: Tracker) -> None:
    e, s, i = Encounter, Settlement, Institution
    track.total(2)
    linked = (select(e.referral_episode_id).join(s, s.encounter_id == e.id)
              .where(e.referral_episode_id.is_not(None), s.place == _UNREFERRED,
                     s.settled_on.between(ctx.year_start, ctx.year_end)))
    claims = ctx.session.execute(
        select(e.referral_episode_id, e.id, e.kind, i.is_primary_care, i.in_county, s.place, s.scheme, s.total_cost,
               s.policy_cost, s.deductible)
        .join(s, s.encounter_id == e.id).join(i, i.id == e.institution_id)
        .where(e.referral_episode_id.in_(linked))
        .order_by(e.referral_episode_id, s.settled_on, e.id)).all()
    track.advance()
    config = care_config(ctx.preset)
    pg = is_postgres(ctx.conn)
    out: list[tuple[Any, ...]] = []
    paid: dict[CareGroup, Decimal] = {}
    episode = None
    for ep, eid, kind, primary, in_county, place, scheme, total, policy, deductible in claims:
        if ep != episode:
            episode, paid = ep, {g: Decimal("0.00") for g in CareGroup}
        group = CareGroup.INPATIENT if kind == "inpatient" else CareGroup.OUTPATIENT
        total, policy = Decimal(str(total)).quantize(Decimal("0.01")), Decimal(str(policy)).quantize(Decimal("0.01"))
        if place != _UNREFERRED:  # settled already as what it is: its deductible counts for the episode
            paid[group] += Decimal(str(deductible))
            continue
        new_place = place_of(is_primary_care=bool(primary), in_county=bool(in_county), referred=True)
        for k in range(_NUDGES):
            trial = min(total, max(Decimal("0.00"), policy + Decimal(k // 2 + 1 if k % 2 else -(k // 2)) / 100))
            r = reimburse(Claim(total, trial, new_place, group, Scheme(scheme), paid[group]), config)
            if _exact(r.fund, r.patient, total):
                break
        paid[group] = r.episode_paid_after(paid[group])
        values: tuple[Any, ...] = (new_place.value, trial, r.deductible, r.ratio, r.fund, r.patient)
        if not pg:
            values = (values[0], *(float(v) for v in values[1:]))
        out.append((eid, *values))
    ctx.extras["resettle.stays"] = update_rows(ctx.conn, Settlement.__table__, "encounter_id",  # type: ignore[arg-type]
                                               _COLUMNS, out)
    track.advance()


register_stage(Stage("resettle", "转诊病例重新结算", 550, run))
