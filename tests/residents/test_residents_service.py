"""The master patient index through its service: registration, privacy, scope, audit, records."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from residents_world import OTHER_TOWNSHIP, TOWNSHIP, counts, no_id, number, register, world
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from yilian.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yilian.core.paging import PageRequest
from yilian.db.models import AuditLog, CareRelationship, InsuranceEnrolment, Resident
from yilian.residents import repository, service
from yilian.residents.crypto import cipher
from yilian.residents.idcard import mask_id_number
from yilian.residents.schemas import EnrolmentIn

PAGE = PageRequest(1, 20)


def _row_text(session: Session, table: str, where: str, **params: object) -> str:
    """Every column of the matching rows, as the database hands them back, joined into one string."""
    rows = session.execute(text(f"SELECT * FROM {table} WHERE {where}"), params).all()
    assert rows, f"no {table} rows"
    return " | ".join(str(v) for row in rows for v in row)


# ---- registration and privacy -------------------------------------------------------------


def test_id_number_never_stored_or_audited_in_clear(session: Session) -> None:
    w = world(session)
    raw = number(date(1987, 6, 15), seq=34, sex=2)
    r, created = register(session, w.clin_a, id_number=raw, name="赵敏", phone="13812345678",
                          address_division_code=TOWNSHIP, address_detail="幸福路8号")
    assert created
    session.flush()
    birth_digits = raw[6:14]  # "19870615": the number's birth-date part, as it appears in the number
    resident_row = _row_text(session, "resident", "id = :id", id=r.id)
    audit_rows = _row_text(session, "audit_log", "1 = 1")  # every row, not only the resident's
    for stored in (resident_row, audit_rows):
        for secret in (raw, birth_digits, raw[:14], "13812345678", "幸福路8号"):
            assert secret not in stored
    assert r.id_masked == mask_id_number(raw) and r.id_masked.count("*") == 10
    assert r.id_masked in resident_row  # the masked form is what people see
    assert r.id_hash == cipher().lookup_hash(raw)
    assert r.id_cipher is not None and cipher().decrypt(r.id_cipher) == raw
    assert r.phone_masked == "138****5678"
    assert (r.birth_date, r.sex) == (date(1987, 6, 15), 2)  # taken from the number


def test_same_number_twice_gives_the_same_resident(session: Session) -> None:
    w = world(session)
    raw = number()
    first, created1 = register(session, w.clin_a, id_number=raw)
    before = counts(session)
    # Typed again with full-width digits by a Chinese input method: still the same person.
    full_width = raw.translate({ord(c): 0xFF10 + int(c) for c in "0123456789"})
    again, created2 = register(session, w.clin_a, id_number=full_width)
    assert created1 and not created2 and again.id == first.id
    same_hash = select(func.count()).select_from(Resident).where(Resident.id_hash == first.id_hash)
    assert session.scalar(same_hash) == 1
    assert counts(session)[:2] == before[:2]  # no new resident, no new relationship


def test_second_institution_gets_a_relationship_not_a_duplicate(session: Session) -> None:
    w = world(session)
    raw = number()
    r, _ = register(session, w.clin_a, id_number=raw)
    with pytest.raises(Forbidden):
        service.get_resident(session, w.clin_b, r.id)
    same, created = register(session, w.clin_b, id_number=raw)
    assert not created and same.id == r.id
    assert service.get_resident(session, w.clin_b, r.id).id == r.id
    rels = session.scalars(select(CareRelationship).where(CareRelationship.resident_id == r.id)).all()
    assert sorted((x.institution_id, x.kind) for x in rels) == sorted(
        [(w.inst_a.id, "registered"), (w.inst_b.id, "registered")])


def test_number_registered_concurrently_answers_with_the_first_row(session: Session,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    w = world(session)
    raw = number()
    first, _ = register(session, w.clin_a, id_number=raw)
    real_lookup = repository.resident_by_hash
    lookups: list[str] = []

    def lookup_before_the_other_commit(s: Session, id_hash: str) -> Resident | None:
        # The first lookup behaves as if it ran before the other request committed its row.
        lookups.append(id_hash)
        return None if len(lookups) == 1 else real_lookup(s, id_hash)

    monkeypatch.setattr(repository, "resident_by_hash", lookup_before_the_other_commit)
    again, created = register(session, w.clin_b, id_number=raw)
    assert not created and again.id == first.id and len(lookups) == 2
    assert session.scalar(select(func.count()).select_from(Resident)) == 1
    related = select(CareRelationship.institution_id).where(CareRelationship.resident_id == first.id)
    institutions = session.scalars(related)
    assert sorted(institutions) == sorted([w.inst_a.id, w.inst_b.id])


@pytest.mark.parametrize(("bad", "code"), [
    (lambda n: n[:17] + ("0" if n[17] != "0" else "1"), "id_number_checksum"),
    (lambda n: n[:17], "id_number_length"),
    (lambda n: n[:6] + "19900230" + n[14:], "id_number_birth_date"),
    (lambda n: "71" + n[2:], "id_number_division"),
    (lambda n: n[:5] + "A" + n[6:], "id_number_chars"),
])
def test_invalid_number_refused_and_nothing_written(session: Session, bad, code: str) -> None:  # type: ignore[no-untyped-def]
    w = world(session)
    before = counts(session)
    with pytest.raises(ValidationFailed) as info:
        register(session, w.clin_a, id_number=bad(number()))
    assert info.value.code == code
    assert counts(session) == before


@pytest.mark.parametrize(("fields", "code"), [
    ({"birth_date": date(1990, 1, 2)}, "id_number_birth_mismatch"),
    ({"sex": 2}, "id_number_sex_mismatch"),
])
def test_birth_date_or_sex_contradicting_the_number_refused(session: Session, fields: dict[str, object],
                                                            code: str) -> None:
    w = world(session)
    before = counts(session)
    with pytest.raises(ValidationFailed) as info:
        register(session, w.clin_a, id_number=number(date(1990, 1, 1), sex=1), **fields)
    assert info.value.code == code
    assert counts(session) == before


def test_known_number_under_another_name_refused(session: Session) -> None:
    w = world(session)
    raw = number()
    register(session, w.clin_a, id_number=raw, name="王小明")
    before = counts(session)
    with pytest.raises(Conflict) as info:
        register(session, w.clin_b, id_number=raw, name="王晓明")
    assert info.value.code == "id_number_name_mismatch" and "王小明" not in info.value.message
    assert counts(session) == before  # in particular no relationship for institution B


OLD = date(1950, 1, 1)


@pytest.mark.parametrize(("fields", "code"), [
    ({"sex": 1, "birth_date": OLD}, "township_required"),
    ({"sex": 1, "birth_date": OLD, "address_division_code": "320102"}, "township_required"),
    ({"sex": 1, "birth_date": OLD, "address_division_code": "320102999"}, "division_not_found"),
    ({"birth_date": OLD, "address_division_code": TOWNSHIP}, "sex_invalid"),
    ({"sex": 1, "address_division_code": TOWNSHIP}, "birth_date_required"),
    ({"sex": 1, "birth_date": date(2999, 1, 1), "address_division_code": TOWNSHIP}, "birth_date_invalid"),
    ({"name": " ", "sex": 1, "birth_date": OLD, "address_division_code": TOWNSHIP}, "name_required"),
])
def test_without_number_name_sex_birth_and_township_required(session: Session, fields: dict[str, object],
                                                             code: str) -> None:
    w = world(session)
    with pytest.raises(ValidationFailed) as info:
        register(session, w.clin_a, **fields)
    assert info.value.code == code


def test_where_a_resident_is_registered(session: Session) -> None:
    w = world(session)
    with pytest.raises(ValidationFailed) as info:
        register(session, w.admin, id_number=number())
    assert info.value.code == "institution_required"
    with pytest.raises(Forbidden) as refused:
        register(session, w.clin_a, institution_id=w.inst_b.id, id_number=number())
    assert refused.value.code == "institution_out_of_scope"
    with pytest.raises(Forbidden) as denied:
        register(session, w.pharm_a, id_number=number())
    assert denied.value.code == "permission_denied"
    r, _ = register(session, w.admin, institution_id=w.inst_b.id, id_number=number())
    record = service.get_resident(session, w.clin_b, r.id)
    assert record.care_relationships[0].institution_name == "和平镇卫生院"


# ---- scope, search, audited reads ---------------------------------------------------------


def test_clinician_refused_for_resident_out_of_scope(session: Session) -> None:
    w = world(session)
    raw = number()
    r, _ = register(session, w.clin_a, id_number=raw, name="钱多多")
    for call in (lambda: service.get_resident(session, w.clin_b, r.id),
                 lambda: service.reveal_id_number(session, w.clin_b, r.id),
                 lambda: service.do_record_key_population(session, w.clin_b, r.id, "t2dm", date(2024, 1, 1))):
        with pytest.raises(Forbidden) as info:
            call()
        assert info.value.code == "resident_out_of_scope"
    # Lists are filtered in the database: neither the name nor the number finds them.
    assert service.search_residents(session, w.clin_b, "钱多多", PAGE).total == 0
    assert service.search_residents(session, w.clin_b, raw, PAGE).items == []
    # A missing id is refused the same way as an existing one, so ids reveal nothing.
    with pytest.raises(Forbidden):
        service.get_resident(session, w.clin_b, r.id + 10_000)


def test_every_read_of_a_record_is_audited(session: Session) -> None:
    w = world(session)
    r, _ = register(session, w.clin_a, id_number=number())

    def reads() -> int:
        mine = (AuditLog.action == "read", AuditLog.resident_id == r.id,
                AuditLog.actor_user_id == w.clin_a_user.id)
        stmt = select(func.count()).select_from(AuditLog).where(*mine)
        return session.scalar(stmt) or 0

    before = reads()
    service.get_resident(session, w.pharm_a, r.id)  # another reader, another row (checked below)
    service.get_resident(session, w.clin_a, r.id)
    service.get_resident(session, w.clin_a, r.id)
    assert reads() == before + 2
    pharm = select(AuditLog).where(AuditLog.action == "read", AuditLog.actor_user_id == w.pharm_a_user.id)
    assert session.scalar(pharm) is not None


def test_search_by_name_part_or_full_number(session: Session) -> None:
    w = world(session)
    raw = number()
    r, _ = register(session, w.clin_a, id_number=raw, name="欧阳娜娜")
    no_id(session, w.clin_a, name="欧阳修")
    by_name = service.search_residents(session, w.clin_a, "欧阳", PAGE).items
    assert {x.name for x in by_name} == {"欧阳娜娜", "欧阳修"}
    found = service.search_residents(session, w.clin_a, raw.lower(), PAGE).items
    assert [x.id for x in found] == [r.id] and found[0].id_masked == mask_id_number(raw)
    assert service.search_residents(session, w.clin_a, "%", PAGE).total == 0  # a character, not a wildcard
    with pytest.raises(ValidationFailed) as info:
        service.search_residents(session, w.clin_a, raw[:10], PAGE)
    assert info.value.code == "id_number_length"
    hit = select(AuditLog).where(AuditLog.action == "read", AuditLog.resident_id == r.id,
                                 AuditLog.detail == "按身份证号码查找")
    assert session.scalar(hit) is not None


def test_reveal_for_clinician_in_scope_and_audited(session: Session) -> None:
    w = world(session)
    raw = number()
    r, _ = register(session, w.clin_a, id_number=raw)
    assert service.reveal_id_number(session, w.clin_a, r.id, "核对医保卡") == raw
    row = session.scalar(select(AuditLog).where(AuditLog.action == "reveal", AuditLog.resident_id == r.id))
    assert row is not None and row.detail == "显示完整身份证号码：核对医保卡" and raw not in str(row.after)
    with pytest.raises(Forbidden) as info:
        service.reveal_id_number(session, w.pharm_a, r.id)
    assert info.value.code == "id_reveal_not_allowed"
    assert service.reveal_id_number(session, w.admin, r.id) == raw
    nobody = no_id(session, w.clin_a)
    with pytest.raises(NotFound) as absent:
        service.reveal_id_number(session, w.clin_a, nobody.id)
    assert absent.value.code == "id_number_absent"


def test_record_shows_address_and_derived_populations(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "today_local", lambda: date(2024, 5, 1))
    w = world(session)
    turning_65, _ = register(session, w.clin_a, id_number=number(date(1959, 5, 1)),
                             address_division_code=TOWNSHIP, address_detail="幸福路8号")
    not_yet_65, _ = register(session, w.clin_a, id_number=number(date(1959, 5, 2), seq=56))
    turning_7 = no_id(session, w.clin_a, name="小红", born=date(2017, 5, 1))
    still_6 = no_id(session, w.clin_a, name="小兰", born=date(2017, 5, 2))
    record = service.get_resident(session, w.clin_a, turning_65.id)
    assert record.derived_key_populations == ["elderly_65"] and record.age == 65
    assert record.address_division_name == "幸福街道" and record.address_detail == "幸福路8号"
    assert service.get_resident(session, w.clin_a, not_yet_65.id).derived_key_populations == []
    assert service.get_resident(session, w.clin_a, turning_7.id).derived_key_populations == []
    assert service.get_resident(session, w.clin_a, still_6.id).derived_key_populations == ["child_0_6"]


# ---- enrolments and key populations ------------------------------------------------------


def test_enrolment_overlap_refused(session: Session) -> None:
    w = world(session)
    r, _ = register(session, w.clin_a, id_number=number())
    year = EnrolmentIn(scheme="resident", insured_division_code="320102", start_on=date(2024, 1, 1),
                       end_on=date(2024, 12, 31))
    service.do_add_enrolment(session, w.clin_a, r.id, year)
    before = session.scalar(select(func.count()).select_from(InsuranceEnrolment))
    overlapping = year.model_copy(update={"start_on": date(2024, 7, 1), "end_on": None})
    with pytest.raises(Conflict) as info:
        service.do_add_enrolment(session, w.clin_a, r.id, overlapping)
    assert info.value.code == "enrolment_overlap"
    assert session.scalar(select(func.count()).select_from(InsuranceEnrolment)) == before
    # The next year, or the other scheme in the same year, is fine.
    service.do_add_enrolment(session, w.clin_a, r.id, year.model_copy(update={"start_on": date(2025, 1, 1),
                                                                             "end_on": None}))
    service.do_add_enrolment(session, w.clin_a, r.id, year.model_copy(update={"scheme": "employee"}))
    assert [e.scheme for e in service.get_resident(session, w.clin_a, r.id).enrolments] == [
        "resident", "employee", "resident"]
    with pytest.raises(ValidationFailed) as bad:
        unknown = year.model_copy(update={"insured_division_code": "999999"})
        service.do_add_enrolment(session, w.clin_a, r.id, unknown)
    assert bad.value.code == "division_not_found"
    assert session.scalar(select(AuditLog).where(AuditLog.entity == "insurance_enrolment")) is not None


def test_key_populations_recorded_once_and_ended(session: Session) -> None:
    w = world(session)
    r, _ = register(session, w.clin_a, id_number=number(sex=1))
    kp, created = service.do_record_key_population(session, w.clin_a, r.id, "hypertension", date(2020, 3, 1))
    again, created_again = service.do_record_key_population(session, w.clin_a, r.id, "hypertension",
                                                            date(2023, 1, 1))
    assert created and not created_again and again.id == kp.id
    for code, expected in (("elderly_65", "key_population_derived"),
                           ("pregnant", "key_population_sex_mismatch"),
                           ("gout", "key_population_unknown")):
        with pytest.raises(ValidationFailed) as info:
            service.do_record_key_population(session, w.clin_a, r.id, code, date(2024, 1, 1))
        assert info.value.code == expected
    ended = service.do_end_key_population(session, w.clin_a, r.id, kp.id, date(2024, 6, 30))
    assert ended.until == date(2024, 6, 30)
    update = select(AuditLog).where(AuditLog.entity == "key_population", AuditLog.action == "update")
    row = session.scalar(update)
    assert row is not None and row.before is not None and row.before["until"] is None
    assert row.after is not None and row.after["until"] == "2024-06-30"
    with pytest.raises(Conflict) as info:
        service.do_end_key_population(session, w.clin_a, r.id, kp.id, date(2024, 7, 1))
    assert info.value.code == "key_population_ended"
    # After the end, a new episode may be recorded.
    _, created_new = service.do_record_key_population(session, w.clin_a, r.id, "hypertension",
                                                      date(2024, 8, 1))
    assert created_new


# ---- care relationships (the seam) --------------------------------------------------------


def test_care_relationship_idempotent_and_decides_scope(session: Session) -> None:
    w = world(session)
    r, _ = register(session, w.clin_a, id_number=number())
    rel, created = service.do_add_care_relationship(session, w.admin, r.id, w.inst_b.id, "contracted",
                                                    date(2024, 1, 1))
    same, created_again = service.do_add_care_relationship(session, w.admin, r.id, w.inst_b.id, "contracted",
                                                           date(2024, 3, 1))
    assert created and not created_again and same.id == rel.id
    assert service.get_resident(session, w.clin_b, r.id).id == r.id
    service.do_end_care_relationship(session, w.admin, r.id, w.inst_b.id, "contracted",
                                     service.today_local() - timedelta(days=1))
    with pytest.raises(Forbidden):
        service.get_resident(session, w.clin_b, r.id)
    with pytest.raises(ValidationFailed) as info:
        service.do_add_care_relationship(session, w.admin, r.id, w.inst_b.id, "friend")
    assert info.value.code == "care_kind_unknown"


# ---- possible duplicates ------------------------------------------------------------------


def test_possible_duplicates_listed_reviewed_never_merged(session: Session) -> None:
    w = world(session)
    first = no_id(session, w.clin_a, name="孙丽", born=date(1948, 8, 8))
    second = no_id(session, w.clin_a, name="孙丽", born=date(1948, 8, 8))  # registered again, no number
    other_birth = no_id(session, w.clin_a, name="孙丽", born=date(1948, 8, 9))  # another person
    no_id(session, w.clin_a, name="孙丽", born=date(1948, 8, 8), township=OTHER_TOWNSHIP)
    # Two different valid numbers are two people, whatever their names.
    register(session, w.clin_a, id_number=number(date(1948, 8, 8), seq=2, sex=2), name="周芳",
             address_division_code=TOWNSHIP)
    register(session, w.clin_a, id_number=number(date(1948, 8, 8), seq=4, sex=2), name="周芳",
             address_division_code=TOWNSHIP)
    assert second.id != first.id  # not merged at registration

    pairs = service.list_duplicate_candidates(session, w.clin_a, PAGE)
    assert [(p.a.id, p.b.id) for p in pairs.items] == [(first.id, second.id)] and pairs.total == 1
    assert service.list_duplicate_candidates(session, w.clin_b, PAGE).total == 0  # out of scope

    with pytest.raises(ValidationFailed) as info:
        service.do_review_duplicate(session, w.clin_a, first.id, other_birth.id, "same")
    assert info.value.code == "not_duplicate_candidate"
    residents_before = session.scalar(select(func.count()).select_from(Resident))
    review = service.do_review_duplicate(session, w.clin_a, second.id, first.id, "same")
    assert (review.resident_a_id, review.resident_b_id, review.decision) == (first.id, second.id, "same")
    assert session.scalar(select(func.count()).select_from(Resident)) == residents_before
    assert session.get(Resident, first.id) is not None and session.get(Resident, second.id) is not None
    assert service.list_duplicate_candidates(session, w.clin_a, PAGE).total == 0
    steward = service.list_same_person_reviews(session, w.clin_a, PAGE)
    assert [(p.a.id, p.b.id) for p in steward.items] == [(first.id, second.id)]
    assert service.do_review_duplicate(session, w.clin_a, first.id, second.id, "same").id == review.id
    with pytest.raises(Conflict) as conflict:
        service.do_review_duplicate(session, w.clin_a, first.id, second.id, "distinct")
    assert conflict.value.code == "duplicate_already_reviewed"
    with pytest.raises(Forbidden):
        service.do_review_duplicate(session, w.clin_b, first.id, second.id, "distinct")


def test_pair_with_one_number_is_still_a_candidate(session: Session) -> None:
    w = world(session)
    with_number, _ = register(session, w.clin_a, id_number=number(date(1950, 3, 3), sex=2), name="李四",
                              address_division_code=TOWNSHIP)
    without = no_id(session, w.clin_a)
    pairs = service.list_duplicate_candidates(session, w.clin_a, PAGE).items
    assert [(p.a.id, p.b.id) for p in pairs] == [(with_number.id, without.id)]
    service.do_review_duplicate(session, w.clin_a, with_number.id, without.id, "distinct")
    assert service.list_duplicate_candidates(session, w.clin_a, PAGE).total == 0
    assert service.list_same_person_reviews(session, w.clin_a, PAGE).total == 0
