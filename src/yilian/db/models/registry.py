"""Registry: divisions, institutions, departments, practitioners, consortia, grids."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
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
from sqlalchemy.orm import Mapped, mapped_column, relationship

from yilian.db.base import Base, UTCDateTime


class Division(Base):
    """Administrative division: 6-digit province/city/county codes, 9-digit townships."""

    __tablename__ = "division"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    level: Mapped[str] = mapped_column(String(12))  # province | city | county | township
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("division.code"), index=True)


class Institution(Base):
    __tablename__ = "institution"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    category: Mapped[str] = mapped_column(String(8))
    level: Mapped[str] = mapped_column(String(8))  # 1 | 2 | 3 | unrated
    grade: Mapped[str | None] = mapped_column(String(2))  # A | B | C
    ownership: Mapped[str] = mapped_column(String(12), default="public")
    beds: Mapped[int] = mapped_column(Integer, default=0)
    division_code: Mapped[str] = mapped_column(ForeignKey("division.code"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"), index=True)
    # Derived from category/level on every write; stored because every care query filters on them.
    is_primary_care: Mapped[bool] = mapped_column(Boolean, default=False)
    tier: Mapped[int] = mapped_column(SmallInteger, default=1)
    in_county: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    division: Mapped[Division] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint("level in ('1','2','3','unrated')", name="level_valid"),
        CheckConstraint("beds >= 0", name="beds_nonneg"),
    )


class Department(Base):
    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(80))

    __table_args__ = (UniqueConstraint("institution_id", "code"),)


class Practitioner(Base):
    __tablename__ = "practitioner"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    category: Mapped[str] = mapped_column(String(24))  # physician | nurse | pharmacist | technician | ...
    title_level: Mapped[str] = mapped_column(String(16))  # junior | intermediate | associate_senior | senior
    specialty: Mapped[str | None] = mapped_column(String(60))
    home_institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PracticeSite(Base):
    """Where a practitioner practises: the registered home, additional registrations (备案),
    or a consortium site that needs none (000 四(一))."""

    __tablename__ = "practice_site"

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    basis: Mapped[str] = mapped_column(String(16))  # home | registration | consortium
    registration_no: Mapped[str | None] = mapped_column(String(60))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


class Consortium(Base):
    __tablename__ = "consortium"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    mode: Mapped[str] = mapped_column(String(24))
    integration: Mapped[str] = mapped_column(String(8))
    level: Mapped[str] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(12))
    division_code: Mapped[str] = mapped_column(ForeignKey("division.code"), index=True)
    charter: Mapped[str | None] = mapped_column(Text)
    established_on: Mapped[date] = mapped_column(Date)
    dissolved_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint(
            "mode in ('city_group','county_community','specialty_alliance','telemedicine_network')",
            name="mode_valid",
        ),
        CheckConstraint("integration in ('tight','loose')", name="integration_valid"),
    )


class ConsortiumMembership(Base):
    """Direct membership of an institution; half-open [joined_on, left_on)."""

    __tablename__ = "consortium_membership"

    id: Mapped[int] = mapped_column(primary_key=True)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortium.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    role: Mapped[str] = mapped_column(String(8))  # lead | member | partner
    joined_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)
    agreement_id: Mapped[int | None] = mapped_column(ForeignKey("agreement.id"))

    __table_args__ = (
        CheckConstraint("role in ('lead','member','partner')", name="role_valid"),
        CheckConstraint("left_on is null or left_on > joined_on", name="interval_valid"),
    )


class ConsortiumAffiliation(Base):
    """A county community joining a city group as a whole (整体加入)."""

    __tablename__ = "consortium_affiliation"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("consortium.id"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("consortium.id"), index=True)
    joined_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)


class Agreement(Base):
    """Support / trusteeship / collaboration agreement between two institutions."""

    __tablename__ = "agreement"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    supporting_institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    supported_institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    consortium_id: Mapped[int | None] = mapped_column(ForeignKey("consortium.id"))
    document_no: Mapped[str] = mapped_column(String(80))
    signed_on: Mapped[date] = mapped_column(Date)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        CheckConstraint("kind in ('support','trusteeship','collaboration')", name="kind_valid"),
    )


class Grid(Base):
    """A city's service area, served by exactly one tight city group (001)."""

    __tablename__ = "grid"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    city_code: Mapped[str] = mapped_column(ForeignKey("division.code"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("consortium.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class GridDivision(Base):
    __tablename__ = "grid_division"

    grid_id: Mapped[int] = mapped_column(ForeignKey("grid.id", ondelete="CASCADE"), primary_key=True)
    division_code: Mapped[str] = mapped_column(ForeignKey("division.code"), primary_key=True)

    __table_args__ = (Index("ix_grid_division_division", "division_code"),)
