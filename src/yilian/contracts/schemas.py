"""Input and output models of the contracts API (家庭医生签约).

Every change to an existing contract carries the ``version`` the person saw, so two
people acting on one contract at once cannot both win: the second gets
``stale_version`` (HTTP 409).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

TeamRole = Literal["gp_lead", "gp", "nurse", "public_health", "specialist", "health_manager", "other"]
FrequencyCode = Literal["once", "monthly", "quarterly", "semiannual", "annual"]
PayerCode = Literal["fund", "public_health", "resident"]
ReasonCode = Literal[
    "resident_request", "changed_team", "moved_away", "deceased", "team_dissolved", "duplicate", "other"
]


class _In(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")


class TeamMemberIn(_In):
    practitioner_id: int = Field(description="医务人员")
    role: TeamRole = Field(description="团队角色：gp_lead 团队长（全科医生）、nurse 护士、public_health 公卫人员、"
                                        "specialist 上级医院专科医生、health_manager 健康管理师……")
    user_id: int | None = Field(default=None, description="该成员的登录账号（用于“我的签约居民”）")
    joined_on: date | None = Field(default=None, description="加入日期，默认今天")


class TeamIn(_In):
    institution_id: int = Field(description="团队所在的基层医疗卫生机构")
    code: str = Field(min_length=1, max_length=40, description="团队编码（机构内唯一）")
    name: str = Field(min_length=1, max_length=80, description="团队名称")
    panel_limit: int | None = Field(default=None, ge=0, description="签约人数上限；为空时按医联体配置")
    members: list[TeamMemberIn] = Field(default_factory=list)


class PackageItemIn(_In):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=80)
    frequency: FrequencyCode
    populations: list[str] = Field(default_factory=list, description="适用的重点人群代码；为空表示全体签约居民")
    price: Decimal = Field(ge=0, max_digits=16, decimal_places=2, description="签约周期内该项目的价格（元）")
    payer: PayerCode = Field(description="支付方：fund 医保基金、public_health 基本公卫经费、resident 居民自付")


class PackageIn(_In):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=80)
    kind: Literal["basic", "personalised"]
    population: str | None = Field(default=None, description="个性化服务包面向的重点人群代码")
    consortium_id: int | None = None
    items: list[PackageItemIn] = Field(min_length=1)


class SignIn(_In):
    resident_id: int
    team_id: int
    start_on: date | None = Field(default=None, description="起始日，默认今天")
    end_on: date | None = Field(default=None, description="截止日（含），默认签满最短周期")
    package_ids: list[int] = Field(default_factory=list, description="个性化服务包；基础包自动包含")
    combination: list[int] = Field(
        default_factory=list, description="“1+1+1”组合签约的机构（社区卫生服务中心、区级医院、市级医院，按序）"
    )


class FamilySignIn(_In):
    resident_ids: list[int] = Field(min_length=1, description="家庭成员")
    team_id: int
    start_on: date | None = None
    end_on: date | None = None
    package_ids: list[int] = Field(default_factory=list)


class RenewIn(_In):
    version: int = Field(description="页面所见的合同版本号")
    end_on: date | None = Field(default=None, description="新合同截止日（含），默认签满最短周期")


class SwitchIn(RenewIn):
    team_id: int = Field(description="转签的新团队")


class TerminateIn(_In):
    version: int
    reason: ReasonCode
    reason_text: str | None = Field(default=None, max_length=500)
    on: date | None = Field(default=None, description="解约日期：自该日起不再有效，默认今天")


class DeliveryIn(_In):
    item_code: str = Field(min_length=1, max_length=40)
    delivered_on: date | None = Field(default=None, description="履约日期，默认今天")
    practitioner_id: int | None = None
    note: str | None = Field(default=None, max_length=2000)


# ---- output -------------------------------------------------------------------------------


class TeamMemberOut(BaseModel):
    id: int
    practitioner_id: int
    user_id: int | None
    role: str
    joined_on: date
    left_on: date | None


class TeamOut(BaseModel):
    id: int
    institution_id: int
    code: str
    name: str
    panel_limit: int | None
    effective_limit: int
    contracted: int
    members: list[TeamMemberOut]


class PackageItemOut(BaseModel):
    id: int
    code: str
    name: str
    frequency: str
    populations: list[str]
    price: Decimal
    payer: str


class PackageOut(BaseModel):
    id: int
    code: str
    name: str
    kind: str
    population: str | None
    consortium_id: int | None
    items: list[PackageItemOut]


class ContractOut(BaseModel):
    id: int
    resident_id: int
    team_id: int
    institution_id: int
    status: str
    status_name: str
    signed_on: date
    start_on: date
    end_on: date
    stop_on: date | None
    household_key: str | None
    predecessor_id: int | None
    termination_reason: str | None
    termination_text: str | None
    version: int
    package_ids: list[int]
    combination: list[int]


class TransitionOut(BaseModel):
    contract: ContractOut
    successor: ContractOut | None = None


class FamilySignOut(BaseModel):
    household_key: str
    signed: list[ContractOut]
    already_with_team: list[int]


class DeliveryOut(BaseModel):
    id: int
    contract_id: int
    item_code: str
    delivered_on: date
    institution_id: int
    recorded_at: datetime


class DueItemOut(BaseModel):
    contract_id: int
    resident_id: int
    resident_name: str
    team_id: int
    team_name: str
    item_code: str
    item_name: str
    seq: int
    window_start: date
    due_on: date
    state: str


class PriorityRightsOut(BaseModel):
    resident_id: int
    on: date
    benefits: list[str]
    contract_id: int | None
    team_id: int | None
    institution_id: int | None
    consortia: list[int]
