"""Input and output models of the residents API.

Personal identifiers come in as ``SecretStr``: a model that ends up in a log line,
a traceback or a debugger shows ``**********`` instead of the number.  Output
models carry only the masked ID number and phone; the full number is shown only
through the audited reveal on the resident's page.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr

T = TypeVar("T")


class ResidentIn(BaseModel):
    """A resident as registered.  With an ID number, birth date and sex may be left out
    (the number carries them); without one, name, sex, birth date and township are required."""

    model_config = ConfigDict(str_strip_whitespace=True)

    id_number: SecretStr | None = Field(default=None, description="居民身份证号码（18位）")
    name: str = Field(max_length=60, description="姓名")
    sex: int | None = Field(default=None, ge=1, le=2, description="性别：1 男，2 女（GB/T 2261.1）")
    birth_date: date | None = Field(default=None, description="出生日期")
    phone: SecretStr | None = Field(default=None, description="联系电话")
    address_division_code: str | None = Field(
        default=None, max_length=12, description="住址所在乡镇（街道）区划代码"
    )
    address_detail: SecretStr | None = Field(default=None, description="详细住址（加密保存）")


class ResidentRegisterIn(ResidentIn):
    institution_id: int | None = Field(
        default=None, description="登记机构；医生默认为本人所在机构，系统管理员必须指定"
    )


class ResidentOut(BaseModel):
    id: int
    name: str
    sex: int
    sex_name: str
    birth_date: date
    age: int
    id_masked: str | None = Field(description="脱敏的身份证号码，如 3201**********1234；无证件时为空")
    phone_masked: str | None
    address_division_code: str | None
    address_division_name: str | None = Field(description="住址乡镇（街道）名称")
    created_at: datetime
    deceased_on: date | None = Field(default=None, description="死亡日期（已故居民）；在世为空，年龄计到死亡日")


class RegisterOut(ResidentOut):
    created: bool = Field(description="true：新建档案；false：该身份证号码已登记，返回已有档案")


class EnrolmentIn(BaseModel):
    scheme: Literal["resident", "employee"] = Field(description="resident 城乡居民医保，employee 职工医保")
    insured_division_code: str = Field(max_length=12, description="参保地（6位县级或市级区划代码）")
    start_on: date
    end_on: date | None = Field(default=None, description="参保终止日（含当日）；空表示至今")


class EnrolmentOut(BaseModel):
    id: int
    scheme: str
    scheme_name: str
    insured_division_code: str
    start_on: date
    end_on: date | None


class KeyPopulationIn(BaseModel):
    code: str = Field(max_length=20, description="pregnant、hypertension、t2dm、severe_mental、tuberculosis、"
                                                 "disabled、poverty（elderly_65、child_0_6 自动判定）")
    since: date
    until: date | None = None


class KeyPopulationEndIn(BaseModel):
    until: date


class KeyPopulationOut(BaseModel):
    id: int
    code: str
    name: str
    since: date
    until: date | None
    created: bool | None = None


class CareRelationshipOut(BaseModel):
    institution_id: int
    institution_name: str
    kind: str
    kind_name: str
    since: date
    until: date | None


class ResidentDetailOut(ResidentOut):
    address_detail: str | None = Field(description="详细住址（仅在档案详情中解密显示，读取已留痕）")
    enrolments: list[EnrolmentOut]
    key_populations: list[KeyPopulationOut] = Field(description="登记的重点人群")
    derived_key_populations: list[str] = Field(
        description="按出生日期判定的重点人群代码（elderly_65、child_0_6）"
    )
    care_relationships: list[CareRelationshipOut] = Field(
        description="与医疗机构的建档、签约、转诊、就诊关系"
    )


class DuplicatePairOut(BaseModel):
    a: ResidentOut
    b: ResidentOut


class DuplicateReviewIn(BaseModel):
    resident_a_id: int
    resident_b_id: int
    decision: Literal["distinct", "same"] = Field(
        description="distinct 不同的人；same 同一人（待数据管理员处理，不自动合并）"
    )


class DuplicateReviewOut(BaseModel):
    resident_a_id: int
    resident_b_id: int
    decision: str
    reviewed_at: datetime


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    size: int
    pages: int
