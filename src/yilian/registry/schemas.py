"""Registry input/output models (API and service)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Level = Literal["1", "2", "3", "unrated"]
Grade = Literal["A", "B", "C"]
Mode = Literal["city_group", "county_community", "specialty_alliance", "telemedicine_network"]
Integration = Literal["tight", "loose"]
ConsortiumLevel = Literal["county", "city", "province", "cross_region"]
ConsortiumType = Literal["general", "tcm", "mch", "specialty"]
MemberRole = Literal["member", "partner"]
TitleLevel = Literal["junior", "intermediate", "associate_senior", "senior"]
AgreementKind = Literal["support", "trusteeship", "collaboration"]

TITLE_ZH = {"junior": "初级", "intermediate": "中级", "associate_senior": "副高", "senior": "正高"}
LEVEL_ZH = {"1": "一级", "2": "二级", "3": "三级", "unrated": "未定级"}
MODE_ZH = {
    "city_group": "城市医疗集团",
    "county_community": "县域医共体",
    "specialty_alliance": "专科联盟",
    "telemedicine_network": "远程医疗协作网",
}
INTEGRATION_ZH = {"tight": "紧密型", "loose": "松散型"}
ROLE_ZH = {"lead": "牵头单位", "member": "成员单位", "partner": "协作单位"}
CLEVEL_ZH = {"county": "县级", "city": "市级", "province": "省级", "cross_region": "跨区域"}
CTYPE_ZH = {"general": "综合", "tcm": "中医", "mch": "妇幼", "specialty": "专科"}
AGREEMENT_ZH = {"support": "对口支援", "trusteeship": "托管", "collaboration": "业务协作"}
PRACTITIONER_CATEGORIES = {
    "physician": "医师",
    "nurse": "护士",
    "pharmacist": "药师",
    "technician": "技师",
    "public_health": "公共卫生人员",
    "health_manager": "健康管理师",
}


class DivisionIn(BaseModel):
    code: str = Field(pattern=r"^\d{6}(\d{3})?$")
    name: str = Field(min_length=1, max_length=60)
    level: Literal["province", "city", "county", "township"]
    parent_code: str | None = None


class InstitutionIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=120)
    category: str = Field(min_length=4, max_length=8)
    level: Level = "unrated"
    grade: Grade | None = None
    ownership: Literal["public", "private"] = "public"
    beds: int = Field(default=0, ge=0)
    division_code: str
    parent_code: str | None = None
    in_county: bool = True


class InstitutionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    category: str
    level: str
    grade: str | None
    ownership: str
    beds: int
    division_code: str
    is_primary_care: bool
    tier: int
    in_county: bool


class PractitionerIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=60)
    category: str
    title_level: TitleLevel
    specialty: str | None = None
    institution_code: str
    department_code: str | None = None


class PractitionerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    category: str
    title_level: str
    specialty: str | None
    home_institution_id: int


class PracticeSiteIn(BaseModel):
    institution_code: str
    valid_from: date
    valid_to: date | None = None
    registration_no: str | None = Field(default=None, max_length=60)


class ConsortiumIn(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=120)
    mode: Mode
    integration: Integration
    level: ConsortiumLevel
    type: ConsortiumType | None = None  # default from the lead's category
    division_code: str
    lead_code: str
    established_on: date
    charter: str | None = None


class ConsortiumOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    mode: str
    integration: str
    level: str
    type: str
    division_code: str
    established_on: date


class MemberIn(BaseModel):
    institution_code: str
    role: MemberRole = "member"
    joined_on: date
    agreement_id: int | None = None


class MembershipOut(BaseModel):
    id: int
    institution_code: str
    institution_name: str
    role: str
    joined_on: date
    left_on: date | None


class EndIn(BaseModel):
    left_on: date


class LeadChangeIn(BaseModel):
    institution_code: str
    on: date
    keep_old_lead_as_member: bool = True


class AffiliationIn(BaseModel):
    group_code: str
    joined_on: date


class AgreementIn(BaseModel):
    kind: AgreementKind
    supporting_code: str
    supported_code: str
    consortium_code: str | None = None
    document_no: str = Field(min_length=1, max_length=80)
    signed_on: date
    valid_from: date
    valid_to: date | None = None


class GridIn(BaseModel):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=120)
    city_code: str = Field(pattern=r"^\d{6}$")
    group_code: str
    division_codes: list[str] = Field(default_factory=list)


class ImportReport(BaseModel):
    kind: str
    total: int
    created: int
    updated: int
    unchanged: int
    rejected: list[dict[str, object]]
