"""``simulate county --append``: a second and third year of one small county — lifecycle, contracts,
calibration, re-settled referred stays, determinism — and the refusals (nothing written)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from simulation_world import data_hash, generate, indicator_values, rows, scalar
from sqlalchemy import Engine
from typer.testing import CliRunner

from dbkit import ThrowawayDatabase
from yilian.core.errors import Conflict, ValidationFailed
from yilian.db.session import make_engine, session_scope
from yilian.residents.crypto import cipher
from yilian.residents.idcard import parse_id_number
from yilian.simulation.cli import app
from yilian.simulation.presets import get_preset
from yilian.simulation.runner import Request, simulate

RESIDENTS = 4000
SEED = 5
PRESET = "target-2025"


def append(url: str, preset: str | None = None, year: int | None = None, residents: int | None = None,
           seed: int | None = None) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            return simulate(session, Request(preset=preset, residents=residents, year=year, seed=seed, append=True))
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def county() -> Iterator[tuple[Engine, list[dict[str, Any]]]]:
    """Year 1 (2025), then ``--append`` twice (2026, 2027), in one committed throwaway database."""
    db = ThrowawayDatabase("simappend")
    url = db.create()
    engine = make_engine(url)
    try:
        first = generate(url, PRESET, RESIDENTS, seed=SEED)
        births_before = rows(engine, "select id, birth_date from resident order by id")
        summaries = [first, append(url), append(url)]
        assert rows(engine, f"select id, birth_date from resident where id <= {RESIDENTS} order by id") == \
            births_before  # birth dates are fixed: ages follow
        yield engine, summaries
    finally:
        engine.dispose()
        db.drop()


def _years(county: tuple[Engine, list[dict[str, Any]]]) -> list[int]:
    return [int(s["year"]) for s in county[1]]


def test_the_next_years_follow_with_the_networks_seed_and_preset(county: tuple[Engine, list[dict[str, Any]]]) -> None:
    engine, summaries = county
    assert _years(county) == [2025, 2026, 2027]
    assert all(s["seed"] == SEED and s["preset"] == PRESET for s in summaries)
    assert [s["appended"] for s in summaries] == [False, True, True]
    assert rows(engine, "select year, seed, preset from simulation_run order by id") == [
        (2025, SEED, PRESET), (2026, SEED, PRESET), (2027, SEED, PRESET)]
    # Same institutions and staff: the appended years wrote none.
    assert scalar(engine, "select count(*) from institution") == summaries[0]["row_counts"]["institution"]
    assert all("institution" not in s["row_counts"] and "practitioner" not in s["row_counts"] for s in summaries[1:])
    # Every year has its care, and encounters carry the age on admission from the fixed birth dates.
    for year in _years(county):
        n = scalar(engine, "select count(*) from encounter where start_date between :a and :b",
                   a=date(year, 1, 1), b=date(year, 12, 31))
        assert n > RESIDENTS * 4
    for start, born, age in rows(engine, "select e.start_date, r.birth_date, e.age_years from encounter e "
                                         "join resident r on r.id = e.resident_id where e.id % 97 = 0"):
        s, b = date.fromisoformat(str(start)[:10]), date.fromisoformat(str(born)[:10])
        assert age == s.year - b.year - ((s.month, s.day) < (b.month, b.day))


def test_births_and_deaths_near_their_rates(county: tuple[Engine, list[dict[str, Any]]]) -> None:
    engine, summaries = county
    r = get_preset(PRESET).rates
    for s in summaries:
        year = int(s["year"])
        alive = scalar(engine, "select count(*) from resident where birth_date < :a and "
                               "(deceased_on is null or deceased_on >= :a)", a=date(year, 1, 1))
        deaths = scalar(engine, "select count(*) from resident where deceased_on between :a and :b",
                        a=date(year, 1, 1), b=date(year, 12, 31))
        assert deaths == s["deaths"]
        assert abs(deaths - r.deaths_per_1000 / 1000 * alive) < 4 * (r.deaths_per_1000 / 1000 * alive) ** 0.5 + 2
        if s["appended"]:
            assert abs(s["births"] - r.births_per_1000 / 1000 * alive) < 4 * (r.births_per_1000 / 1000 * alive) ** 0.5
            assert s["births"] == scalar(engine, "select count(*) from resident where birth_date between :a and :b",
                                         a=date(year, 1, 1), b=date(year, 12, 31))
    # More deaths at older ages: the dead are much older than the living.
    dead_age = scalar(engine, "select avg(2027 - cast(substr(cast(birth_date as varchar(10)), 1, 4) as integer)) "
                              "from resident where deceased_on is not null")
    all_age = scalar(engine, "select avg(2027 - cast(substr(cast(birth_date as varchar(10)), 1, 4) as integer)) "
                             "from resident")
    assert float(dead_age) > float(all_age) + 20


def test_no_care_after_death_and_deaths_in_hospital(county: tuple[Engine, list[dict[str, Any]]]) -> None:
    engine, _ = county
    assert scalar(engine, "select count(*) from encounter e join resident r on r.id = e.resident_id "
                          "where e.start_date > r.deceased_on or e.end_date > r.deceased_on") == 0
    assert scalar(engine, "select count(*) from encounter e join resident r on r.id = e.resident_id "
                          "where e.kind <> 'inpatient' and e.start_date >= r.deceased_on") == 0
    died = rows(engine, "select e.end_date, r.deceased_on from encounter e join resident r on r.id = e.resident_id "
                        "where e.discharge_mode = '5'")
    deaths = scalar(engine, "select count(*) from resident where deceased_on is not null")
    assert died and all(end == dead for end, dead in died)  # the stay ends on the death day
    share = get_preset(PRESET).rates.in_hospital_death_share
    assert abs(len(died) / deaths - share) < 0.15
    assert len({d for _, d in died}) > 5
    # The dead hold no contract in force, nor episodes or follow-ups after death.
    assert scalar(engine, "select count(*) from contract c join resident r on r.id = c.resident_id "
                          "where r.deceased_on is not null and c.status = 'active'") == 0
    assert scalar(engine, "select count(*) from contract c join resident r on r.id = c.resident_id "
                          "where c.status = 'terminated' and (c.termination_reason <> 'deceased' "
                          "or c.stop_on <> r.deceased_on)") == 0
    assert scalar(engine, "select count(*) from contract where status = 'terminated'") > 0
    assert scalar(engine, "select count(*) from referral_followup f join resident r on r.id = f.resident_id "
                          "where f.done_on >= r.deceased_on") == 0
    assert scalar(engine, "select count(*) from contract_delivery d join resident r on r.id = d.resident_id "
                          "where d.delivered_on >= r.deceased_on") == 0


def test_contracts_renewed_at_the_rate_and_the_contract_rate_held(
        county: tuple[Engine, list[dict[str, Any]]]) -> None:
    engine, _ = county
    for year in (2026, 2027):
        renewed, ended = rows(engine, "select sum(case when status = 'renewed' then 1 else 0 end), count(*) "
                                      "from contract where status in ('renewed', 'expired') "
                                      "and end_on between :a and :b", a=date(year, 1, 1), b=date(year, 12, 31))[0]
        assert ended > 1000 and abs(renewed / ended - 0.80) < 0.04
        end = date(year, 12, 31)
        alive = scalar(engine, "select count(*) from resident where birth_date <= :e and "
                               "(deceased_on is null or deceased_on > :e)", e=end)
        held = scalar(engine, "select count(distinct resident_id) from contract where start_on <= :e and "
                              "((stop_on is null and end_on >= :e) or stop_on > :e)", e=end)
        assert abs(held / alive - 0.48) < 0.01
    # Renewals chain: each successor names its predecessor, which stopped the day it started.
    assert scalar(engine, "select count(*) from contract n join contract o on o.id = n.predecessor_id "
                          "where o.stop_on <> n.start_on or o.status <> 'renewed'") == 0
    # At most one contract in force per resident on any year's end.
    assert scalar(engine, "select count(*) from (select resident_id from contract where start_on <= '2027-12-31' "
                          "and ((stop_on is null and end_on >= '2027-12-31') or stop_on > '2027-12-31') "
                          "group by resident_id having count(*) > 1) x") == 0


def test_prevalences_hold(county: tuple[Engine, list[dict[str, Any]]]) -> None:
    engine, _ = county
    r = get_preset(PRESET).rates
    end = date(2027, 12, 31)
    adult_born = date(2027 - 18, 12, 31)
    adults = scalar(engine, "select count(*) from resident where birth_date <= :b and "
                            "(deceased_on is null or deceased_on > :e)", b=adult_born, e=end)
    for code, rate in (("hypertension", r.hypertension_adult), ("t2dm", r.t2dm_adult)):
        n = scalar(engine, "select count(distinct k.resident_id) from key_population k join resident r "
                           "on r.id = k.resident_id where k.code = :c and r.birth_date <= :b and "
                           "(r.deceased_on is null or r.deceased_on > :e) and k.since <= :e", c=code, b=adult_born,
                   e=end)
        assert abs(n / adults - rate) < 0.01, code
    # Deliveries and pregnancies go on: the appended years have deliveries of their own.
    assert scalar(engine, "select count(*) from encounter where kind = 'inpatient' and end_date >= '2027-01-01' "
                          "and age_days is not null and age_days <= 28") > 0


def test_calibration_targets_still_met(county: tuple[Engine, list[dict[str, Any]]]) -> None:
    engine, summaries = county
    preset = get_preset(PRESET)
    for s in summaries[1:]:
        assert all(t["ok"] for t in s["targets"]), s["targets"]
        values = indicator_values(engine, preset.county_code, int(s["year"]))
        for t in preset.targets:
            assert values[t.code] >= t.target - t.tolerance, t.code


def test_newborns_have_valid_unique_id_numbers(county: tuple[Engine, list[dict[str, Any]]]) -> None:
    engine, _ = county
    c = cipher()
    newborns = rows(engine, "select id_hash, id_cipher, sex, birth_date from resident where birth_date >= "
                            "'2026-01-01'")
    assert len(newborns) > 20
    numbers = set()
    for id_hash, id_cipher, sex, birth in newborns:
        number = c.decrypt(id_cipher)
        idn = parse_id_number(number, today=date(2027, 12, 31))
        assert int(idn.sex) == sex and idn.birth_date.isoformat() == str(birth)[:10]
        assert c.lookup_hash(number) == id_hash
        numbers.add(number)
    assert len(numbers) == len(newborns)
    assert scalar(engine, "select count(*) from (select id_hash from resident group by id_hash "
                          "having count(*) > 1) x") == 0
    # Newborns are insured, registered, and seen.
    assert scalar(engine, "select count(*) from resident r where r.birth_date >= '2026-01-01' and not exists "
                          "(select 1 from care_relationship c where c.resident_id = r.id and c.kind = 'registered')"
                  ) == 0


def test_linked_out_of_county_stays_are_resettled_as_referred(county: tuple[Engine, list[dict[str, Any]]]) -> None:
    engine, summaries = county
    linked = rows(engine, "select s.place, s.total_cost, s.fund_paid, s.patient_paid, s.deductible, s.ratio "
                          "from encounter e join settlement s on s.encounter_id = e.id "
                          "where e.referral_episode_id is not null and s.in_county = :f", f=False)
    assert len(linked) == sum(s["resettled"] for s in summaries) > 30
    money = get_preset(PRESET).money
    for place, total, fund, patient, deductible, ratio in linked:
        assert place == "out_of_county"
        assert Decimal(str(fund)) + Decimal(str(patient)) == Decimal(str(total)).quantize(Decimal("0.01"))
        assert Decimal(str(ratio)) == Decimal(money.inpatient_ratio[2])
        assert Decimal(str(deductible)) <= Decimal(money.inpatient_deductible[2])
    # Unlinked ones keep the unreferred place.
    assert scalar(engine, "select count(*) from encounter e join settlement s on s.encounter_id = e.id "
                          "where e.referral_episode_id is null and s.in_county = :f and e.kind = 'inpatient' "
                          "and s.place <> 'out_of_county_unreferred'", f=False) == 0


# ---- determinism and refusals ------------------------------------------------------------------------------


@pytest.fixture()
def second_db() -> Iterator[str]:
    db = ThrowawayDatabase("append2")
    try:
        yield db.create()
    finally:
        db.drop()


def _full_hash(engine: Engine) -> str:
    h = hashlib.sha256(data_hash(engine).encode())
    for sql in ("select id, deceased_on from resident order by id",
                "select id, resident_id, team_id, status, start_on, end_on, stop_on, predecessor_id, "
                "termination_reason from contract order by id",
                "select resident_id, code, since, until from key_population order by id"):
        for row in rows(engine, sql):
            h.update(repr(tuple(str(v)[:10] if v is not None else "" for v in row)).encode())
    return h.hexdigest()


def test_same_commands_give_the_same_data(committed_db: str, second_db: str) -> None:
    for url in (committed_db, second_db):
        generate(url, "qidong-2016", 1200, seed=3)
        append(url)
    a, b = make_engine(committed_db), make_engine(second_db)
    try:
        assert _full_hash(a) == _full_hash(b)
        assert scalar(a, "select count(*) from encounter where start_date >= '2017-01-01'") > 0
    finally:
        a.dispose()
        b.dispose()


def _counts(engine: Engine) -> tuple[int, ...]:
    return tuple(scalar(engine, f"select count(*) from {t}") for t in
                 ("resident", "encounter", "contract", "simulation_run", "key_population", "referral_episode"))


def test_refusals_leave_the_data_alone(committed_db: str) -> None:
    engine = make_engine(committed_db)
    try:
        # A database never simulated: names the command without --append.
        with pytest.raises(Conflict) as exc:
            append(committed_db)
        assert exc.value.code == "simulate_append_empty" and "不带 --append" in exc.value.message
        assert _counts(engine) == (0, 0, 0, 0, 0, 0)
        generate(committed_db, "tianchang-2016", 500, seed=9)
        before = _counts(engine)
        # Another year than the next one.
        for year in (2016, 2018, 2030):
            with pytest.raises(ValidationFailed) as vexc:
                append(committed_db, year=year)
            assert vexc.value.code == "simulate_append_year" and "2017" in vexc.value.message
        # --residents: the population is the network's.
        with pytest.raises(ValidationFailed) as vexc:
            append(committed_db, residents=800)
        assert vexc.value.code == "simulate_append_residents"
        result = CliRunner().invoke(app, ["county", "--append", "--residents", "800", "--database", committed_db,
                                          "--quiet"])
        assert result.exit_code == 2 and "simulate_append_residents" in result.output
        result = CliRunner().invoke(app, ["county", "--append", "--preset", "nowhere", "--database", committed_db,
                                          "--quiet"])
        assert result.exit_code == 2 and "simulate_unknown_preset" in result.output
        assert _counts(engine) == before
        # The next year is accepted; then another preset changes the care pattern, not the network.
        result = CliRunner().invoke(app, ["county", "--append", "--year", "2017", "--database", committed_db,
                                          "--quiet"])
        assert result.exit_code == 0, result.output
        institutions = scalar(engine, "select count(*) from institution")
        summary = append(committed_db, preset="qidong-2016")
        assert summary["year"] == 2018 and summary["preset"] == "qidong-2016" and summary["seed"] == 9
        assert scalar(engine, "select count(*) from institution") == institutions
        assert scalar(engine, "select count(distinct substr(address_division_code, 1, 6)) from resident") == 1
        assert rows(engine, "select preset, year from simulation_run order by id") == [
            ("tianchang-2016", 2016), ("tianchang-2016", 2017), ("qidong-2016", 2018)]
    finally:
        engine.dispose()
