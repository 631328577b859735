"""``simulate county`` end to end on a small county: invariants, population, determinism, refusals."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from simulation_world import data_hash, generate, rows, scalar
from sqlalchemy import Engine
from typer.testing import CliRunner

from dbkit import ThrowawayDatabase
from yilian.core.errors import ConfigurationError, Conflict
from yilian.db.session import make_engine
from yilian.residents.crypto import cipher
from yilian.residents.idcard import mask_id_number, parse_id_number
from yilian.simulation.cli import app

RESIDENTS = 4000
YEAR = 2025


@pytest.fixture(scope="module")
def county() -> Iterator[tuple[Engine, dict[str, object]]]:
    """One generated county shared by the read-only checks below (a committed throwaway database)."""
    db = ThrowawayDatabase("simcounty")
    url = db.create()
    engine = make_engine(url)
    try:
        yield engine, generate(url, "target-2025", RESIDENTS, seed=11)
    finally:
        engine.dispose()
        db.drop()


@pytest.fixture()
def second_db() -> Iterator[str]:
    db = ThrowawayDatabase("committed2")
    try:
        yield db.create()
    finally:
        db.drop()


def _money(v: object) -> Decimal:
    return Decimal(str(v)).quantize(Decimal("0.01"))


def test_structure_scales_and_follows_the_preset(county: tuple[Engine, dict[str, object]]) -> None:
    engine, _ = county
    towns = rows(engine, "select code from institution where category in ('C210', 'C220') order by code")
    assert len(towns) == 3  # at least three townships, one per community
    villages = rows(engine, "select parent_id, count(*) from institution where category = 'D600' group by parent_id")
    assert all(2 <= n <= 20 for _, n in villages) and len(villages) == 3
    out = rows(engine, "select level, division_code from institution where in_county = :f", f=False)
    assert len(out) == 4 and all(level == "3" and not div.startswith("530322") for level, div in out)
    communities = rows(engine, "select c.type, i.code from consortium c join consortium_membership m "
                               "on m.consortium_id = c.id and m.role = 'lead' join institution i on i.id = "
                               "m.institution_id order by c.type")
    assert [t for t, _ in communities] == ["general", "mch", "tcm"]
    townships = rows(engine, "select code, parent_code from division where level = 'township'")
    assert all(len(c) == 9 and c.startswith("530322") and p == "530322" for c, p in townships)
    assert scalar(engine, "select count(*) from practitioner") > 100
    assert scalar(engine, "select count(*) from practice_site where basis = 'consortium'") > 0


def test_residents_have_valid_unique_protected_id_numbers(county: tuple[Engine, dict[str, object]]) -> None:
    engine, _ = county
    c = cipher()
    seen = set()
    for id_hash, id_cipher, id_masked, sex, birth in rows(
            engine, "select id_hash, id_cipher, id_masked, sex, birth_date from resident"):
        number = c.decrypt(id_cipher)
        idn = parse_id_number(number, today=date(YEAR, 12, 31))  # valid check digit, date, division
        assert int(idn.sex) == sex and idn.birth_date.isoformat() == str(birth)[:10]
        assert c.lookup_hash(number) == id_hash and id_masked == mask_id_number(number)
        assert number not in seen
        seen.add(number)
    assert len(seen) == RESIDENTS
    # Nothing in clear: no column holds an 18-character ID number.
    assert scalar(engine, "select count(*) from resident "
                          "where length(id_masked) = 18 and id_masked not like '%*%'") == 0


def test_population_matches_the_census_and_prevalences(county: tuple[Engine, dict[str, object]]) -> None:
    engine, _ = county
    ref = date(YEAR, 12, 31)
    ages, sexes = [], Counter()
    for birth, sex in rows(engine, "select birth_date, sex from resident"):
        b = birth if isinstance(birth, date) else date.fromisoformat(str(birth)[:10])
        ages.append(ref.year - b.year - ((ref.month, ref.day) < (b.month, b.day)))
        sexes[sex] += 1
    n = len(ages)
    assert abs(sum(a <= 14 for a in ages) / n - 0.18) < 0.02
    assert abs(sum(a >= 60 for a in ages) / n - 0.19) < 0.02
    assert abs(sum(a >= 65 for a in ages) / n - 0.135) < 0.02
    assert abs(sexes[1] / sexes[2] - 1.05) < 0.1
    adults = {rid for rid, b in rows(engine, "select id, birth_date from resident")
              if ref.year - int(str(b)[:4]) >= 18}  # ages on 31 December
    for code, target, tol in (("hypertension", 0.27, 0.025), ("t2dm", 0.11, 0.02)):
        having = {r for (r,) in rows(engine, "select resident_id from key_population where code = :c", c=code)}
        assert having <= {r for (r,) in rows(engine, "select id from resident")}
        assert abs(len(having & adults) / len(adults) - target) < tol, code
    schemes = Counter(s for (s,) in rows(engine, "select scheme from insurance_enrolment"))
    assert abs(schemes["resident"] / n - 0.82) < 0.025 and abs(schemes["employee"] / n - 0.15) < 0.025
    assert abs(1 - (schemes["resident"] + schemes["employee"]) / n - 0.03) < 0.015
    registered = scalar(engine, "select count(distinct resident_id) from care_relationship where kind = 'registered'")
    assert registered == n


def test_encounters_settlements_and_codes_hold_together(county: tuple[Engine, dict[str, object]]) -> None:
    engine, summary = county
    assert scalar(engine, "select count(*) from encounter e left join resident r on r.id = e.resident_id "
                          "left join institution i on i.id = e.institution_id where r.id is null or i.id is null") == 0
    assert scalar(engine, "select count(*) from encounter e left join settlement s on s.encounter_id = e.id "
                          "where s.encounter_id is null") == 0
    for r in rows(engine, "select total_cost, cost_drugs, cost_exams, cost_treatment, cost_materials, cost_beds, "
                          "cost_other, fund_paid, patient_paid, policy_cost from settlement"):
        total = _money(r[0])
        assert sum(_money(x) for x in r[1:7]) == total
        assert _money(r[7]) + _money(r[8]) == total
        assert Decimal(0) <= _money(r[9]) <= total and _money(r[7]) >= 0
    visits = scalar(engine, "select count(*) from encounter where kind <> 'inpatient'")
    stays = scalar(engine, "select count(*) from encounter where kind = 'inpatient'")
    assert 5.4 < visits / RESIDENTS < 6.6
    assert 0.16 < stays / RESIDENTS < 0.22
    # Out-of-county care arrives as the bureau's claims, and only for insured residents.
    claims = rows(engine, "select e.source_system, s.source, s.in_county, s.scheme from encounter e "
                          "join settlement s on s.encounter_id = e.id join institution i on i.id = e.institution_id "
                          "where i.in_county = :f", f=False)
    assert claims and all(c[0] == "YB-CLAIMS" and c[1] == "insurance" and not c[2] and c[3] != "self_pay"
                          for c in claims)
    out_visits = scalar(engine, "select count(*) from encounter e join institution i on i.id = e.institution_id "
                                "where i.in_county = :f and e.kind <> 'inpatient'", f=False)
    assert 0.015 < out_visits / visits < 0.045
    assert scalar(engine, "select count(*) from encounter where source_system like 'HIS-%'") == (
        visits + stays - len(claims))
    # Infants carry age in days, newborns a birth weight; nobody is treated before birth.
    for age_years, age_days, weight in rows(engine, "select age_years, age_days, birth_weight_g from encounter "
                                                    "where kind = 'inpatient'"):
        assert (age_days is not None) == (age_years == 0)
        assert (weight is not None) == (age_days is not None and age_days <= 28)
    assert scalar(engine, "select count(*) from encounter e join resident r on r.id = e.resident_id "
                          "where e.start_date < r.birth_date") == 0
    treated = scalar(engine, "select count(*) from care_relationship where kind = 'treated'")
    assert treated == scalar(engine, "select count(*) from (select distinct resident_id, institution_id "
                                     "from encounter) t")
    assert scalar(engine, "select count(*) from simulation_run") == 1
    counts = summary["row_counts"]
    assert isinstance(counts, dict) and counts["encounter"] == visits + stays


@pytest.mark.oracle
def test_stays_group_with_the_chs_drg_pack(county: tuple[Engine, dict[str, object]]) -> None:
    from yilian.payment.drg.case import DrgCase
    from yilian.payment.drg.grouper import load_grouper
    from yilian.simulation.codes import resolve_rules

    pack = resolve_rules(None, None)
    if pack is None:
        pytest.skip("the shared CHS-DRG 1.1 pack is not present")
    engine, summary = county
    assert str(summary["code_source"]).startswith("CHS-DRG pack")
    grouper = load_grouper(pack)
    statuses = Counter()
    for dx, procs, ay, ad, bw, sex in rows(
            engine, "select e.diagnoses, e.procedures, e.age_years, e.age_days, e.birth_weight_g, r.sex "
                    "from encounter e join resident r on r.id = e.resident_id where e.kind = 'inpatient'"):
        case = DrgCase(sex=sex, age_years=ay, diagnoses=tuple(dx.split("|")),
                       procedures=tuple(procs.split("|")) if procs else (), age_days=ad, birth_weight_g=bw)
        statuses[str(grouper.group(case).status)] += 1
    assert statuses["grouped"] / sum(statuses.values()) > 0.98


def test_same_seed_gives_the_same_rows(committed_db: str, second_db: str) -> None:
    generate(committed_db, "qidong-2016", 1500, seed=3)
    generate(second_db, "qidong-2016", 1500, seed=3)
    a, b = make_engine(committed_db), make_engine(second_db)
    try:
        assert data_hash(a) == data_hash(b)
    finally:
        a.dispose()
        b.dispose()


def test_another_seed_gives_other_rows(committed_db: str, second_db: str) -> None:
    generate(committed_db, "qidong-2016", 500, seed=3)
    generate(second_db, "qidong-2016", 500, seed=4)
    a, b = make_engine(committed_db), make_engine(second_db)
    try:
        assert data_hash(a) != data_hash(b)
    finally:
        a.dispose()
        b.dispose()


def test_built_in_code_list_without_a_pack(committed_db: str) -> None:
    summary = generate(committed_db, "tianchang-2016", 800, builtin_codes=True)
    assert summary["code_source"] == "builtin"
    engine = make_engine(committed_db)
    try:
        assert scalar(engine, "select count(*) from encounter where kind = 'inpatient'") > 50
    finally:
        engine.dispose()


def test_a_database_with_a_network_is_refused_and_left_alone(committed_db: str) -> None:
    generate(committed_db, "target-2025", 300)
    engine = make_engine(committed_db)
    try:
        before = scalar(engine, "select count(*) from encounter")
        with pytest.raises(Conflict) as exc:
            generate(committed_db, "target-2025", 300)
        assert exc.value.code == "simulate_database_not_empty" and "--append" in exc.value.message
        assert scalar(engine, "select count(*) from encounter") == before
        assert scalar(engine, "select count(*) from simulation_run") == 1
    finally:
        engine.dispose()


def test_an_unmigrated_database_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as exc:
        generate(f"sqlite:///{tmp_path / 'empty.db'}", "target-2025", 300)
    assert exc.value.code == "simulate_db_not_migrated" and "yilian db upgrade" in exc.value.message


def test_cli_prints_the_summary_as_json_on_stdout(committed_db: str) -> None:
    result = CliRunner().invoke(app, ["county", "--preset", "qidong-2016", "--residents", "600", "--seed", "5",
                                      "--database", committed_db, "--quiet"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["preset"] == "qidong-2016" and summary["year"] == 2016 and summary["residents"] == 600
    assert {t["code"] for t in summary["targets"]} == {"primary_visit_share", "primary_inpatient_share",
                                                        "county_retention_inpatient"}
    stages = [s["stage"] for s in summary["stages"]]
    assert stages[0] == "structure" and stages.index("population") < stages.index("care") < stages.index("treated")


def test_unknown_preset_is_refused(committed_db: str) -> None:
    result = CliRunner().invoke(app, ["county", "--preset", "nowhere", "--database", committed_db, "--quiet"])
    assert result.exit_code == 2 and "simulate_unknown_preset" in result.output


def test_deferred_indexes_are_back_after_the_run(county: tuple[Engine, dict[str, object]], second_db: str) -> None:
    from sqlalchemy import inspect

    from yilian.simulation.indexes import TABLES

    engine, summary = county
    stages = [s["stage"] for s in summary["stages"]]  # type: ignore[attr-defined]
    assert stages.index("indexes_off") < stages.index("population") < stages.index("indexes_on")
    fresh = make_engine(second_db)
    try:
        for table in TABLES:
            got = {(i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in inspect(engine).get_indexes(table)}
            want = {(i["name"], tuple(i["column_names"]), bool(i["unique"])) for i in inspect(fresh).get_indexes(table)}
            assert got == want and want, table
    finally:
        fresh.dispose()
