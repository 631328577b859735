"""The contracts and referrals steps of ``simulate county``, checked with plain SQL on a small county."""

from __future__ import annotations

import pytest
from simulation_world import generate, rows, scalar
from sqlalchemy import Engine

from yilian.db.models.referrals import STATUSES
from yilian.db.session import make_engine

RESIDENTS = 3000
#: (contract_rate aim, key-population aim, down ÷ up) by preset (SYNTHETIC.md).
AIMS = {"target-2025": (0.48, 0.75, 1.2), "qidong-2016": (0.30, 0.60, 1373 / 29371),
        "tianchang-2016": (0.30, 0.60, 6321 / 2732)}


@pytest.mark.parametrize("preset", ["target-2025", "qidong-2016"])
def test_contracts_and_referrals(preset: str, committed_db: str) -> None:
    """One generated county per preset (the year of care is the slow part), every check on it."""
    summary = generate(committed_db, preset, RESIDENTS, seed=3, builtin_codes=True)
    engine = make_engine(committed_db)
    try:
        county = (preset, int(summary["year"]), engine)
        _check_contracts(county)
        _check_referral_mix(county)
        _check_timelines_and_links(county)
    finally:
        engine.dispose()


IN_FORCE = ("c.start_on <= :end and ((c.stop_on is null and c.end_on >= :end) or c.stop_on > :end)")
KEY = ("(r.birth_date <= :elderly or r.birth_date > :child or exists (select 1 from key_population k "
       "where k.resident_id = r.id and k.since <= :end and (k.until is null or k.until >= :end)))")


def _contract_rates(engine: Engine, year: int) -> tuple[float, float]:
    p = {"end": f"{year}-12-31", "elderly": f"{year - 65}-12-31", "child": f"{year - 7}-12-31"}
    contracted = f"exists (select 1 from contract c where c.resident_id = r.id and {IN_FORCE})"
    [(n, n_c, k, k_c)] = rows(engine, f"select count(*), sum(case when {contracted} then 1 else 0 end), "
                                      f"sum(case when {KEY} then 1 else 0 end), "
                                      f"sum(case when {KEY} and {contracted} then 1 else 0 end) "
                                      "from resident r where r.birth_date <= :end "
                                      "and (r.deceased_on is null or r.deceased_on > :end)", **p)
    return n_c / n, k_c / k


def _check_contracts(county: tuple[str, int, Engine]) -> None:
    preset, year, engine = county
    end = f"{year}-12-31"
    overall, key = _contract_rates(engine, year)
    aim, key_aim, _ = AIMS[preset]
    assert abs(overall - aim) <= 0.03, overall
    assert key > overall + 0.1 and abs(key - key_aim) <= 0.05, key
    # One contract in force per resident at most, and one ``active`` row.
    assert not rows(engine, f"select resident_id from contract c where {IN_FORCE} group by resident_id "
                            "having count(*) > 1", end=end)
    assert not rows(engine, "select resident_id from contract where status = 'active' group by resident_id "
                            "having count(*) > 1")
    statuses = dict(rows(engine, "select status, count(*) from contract group by status"))
    assert set(statuses) <= {"active", "renewed", "expired", "terminated"}
    # Terminated only by the resident's death (lifecycle stage), on the day of death.
    assert scalar(engine, "select count(*) from contract c join resident r on r.id = c.resident_id "
                          "where c.status = 'terminated' and (c.termination_reason <> 'deceased' "
                          "or r.deceased_on is null or c.stop_on <> r.deceased_on)") == 0
    assert 0.70 <= statuses["renewed"] / (statuses["renewed"] + statuses["expired"]) <= 0.90
    # Valid rows: the team's institution, a basic package, versions, renewals chained to their predecessor.
    assert scalar(engine, "select count(*) from contract c join family_doctor_team t on t.id = c.team_id "
                          "where t.institution_id <> c.institution_id or c.end_on < c.start_on") == 0
    assert scalar(engine, "select count(*) from contract c where not exists (select 1 from contract_package cp "
                          "join service_package p on p.id = cp.package_id "
                          "where cp.contract_id = c.id and p.kind = 'basic')") == 0
    assert scalar(engine, "select count(*) from contract c join contract p on p.id = c.predecessor_id "
                          "where p.status <> 'renewed' or p.stop_on <> c.start_on or p.resident_id <> c.resident_id "
                          "or c.version <> (case when c.status = 'terminated' then 2 else 1 end) "
                          "or p.version <> 2") == 0
    assert scalar(engine, "select count(*) from family_doctor_team t where not exists (select 1 from "
                          "family_doctor_team_member m where m.team_id = t.id and m.role = 'gp_lead')") == 0
    # A running ``contracted`` relationship per contracted resident, none for the others.
    assert scalar(engine, "select count(*) from care_relationship where kind = 'contracted' and until is null") == \
        scalar(engine, "select count(*) from contract where status = 'active'")
    assert scalar(engine, "select count(*) from contract_delivery d join contract c on c.id = d.contract_id "
                          "where d.resident_id <> c.resident_id or d.delivered_on < c.start_on "
                          "or d.delivered_on > c.end_on") == 0
    assert scalar(engine, "select count(*) from contract_delivery") > 0


def _check_referral_mix(county: tuple[str, int, Engine]) -> None:
    preset, year, engine = county
    p = {"start": f"{year}-01-01", "next": f"{year + 1}-01-01"}
    eps = rows(engine, "select direction, status, end_reason, scheduled_at is not null, no_show_at is not null "
                       "from referral_episode")
    assert eps and {s for _, s, *_ in eps} <= set(STATUSES) and {d for d, *_ in eps} <= {"up", "down"}
    n = len(eps)
    share = {k: sum(1 for e in eps if e[1] == k) / n for k in ("declined", "cancelled", "completed")}
    expired = sum(1 for e in eps if e[2] == "expired_unanswered") / n
    assert abs(share["declined"] - 0.05) <= 0.02 and abs(share["cancelled"] - 0.03) <= 0.02
    assert abs(expired - 0.02) <= 0.02 and share["completed"] >= 0.8
    scheduled = [e for e in eps if e[3]]
    if len(scheduled) >= 30:
        assert abs(sum(1 for e in scheduled if e[4]) / len(scheduled) - 0.08) <= 0.05
    # down_referrals ÷ up_referrals as the indicators count them: submitted in the year, not cancelled.
    counted = dict(rows(engine, "select direction, count(*) from referral_episode where status <> 'cancelled' "
                                "and submitted_at >= :start and submitted_at < :next group by direction", **p))
    ratio = counted.get("down", 0) / counted["up"]
    assert abs(ratio / AIMS[preset][2] - 1) <= 0.15, ratio
    assert 0.01 <= counted["up"] / RESIDENTS <= 0.03
    # Parties exist and sit where the direction says.
    assert scalar(engine, "select count(*) from referral_episode e left join resident r on r.id = e.resident_id "
                          "left join institution s on s.id = e.sending_institution_id "
                          "left join institution v on v.id = e.receiving_institution_id "
                          "where r.id is null or s.id is null or v.id is null") == 0
    bad = ("select count(*) from referral_episode e join institution s on s.id = e.sending_institution_id "
           "join institution v on v.id = e.receiving_institution_id where "
           "(e.direction = 'up' and (s.category not in ('C210', 'C220', 'D600') or v.category in "
           "('C210', 'C220', 'D600'))) or (e.direction = 'down' and (s.category in ('C210', 'C220', 'D600') "
           "or v.category not in ('C210', 'C220', 'D600')))")
    assert scalar(engine, bad) == 0


def _check_timelines_and_links(county: tuple[str, int, Engine]) -> None:
    engine = county[2]
    # Every transition a row: seq 2..version, submit first, the last one reaching the episode's status.
    assert scalar(engine, "select count(*) from referral_episode e where e.version <> 1 + (select count(*) "
                          "from referral_event v where v.referral_id = e.id)") == 0
    assert scalar(engine, "select count(*) from referral_event v where v.seq = 2 and v.event <> 'submit'") == 0
    assert scalar(engine, "select count(*) from referral_episode e join referral_event v on v.referral_id = e.id "
                          "and v.seq = e.version where v.to_status <> e.status or e.status_entry_seq <> e.version "
                          "or e.submitted_at is null") == 0
    assert scalar(engine, "select count(*) from referral_event a join referral_event b on b.referral_id = "
                          "a.referral_id and b.seq = a.seq + 1 where b.at < a.at or b.from_status <> a.to_status") == 0
    assert scalar(engine, "select count(*) from referral_episode where accepted_at < submitted_at "
                          "or in_care_at < accepted_at or completed_at < submitted_at") == 0
    assert scalar(engine, "select count(*) from referral_episode where status in ('declined', 'cancelled', "
                          "'expired') and end_reason is null") == 0
    # Accepted down-referrals owe a follow-up, done when the loop closed.
    assert scalar(engine, "select count(*) from referral_episode where direction = 'down' "
                          "and accepted_at is not null") == scalar(engine, "select count(*) from referral_followup")
    assert scalar(engine, "select count(*) from referral_followup f join referral_episode e on e.id = f.referral_id "
                          "where e.status = 'completed' and f.status <> 'done'") == 0
    # The preset's share of out-of-county stays linked to an approved, completed up-referral of the resident.
    stays = ("from encounter n join institution i on i.id = n.institution_id where n.kind = 'inpatient' "
             "and i.in_county = :f")
    total = scalar(engine, f"select count(*) {stays}", f=False)
    linked = scalar(engine, f"select count(*) {stays} and n.referral_episode_id is not null", f=False)
    assert total and abs(linked / total - 0.60) <= 0.03
    assert scalar(engine, "select count(*) from encounter n join referral_episode e on e.id = n.referral_episode_id "
                          "where e.direction <> 'up' or e.approval not in ('approved', 'exempt') "
                          "or e.status <> 'completed' or e.resident_id <> n.resident_id "
                          "or e.receiving_institution_id <> n.institution_id") == 0
    assert scalar(engine, "select count(*) from referral_episode where direction = 'up'") >= linked
