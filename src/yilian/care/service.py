"""Use cases of care: ingest one encounter with its settlement, read a resident's encounters, list
an institution's encounters.  The CSV batch (``care.importer``) shares the resolving, settling and
comparing helpers below, so both doors accept and refuse the same records.

**Idempotent on the source system's id, and a change is refused.**  (source_system, source_id) is
unique: the same record sent again is answered "unchanged" and writes nothing (no row, no audit);
a different record under an id already recorded is refused with Conflict ``encounter_changed``,
naming the fields that differ.  A settlement is money the fund has paid and that settlement runs,
budgets and indicator snapshots have already counted; overwriting it in place would change closed
figures without a trace.  HIS corrections (冲红 / 重新结算) therefore arrive as a new record
under a new source id — an explicit, versioned correction flow is future work, and this refusal
is what keeps the door shut until it exists.

Fields a sender leaves out so the platform computes them (policy-range cost, the fund/patient
split) are not compared: the computed values depend on what else was recorded by then.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yilian.care import events, repository
from yilian.care.config import CareConfig, default_config
from yilian.care.reimbursement import Claim, place_of, reimburse
from yilian.care.repository import InstitutionRef, ListRow
from yilian.care.rules import (
    COST_CATEGORIES,
    DISCHARGE_MODE_NAMES_ZH,
    KIND_NAMES_ZH,
    PLACE_NAMES_ZH,
    CheckedEncounter,
    EncounterData,
    Kind,
    Source,
    care_group,
    check_encounter,
    refuse,
)
from yilian.care.schemas import EncounterIn
from yilian.core import events as core_events
from yilian.core.clock import today_local, utcnow
from yilian.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from yilian.core.paging import Page, PageRequest
from yilian.core.pii import PiiCipher
from yilian.db.models import Encounter, Resident, Settlement
from yilian.identity import audit
from yilian.identity.principal import Principal
from yilian.identity.roles import Perm
from yilian.identity.service import care_ingest_scope, check_resident_access, institution_scope
from yilian.residents.crypto import cipher
from yilian.residents.idcard import parse_id_number
from yilian.residents.service import do_add_care_relationship

__all__ = [
    "APPROVED_REFERRAL",
    "EncounterFilter",
    "EncounterView",
    "Resolved",
    "Resolver",
    "SettlementView",
    "changed_fields",
    "changed_refusal",
    "do_ingest_encounter",
    "encounter_values",
    "encounter_view_of",
    "encounters_of_institution",
    "id_number_hash",
    "institution_choices",
    "list_encounters_of_resident",
    "sender_values",
    "settlement_values",
]

ZERO: Final = Decimal("0.00")
#: Referral approvals that count as "with an approved referral" (REFERRAL.md: approved, deemed,
#: exempt or not required); a link to a pending or rejected one settles as unreferred.
APPROVED_REFERRAL: Final = frozenset({"approved", "deemed", "exempt", "not_required"})
FIELD_NAMES_ZH: Final[dict[str, str]] = {
    "resident_id": "居民", "institution_id": "机构", "department_id": "科室", "practitioner_id": "医师",
    "kind": "就诊类型", "start_date": "就诊（入院）日期", "end_date": "出院日期", "los_days": "住院天数",
    "discharge_mode": "离院方式", "birth_weight_g": "出生体重", "diagnoses": "诊断", "procedures": "手术操作",
    "referral_episode_id": "转诊编号", "settled_on": "结算日期", "scheme": "险种", "source": "数据来源",
    "total_cost": "总费用", "cost_drugs": "药品费", "cost_exams": "检查检验费", "cost_treatment": "治疗费",
    "cost_materials": "材料费", "cost_beds": "床位费", "cost_other": "其他费", "policy_cost": "政策范围内费用",
    "deductible": "起付线", "ratio": "报销比例", "fund_paid": "基金支付", "patient_paid": "个人支付",
}

# ---- what the edges receive ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SettlementView:
    settled_on: date
    scheme: str
    place: str
    place_name: str
    in_county: bool
    source: str
    total_cost: Decimal
    cost_drugs: Decimal
    cost_exams: Decimal
    cost_treatment: Decimal
    cost_materials: Decimal
    cost_beds: Decimal
    cost_other: Decimal
    policy_cost: Decimal
    deductible: Decimal
    ratio: Decimal
    fund_paid: Decimal
    patient_paid: Decimal


@dataclass(frozen=True, slots=True)
class EncounterView:
    id: int
    source_system: str
    source_id: str
    resident_id: int
    resident_name: str
    institution_id: int
    institution_name: str
    department_id: int | None
    practitioner_id: int | None
    kind: str
    kind_name: str
    start_date: date
    end_date: date | None
    los_days: int | None
    discharge_mode: str | None
    discharge_mode_name: str | None
    age_years: int
    age_days: int | None
    birth_weight_g: int | None
    diagnoses: list[str]
    procedures: list[str]
    referral_episode_id: int | None
    received_at: datetime
    settlement: SettlementView | None


@dataclass(frozen=True, slots=True)
class EncounterFilter:
    institution_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    kind: str | None = None


def _settlement_view(s: Settlement) -> SettlementView:
    return SettlementView(
        settled_on=s.settled_on, scheme=s.scheme, place=s.place, place_name=PLACE_NAMES_ZH.get(s.place, s.place),
        in_county=s.in_county, source=s.source, total_cost=s.total_cost, cost_drugs=s.cost_drugs,
        cost_exams=s.cost_exams, cost_treatment=s.cost_treatment, cost_materials=s.cost_materials,
        cost_beds=s.cost_beds, cost_other=s.cost_other, policy_cost=s.policy_cost, deductible=s.deductible,
        ratio=s.ratio, fund_paid=s.fund_paid, patient_paid=s.patient_paid,
    )


def _view(e: Encounter, s: Settlement | None, institution_name: str, resident_name: str) -> EncounterView:
    return EncounterView(
        id=e.id, source_system=e.source_system, source_id=e.source_id, resident_id=e.resident_id,
        resident_name=resident_name, institution_id=e.institution_id, institution_name=institution_name,
        department_id=e.department_id, practitioner_id=e.practitioner_id, kind=e.kind,
        kind_name=KIND_NAMES_ZH.get(e.kind, e.kind), start_date=e.start_date, end_date=e.end_date,
        los_days=e.los_days, discharge_mode=e.discharge_mode,
        discharge_mode_name=DISCHARGE_MODE_NAMES_ZH.get(e.discharge_mode) if e.discharge_mode else None,
        age_years=e.age_years, age_days=e.age_days, birth_weight_g=e.birth_weight_g,
        diagnoses=e.diagnoses.split("|") if e.diagnoses else [],
        procedures=e.procedures.split("|") if e.procedures else [],
        referral_episode_id=e.referral_episode_id, received_at=e.received_at,
        settlement=_settlement_view(s) if s is not None else None,
    )


def _views(rows: Iterable[ListRow]) -> list[EncounterView]:
    return [_view(e, s, inst, res) for e, s, inst, res in rows]


def encounter_view_of(session: Session, e: Encounter) -> EncounterView:
    inst, res = repository.names_for(session, e)
    return _view(e, repository.settlement_of(session, e.id), inst, res)


# ---- resolving what the sender names --------------------------------------------------------


def id_number_hash(raw: str, today: date, pii: PiiCipher | None = None) -> str:
    """The lookup hash of a sent ID number; a malformed one is refused without echoing it.
    A batch passes its ``pii`` cipher: ``cipher()`` resolves the key from the settings each call."""
    return (pii or cipher()).lookup_hash(parse_id_number(raw, today=today).normalised)


@dataclass(frozen=True, slots=True)
class Resolved:
    resident_id: int
    birth_date: date
    institution: InstitutionRef
    department_id: int | None
    practitioner_id: int | None
    referred: bool  # linked to an approved (or exempt) referral episode of this resident


class Resolver:
    """Turns the codes a sender uses into ids, in set-based lookups per chunk.

    Institutions, departments and practitioners are few and stay cached for the whole import;
    residents are looked up per chunk (a county has a million) and not kept.  ``scope`` is the
    set of institutions the actor may send records for (None: any).
    """

    def __init__(self, session: Session, scope: set[int] | None) -> None:
        self.session = session
        self.scope = scope
        self.institutions: dict[str, InstitutionRef] = {}
        self.departments: dict[tuple[int, str], int] = {}
        self.practitioners: dict[str, int] = {}
        self.residents: dict[str, tuple[int, date]] = {}
        self.episodes: dict[int, tuple[int, str | None]] = {}

    def prefetch(self, items: Collection[tuple[EncounterData, str]]) -> None:
        s = self.session
        self.residents = repository.residents_by_hash(s, {h for _, h in items})
        codes = {d.institution_code for d, _ in items} - self.institutions.keys()
        self.institutions.update(repository.institutions_by_code(s, codes))
        deps = {(self.institutions[d.institution_code].id, d.department_code) for d, _ in items
                if d.department_code and d.institution_code in self.institutions}
        self.departments.update(repository.departments_by_code(s, deps - self.departments.keys()))
        pracs = {d.practitioner_code for d, _ in items if d.practitioner_code} - self.practitioners.keys()
        self.practitioners.update(repository.practitioners_by_code(s, pracs))
        self.episodes = repository.referral_episodes(
            s, {d.referral_episode_id for d, _ in items if d.referral_episode_id is not None})

    def resolve(self, d: EncounterData, id_hash: str) -> Resolved:
        resident = self.residents.get(id_hash)
        if resident is None:
            raise refuse("没有找到该身份证号码对应的居民档案，请先登记居民。", "resident_not_found")
        inst = self.institutions.get(d.institution_code)
        if inst is None:
            raise refuse(f"医疗机构代码“{d.institution_code[:40]}”未登记。", "institution_not_found")
        if self.scope is not None and inst.id not in self.scope:
            raise Forbidden("只能报送本人所在机构的就诊记录。", code="institution_out_of_scope")
        dep = None
        if d.department_code:
            dep = self.departments.get((inst.id, d.department_code))
            if dep is None:
                raise refuse(f"科室代码“{d.department_code[:40]}”在该机构未登记。", "department_not_found")
        prac = None
        if d.practitioner_code:
            prac = self.practitioners.get(d.practitioner_code)
            if prac is None:
                raise refuse(f"医师代码“{d.practitioner_code[:40]}”未登记。", "practitioner_not_found")
        referred = False
        if d.referral_episode_id is not None:
            episode = self.episodes.get(d.referral_episode_id)
            if episode is None:
                raise refuse(f"转诊编号 {d.referral_episode_id} 不存在。", "referral_episode_not_found")
            if episode[0] != resident[0]:
                raise refuse(f"转诊编号 {d.referral_episode_id} 不是该居民的转诊。", "referral_episode_other_resident")
            referred = episode[1] in APPROVED_REFERRAL
        return Resolved(resident[0], resident[1], inst, dep, prac, referred)


# ---- settling and comparing -----------------------------------------------------------------


def _source(c: CheckedEncounter, inst: InstitutionRef) -> str:
    # Out-of-county care reaches the county only as the insurance bureau's claims (SYNTHETIC.md).
    return (c.settlement.source or (Source.HIS if inst.in_county else Source.INSURANCE)).value


def encounter_values(c: CheckedEncounter, r: Resolved, received_at: datetime) -> dict[str, Any]:
    return {
        "source_system": c.source_system, "source_id": c.source_id, "resident_id": r.resident_id,
        "institution_id": r.institution.id, "department_id": r.department_id, "practitioner_id": r.practitioner_id,
        "kind": c.kind.value, "start_date": c.start_date, "end_date": c.end_date, "los_days": c.los_days,
        "discharge_mode": c.discharge_mode, "age_years": c.age_years, "age_days": c.age_days,
        "birth_weight_g": c.birth_weight_g, "principal_dx": c.principal_dx, "diagnoses": "|".join(c.diagnoses),
        "principal_proc": c.principal_proc, "procedures": "|".join(c.procedures) or None,
        "referral_episode_id": c.referral_episode_id, "received_at": received_at,
    }


def settlement_values(c: CheckedEncounter, r: Resolved, episode_paid: Decimal,
                      config: CareConfig) -> dict[str, Any]:
    """The settlement row: the split as sent, or computed by the reimbursement rules with the
    deductible the referral episode has already paid (``episode_paid``)."""
    s, inst = c.settlement, r.institution
    place = place_of(is_primary_care=inst.is_primary_care, in_county=inst.in_county, referred=r.referred)
    if s.split_given:
        deductible, ratio, fund, patient = s.deductible, s.ratio, s.fund_paid, s.patient_paid
    else:
        paid = reimburse(Claim(s.total_cost, s.policy_cost, place, care_group(c.kind), s.scheme, episode_paid), config)
        deductible, ratio, fund, patient = paid.deductible, paid.ratio, paid.fund, paid.patient
    return {
        "settled_on": s.settled_on, "scheme": s.scheme.value, "place": place.value, "in_county": inst.in_county,
        "source": _source(c, inst), "total_cost": s.total_cost,
        **{name: getattr(s, name) for name in COST_CATEGORIES},
        "policy_cost": s.policy_cost, "deductible": deductible, "ratio": ratio, "fund_paid": fund,
        "patient_paid": patient,
    }


def sender_values(c: CheckedEncounter, r: Resolved) -> dict[str, Any]:
    """What the sender controls, in stored form; computed fields it left out are absent."""
    s = c.settlement
    values: dict[str, Any] = {
        "resident_id": r.resident_id, "institution_id": r.institution.id, "department_id": r.department_id,
        "practitioner_id": r.practitioner_id, "kind": c.kind.value, "start_date": c.start_date,
        "end_date": c.end_date, "los_days": c.los_days, "discharge_mode": c.discharge_mode,
        "birth_weight_g": c.birth_weight_g, "diagnoses": "|".join(c.diagnoses),
        "procedures": "|".join(c.procedures) or None, "referral_episode_id": c.referral_episode_id,
        "settled_on": s.settled_on, "scheme": s.scheme.value, "source": _source(c, r.institution),
        "total_cost": s.total_cost, **{name: getattr(s, name) for name in COST_CATEGORIES},
    }
    if s.policy_cost_given:
        values["policy_cost"] = s.policy_cost
    if s.split_given:
        values.update(deductible=s.deductible, ratio=s.ratio, fund_paid=s.fund_paid, patient_paid=s.patient_paid)
    return values


def changed_fields(sent: dict[str, Any], stored: dict[str, Any]) -> list[str]:
    """Names of the sent fields whose stored value differs (Decimals compare by value: 0.3 = 0.30)."""
    return [k for k, v in sent.items() if stored.get(k) != v]


def changed_refusal(fields: list[str], encounter_id: int) -> Conflict:
    names = "、".join(FIELD_NAMES_ZH.get(f, f) for f in fields)
    return Conflict(
        f"该来源系统的这一就诊编号已经入库，但内容不同（{names}）。已入库的结算不在原处修改："
        "更正请作为新的记录（新的就诊编号）报送。", code="encounter_changed", fields=fields,
        encounter_id=encounter_id,
    )


# ---- one encounter (API) ------------------------------------------------------------------


def _repeat(session: Session, existing: Encounter, sent: dict[str, Any]) -> Encounter:
    diff = changed_fields(sent, repository.compared_by_id(session, existing.id))
    if diff:
        raise changed_refusal(diff, existing.id)
    return existing


def do_ingest_encounter(
    session: Session, actor: Principal, data: EncounterIn, *, config: CareConfig | None = None,
    today: date | None = None,
) -> tuple[Encounter, bool]:
    """Record one encounter with its settlement; ``(encounter, created)``.

    The same record sent again returns the stored one (``created`` False) and writes nothing; a
    different record under a recorded source id is refused (``encounter_changed``).  A new record
    relates the resident to the institution (``treated``), is audited, and publishes
    ``care.encounter_recorded`` after commit.
    """
    config = config or default_config()
    today = today or today_local()
    id_hash = id_number_hash(data.resident_id_number.get_secret_value(), today)
    d = data.to_data()
    resolver = Resolver(session, care_ingest_scope(session, actor))
    resolver.prefetch([(d, id_hash)])
    resolved = resolver.resolve(d, id_hash)
    checked = check_encounter(d, birth_date=resolved.birth_date, today=today,
                              default_policy_share=config.default_policy_share)
    sent = sender_values(checked, resolved)
    existing = repository.encounter_by_source(session, checked.source_system, checked.source_id)
    if existing is not None:
        return _repeat(session, existing, sent), False
    paid = ZERO
    if checked.referral_episode_id is not None:
        group = care_group(checked.kind).value
        paid = repository.episode_deductibles(session, [checked.referral_episode_id]).get(
            (checked.referral_episode_id, group), ZERO)
    encounter = Encounter(**encounter_values(checked, resolved, utcnow()))
    settlement = Settlement(**settlement_values(checked, resolved, paid, config))
    try:
        with session.begin_nested():
            repository.add_encounter(session, encounter, settlement)
    except IntegrityError:
        # The same source id recorded by a concurrent request between our lookup and insert.
        winner = repository.encounter_by_source(session, checked.source_system, checked.source_id)
        if winner is None:
            raise
        return _repeat(session, winner, sent), False
    do_add_care_relationship(session, actor, resolved.resident_id, resolved.institution.id, "treated",
                             since=checked.start_date)
    audit.record(session, actor, "create", "encounter", encounter.id, resident_id=resolved.resident_id,
                 after={"encounter": audit.snapshot(encounter), "settlement": audit.snapshot(settlement)})
    core_events.publish(session, events.encounter_recorded(encounter))
    return encounter, True


# ---- reads --------------------------------------------------------------------------------


def list_encounters_of_resident(
    session: Session, actor: Principal, resident_id: int, page: PageRequest
) -> Page[EncounterView]:
    """A resident's encounters and settlements, newest first; an audited read of health data."""
    # Scope first: an out-of-scope reader gets the same refusal whether the resident exists or not.
    check_resident_access(session, actor, resident_id)
    if session.get(Resident, resident_id) is None:
        raise NotFound("居民不存在。", code="resident_not_found", resident_id=resident_id)
    rows, total = repository.encounters_of_resident(session, resident_id, page)
    audit.record_read(session, actor, resident_id, f"查看就诊与结算记录：第{page.number}页，{len(rows)}条")
    return Page(items=_views(rows), total=total, number=page.number, size=page.size)


def _check_filter(flt: EncounterFilter) -> None:
    if flt.kind is not None and flt.kind not in {k.value for k in Kind}:
        raise ValidationFailed("就诊类型无效，可选：outpatient 门诊、emergency 急诊、inpatient 住院。",
                               code="kind_invalid")
    if flt.date_from and flt.date_to and flt.date_from > flt.date_to:
        raise ValidationFailed("起始日期不能晚于结束日期。", code="period_invalid")


def encounters_of_institution(
    session: Session, actor: Principal, flt: EncounterFilter, page: PageRequest
) -> Page[EncounterView]:
    """Encounters at the institutions in the actor's scope (or the one named), by visit or
    admission date, newest first.  Lists name residents, so each page viewed is audited."""
    actor.require(Perm.RESIDENT_READ)
    _check_filter(flt)
    scope = institution_scope(session, actor, Perm.RESIDENT_READ)
    ids: set[int] | None = scope
    if flt.institution_id is not None:
        if scope is not None and flt.institution_id not in scope:
            raise Forbidden("只能查看本人所在机构（或管辖范围内机构）的就诊记录。", code="institution_out_of_scope")
        ids = {flt.institution_id}
    if ids is not None and not ids:
        return Page(items=[], total=0, number=page.number, size=page.size)
    rows, total = repository.encounters_at(session, ids, flt.date_from, flt.date_to, flt.kind, page)
    audit.record(session, actor, "search", "encounter",
                 detail=f"查看机构就诊记录：第{page.number}页，{len(rows)}条")
    return Page(items=_views(rows), total=total, number=page.number, size=page.size)


def institution_choices(session: Session, actor: Principal) -> list[tuple[int, str]]:
    """Institutions whose encounters the actor may list, for the filter's drop-down."""
    if not actor.has(Perm.RESIDENT_READ):
        return []
    return repository.institution_choices(session, institution_scope(session, actor, Perm.RESIDENT_READ))
