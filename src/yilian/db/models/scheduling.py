"""Scheduling: schedules, pools (号源池), slots (号源), appointments, wards with a referral reserve.

Atomic booking: a booking raises ``slot.booked_count`` by one with a single conditional
``UPDATE … WHERE booked_count < capacity`` checked by its row count; the unique
``(slot_id, active_place)`` on appointments is the backstop (a cancelled booking gives its
place back by clearing ``active_place``).  A referral's hold is an appointment row with
``held`` set: it occupies a place like a booking, so nothing else can take it.

Beds are slots too: one ``bed`` slot per ward, pool and day whose capacity is the number
of beds in that pool, so a referral books "a bed on a day" through the same machinery
(REFERRAL.md row 7: "slot or bed").
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from yilian.db.base import Base, Money, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")

POOL_KINDS = ("public", "referral", "contract")
APPOINTMENT_STATUSES = ("booked", "cancelled", "checked_in", "no_show", "completed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} in ({','.join(repr(v) for v in values)})"


class SchedulingPolicySetting(Base):
    """Scheduling policy of an institution (empty = the system-wide row), in force from ``valid_from``.

    Durations in minutes.  Empty columns fall back to the system row, then to the code's
    defaults (``scheduling.config.SchedulingPolicy`` and the service's allocation defaults).
    """

    __tablename__ = "scheduling_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    referral_release_minutes: Mapped[int | None] = mapped_column(Integer)
    contract_release_minutes: Mapped[int | None] = mapped_column(Integer)
    no_show_limit: Mapped[int | None] = mapped_column(Integer)
    no_show_window_days: Mapped[int | None] = mapped_column(Integer)
    no_show_grace_minutes: Mapped[int | None] = mapped_column(Integer)
    cancel_cutoff_minutes: Mapped[int | None] = mapped_column(Integer)
    checkin_opens_minutes: Mapped[int | None] = mapped_column(Integer)
    #: Share of a session's slots put in the referral pool and in the contract pool.
    referral_share: Mapped[Decimal | None] = mapped_column(Numeric(4, 3))
    contract_share: Mapped[Decimal | None] = mapped_column(Numeric(4, 3))
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("institution_id", "valid_from"),
        CheckConstraint(
            "referral_share is null or (referral_share >= 0 and referral_share <= 1)", name="referral_share_valid"
        ),
        CheckConstraint(
            "contract_share is null or (contract_share >= 0 and contract_share <= 1)", name="contract_share_valid"
        ),
    )


class Schedule(Base):
    """A department's or a practitioner's outpatient schedule (出诊表) at one institution."""

    __tablename__ = "schedule"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioner.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    registration_fee: Mapped[Decimal] = mapped_column(Money)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("department_id is not null or practitioner_id is not null", name="owner_given"),
        CheckConstraint("registration_fee >= 0", name="fee_nonneg"),
    )


class SlotPool(Base):
    """A pool of an institution's slots: public, reserved for one consortium's referrals, or
    reserved for contracted residents (of this institution's teams, or of a consortium's network)."""

    __tablename__ = "slot_pool"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    consortium_id: Mapped[int | None] = mapped_column(ForeignKey("consortium.id"))
    name: Mapped[str] = mapped_column(String(80))
    #: How long before a slot an unused reserved slot opens to the public; empty = never.
    release_before_minutes: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint(_in("kind", POOL_KINDS), name="kind_valid"),
        CheckConstraint("kind <> 'referral' or consortium_id is not null", name="referral_consortium"),
        CheckConstraint("kind <> 'public' or release_before_minutes is null", name="public_no_release"),
        CheckConstraint("release_before_minutes is null or release_before_minutes >= 0", name="release_nonneg"),
    )


class Ward(Base):
    """A ward with its beds, some reserved for referrals from one consortium's network."""

    __tablename__ = "ward"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(80))
    beds: Mapped[int] = mapped_column(Integer)
    referral_reserved_beds: Mapped[int] = mapped_column(Integer, default=0)
    referral_pool_id: Mapped[int | None] = mapped_column(ForeignKey("slot_pool.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("institution_id", "code"),
        CheckConstraint("beds >= 0", name="beds_nonneg"),
        CheckConstraint("referral_reserved_beds >= 0 and referral_reserved_beds <= beds", name="reserve_valid"),
        CheckConstraint("referral_reserved_beds = 0 or referral_pool_id is not null", name="reserve_pool"),
    )


class Slot(Base):
    """An appointment slot of a schedule, or a ward's beds of one pool on one day."""

    __tablename__ = "slot"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("schedule.id"))
    ward_id: Mapped[int | None] = mapped_column(ForeignKey("ward.id"))
    pool_id: Mapped[int] = mapped_column(ForeignKey("slot_pool.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # appointment | bed
    start_at: Mapped[datetime] = mapped_column(UTCDateTime())
    end_at: Mapped[datetime] = mapped_column(UTCDateTime())
    capacity: Mapped[int] = mapped_column(Integer, default=1)
    booked_count: Mapped[int] = mapped_column(Integer, default=0)
    #: Set by the release job when the reserved slot opened to the public unused.
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("kind in ('appointment','bed')", name="kind_valid"),
        CheckConstraint("(schedule_id is null) <> (ward_id is null)", name="one_owner"),
        CheckConstraint("capacity >= 1", name="capacity_positive"),
        CheckConstraint("booked_count >= 0 and booked_count <= capacity", name="booked_within_capacity"),
        CheckConstraint("end_at > start_at", name="times_ordered"),
        UniqueConstraint("schedule_id", "pool_id", "start_at"),
        UniqueConstraint("ward_id", "pool_id", "start_at"),
        Index("ix_slot_inst_start", "institution_id", "start_at"),
        Index("ix_slot_schedule_start", "schedule_id", "start_at"),
    )


class Appointment(Base):
    """A booking (or a referral's hold) of one place of a slot."""

    __tablename__ = "appointment"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("slot.id"))
    place: Mapped[int] = mapped_column(Integer)
    #: ``place`` while the booking occupies it; cleared on cancellation (unique per slot).
    active_place: Mapped[int | None] = mapped_column(Integer)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
    status: Mapped[str] = mapped_column(String(12))
    #: A referral sender's hold, not yet a booking (becomes one on acceptance).
    held: Mapped[bool] = mapped_column(Boolean, default=False)
    channel: Mapped[str] = mapped_column(String(12))  # public | referral | contract
    #: The pool the booking was made from (a released slot books as public).
    pool_kind: Mapped[str] = mapped_column(String(12))
    self_booking: Mapped[bool] = mapped_column(Boolean, default=False)
    registration_fee_waived: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[bool] = mapped_column(Boolean, default=False)
    referral_episode_id: Mapped[int | None] = mapped_column(ForeignKey("referral_episode.id"), index=True)
    booked_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    booked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    no_show_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (
        UniqueConstraint("slot_id", "active_place"),
        CheckConstraint(_in("status", APPOINTMENT_STATUSES), name="status_valid"),
        CheckConstraint(_in("channel", POOL_KINDS), name="channel_valid"),
        CheckConstraint(_in("pool_kind", POOL_KINDS), name="pool_kind_valid"),
        CheckConstraint("place >= 1", name="place_positive"),
        CheckConstraint("active_place is null or active_place = place", name="active_place_valid"),
        Index("ix_appointment_slot_status", "slot_id", "status"),
        Index("ix_appointment_resident", "resident_id", "status", "booked_at"),
    )
