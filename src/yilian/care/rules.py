"""Pure rules of an encounter and its settlement: no database, no web, no clock of its own.

One validator for every way data arrives.  The JSON API (``schemas.EncounterIn``) and the CSV
import (``layout.parse_row``) each turn their input into an ``EncounterData``; ``check_encounter``
then refuses it with a Chinese message and a stable code, or returns the normalised
``CheckedEncounter`` that the service stores.  The first problem found is reported, from the
coarsest (kind, dates) to the finest (money adding up), so the message names what is wrong.

Conventions decided here (and documented in docs/care/care.md):

* **Length of stay** = discharge date − admission date in days, with a same-day stay counted as
  one day.  The 病案首页 rule is "入院日与出院日只计算1天" (admitted 12 June, discharged 15 June:
  3 days); a stay admitted and discharged on one day occupied a bed that day, and statistics and
  DRG grouping treat it as 1, never 0.
* **Visits** (outpatient, emergency) have one date: an end date, if sent, must equal it, and they
  carry no discharge mode or length of stay.
* **Codes** are normalised (trimmed; ICD-10's first letter upper case, the 医保版 extension
  marker ``x`` lower case) before they are checked and stored, so "i10.X00" and "I10.x00" are one
  code.  Shapes follow the 医保版 code lists (``A00.000``, ``A00.000x001``, ``A02.205+N16.0*``;
  ``36.0601``, ``81.5100x001``) and accept the shorter national forms (``I10``, ``J18.9``,
  ``36.06``).
* **Money** is Decimal with at most two decimals; the six cost categories add up to the total
  exactly, and a given fund/patient split adds up to the total exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Final

from yilian.core.errors import ValidationFailed

__all__ = [
    "COST_CATEGORIES",
    "DISCHARGE_MODE_NAMES_ZH",
    "KIND_NAMES_ZH",
    "PLACE_NAMES_ZH",
    "SCHEME_NAMES_ZH",
    "CareGroup",
    "CheckedEncounter",
    "CheckedSettlement",
    "DischargeMode",
    "EncounterData",
    "Kind",
    "Place",
    "Scheme",
    "SettlementData",
    "Source",
    "age_at",
    "care_group",
    "check_encounter",
    "length_of_stay",
    "normalise_icd9",
    "normalise_icd10",
    "refuse",
]


class Kind(StrEnum):
    OUTPATIENT = "outpatient"
    EMERGENCY = "emergency"
    INPATIENT = "inpatient"


KIND_NAMES_ZH: Final[dict[str, str]] = {Kind.OUTPATIENT: "门诊", Kind.EMERGENCY: "急诊", Kind.INPATIENT: "住院"}


class CareGroup(StrEnum):
    """Which reimbursement policy applies: inpatient stays, or outpatient and emergency visits
    (门急诊, one pooled outpatient cover)."""

    INPATIENT = "inpatient"
    OUTPATIENT = "outpatient"


def care_group(kind: str) -> CareGroup:
    return CareGroup.INPATIENT if kind == Kind.INPATIENT else CareGroup.OUTPATIENT


class DischargeMode(StrEnum):
    """离院方式 of the inpatient front sheet (住院病案首页)."""

    ORDERED = "1"
    TRANSFER = "2"
    COMMUNITY = "3"
    AGAINST_ADVICE = "4"
    DEATH = "5"
    OTHER = "9"


DISCHARGE_MODE_NAMES_ZH: Final[dict[str, str]] = {
    DischargeMode.ORDERED: "医嘱离院",
    DischargeMode.TRANSFER: "医嘱转院",
    DischargeMode.COMMUNITY: "医嘱转社区卫生服务机构/乡镇卫生院",
    DischargeMode.AGAINST_ADVICE: "非医嘱离院",
    DischargeMode.DEATH: "死亡",
    DischargeMode.OTHER: "其他",
}


class Scheme(StrEnum):
    RESIDENT = "resident"
    EMPLOYEE = "employee"
    SELF_PAY = "self_pay"


SCHEME_NAMES_ZH: Final[dict[str, str]] = {
    Scheme.RESIDENT: "城乡居民医保", Scheme.EMPLOYEE: "职工医保", Scheme.SELF_PAY: "自费",
}


class Source(StrEnum):
    """Who sent the record: a member institution's HIS, or the insurance bureau's claim records
    (how out-of-county care arrives, SYNTHETIC.md)."""

    HIS = "his"
    INSURANCE = "insurance"


class Place(StrEnum):
    """Where the claim is reimbursed (差别化报销): sets the ratio and the deductible."""

    PRIMARY = "primary"
    COUNTY = "county"
    OUT_OF_COUNTY = "out_of_county"
    OUT_OF_COUNTY_UNREFERRED = "out_of_county_unreferred"


PLACE_NAMES_ZH: Final[dict[str, str]] = {
    Place.PRIMARY: "县域内基层",
    Place.COUNTY: "县域内县级",
    Place.OUT_OF_COUNTY: "县外（经转诊）",
    Place.OUT_OF_COUNTY_UNREFERRED: "县外（未经转诊）",
}

COST_CATEGORIES: Final = ("cost_drugs", "cost_exams", "cost_treatment", "cost_materials", "cost_beds", "cost_other")
COST_NAMES_ZH: Final[dict[str, str]] = {
    "total_cost": "总费用", "cost_drugs": "药品费", "cost_exams": "检查检验费", "cost_treatment": "治疗费",
    "cost_materials": "材料费", "cost_beds": "床位费", "cost_other": "其他费", "policy_cost": "政策范围内费用",
    "deductible": "起付线", "fund_paid": "基金支付", "patient_paid": "个人支付",
}

CENT: Final = Decimal("0.01")
ZERO: Final = Decimal("0.00")
#: Numeric(16, 2): fourteen digits before the point.
MONEY_LIMIT: Final = Decimal("1e14")
#: Numeric(5, 4) for the ratio applied.
RATIO_STEP: Final = Decimal("0.0001")
MAX_LIST: Final = 50  # diagnoses or procedures on one record; the front sheet holds far fewer
#: Plausible birth weights (g).  Shape checks of the data, not policy values.
BIRTH_WEIGHT_MIN: Final = 100
BIRTH_WEIGHT_MAX: Final = 9999
NEWBORN_MAX_DAYS: Final = 28

_ICD10: Final = re.compile(r"[A-Z][0-9]{2}(\.[0-9x][0-9]{0,2}(x[0-9]{3})?)?(\+[A-Z][0-9]{2}(\.[0-9])?\*)?")
_ICD9: Final = re.compile(r"[0-9]{2}(\.[0-9x]{1,2}[0-9A-Z]{0,3}(x[0-9]{3,4})?)?")
#: ICD-10 chapter XX (V01–Y98): external causes describe how, never what, so they may be
#: secondary diagnoses but not the principal one (病案首页填写规范).
_EXTERNAL_CAUSE: Final = frozenset("VWXY")


def refuse(message: str, code: str, **details: object) -> ValidationFailed:
    return ValidationFailed(message, code=code, **details)


# ---- input and output shapes --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SettlementData:
    """A settlement as sent; ``None`` means "not sent" (defaults or the calculation fill it)."""

    scheme: str
    total_cost: Decimal
    cost_drugs: Decimal = ZERO
    cost_exams: Decimal = ZERO
    cost_treatment: Decimal = ZERO
    cost_materials: Decimal = ZERO
    cost_beds: Decimal = ZERO
    cost_other: Decimal = ZERO
    source: str | None = None
    settled_on: date | None = None
    policy_cost: Decimal | None = None
    deductible: Decimal | None = None
    ratio: Decimal | None = None
    fund_paid: Decimal | None = None
    patient_paid: Decimal | None = None


@dataclass(frozen=True, slots=True)
class EncounterData:
    """An encounter as sent, resident excepted: the ID number never enters this object."""

    source_system: str
    source_id: str
    institution_code: str
    kind: str
    start_date: date
    settlement: SettlementData
    diagnoses: tuple[str, ...]
    procedures: tuple[str, ...] = ()
    end_date: date | None = None
    los_days: int | None = None
    discharge_mode: str | None = None
    birth_weight_g: int | None = None
    department_code: str | None = None
    practitioner_code: str | None = None
    referral_episode_id: int | None = None


@dataclass(frozen=True, slots=True)
class CheckedSettlement:
    scheme: Scheme
    source: Source | None  # None: follows from the institution (his in county, insurance outside)
    settled_on: date
    total_cost: Decimal
    cost_drugs: Decimal
    cost_exams: Decimal
    cost_treatment: Decimal
    cost_materials: Decimal
    cost_beds: Decimal
    cost_other: Decimal
    policy_cost: Decimal
    policy_cost_given: bool
    # The split as sent (all four or none); None when the reimbursement rules compute it.
    deductible: Decimal | None
    ratio: Decimal | None
    fund_paid: Decimal | None
    patient_paid: Decimal | None

    @property
    def split_given(self) -> bool:
        return self.fund_paid is not None


@dataclass(frozen=True, slots=True)
class CheckedEncounter:
    source_system: str
    source_id: str
    kind: Kind
    start_date: date
    end_date: date | None
    los_days: int | None
    discharge_mode: str | None
    age_years: int
    age_days: int | None
    birth_weight_g: int | None
    diagnoses: tuple[str, ...]
    procedures: tuple[str, ...]
    referral_episode_id: int | None
    settlement: CheckedSettlement

    @property
    def principal_dx(self) -> str:
        return self.diagnoses[0]

    @property
    def principal_proc(self) -> str | None:
        return self.procedures[0] if self.procedures else None


# ---- small pure helpers -------------------------------------------------------------------


def length_of_stay(admitted: date, discharged: date) -> int:
    """Days in hospital: discharge − admission, a same-day stay counting as one day."""
    return max(1, (discharged - admitted).days)


def age_at(birth_date: date, on: date) -> tuple[int, int | None]:
    """(full years, days since birth when under one year) on ``on``."""
    years = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
    return years, ((on - birth_date).days if years == 0 else None)


def normalise_icd10(code: str) -> str:
    code = code.strip()
    return code[:1].upper() + code[1:].replace("X", "x") if code else code


def normalise_icd9(code: str) -> str:
    return code.strip().upper().replace("X", "x")


# ---- checks -------------------------------------------------------------------------------


def _check_identity(data: EncounterData) -> None:
    for value, limit, what, code in ((data.source_system, 40, "来源系统", "source_system"),
                                     (data.source_id, 64, "来源系统的就诊编号", "source_id")):
        if not value.strip():
            raise refuse(f"{what}不能为空。", f"{code}_required")
        if len(value) > limit:
            raise refuse(f"{what}最长{limit}个字符。", f"{code}_too_long")
    if not data.institution_code.strip():
        raise refuse("医疗机构代码不能为空。", "institution_required")


def _check_kind(kind: str) -> Kind:
    try:
        return Kind(kind)
    except ValueError:
        raise refuse(f"就诊类型“{kind[:20]}”无效，可选：outpatient 门诊、emergency 急诊、inpatient 住院。",
                     "kind_invalid") from None


def _check_dates(data: EncounterData, kind: Kind, birth_date: date, today: date) -> tuple[date | None, int | None]:
    start, end = data.start_date, data.end_date
    if start > today or (end is not None and end > today):
        raise refuse("就诊日期不能晚于今天。", "date_in_future")
    if start < birth_date:
        raise refuse("就诊日期早于居民的出生日期，请核对居民或日期。", "encounter_before_birth")
    if kind is not Kind.INPATIENT:
        if end is not None and end != start:
            raise refuse("门急诊只有一个就诊日期：结束日期须为空或与就诊日期相同。", "visit_dates_invalid")
        if data.los_days is not None:
            raise refuse("门急诊没有住院天数。", "los_not_inpatient")
        return None, None
    if end is None:
        raise refuse("住院记录须有出院日期。", "discharge_date_required")
    if end < start:
        raise refuse("出院日期不能早于入院日期。", "discharge_before_admission")
    los = length_of_stay(start, end)
    if data.los_days is not None and data.los_days != los:
        raise refuse(f"住院天数应为{los}天（出院日期减入院日期，当日出入院计1天），收到{data.los_days}天。",
                     "los_mismatch", expected=los)
    return end, los


def _check_discharge_mode(mode: str | None, kind: Kind) -> str | None:
    mode = (mode or "").strip() or None
    if kind is not Kind.INPATIENT:
        if mode is not None:
            raise refuse("门急诊记录不填离院方式。", "discharge_mode_not_inpatient")
        return None
    if mode is None:
        raise refuse("住院记录须填写离院方式（病案首页：1、2、3、4、5、9）。", "discharge_mode_required")
    if mode not in DISCHARGE_MODE_NAMES_ZH:
        choices = "、".join(f"{k} {v}" for k, v in DISCHARGE_MODE_NAMES_ZH.items())
        raise refuse(f"离院方式“{mode[:4]}”无效，可选：{choices}。", "discharge_mode_invalid")
    return mode


def _check_codes(raw: tuple[str, ...], *, diagnoses: bool) -> tuple[str, ...]:
    what, prefix = ("诊断", "diagnosis") if diagnoses else ("手术操作", "procedure")
    shape, norm = (_ICD10, normalise_icd10) if diagnoses else (_ICD9, normalise_icd9)
    codes = tuple(norm(c) for c in raw)
    if len(codes) > MAX_LIST:
        raise refuse(f"{what}最多{MAX_LIST}个。", f"{prefix}_too_many")
    seen: set[str] = set()
    for pos, code in enumerate(codes, start=1):
        if not shape.fullmatch(code):
            standard = "ICD-10" if diagnoses else "ICD-9-CM-3"
            raise refuse(f"第{pos}个{what}编码“{code[:24]}”不是有效的{standard}编码格式。",
                         f"{prefix}_code_invalid", position=pos)
        if code in seen:
            raise refuse(f"{what}编码“{code}”重复出现。", f"{prefix}_duplicate", position=pos)
        seen.add(code)
    return codes


def _check_diagnoses(raw: tuple[str, ...]) -> tuple[str, ...]:
    if not [c for c in raw if c.strip()]:
        raise refuse("至少需要一个诊断（主要诊断排在第一位）。", "diagnosis_required")
    codes = _check_codes(raw, diagnoses=True)
    if codes[0][0] in _EXTERNAL_CAUSE:
        raise refuse(f"损伤和中毒的外部原因（V01–Y98）不能作为主要诊断，收到“{codes[0]}”；"
                     "请把损伤或中毒本身的诊断排在第一位。", "principal_diagnosis_external_cause")
    return codes


def _check_birth_weight(weight: int | None, age_years: int, age_days: int | None) -> int | None:
    if weight is None:
        return None
    if not BIRTH_WEIGHT_MIN <= weight <= BIRTH_WEIGHT_MAX:
        raise refuse(f"出生体重应在{BIRTH_WEIGHT_MIN}～{BIRTH_WEIGHT_MAX}克之间，收到{weight}克。",
                     "birth_weight_invalid")
    if age_years != 0 or age_days is None or age_days > NEWBORN_MAX_DAYS:
        raise refuse(f"出生体重只用于新生儿（入院时出生不超过{NEWBORN_MAX_DAYS}天）。", "birth_weight_not_newborn")
    return weight


def _money(value: Decimal, field: str) -> Decimal:
    what = COST_NAMES_ZH[field]
    if not value.is_finite():
        raise refuse(f"{what}不是有效的金额。", "amount_invalid", field=field)
    if value != value.quantize(CENT, rounding=ROUND_HALF_UP):
        raise refuse(f"{what}须精确到分（最多两位小数），收到{value}。", "money_not_cents", field=field)
    if value < 0:
        raise refuse(f"{what}不能为负数，收到{value}。", "amount_negative", field=field)
    if value >= MONEY_LIMIT:
        raise refuse(f"{what}超出可记录的范围。", "amount_too_large", field=field)
    return value.quantize(CENT)


def _check_ratio(ratio: Decimal) -> Decimal:
    if not ratio.is_finite() or not 0 <= ratio <= 1 or ratio != ratio.quantize(RATIO_STEP, rounding=ROUND_HALF_UP):
        raise refuse(f"报销比例须在0到1之间，最多四位小数，收到{ratio}。", "ratio_invalid")
    return ratio.quantize(RATIO_STEP)


def _check_settlement(s: SettlementData, start: date, end: date | None, default_policy_share: Decimal,
                      ) -> CheckedSettlement:
    try:
        scheme = Scheme(s.scheme)
    except ValueError:
        raise refuse(f"险种“{s.scheme[:20]}”无效，可选：resident 城乡居民医保、employee 职工医保、self_pay 自费。",
                     "scheme_invalid") from None
    source: Source | None = None
    if s.source is not None:
        try:
            source = Source(s.source)
        except ValueError:
            raise refuse(f"数据来源“{s.source[:20]}”无效，可选：his 医院信息系统、insurance 医保结算记录。",
                         "source_invalid") from None
    settled_on = s.settled_on or end or start
    if settled_on < start:
        raise refuse("结算日期不能早于就诊（入院）日期。", "settled_before_encounter")
    total = _money(s.total_cost, "total_cost")
    costs = {name: _money(getattr(s, name), name) for name in COST_CATEGORIES}
    if sum(costs.values(), ZERO) != total:
        raise refuse(f"各类费用之和（{sum(costs.values(), ZERO)}）与总费用（{total}）不符。",
                     "costs_do_not_add_up")
    if s.policy_cost is not None:
        policy = _money(s.policy_cost, "policy_cost")
    else:
        policy = (total * default_policy_share).quantize(CENT, rounding=ROUND_HALF_UP)
    if policy > total:
        raise refuse(f"政策范围内费用（{policy}）不能超过总费用（{total}）。", "policy_cost_exceeds_total")
    split = (s.deductible, s.ratio, s.fund_paid, s.patient_paid)
    checked = CheckedSettlement(
        scheme=scheme, source=source, settled_on=settled_on, total_cost=total, policy_cost=policy,
        policy_cost_given=s.policy_cost is not None, deductible=None, ratio=None, fund_paid=None, patient_paid=None,
        **costs,
    )
    if all(v is None for v in split):
        return checked
    if any(v is None for v in split):
        raise refuse("基金支付、个人支付、起付线和报销比例须同时提供，或都不提供（由平台按报销规则计算）。",
                     "split_incomplete")
    assert s.deductible is not None and s.ratio is not None and s.fund_paid is not None
    assert s.patient_paid is not None
    fund, patient = _money(s.fund_paid, "fund_paid"), _money(s.patient_paid, "patient_paid")
    deductible, ratio = _money(s.deductible, "deductible"), _check_ratio(s.ratio)
    if fund + patient != total:
        raise refuse(f"基金支付（{fund}）与个人支付（{patient}）之和须等于总费用（{total}）。", "paid_do_not_add_up")
    if deductible > policy:
        raise refuse(f"起付线（{deductible}）不能超过政策范围内费用（{policy}）。", "deductible_exceeds_policy_cost")
    # The fund pays only inside the policy range (政策范围内费用); more is a mistake in the split.
    if fund > policy:
        raise refuse(f"基金支付（{fund}）不能超过政策范围内费用（{policy}）。", "fund_exceeds_policy_cost")
    if scheme is Scheme.SELF_PAY and fund != 0:
        raise refuse("自费结算没有基金支付。", "self_pay_fund_paid")
    return replace(checked, deductible=deductible, ratio=ratio, fund_paid=fund, patient_paid=patient)


def check_encounter(data: EncounterData, *, birth_date: date, today: date,
                    default_policy_share: Decimal = Decimal(1)) -> CheckedEncounter:
    """Validate one encounter with its settlement; refuse the first problem found.

    ``birth_date`` is the resident's (from the master patient index, so ages follow the
    registered record); ``today`` is China's date, or a simulation's clock.
    """
    _check_identity(data)
    kind = _check_kind(data.kind)
    end, los = _check_dates(data, kind, birth_date, today)
    mode = _check_discharge_mode(data.discharge_mode, kind)
    age_years, age_days = age_at(birth_date, data.start_date)
    weight = _check_birth_weight(data.birth_weight_g, age_years, age_days)
    diagnoses = _check_diagnoses(data.diagnoses)
    procedures = _check_codes(tuple(p for p in data.procedures if p.strip()), diagnoses=False)
    if data.referral_episode_id is not None and data.referral_episode_id <= 0:
        raise refuse("转诊编号须为正整数。", "referral_episode_invalid")
    settlement = _check_settlement(data.settlement, data.start_date, end, default_policy_share)
    return CheckedEncounter(
        source_system=data.source_system.strip(), source_id=data.source_id.strip(), kind=kind,
        start_date=data.start_date, end_date=end, los_days=los, discharge_mode=mode, age_years=age_years,
        age_days=age_days, birth_weight_g=weight, diagnoses=diagnoses, procedures=procedures,
        referral_episode_id=data.referral_episode_id, settlement=settlement,
    )


def parse_decimal(value: str, field: str) -> Decimal:
    """A money or ratio column of a CSV row (the API gets Decimals from pydantic)."""
    try:
        number = Decimal(value.strip().replace(",", ""))
    except InvalidOperation:
        what = COST_NAMES_ZH.get(field, "报销比例" if field == "ratio" else field)
        raise refuse(f"{what}“{value[:20]}”不是数字。", "number_invalid", field=field) from None
    if not number.is_finite():
        raise refuse(f"{field}不是有限的数字。", "number_invalid", field=field)
    return number
