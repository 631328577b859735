"""Residents: the master patient index.  ID numbers never in clear: keyed hash + ciphertext."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yilian.db.base import Base, UTCDateTime


class Resident(Base):
    __tablename__ = "resident"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    id_cipher: Mapped[str | None] = mapped_column(String(200))
    id_masked: Mapped[str | None] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(60), index=True)
    sex: Mapped[int] = mapped_column()  # 1 male, 2 female (GB/T 2261.1)
    birth_date: Mapped[date] = mapped_column(Date)
    phone_cipher: Mapped[str | None] = mapped_column(String(200))
    phone_masked: Mapped[str | None] = mapped_column(String(20))
    address_division_code: Mapped[str | None] = mapped_column(ForeignKey("division.code"), index=True)
    address_detail_cipher: Mapped[str | None] = mapped_column(String(400))
    #: Date of death (已故) when known; care, contracts and population denominators end there.
    deceased_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_resident_dup", "name", "birth_date", "address_division_code"),)


class InsuranceEnrolment(Base):
    __tablename__ = "insurance_enrolment"

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    scheme: Mapped[str] = mapped_column(String(16))  # resident | employee
    insured_division_code: Mapped[str] = mapped_column(ForeignKey("division.code"), index=True)
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date | None] = mapped_column(Date)


class KeyPopulation(Base):
    """Recorded key populations (derived ones — elderly_65, child_0_6 — are computed)."""

    __tablename__ = "key_population"

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    since: Mapped[date] = mapped_column(Date)
    until: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (Index("ix_key_population_code", "code", "resident_id"),)


class CareRelationship(Base):
    """Why an institution may see a resident: registered, contracted, referred or treated there."""

    __tablename__ = "care_relationship"

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    kind: Mapped[str] = mapped_column(String(12))
    since: Mapped[date] = mapped_column(Date)
    until: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        UniqueConstraint("resident_id", "institution_id", "kind", "since"),
        Index("ix_care_relationship_inst", "institution_id", "resident_id"),
    )


class DuplicateReview(Base):
    """A reviewer's decision on a possible duplicate pair (never merged silently)."""

    __tablename__ = "duplicate_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_a_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
    resident_b_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
    decision: Mapped[str] = mapped_column(String(12))  # distinct | same
    reviewed_by: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("resident_a_id", "resident_b_id"),)
