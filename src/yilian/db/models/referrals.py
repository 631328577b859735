"""Two-way referral (双向转诊): episodes, their transition rows, escalations, follow-up tasks,
catalogues, designated centres and per-consortium policy (REFERRAL.md).

The columns follow ``referrals.records.ReferralSnapshot`` so the service can build a
snapshot from one row (plus its escalation keys) and write a ``Decision`` back:

- ``version`` +1 on every transition (compare-and-set ``WHERE id = :id AND version = :v``);
  each transition is a ``referral_event`` row whose ``seq`` is the version it produced,
  so ``status_entry_seq`` points at the row that opened the current status entry.
- ``deadlines``: the governing consortium's ``DeadlineSet`` copied at submission
  (``DeadlineSet.to_seconds()``), never re-read from configuration.
- ``slot_id`` / ``slot_state``: the held or booked slot (or bed) and ``SlotState``; the
  appointment row itself carries ``referral_episode_id``.
- a time stamp per status reached (first time), for the indicators.

The care seam (ARCHITECTURE.md "Referral link on care"): ``encounter.referral_episode_id``
landed with care as a plain column; the constraint is added here, with this table.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from yilian.db.base import Base, UTCDateTime
from yilian.db.models.care import Encounter

BigId = BigInteger().with_variant(Integer, "sqlite")

STATUSES = (
    "draft", "awaiting_approval", "requested", "accepted", "scheduled", "no_show", "in_care",
    "cancel_requested", "completed", "declined", "cancelled", "expired",
)
APPROVALS = ("not_required", "approved", "deemed", "exempt", "rejected", "pending")
CATALOGUE_KINDS = ("up", "down", "rehab", "must_treat_county", "must_treat_township")
ESCALATION_KINDS = ("approval", "accept", "arrange", "attendance", "outcome", "cancel", "followup")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} in ({','.join(repr(v) for v in values)})"


class ReferralEpisode(Base):
    __tablename__ = "referral_episode"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    direction: Mapped[str] = mapped_column(String(8))  # up | down | lateral
    urgency: Mapped[str | None] = mapped_column(String(8))  # routine | urgent
    status: Mapped[str] = mapped_column(String(20), default="draft")
    version: Mapped[int] = mapped_column(Integer, default=1)
    # Parties.  ``sent_by`` is the draft's author, then the submitter.
    sending_institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    sending_practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioner.id"))
    created_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    sent_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    receiving_institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    receiving_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    receiving_practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioner.id"))
    governing_consortium_id: Mapped[int | None] = mapped_column(ForeignKey("consortium.id"))
    #: The receiving institution's tight consortium (reassignment by its office, escalations).
    receiving_consortium_id: Mapped[int | None] = mapped_column(ForeignKey("consortium.id"))
    out_of_network: Mapped[bool | None] = mapped_column(Boolean)
    approval: Mapped[str | None] = mapped_column(String(16))
    # Clinical content: diagnoses '|'-joined, principal first (as on encounters).
    principal_dx: Mapped[str | None] = mapped_column(String(24))
    diagnoses: Mapped[str | None] = mapped_column(Text)
    principal_in_catalogue: Mapped[bool | None] = mapped_column(Boolean)
    catalogue_entry_id: Mapped[int | None] = mapped_column(ForeignKey("referral_catalogue_entry.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    # Down-referral handover.
    summary: Mapped[str | None] = mapped_column(Text)
    care_plan: Mapped[str | None] = mapped_column(Text)
    medications: Mapped[str | None] = mapped_column(Text)
    followup_instructions: Mapped[str | None] = mapped_column(Text)
    #: The shared-record extract attached at submission (recent encounters, diagnoses, drugs).
    record_extract: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Held / booked slot or bed.
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("slot.id"))
    slot_state: Mapped[str | None] = mapped_column(String(12))  # held | booked | no_show | attended
    care_setting: Mapped[str | None] = mapped_column(String(12))  # outpatient | inpatient
    #: "一免三优先" codes applied on acceptance (``PriorityBenefit``); empty once ended.
    benefits: Mapped[list[str]] = mapped_column(JSON, default=list)
    benefits_applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    benefits_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deadlines: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    status_entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status_entry_seq: Mapped[int] = mapped_column(Integer, default=1)
    end_reason: Mapped[str | None] = mapped_column(String(32))
    decline_code: Mapped[str | None] = mapped_column(String(20))
    # Outcome back to the sender (up / lateral).
    outcome_summary: Mapped[str | None] = mapped_column(Text)
    outcome_diagnoses: Mapped[str | None] = mapped_column(Text)
    outcome_recommendations: Mapped[str | None] = mapped_column(Text)
    # Time stamps: creation, and the first time each status was reached.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    no_show_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    in_care_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("direction in ('up','down','lateral')", name="direction_valid"),
        CheckConstraint("urgency is null or urgency in ('routine','urgent')", name="urgency_valid"),
        CheckConstraint(_in("status", STATUSES), name="status_valid"),
        CheckConstraint(f"approval is null or {_in('approval', APPROVALS)}", name="approval_valid"),
        CheckConstraint(
            "slot_state is null or slot_state in ('held','booked','no_show','attended')", name="slot_state_valid"
        ),
        CheckConstraint(
            "care_setting is null or care_setting in ('outpatient','inpatient')", name="care_setting_valid"
        ),
        CheckConstraint("version >= 1", name="version_positive"),
        Index("ix_referral_episode_receiver", "receiving_institution_id", "status"),
        Index("ix_referral_episode_sender", "sending_institution_id", "status"),
        Index("ix_referral_episode_governing", "governing_consortium_id", "status"),
        Index("ix_referral_episode_submitted", "submitted_at"),
        Index("ix_referral_episode_open", "status", "status_entered_at"),
    )


# The seam: care's encounters point at the episode they belong to.  The column is care's;
# the constraint lands with this table (ARCHITECTURE.md), so it is declared here.
Encounter.__table__.append_constraint(  # type: ignore[attr-defined]
    ForeignKeyConstraint(["referral_episode_id"], ["referral_episode.id"])
)


class ReferralEvent(Base):
    """One transition (REFERRAL.md "Every transition is a row"); ``seq`` = the version it made."""

    __tablename__ = "referral_event"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referral_episode.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    row: Mapped[int] = mapped_column(Integer)  # the transition table's row number
    event: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    party: Mapped[str] = mapped_column(String(20))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor_role: Mapped[str | None] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (
        UniqueConstraint("referral_id", "seq"),
        Index("ix_referral_event_at", "at"),
    )


class ReferralEscalation(Base):
    """An escalation: unique per (referral, kind, status entry); ``entry_seq`` 0 for ``followup``,
    which is escalated once per referral (NULL would not be unique)."""

    __tablename__ = "referral_escalation"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referral_episode.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))
    entry_seq: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("referral_id", "kind", "entry_seq"),
        CheckConstraint(_in("kind", ESCALATION_KINDS), name="kind_valid"),
    )


class ReferralFollowUpTask(Base):
    """The follow-up owed after a down-referral is accepted (to a team or a clinician)."""

    __tablename__ = "referral_followup"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    referral_id: Mapped[int] = mapped_column(ForeignKey("referral_episode.id", ondelete="CASCADE"), unique=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("family_doctor_team.id"), index=True)
    assignee_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | done | cancelled
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    done_on: Mapped[date | None] = mapped_column(Date)
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    mode: Mapped[str | None] = mapped_column(String(8))  # clinic | home | phone | ward
    findings: Mapped[str | None] = mapped_column(Text)
    plan: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(12))  # recorded | encounter | delivery
    evidence_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("status in ('open','done','cancelled')", name="status_valid"),
        Index("ix_referral_followup_inst", "institution_id", "status", "due_at"),
    )


class ReferralCatalogueEntry(Base):
    """A disease of a consortium's catalogue (up, down, rehabilitation, must-treat per level).

    ``consortium_id`` empty = the system-wide catalogue (referrals with no governing consortium).
    """

    __tablename__ = "referral_catalogue_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int | None] = mapped_column(ForeignKey("consortium.id"))
    kind: Mapped[str] = mapped_column(String(24))
    icd10: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(120))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("consortium_id", "kind", "icd10"),
        CheckConstraint(_in("kind", CATALOGUE_KINDS), name="kind_valid"),
        Index("ix_referral_catalogue_lookup", "consortium_id", "kind", "icd10"),
    )


class ReferralDesignatedCentre(Base):
    """An institution that may receive up-referrals whatever its tier (designated specialty centre)."""

    __tablename__ = "referral_designated_centre"

    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortium.id"), primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), primary_key=True)


class ReferralPolicySetting(Base):
    """A consortium's referral settings (``referrals.config.ReferralPolicy``), in force from ``valid_from``.

    ``deadlines`` holds ``{"routine": {...}, "urgent": {...}, "down": {...}}`` in seconds
    (``DeadlineSet.to_seconds``); empty keys keep REFERRAL.md's defaults.
    """

    __tablename__ = "referral_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int | None] = mapped_column(ForeignKey("consortium.id"), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    deadlines: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    benefits: Mapped[list[str] | None] = mapped_column(JSON)
    down_auto_accept: Mapped[bool | None] = mapped_column(Boolean)
    out_of_network_approval: Mapped[bool | None] = mapped_column(Boolean)
    tick_interval_seconds: Mapped[int | None] = mapped_column(Integer)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("consortium_id", "valid_from"),)
