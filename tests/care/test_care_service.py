"""Ingesting one encounter through the service, and reading encounters back (scope and audit)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from care_testkit import County, counts, county, episode, payload, registered, text_of_tables
from sqlalchemy import select
from sqlalchemy.orm import Session

from builders import admin, principal
from yilian.care import service
from yilian.care.schemas import EncounterIn
from yilian.core.errors import Conflict, DomainError, Forbidden
from yilian.core.paging import PageRequest
from yilian.db.models import AuditLog, CareRelationship, Settlement
from yilian.identity.roles import Role

D = Decimal
TODAY = date(2025, 12, 31)


def ingest(session: Session, body: dict[str, Any], actor: Any = None) -> tuple[Any, bool]:
    return service.do_ingest_encounter(session, actor or admin(), EncounterIn.model_validate(body), today=TODAY)


def refusal(session: Session, body: dict[str, Any], actor: Any = None) -> DomainError:
    with pytest.raises(DomainError) as exc:
        ingest(session, body, actor)
    return exc.value


@pytest.fixture()
def c(session: Session) -> County:
    return county(session)


def test_a_stay_is_recorded_settled_related_and_audited(session: Session, c: County) -> None:
    r, number = registered(session)
    enc, created = ingest(session, payload(number, c.hospital.code, department_code="NK"))
    assert created and enc.resident_id == r.id and enc.institution_id == c.hospital.id
    assert enc.principal_dx == "I10.x00" and enc.diagnoses == "I10.x00|E11.900" and enc.los_days == 7
    assert enc.department_id is not None and enc.age_years == 64
    s = session.get(Settlement, enc.id)
    assert s is not None
    # County hospital, inpatient: deductible 500, 75 % of (5000 − 500); the rest is the patient's.
    assert (s.place, s.in_county, s.source) == ("county", True, "his")
    assert (s.deductible, s.ratio, s.fund_paid, s.patient_paid) == (D("500.00"), D("0.75"), D("3375.00"),
                                                                     D("2625.00"))
    rel = session.scalars(select(CareRelationship).where(CareRelationship.resident_id == r.id)).one()
    assert (rel.institution_id, rel.kind, rel.since) == (c.hospital.id, "treated", date(2025, 3, 1))
    rows = session.scalars(select(AuditLog).where(AuditLog.entity == "encounter")).all()
    assert [(a.action, a.resident_id) for a in rows] == [("create", r.id)]


def test_the_same_record_again_changes_nothing(session: Session, c: County) -> None:
    _, number = registered(session)
    body = payload(number, c.hospital.code)
    first, _ = ingest(session, body)
    before = counts(session)
    again, created = ingest(session, body)
    assert not created and again.id == first.id
    assert counts(session) == before
    # Amounts written differently are the same amounts.
    _same, created = ingest(session, {**body, "settlement": {**body["settlement"], "total_cost": "6000"}})
    assert not created and counts(session) == before


def test_a_changed_record_is_refused_and_nothing_changes(session: Session, c: County) -> None:
    _, number = registered(session)
    body = payload(number, c.hospital.code)
    enc, _ = ingest(session, body)
    before = counts(session)
    changed = {**body, "diagnoses": ["I10.x00"], "settlement": {**body["settlement"], "policy_cost": "4000.00"}}
    err = refusal(session, changed)
    assert isinstance(err, Conflict) and err.code == "encounter_changed"
    assert set(err.details["fields"]) == {"diagnoses", "policy_cost"}
    assert counts(session) == before
    session.refresh(enc)
    assert enc.diagnoses == "I10.x00|E11.900"
    assert session.get(Settlement, enc.id).policy_cost == D("5000.00")  # type: ignore[union-attr]


def test_a_given_split_is_stored_as_sent(session: Session, c: County) -> None:
    _, number = registered(session)
    split = {"deductible": "800.00", "ratio": "0.6", "fund_paid": "2520.00", "patient_paid": "3480.00"}
    enc, _ = ingest(session, payload(number, c.hospital.code, settlement=split))
    s = session.get(Settlement, enc.id)
    assert s is not None and (s.deductible, s.fund_paid, s.patient_paid) == (D("800.00"), D("2520.00"),
                                                                             D("3480.00"))


def test_the_deductible_runs_on_across_a_referral_episode(session: Session, c: County) -> None:
    r, number = registered(session)
    ep = episode(session, r, c.township, c.city)
    up = payload(number, c.township.code, referral_episode_id=ep, start_date="2025-03-01", end_date="2025-03-04")
    county_stay = payload(number, c.hospital.code, referral_episode_id=ep, start_date="2025-03-04",
                          end_date="2025-03-10")
    out = payload(number, c.city.code, referral_episode_id=ep, start_date="2025-03-10", end_date="2025-03-20")
    unreferred = payload(number, c.city.code, start_date="2025-05-01", end_date="2025-05-05")
    got = [session.get(Settlement, ingest(session, b)[0].id) for b in (up, county_stay, out, unreferred)]
    assert [(s.place, s.deductible) for s in got if s] == [
        ("primary", D("200.00")), ("county", D("300.00")), ("out_of_county", D("500.00")),
        ("out_of_county_unreferred", D("1000.00"))]
    assert [(s.ratio, s.source, s.in_county) for s in got[2:] if s] == [(D("0.55"), "insurance", False),
                                                                        (D("0.45"), "insurance", False)]


def test_a_referral_link_must_be_the_residents_and_approved(session: Session, c: County) -> None:
    r, number = registered(session)
    other, _ = registered(session, name="赵六")
    rejected = episode(session, r, c.hospital, c.city, approval="rejected")
    enc, _ = ingest(session, payload(number, c.city.code, referral_episode_id=rejected))
    assert session.get(Settlement, enc.id).place == "out_of_county_unreferred"  # type: ignore[union-attr]
    assert refusal(session, payload(number, c.city.code, referral_episode_id=999999)).code == \
        "referral_episode_not_found"
    theirs = episode(session, other, c.hospital, c.city)
    assert refusal(session, payload(number, c.city.code, referral_episode_id=theirs)).code == \
        "referral_episode_other_resident"


def test_cent_amounts_that_floats_cannot_add_are_stored(session: Session, c: County) -> None:
    """0.10 + 0.20 = 0.30 exactly; SQLite's float check would say otherwise."""
    _, number = registered(session)
    costs = {"total_cost": "0.30", "cost_drugs": "0.10", "cost_exams": "0.20", "cost_treatment": "0",
             "cost_materials": "0", "cost_beds": "0", "cost_other": "0", "policy_cost": "0.30",
             "deductible": "0.00", "ratio": "0.5", "fund_paid": "0.10", "patient_paid": "0.20"}
    enc, _ = ingest(session, payload(number, c.township.code, kind="outpatient", end_date=None,
                                     discharge_mode=None, settlement=costs))
    s = session.get(Settlement, enc.id)
    assert s is not None and (s.fund_paid, s.patient_paid, s.total_cost) == (D("0.10"), D("0.20"), D("0.30"))


@pytest.mark.parametrize(("change", "code"), [
    ({"institution_code": "NOPE"}, "institution_not_found"),
    ({"department_code": "WK"}, "department_not_found"),
    ({"practitioner_code": "P404"}, "practitioner_not_found"),
    ({"resident_id_number": "11010519491231002X"}, "resident_not_found"),
    ({"resident_id_number": "110105194912310022"}, "id_number_checksum"),
    ({"settlement": {"scheme": "employee"}}, "reimbursement_rules_missing"),
    ({"los_days": 3}, "los_mismatch"),
])
def test_refusals_of_one_record(session: Session, c: County, change: dict[str, Any], code: str) -> None:
    _, number = registered(session)
    before = counts(session)
    assert refusal(session, {**payload(number, c.hospital.code), **change}
                   if "institution_code" in change else payload(number, c.hospital.code, **change)).code == code
    assert counts(session) == before


def test_a_clinician_sends_only_for_their_institution(session: Session, c: County) -> None:
    _, number = registered(session)
    clinician = principal(Role.CLINICIAN, institution_id=c.township.id)
    err = refusal(session, payload(number, c.hospital.code), clinician)
    assert isinstance(err, Forbidden) and err.code == "institution_out_of_scope"
    assert ingest(session, payload(number, c.township.code), clinician)[1]
    pharmacist = principal(Role.PHARMACIST, institution_id=c.township.id)
    assert refusal(session, payload(number, c.township.code), pharmacist).code == "permission_denied"


def test_reading_a_residents_encounters_is_scoped_and_audited(session: Session, c: County) -> None:
    r, number = registered(session)
    ingest(session, payload(number, c.hospital.code))
    ingest(session, payload(number, c.township.code, kind="outpatient", start_date="2025-04-01", end_date=None,
                            discharge_mode=None))
    hospital_doctor = principal(Role.CLINICIAN, institution_id=c.hospital.id)
    page = service.list_encounters_of_resident(session, hospital_doctor, r.id, PageRequest(1, 10))
    assert page.total == 2 and [e.kind for e in page.items] == ["outpatient", "inpatient"]  # newest first
    assert page.items[1].settlement is not None and page.items[1].settlement.place == "county"
    reads = session.scalars(select(AuditLog).where(AuditLog.action == "read", AuditLog.resident_id == r.id)).all()
    assert len(reads) == 1 and "就诊" in (reads[0].detail or "")
    stranger, _ = registered(session, name="赵六")
    with pytest.raises(Forbidden) as exc:
        service.list_encounters_of_resident(session, hospital_doctor, stranger.id, PageRequest(1, 10))
    assert exc.value.code == "resident_out_of_scope"


def test_an_institutions_encounters(session: Session, c: County) -> None:
    _, number = registered(session)
    for inst in (c.hospital, c.township):
        ingest(session, payload(number, inst.code))
    doctor = principal(Role.CLINICIAN, institution_id=c.township.id)
    own = service.encounters_of_institution(session, doctor, service.EncounterFilter(), PageRequest(1, 10))
    assert [e.institution_id for e in own.items] == [c.township.id]
    with pytest.raises(Forbidden):
        service.encounters_of_institution(session, doctor, service.EncounterFilter(institution_id=c.hospital.id),
                                          PageRequest(1, 10))
    every = service.encounters_of_institution(session, admin(), service.EncounterFilter(kind="inpatient",
                                              date_from=date(2025, 3, 1), date_to=date(2025, 3, 1)),
                                              PageRequest(1, 10))
    assert every.total == 2
    for flt, code in ((service.EncounterFilter(kind="visit"), "kind_invalid"),
                      (service.EncounterFilter(date_from=date(2025, 2, 1), date_to=date(2025, 1, 1)),
                       "period_invalid")):
        with pytest.raises(DomainError) as exc:
            service.encounters_of_institution(session, admin(), flt, PageRequest(1, 10))
        assert exc.value.code == code


def test_the_id_number_is_never_stored_in_clear(session: Session, c: County) -> None:
    _, number = registered(session)
    ingest(session, payload(number, c.hospital.code))
    refusal(session, payload(number, "NOPE"))
    stored = text_of_tables(session, ("encounter", "settlement", "audit_log", "care_relationship"))
    assert number not in stored and number[-8:] not in stored
