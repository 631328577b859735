"""Care data backbone: encounters and their settlements as member HIS and the insurance bureau send them.

Sized for ~10 M encounters a county-year-decade: integer keys, codes as short strings, the
diagnosis and procedure lists as '|'-joined text (principal first) beside an indexed principal
code — grouping and indicators read whole lists, never join a row per code.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from yilian.db.base import Base, Money, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")


class Encounter(Base):
    __tablename__ = "encounter"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_system: Mapped[str] = mapped_column(String(40))
    source_id: Mapped[str] = mapped_column(String(64))
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioner.id"))
    kind: Mapped[str] = mapped_column(String(12))  # outpatient | emergency | inpatient
    start_date: Mapped[date] = mapped_column(Date)  # visit date, or admission date
    end_date: Mapped[date | None] = mapped_column(Date)  # discharge date (stays)
    los_days: Mapped[int | None] = mapped_column(Integer)
    discharge_mode: Mapped[str | None] = mapped_column(
        String(4)
    )  # 1 医嘱离院 2 医嘱转院 3 转社区 4 非医嘱 5 死亡 9 其他
    age_years: Mapped[int] = mapped_column(SmallInteger)
    age_days: Mapped[int | None] = mapped_column(Integer)
    birth_weight_g: Mapped[int | None] = mapped_column(Integer)
    principal_dx: Mapped[str] = mapped_column(String(24))
    diagnoses: Mapped[str] = mapped_column(Text)
    principal_proc: Mapped[str | None] = mapped_column(String(24))
    procedures: Mapped[str | None] = mapped_column(Text)
    # Seam to referrals (ARCHITECTURE.md): a plain column now; the referral migration adds the FK.
    referral_episode_id: Mapped[int | None] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("source_system", "source_id"),
        CheckConstraint("kind in ('outpatient','emergency','inpatient')", name="kind_valid"),
        CheckConstraint("end_date is null or end_date >= start_date", name="dates_ordered"),
        Index("ix_encounter_inst_date", "institution_id", "start_date"),
        Index("ix_encounter_resident_date", "resident_id", "start_date"),
        Index("ix_encounter_date_kind", "start_date", "kind"),
        Index("ix_encounter_discharge", "kind", "end_date"),
        Index("ix_encounter_referral", "referral_episode_id"),
    )


class Settlement(Base):
    """The claim settled for an encounter (1 : 1): costs by category and who paid what."""

    __tablename__ = "settlement"

    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounter.id", ondelete="CASCADE"), primary_key=True)
    settled_on: Mapped[date] = mapped_column(Date)
    scheme: Mapped[str] = mapped_column(String(12))  # resident | employee | self_pay
    place: Mapped[str] = mapped_column(String(28))  # primary | county | out_of_county | out_of_county_unreferred
    in_county: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(12))  # his | insurance
    total_cost: Mapped[Decimal] = mapped_column(Money)
    cost_drugs: Mapped[Decimal] = mapped_column(Money)
    cost_exams: Mapped[Decimal] = mapped_column(Money)
    cost_treatment: Mapped[Decimal] = mapped_column(Money)
    cost_materials: Mapped[Decimal] = mapped_column(Money)
    cost_beds: Mapped[Decimal] = mapped_column(Money)
    cost_other: Mapped[Decimal] = mapped_column(Money)
    policy_cost: Mapped[Decimal] = mapped_column(Money)
    deductible: Mapped[Decimal] = mapped_column(Money)
    ratio: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    fund_paid: Mapped[Decimal] = mapped_column(Money)
    patient_paid: Mapped[Decimal] = mapped_column(Money)

    # Tolerance form: SQLite keeps NUMERIC as binary floating point (0.10 + 0.20 != 0.30 there);
    # exact Decimal sums are checked in care.rules before any write, PostgreSQL's NUMERIC is exact.
    __table_args__ = (
        CheckConstraint("abs(fund_paid + patient_paid - total_cost) < 0.005", name="paid_adds_up"),
        CheckConstraint(
            "abs(cost_drugs + cost_exams + cost_treatment + cost_materials + cost_beds + cost_other"
            " - total_cost) < 0.005",
            name="costs_add_up",
        ),
        Index("ix_settlement_settled_on", "settled_on"),
    )


class SimulationRun(Base):
    """One `yilian simulate` run: what was asked, what it wrote, how long it took."""

    __tablename__ = "simulation_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    preset: Mapped[str] = mapped_column(String(40))
    seed: Mapped[int] = mapped_column(Integer)
    year: Mapped[int] = mapped_column(SmallInteger)
    residents: Mapped[int] = mapped_column(Integer)
    generator_version: Mapped[str] = mapped_column(String(20))
    code_source: Mapped[str] = mapped_column(String(200))
    row_counts: Mapped[dict[str, Any]] = mapped_column(JSON)
    duration_s: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
