"""Input and output models of the referral API (双向转诊).

Every event by a person carries the ``version`` of the referral the actor saw.  It is
optional in the models on purpose: an event without it reaches the service and is
refused there with ValidationFailed ``version_required`` (REFERRAL.md "Integrity"),
the same answer on every entry point.  ``resident_id`` is optional too: when given it
must be the referral's resident (Conflict ``resident_mismatch``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from yilian.contracts.config import PriorityBenefit

DirectionCode = Literal["up", "down", "lateral"]
UrgencyCode = Literal["routine", "urgent"]
DeclineCodeIn = Literal["no_capacity", "not_indicated", "wrong_receiver", "patient_refused", "other"]
CareSettingCode = Literal["outpatient", "inpatient"]
FollowUpModeCode = Literal["clinic", "home", "phone", "ward"]


class _In(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")


class DraftIn(_In):
    resident_id: int = Field(description="居民编号")
    receiving_institution_id: int | None = Field(
        default=None,
        description="接收机构；下转可不填，默认居民签约团队所在机构，其次为户籍乡镇的卫生院/社区卫生服务中心")
    sending_institution_id: int | None = Field(default=None, description="转出机构；默认本人执业的机构")
    direction: DirectionCode | None = Field(
        default=None, description="up 上转、down 下转、lateral 平转；默认按机构级别判断")
    urgency: UrgencyCode | None = Field(
        default=None, description="routine 常规、urgent 急诊；上转和平转必填，下转只能常规")
    diagnoses: list[str] = Field(default_factory=list, max_length=20, description="ICD-10 诊断，主要诊断在前")
    reason: str | None = Field(default=None, max_length=2000, description="转诊理由；主要诊断不在病种目录内时必填")
    receiving_department_id: int | None = None
    receiving_practitioner_id: int | None = None
    summary: str | None = Field(default=None, max_length=8000, description="下转：诊疗（出院）小结")
    care_plan: str | None = Field(default=None, max_length=4000, description="下转：后续治疗/康复方案")
    medications: str | None = Field(default=None, max_length=4000, description="用药（下转必填；上转可附当前用药）")
    followup_instructions: str | None = Field(default=None, max_length=4000, description="下转：随访要求")


class EventIn(_In):
    version: int | None = Field(default=None, description="页面所见的转诊版本号（必填）")
    resident_id: int | None = Field(default=None, description="如填写，须与转诊的居民一致")


class SubmitIn(EventIn):
    slot_id: int | None = Field(default=None, description="预占的接收机构转诊预留号源（可选）")


class ReasonIn(EventIn):
    reason: str | None = Field(default=None, max_length=2000)


class DeclineIn(EventIn):
    code: DeclineCodeIn | None = Field(default=None, description="拒绝原因代码；other 须填写说明")
    reason: str | None = Field(default=None, max_length=2000)


class SlotIn(EventIn):
    slot_id: int | None = Field(default=None, description="接收机构的号源或床位")


class CheckInIn(EventIn):
    care_setting: CareSettingCode | None = Field(default=None, description="outpatient 门诊到诊、inpatient 住院")


class NoteIn(EventIn):
    text: str | None = Field(default=None, max_length=4000)


class OutcomeIn(EventIn):
    summary: str | None = Field(default=None, max_length=8000)
    diagnoses: list[str] = Field(default_factory=list, max_length=20)
    recommendations: str | None = Field(default=None, max_length=4000)


class FollowUpIn(EventIn):
    on: date | None = Field(default=None, description="随访日期，默认今天")
    mode: FollowUpModeCode | None = Field(default=None, description="clinic 门诊、home 入户、phone 电话、ward 病房")
    findings: str | None = Field(default=None, max_length=4000)
    plan: str | None = Field(default=None, max_length=4000)


class ReassignIn(EventIn):
    department_id: int | None = None
    practitioner_id: int | None = None


class PolicyIn(_In):
    """A consortium's referral settings; deadlines in minutes by REFERRAL.md's keys (empty = default)."""

    valid_from: date | None = None
    routine: dict[str, float | None] | None = None
    urgent: dict[str, float | None] | None = None
    down: dict[str, float | None] | None = None
    benefits: list[PriorityBenefit] | None = Field(default=None, description="“一免三优先”中本医联体给予的项目")
    down_auto_accept: bool | None = None
    out_of_network_approval: bool | None = None
    tick_interval_minutes: int | None = Field(default=None, ge=1, le=1440)


# ---- output -------------------------------------------------------------------------------


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class DeadlineOut(_Out):
    key: str
    name: str
    at: datetime
    overdue: bool


class FollowUpTaskOut(_Out):
    status: str
    due_at: datetime
    team_id: int | None
    assignee_user_id: int | None
    done_on: date | None
    on_time: bool | None
    mode: str | None
    findings: str | None
    plan: str | None
    source: str | None


class ReferralOut(_Out):
    id: int
    resident_id: int
    resident_name: str
    direction: str
    direction_name: str
    urgency: str | None
    status: str
    status_name: str
    version: int
    sending_institution_id: int
    sending_institution_name: str
    receiving_institution_id: int
    receiving_institution_name: str
    receiving_department_id: int | None
    receiving_practitioner_id: int | None
    governing_consortium_id: int | None
    receiving_consortium_id: int | None
    sent_by: int
    out_of_network: bool | None
    approval: str | None
    diagnoses: list[str]
    principal_in_catalogue: bool | None
    reason: str | None
    summary: str | None
    care_plan: str | None
    medications: str | None
    followup_instructions: str | None
    slot_id: int | None
    slot_state: str | None
    slot_start: datetime | None
    care_setting: str | None
    benefits: list[str]
    end_reason: str | None
    decline_code: str | None
    outcome_summary: str | None
    outcome_diagnoses: list[str]
    outcome_recommendations: str | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    accepted_at: datetime | None
    completed_at: datetime | None
    next_deadline: DeadlineOut | None
    escalations: list[str]
    followup: FollowUpTaskOut | None
    allowed_events: list[str] = Field(description="本人此刻可以执行的操作")


class TimelineEntryOut(_Out):
    at: datetime
    kind: str  # transition | escalation
    seq: int | None
    event: str
    event_name: str
    from_status: str | None
    to_status: str | None
    party: str | None
    actor: str | None
    reason: str | None
    payload: dict[str, Any] | None


class RecordExtractOut(_Out):
    referral_id: int
    resident_id: int
    resident_name: str
    attached_at: datetime | None
    encounters: list[dict[str, Any]]
    diagnoses: list[str]
    medications: str | None


class SlotOut(_Out):
    id: int
    institution_id: int
    kind: str
    start_at: datetime
    end_at: datetime
    pool_kind: str
    free: int


class NotificationOut(_Out):
    id: int
    kind: str
    title: str
    link: str | None
    created_at: datetime
    read_at: datetime | None
    payload: dict[str, Any] | None


class CatalogueImportOut(_Out):
    consortium_id: int | None
    loaded: dict[str, int]
    replaced: int
    warnings: list[str]


class TickOut(_Out):
    now: datetime
    counts: dict[str, int]
