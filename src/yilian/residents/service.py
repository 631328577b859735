"""Use cases of the master patient index: register, find, read, enrol, key populations,
care relationships and possible duplicates.

Every function takes the acting ``Principal`` and enforces the access scope itself,
so the API, the pages and the CLI cannot differ in what they allow.  Reads of a
resident's record are audited like writes.  ID numbers, phones and address details
are turned into a keyed hash, ciphertext and a masked form here, at the one door
into the database, and never travel further in clear.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from pydantic import SecretStr
from sqlalchemy import ColumnElement
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yilian.core.clock import today_local, utcnow
from yilian.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yilian.core.paging import Page, PageRequest
from yilian.db.models import CareRelationship, DuplicateReview, InsuranceEnrolment, KeyPopulation, Resident
from yilian.identity import audit
from yilian.identity.principal import Principal
from yilian.identity.roles import Perm
from yilian.identity.scope import resident_filter
from yilian.identity.service import check_resident_access, institution_scope
from yilian.residents import repository, rules
from yilian.residents.crypto import cipher
from yilian.residents.idcard import IdNumber, cross_check, mask_phone, parse_id_number
from yilian.residents.repository import ScopeFor
from yilian.residents.rules import CareKind, KeyPop, Period, Scheme
from yilian.residents.schemas import EnrolmentIn, ResidentIn

T = TypeVar("T")

# ---- what the edges receive ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResidentSummary:
    """A resident as lists show it: masked identifiers only."""

    id: int
    name: str
    sex: int
    sex_name: str
    birth_date: date
    age: int
    id_masked: str | None
    phone_masked: str | None
    address_division_code: str | None
    address_division_name: str | None
    created_at: datetime
    deceased_on: date | None  # 已故: the date of death


def _summary_fields(r: Resident, today: date, division_name: str | None) -> dict[str, Any]:
    return {
        "id": r.id, "name": r.name, "sex": r.sex, "sex_name": rules.SEX_NAMES_ZH.get(r.sex, "未知"),
        "birth_date": r.birth_date, "age": rules.age_on(r.birth_date, min(today, r.deceased_on or today)),
        "id_masked": r.id_masked, "phone_masked": r.phone_masked, "address_division_code": r.address_division_code,
        "address_division_name": division_name, "created_at": r.created_at, "deceased_on": r.deceased_on,
    }


def _summariser(session: Session, residents: Iterable[Resident]) -> Callable[[Resident], ResidentSummary]:
    """Summaries for a page of residents: one query for all their township names, ages as of today."""
    names = repository.division_names(session, {r.address_division_code for r in residents
                                                if r.address_division_code})
    today = today_local()

    def summary(r: Resident) -> ResidentSummary:
        name = names.get(r.address_division_code) if r.address_division_code else None
        return ResidentSummary(**_summary_fields(r, today, name))

    return summary


def summarise(session: Session, r: Resident) -> ResidentSummary:
    """The list form of one resident."""
    return _summariser(session, [r])(r)


@dataclass(frozen=True, slots=True)
class EnrolmentView:
    id: int
    scheme: str
    scheme_name: str
    insured_division_code: str
    start_on: date
    end_on: date | None


@dataclass(frozen=True, slots=True)
class KeyPopulationView:
    id: int
    code: str
    name: str
    since: date
    until: date | None


@dataclass(frozen=True, slots=True)
class CareRelationshipView:
    institution_id: int
    institution_name: str
    kind: str
    kind_name: str
    since: date
    until: date | None


@dataclass(frozen=True, slots=True)
class ResidentRecord(ResidentSummary):
    """The whole record, for a reader in scope; building it is an audited read."""

    address_detail: str | None
    enrolments: list[EnrolmentView]
    key_populations: list[KeyPopulationView]
    derived_key_populations: list[str]
    care_relationships: list[CareRelationshipView]


@dataclass(frozen=True, slots=True)
class DuplicatePair:
    a: ResidentSummary
    b: ResidentSummary


@dataclass(frozen=True, slots=True)
class ReviewedPair:
    a: ResidentSummary
    b: ResidentSummary
    decision: str
    reviewed_at: datetime


# ---- helpers ------------------------------------------------------------------------------


def _scope_for(session: Session, actor: Principal) -> ScopeFor:
    def scope(col: ColumnElement[int]) -> ColumnElement[bool]:
        return resident_filter(session, actor, col)

    return scope


def _page(items: list[T], total: int, page: PageRequest) -> Page[T]:
    return Page(items=items, total=total, number=page.number, size=page.size)


def _resident_or_404(session: Session, resident_id: int, *, lock: bool = False) -> Resident:
    r = (repository.resident_for_update if lock else repository.resident_by_id)(session, resident_id)
    if r is None:
        raise NotFound("居民不存在。", code="resident_not_found", resident_id=resident_id)
    return r


def _secret(value: SecretStr | None) -> str | None:
    raw = value.get_secret_value().strip() if value is not None else ""
    return raw or None


def key_population_view(kp: KeyPopulation) -> KeyPopulationView:
    return KeyPopulationView(id=kp.id, code=kp.code, name=rules.KEY_POPULATION_NAMES_ZH[KeyPop(kp.code)],
                             since=kp.since, until=kp.until)


def enrolment_view(e: InsuranceEnrolment) -> EnrolmentView:
    return EnrolmentView(id=e.id, scheme=e.scheme, scheme_name=rules.SCHEME_NAMES_ZH[Scheme(e.scheme)],
                         insured_division_code=e.insured_division_code, start_on=e.start_on, end_on=e.end_on)


def registration_institutions(session: Session, actor: Principal) -> list[tuple[int, str]]:
    """Where the actor may register residents: their own institutions; any for an admin."""
    if not actor.has(Perm.RESIDENT_WRITE):
        return []
    scope = institution_scope(session, actor, Perm.RESIDENT_WRITE)
    return repository.institution_choices(session, scope)


def _registering_institution(session: Session, actor: Principal, institution_id: int | None) -> int:
    """A clinician registers at their own institution; an admin names one (the resident must be
    related to some institution, or nobody but admins could ever see the record)."""
    scope = institution_scope(session, actor, Perm.RESIDENT_WRITE)
    if scope is None:
        if institution_id is None:
            raise ValidationFailed("系统管理员登记居民时须指定登记机构。", code="institution_required")
        if repository.institution_name(session, institution_id) is None:
            raise NotFound("登记机构不存在。", code="institution_not_found", institution_id=institution_id)
        return institution_id
    if institution_id is None:
        if len(scope) == 1:
            return next(iter(scope))
        message = "请选择登记机构。" if scope else "您的账号没有关联医疗机构，无法登记居民。"
        raise ValidationFailed(message, code="institution_required")
    if institution_id not in scope:
        raise Forbidden("只能在本人所在的医疗机构登记居民。", code="institution_out_of_scope")
    return institution_id


def _address_code(session: Session, code: str | None, *, required: bool) -> str | None:
    """The home township: required without an ID number, because name + birth date + township
    is all there is to spot the same person registered twice."""
    code = (code or "").strip() or None
    if code is None:
        if required:
            raise ValidationFailed(
                "没有身份证号码的居民须填写住址所在乡镇（街道）。", code="township_required"
            )
        return None
    div = repository.division(session, code)
    if div is None:
        raise ValidationFailed(f"行政区划代码“{code}”不存在。", code="division_not_found")
    if div.level != "township":
        raise ValidationFailed("住址须登记到乡镇（街道）一级的行政区划。", code="township_required")
    return code


def _ensure_care_relationship(
    session: Session, actor: Principal, resident_id: int, institution_id: int, kind: CareKind, since: date
) -> tuple[CareRelationship, bool]:
    # Lock the resident first: two requests relating one resident to one institution at once
    # (the same number registered twice in parallel) then check in turn, and the second sees
    # the first's row instead of adding a duplicate.
    repository.resident_for_update(session, resident_id)
    existing = repository.active_care_relationship(session, resident_id, institution_id, kind, since)
    if existing is not None:
        return existing, False
    rel = CareRelationship(resident_id=resident_id, institution_id=institution_id, kind=kind.value,
                           since=since)
    session.add(rel)
    session.flush()
    audit.record(session, actor, "create", "care_relationship", rel.id, after=audit.snapshot(rel),
                 resident_id=resident_id)
    return rel, True


# ---- registration -------------------------------------------------------------------------


def _matched(session: Session, actor: Principal, resident: Resident, name: str, institution_id: int,
             today: date) -> Resident:
    # A valid number typed under another name is more likely a typo than a renamed person;
    # attaching it would hand this institution someone else's record.  The stored name is
    # not shown: the number alone must not reveal whose it is.
    if resident.name != name:
        raise Conflict("该身份证号码已登记在另一姓名下，请核对号码和姓名。", code="id_number_name_mismatch")
    _ensure_care_relationship(session, actor, resident.id, institution_id, CareKind.REGISTERED, today)
    audit.record_read(session, actor, resident.id, "登记时按身份证号码匹配到已有档案")
    return resident


def do_register_resident(
    session: Session, actor: Principal, data: ResidentIn, institution_id: int | None = None
) -> tuple[Resident, bool]:
    """Register a resident, or return the one already registered under the same ID number.

    Returns ``(resident, created)``.  Registering also relates the resident to the
    registering institution (``registered``), which is what lets its staff see them.
    """
    actor.require(Perm.RESIDENT_WRITE)
    today = today_local()
    at = _registering_institution(session, actor, institution_id)
    name = rules.normalise_name(data.name)
    raw_id = _secret(data.id_number)
    idn: IdNumber | None = None
    id_hash: str | None = None
    if raw_id is not None:
        idn = parse_id_number(raw_id, today=today)
        cross_check(idn, data.birth_date, data.sex)
        id_hash = cipher().lookup_hash(idn.normalised)
        existing = repository.resident_by_hash(session, id_hash)
        if existing is not None:
            return _matched(session, actor, existing, name, at, today), False
        sex, birth_date = int(idn.sex), idn.birth_date
    else:
        sex = rules.check_sex(data.sex)
        birth_date = rules.check_birth_date(data.birth_date, today)
    address = _address_code(session, data.address_division_code, required=idn is None)
    phone = _secret(data.phone)
    phone = rules.normalise_phone(phone) if phone else None
    detail = rules.normalise_address_detail(_secret(data.address_detail) or "")
    pii = cipher()
    now = utcnow()
    resident = Resident(
        id_hash=id_hash,
        id_cipher=pii.encrypt(idn.normalised) if idn else None,
        id_masked=idn.masked if idn else None,
        name=name, sex=sex, birth_date=birth_date,
        phone_cipher=pii.encrypt(phone) if phone else None,
        phone_masked=mask_phone(phone) if phone else None,
        address_division_code=address,
        address_detail_cipher=pii.encrypt(detail) if detail else None,
        created_at=now, updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(resident)
            session.flush()
    except IntegrityError:
        # The same number registered by a concurrent request between our lookup and insert:
        # the unique hash index refused the second row, so answer with the first.
        winner = repository.resident_by_hash(session, id_hash) if id_hash else None
        if winner is None:
            raise
        return _matched(session, actor, winner, name, at, today), False
    audit.record(session, actor, "create", "resident", resident.id, after=audit.snapshot(resident),
                 resident_id=resident.id)
    _ensure_care_relationship(session, actor, resident.id, at, CareKind.REGISTERED, today)
    return resident, True


# ---- finding and reading ------------------------------------------------------------------


def search_residents(
    session: Session, actor: Principal, q: str | None, page: PageRequest
) -> Page[ResidentSummary]:
    """Residents in the actor's scope: by ID number (exact, through the keyed hash) or by a
    part of the name.  A malformed number is reported, not searched as a name."""
    actor.require(Perm.RESIDENT_READ)
    scope_for = _scope_for(session, actor)
    today = today_local()
    query = (q or "").strip()
    if rules.looks_like_id_number(query):
        idn = parse_id_number(query, today=today)
        found = repository.find_by_hash_in_scope(session, scope_for, cipher().lookup_hash(idn.normalised))
        items = [found] if found is not None and page.number == 1 else []
        total = 1 if found is not None else 0
        if found is not None:
            audit.record_read(session, actor, found.id, "按身份证号码查找")
    else:
        items, total = repository.search_by_name(session, scope_for, query, page)
        # One row per search, without the query: a name typed into the box is personal data too.
        audit.record(session, actor, "search", "resident",
                     detail=f"按姓名查找居民：第{page.number}页，{len(items)}条")
    summary = _summariser(session, items)
    return _page([summary(r) for r in items], total, page)


def get_resident(session: Session, actor: Principal, resident_id: int) -> ResidentRecord:
    """The whole record of a resident in scope; every call leaves an audit row."""
    # Scope first: an out-of-scope reader gets the same refusal whether the id exists or not.
    check_resident_access(session, actor, resident_id)
    r = _resident_or_404(session, resident_id)
    audit.record_read(session, actor, r.id, "查看居民档案")
    today = today_local()
    div = repository.division(session, r.address_division_code) if r.address_division_code else None
    return ResidentRecord(
        **_summary_fields(r, today, div.name if div else None),
        address_detail=cipher().decrypt(r.address_detail_cipher) if r.address_detail_cipher else None,
        enrolments=[enrolment_view(e) for e in repository.enrolments_of(session, r.id)],
        key_populations=[key_population_view(kp) for kp in repository.key_populations_of(session, r.id)],
        derived_key_populations=[kp.value for kp in rules.derived_key_populations(r.birth_date, today)],
        care_relationships=[
            CareRelationshipView(institution_id=rel.institution_id, institution_name=inst_name, kind=rel.kind,
                                 kind_name=rules.care_kind_name(rel.kind),
                                 since=rel.since, until=rel.until)
            for rel, inst_name in repository.care_relationships_of(session, r.id)
        ],
    )


def reveal_id_number(session: Session, actor: Principal, resident_id: int, reason: str | None = None) -> str:
    """The full ID number, for a clinician in scope or an admin; audited with the reason given."""
    # Clinicians (who register residents and type their numbers) and admins hold RESIDENT_WRITE;
    # read-only roles work with the masked form.
    if not actor.has(Perm.RESIDENT_WRITE):
        raise Forbidden("只有医生和系统管理员可以查看完整的身份证号码。", code="id_reveal_not_allowed")
    check_resident_access(session, actor, resident_id)
    r = _resident_or_404(session, resident_id)
    if r.id_cipher is None:
        raise NotFound("该居民没有登记身份证号码。", code="id_number_absent")
    why = (reason or "").strip()[:200]
    audit.record(session, actor, "reveal", "resident", r.id, resident_id=r.id,
                 detail="显示完整身份证号码" + (f"：{why}" if why else ""))
    return cipher().decrypt(r.id_cipher)


# ---- enrolments and key populations ------------------------------------------------------


def do_add_enrolment(
    session: Session, actor: Principal, resident_id: int, data: EnrolmentIn
) -> InsuranceEnrolment:
    actor.require(Perm.RESIDENT_WRITE)
    check_resident_access(session, actor, resident_id)
    r = _resident_or_404(session, resident_id, lock=True)
    scheme = rules.check_scheme(data.scheme)
    code = rules.check_insured_division_code(data.insured_division_code)
    if repository.division(session, code) is None:
        raise ValidationFailed(f"参保地区划代码“{code}”不存在。", code="division_not_found")
    existing = [(Scheme(e.scheme), Period(e.start_on, e.end_on))
                for e in repository.enrolments_of(session, r.id)]
    rules.check_enrolment(scheme, Period(data.start_on, data.end_on), existing, r.birth_date)
    e = InsuranceEnrolment(resident_id=r.id, scheme=scheme.value, insured_division_code=code,
                           start_on=data.start_on, end_on=data.end_on)
    session.add(e)
    session.flush()
    audit.record(session, actor, "create", "insurance_enrolment", e.id, after=audit.snapshot(e),
                 resident_id=r.id)
    return e


def do_record_key_population(
    session: Session, actor: Principal, resident_id: int, code: str, since: date, until: date | None = None
) -> tuple[KeyPopulation, bool]:
    """Record a key population; recording one that already covers the period returns it
    (``created`` False) — a second hypertension record for the same years says nothing new."""
    actor.require(Perm.RESIDENT_WRITE)
    check_resident_access(session, actor, resident_id)
    r = _resident_or_404(session, resident_id, lock=True)
    kp_code = rules.check_recorded_code(code)
    rules.check_key_population_fits(kp_code, r.sex)
    rules.check_key_population_period(since, until, r.birth_date, today_local())
    new = Period(since, until)
    for old in repository.key_populations_of(session, r.id, kp_code.value):
        if rules.overlaps(Period(old.since, old.until), new):
            return old, False
    kp = KeyPopulation(resident_id=r.id, code=kp_code.value, since=since, until=until)
    session.add(kp)
    session.flush()
    audit.record(session, actor, "create", "key_population", kp.id, after=audit.snapshot(kp),
                 resident_id=r.id)
    return kp, True


def do_end_key_population(
    session: Session, actor: Principal, resident_id: int, key_population_id: int, until: date
) -> KeyPopulation:
    """Close a recorded key population on ``until`` (its last day: a delivery, a cure)."""
    actor.require(Perm.RESIDENT_WRITE)
    check_resident_access(session, actor, resident_id)
    _resident_or_404(session, resident_id, lock=True)
    kp = repository.key_population(session, resident_id, key_population_id)
    if kp is None:
        raise NotFound("该居民没有这条重点人群记录。", code="key_population_not_found")
    if kp.until is not None:
        raise Conflict(f"这条重点人群记录已于{kp.until.isoformat()}结束。", code="key_population_ended")
    if until < kp.since:
        raise ValidationFailed("重点人群的结束日期不能早于起始日期。", code="key_population_dates_invalid")
    before = audit.snapshot(kp)
    kp.until = until
    session.flush()
    audit.record(session, actor, "update", "key_population", kp.id, before=before, after=audit.snapshot(kp),
                 resident_id=resident_id)
    return kp


# ---- care relationships (the seam other features write through) ---------------------------


def do_add_care_relationship(
    session: Session,
    actor: Principal,
    resident_id: int,
    institution_id: int,
    kind: str,
    since: date | None = None,
) -> tuple[CareRelationship, bool]:
    """Relate a resident to an institution: contracts on signing, referrals on acceptance, care on
    ingestion.  Idempotent: a relationship of the same kind still running is returned as is.

    The calling use case authorises the event that creates the relationship (a signed
    contract, an accepted referral); a scope check here would be circular, since the
    relationship is what brings the resident into the institution's scope.
    """
    care_kind = rules.check_care_kind(kind)
    _resident_or_404(session, resident_id)
    if repository.institution_name(session, institution_id) is None:
        raise NotFound("医疗机构不存在。", code="institution_not_found", institution_id=institution_id)
    return _ensure_care_relationship(session, actor, resident_id, institution_id, care_kind,
                                     since or today_local())


def do_end_care_relationship(
    session: Session, actor: Principal, resident_id: int, institution_id: int, kind: str, until: date
) -> CareRelationship:
    """End the running relationship of a kind (a contract ended); ``until`` is its last day."""
    care_kind = rules.check_care_kind(kind)
    rel = repository.open_care_relationship(session, resident_id, institution_id, care_kind.value)
    if rel is None:
        raise NotFound("没有进行中的此类关系。", code="care_relationship_not_found")
    if until < rel.since:
        raise ValidationFailed("关系的结束日期不能早于起始日期。", code="care_relationship_dates_invalid")
    before = audit.snapshot(rel)
    rel.until = until
    session.flush()
    audit.record(session, actor, "update", "care_relationship", rel.id, before=before,
                 after=audit.snapshot(rel), resident_id=resident_id)
    return rel


# ---- possible duplicates ------------------------------------------------------------------


def list_duplicate_candidates(session: Session, actor: Principal, page: PageRequest) -> Page[DuplicatePair]:
    """Pairs that may be one person registered twice (same name, birth date and township, at
    least one without an ID number), not yet reviewed, both in the actor's scope."""
    actor.require(Perm.RESIDENT_READ)
    pairs, total = repository.duplicate_candidates(session, _scope_for(session, actor), page)
    audit.record(session, actor, "search", "duplicate_review",
                 detail=f"查看疑似重复居民：第{page.number}页，{len(pairs)}对")
    summary = _summariser(session, [r for pair in pairs for r in pair])
    items = [DuplicatePair(summary(a), summary(b)) for a, b in pairs]
    return _page(items, total, page)


def list_same_person_reviews(session: Session, actor: Principal, page: PageRequest) -> Page[ReviewedPair]:
    """Pairs judged to be one person, waiting for a data steward (this module never merges)."""
    actor.require(Perm.RESIDENT_READ)
    rows, total = repository.reviews_marked_same(session, _scope_for(session, actor), page)
    summary = _summariser(session, [r for _, a, b in rows for r in (a, b)])
    items = [ReviewedPair(summary(a), summary(b), rv.decision, rv.reviewed_at) for rv, a, b in rows]
    return _page(items, total, page)


def do_review_duplicate(
    session: Session, actor: Principal, a_id: int, b_id: int, decision: str
) -> DuplicateReview:
    """Record a reviewer's decision on a pair; nothing is merged.  "same" leaves both records
    as they are, for a data steward to reconcile; either decision takes the pair off the list."""
    actor.require(Perm.RESIDENT_WRITE)
    verdict = rules.check_decision(decision)
    if a_id == b_id:
        raise ValidationFailed("请选择两位不同的居民。", code="duplicate_pair_invalid")
    a_id, b_id = sorted((a_id, b_id))  # one row per pair, whichever order it was named in
    for rid in (a_id, b_id):
        check_resident_access(session, actor, rid)
        _resident_or_404(session, rid)
    if not repository.is_duplicate_candidate(session, a_id, b_id):
        raise ValidationFailed(
            "这两位居民不是疑似重复（姓名、出生日期和乡镇须相同，且至少一位没有身份证号码）。",
            code="not_duplicate_candidate",
        )
    if actor.user_id is None:
        raise ValidationFailed("疑似重复须由登录的工作人员判定。", code="reviewer_required")
    existing = repository.duplicate_review(session, a_id, b_id)
    if existing is not None:
        if existing.decision == verdict.value:
            return existing
        raise Conflict("这对居民已有不同的判定结果。", code="duplicate_already_reviewed",
                       decision=existing.decision)
    review = DuplicateReview(resident_a_id=a_id, resident_b_id=b_id, decision=verdict.value,
                             reviewed_by=actor.user_id, reviewed_at=utcnow())
    session.add(review)
    session.flush()
    audit.record(session, actor, "create", "duplicate_review", review.id, after=audit.snapshot(review),
                 resident_id=a_id, detail=f"疑似重复判定：{a_id} 与 {b_id}")
    return review
