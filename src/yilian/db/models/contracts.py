"""Family-doctor contracts (家庭医生签约): teams, service packages, contracts, delivery records (履约).

A contract's term is stored as on paper (``start_on`` … ``end_on``, both inclusive);
``stop_on`` is the first day it is no longer in force once it has ended early or
run out (``contracts.rules`` works on half-open ``[start_on, stop_on)`` intervals).
Policy values (term, renewal window, panel limit, "1+1+1") are configuration rows
in ``contract_policy``, versioned by ``valid_from``; without a row the code's
defaults (``contracts.config.ContractPolicy``) apply.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from yilian.db.base import Base, Money, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")

TEAM_ROLES = ("gp_lead", "gp", "nurse", "public_health", "specialist", "health_manager", "other")
CONTRACT_STATUSES = ("signed", "active", "renewed", "switched", "terminated", "expired")
FREQUENCIES = ("once", "monthly", "quarterly", "semiannual", "annual")
PAYERS = ("fund", "public_health", "resident")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} in ({','.join(repr(v) for v in values)})"


class FamilyDoctorTeam(Base):
    """A family-doctor team at a primary-care centre; ``panel_limit`` overrides the policy's."""

    __tablename__ = "family_doctor_team"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(80))
    panel_limit: Mapped[int | None] = mapped_column(Integer)
    dissolved_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("institution_id", "code"),
        CheckConstraint("panel_limit is null or panel_limit >= 0", name="panel_limit_nonneg"),
    )


class FamilyDoctorTeamMember(Base):
    """A practitioner in a team (GP lead, nurse, public-health staff, specialist, health manager).

    ``user_id`` links the member's login, so "my residents" can start from the teams a
    clinician belongs to; a member without a login is still a member.
    """

    __tablename__ = "family_doctor_team_member"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("family_doctor_team.id"), index=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    joined_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        CheckConstraint(_in("role", TEAM_ROLES), name="role_valid"),
        CheckConstraint("left_on is null or left_on > joined_on", name="interval_valid"),
    )


class ServicePackage(Base):
    """A service package: the basic package, or a personalised one for a key population.

    ``consortium_id`` empty = offered everywhere; ``population`` names the key-population
    code (DOMAIN.md) a personalised package is meant for.
    """

    __tablename__ = "service_package"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(12))  # basic | personalised
    population: Mapped[str | None] = mapped_column(String(20))
    consortium_id: Mapped[int | None] = mapped_column(ForeignKey("consortium.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("kind in ('basic','personalised')", name="kind_valid"),
        CheckConstraint("kind = 'basic' or population is not null", name="personalised_population"),
    )


class ServicePackageItem(Base):
    """One service a package promises: frequency, price for the term, and who pays."""

    __tablename__ = "service_package_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("service_package.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(80))
    frequency: Mapped[str] = mapped_column(String(12))
    #: Key-population codes the item is owed to, comma-joined; empty = every contracted resident.
    populations: Mapped[str] = mapped_column(String(200), default="")
    price: Mapped[Decimal] = mapped_column(Money)
    payer: Mapped[str] = mapped_column(String(16))

    __table_args__ = (
        UniqueConstraint("package_id", "code"),
        CheckConstraint(_in("frequency", FREQUENCIES), name="frequency_valid"),
        CheckConstraint(_in("payer", PAYERS), name="payer_valid"),
        CheckConstraint("price >= 0", name="price_nonneg"),
    )


class Contract(Base):
    """A resident's contract with a team.  One in force per resident at a time (service-checked
    under a lock on the resident row); renewals and switches chain through ``predecessor_id``."""

    __tablename__ = "contract"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
    team_id: Mapped[int] = mapped_column(ForeignKey("family_doctor_team.id"))
    #: The team's institution, copied for scope checks and per-institution indicators.
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    status: Mapped[str] = mapped_column(String(12))
    signed_on: Mapped[date] = mapped_column(Date)
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date] = mapped_column(Date)
    stop_on: Mapped[date | None] = mapped_column(Date)
    #: Family-level signing: the members signed together share a key.
    household_key: Mapped[str | None] = mapped_column(String(40), index=True)
    predecessor_id: Mapped[int | None] = mapped_column(ForeignKey("contract.id"), index=True)
    termination_reason: Mapped[str | None] = mapped_column(String(20))
    termination_text: Mapped[str | None] = mapped_column(String(500))
    signed_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    ended_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint(_in("status", CONTRACT_STATUSES), name="status_valid"),
        CheckConstraint("end_on >= start_on", name="term_ordered"),
        CheckConstraint("stop_on is null or stop_on >= start_on", name="stop_valid"),
        Index("ix_contract_resident", "resident_id", "start_on"),
        Index("ix_contract_team_status", "team_id", "status"),
        Index("ix_contract_inst_term", "institution_id", "start_on", "end_on"),
    )


class ContractPackage(Base):
    """The packages a contract includes (the basic package plus any personalised ones)."""

    __tablename__ = "contract_package"

    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"), primary_key=True)
    package_id: Mapped[int] = mapped_column(ForeignKey("service_package.id"), primary_key=True)


class ContractCombination(Base):
    """"1+1+1" combination signing: one institution per configured place, in order."""

    __tablename__ = "contract_combination"

    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    slot_code: Mapped[str] = mapped_column(String(20))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))


class ContractDelivery(Base):
    """A delivery record (履约记录): a package item delivered to the resident on a date."""

    __tablename__ = "contract_delivery"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contract.id"))
    package_item_id: Mapped[int] = mapped_column(ForeignKey("service_package_item.id"))
    item_code: Mapped[str] = mapped_column(String(40))
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    delivered_on: Mapped[date] = mapped_column(Date)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioner.id"))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_contract_delivery_contract", "contract_id", "item_code", "delivered_on"),
        Index("ix_contract_delivery_inst_date", "institution_id", "delivered_on"),
    )


class ContractPolicySetting(Base):
    """Contract policy of a consortium (empty = the system-wide row), in force from ``valid_from``.

    Empty columns fall back to the next level (system row, then the code's defaults).
    """

    __tablename__ = "contract_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int | None] = mapped_column(ForeignKey("consortium.id"), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    min_term_years: Mapped[int | None] = mapped_column(SmallInteger)
    renewal_window_days: Mapped[int | None] = mapped_column(Integer)
    panel_limit: Mapped[int | None] = mapped_column(Integer)
    combination_enabled: Mapped[bool | None] = mapped_column(Boolean)
    #: Priority-benefit codes a contract grants (``PriorityBenefit``), or empty for the default.
    priority_rights: Mapped[list[str] | None] = mapped_column(JSON)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("consortium_id", "valid_from"),
        CheckConstraint("min_term_years is null or min_term_years >= 1", name="term_valid"),
        CheckConstraint("panel_limit is null or panel_limit >= 0", name="panel_valid"),
    )
