"""Input and output models of the care API.

The resident arrives as an ID number in a ``SecretStr``: a model that ends up in a log line or a
traceback shows ``**********``.  Outputs carry the resident's internal id only, never the number.
Types are checked here; every rule with a stable code is checked in ``care.rules``, so the API and
the CSV import refuse the same things with the same codes.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from yilian.care.rules import EncounterData, SettlementData

_IN = ConfigDict(extra="forbid", str_strip_whitespace=True)
_ZERO = Decimal("0.00")


class SettlementIn(BaseModel):
    """The claim settled for the encounter.  Leave ``deductible``, ``ratio``, ``fund_paid`` and
    ``patient_paid`` out to have them computed by the configured reimbursement rules; send all four
    to record the split the payer applied."""

    model_config = _IN

    scheme: str = Field(description="险种：resident 城乡居民医保，employee 职工医保，self_pay 自费")
    source: str | None = Field(
        default=None, description="his 医院信息系统，insurance 医保结算记录；默认县内为 his，县外为 insurance")
    settled_on: date | None = Field(default=None, description="结算日期；默认出院日期（门急诊为就诊日期）")
    total_cost: Decimal = Field(description="总费用（元）")
    cost_drugs: Decimal = Field(default=_ZERO, description="药品费")
    cost_exams: Decimal = Field(default=_ZERO, description="检查检验费")
    cost_treatment: Decimal = Field(default=_ZERO, description="治疗费")
    cost_materials: Decimal = Field(default=_ZERO, description="材料费")
    cost_beds: Decimal = Field(default=_ZERO, description="床位费")
    cost_other: Decimal = Field(default=_ZERO, description="其他费")
    policy_cost: Decimal | None = Field(default=None, description="政策范围内费用；默认按配置占比（默认等于总费用）")
    deductible: Decimal | None = Field(default=None, description="本次支付的起付线")
    ratio: Decimal | None = Field(default=None, description="适用的报销比例（0～1）")
    fund_paid: Decimal | None = Field(default=None, description="基金支付")
    patient_paid: Decimal | None = Field(default=None, description="个人支付")

    def to_data(self) -> SettlementData:
        return SettlementData(**self.model_dump())


class EncounterIn(BaseModel):
    """One encounter with its settlement, as a member HIS (or the insurance bureau) sends it."""

    model_config = _IN

    source_system: str = Field(max_length=40, description="来源系统标识，如某院 HIS 的接口代码")
    source_id: str = Field(
        max_length=64, description="来源系统中的就诊（住院）流水号；同一系统内唯一，重复发送不会重复入库")
    resident_id_number: SecretStr = Field(description="居民身份证号码（18位），只用于查找居民，不保存明文")
    institution_code: str = Field(max_length=40, description="就诊机构代码（机构登记中的代码）")
    department_code: str | None = Field(default=None, max_length=40, description="科室代码")
    practitioner_code: str | None = Field(default=None, max_length=40, description="医师代码")
    kind: str = Field(description="outpatient 门诊，emergency 急诊，inpatient 住院")
    start_date: date = Field(description="就诊日期，住院为入院日期")
    end_date: date | None = Field(default=None, description="出院日期（住院必填）")
    los_days: int | None = Field(default=None, description="住院天数；可不填，填则须与日期一致")
    discharge_mode: str | None = Field(
        default=None, description="离院方式：1 医嘱离院 2 医嘱转院 3 医嘱转社区/乡镇卫生院 4 非医嘱离院 5 死亡 9 其他")
    birth_weight_g: int | None = Field(default=None, description="新生儿出生体重（克）")
    diagnoses: list[str] = Field(default_factory=list, description="诊断 ICD-10 编码，主要诊断在前")
    procedures: list[str] = Field(default_factory=list, description="手术操作 ICD-9-CM-3 编码，主要手术在前")
    referral_episode_id: int | None = Field(default=None, description="关联的转诊编号（经转诊时）")
    settlement: SettlementIn

    def to_data(self) -> EncounterData:
        return EncounterData(
            source_system=self.source_system, source_id=self.source_id, institution_code=self.institution_code,
            kind=self.kind, start_date=self.start_date, settlement=self.settlement.to_data(),
            diagnoses=tuple(self.diagnoses), procedures=tuple(self.procedures), end_date=self.end_date,
            los_days=self.los_days, discharge_mode=self.discharge_mode, birth_weight_g=self.birth_weight_g,
            department_code=self.department_code or None, practitioner_code=self.practitioner_code or None,
            referral_episode_id=self.referral_episode_id,
        )


class SettlementOut(BaseModel):
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


class EncounterOut(BaseModel):
    id: int
    source_system: str
    source_id: str
    resident_id: int
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
    settlement: SettlementOut | None


class EncounterListOut(EncounterOut):
    """A list row: the resident's name is shown to readers in scope (the read is audited)."""

    resident_name: str


class IngestOut(EncounterOut):
    created: bool = Field(description="true：新入库；false：同一来源编号、内容相同的记录已存在，未作改动")


class EncounterPageOut(BaseModel):
    items: list[EncounterListOut]
    total: int
    page: int
    size: int
    pages: int


class RejectedRow(BaseModel):
    line: int = Field(description="CSV 文件中的行号（表头为第1行）")
    source_id: str
    code: str
    reason: str


class ImportReport(BaseModel):
    file: str
    total: int = Field(description="数据行数")
    created: int
    unchanged: int
    rejected: list[RejectedRow]
    relationships_created: int = Field(description="新建的就诊关系（treated）条数")
    seconds: float
