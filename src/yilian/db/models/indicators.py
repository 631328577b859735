"""Indicators: the daily care pre-aggregate (a cache), indicator snapshots, scorecards and their
frozen scores.

``indicator_daily_care`` is rebuilt from encounters and settlements by set-based SQL and is never a
second source of truth (INDICATORS.md "Engine"); ``indicator_agg_month`` records which months are
built and the fingerprint of the records they were built from.  Money in the aggregate is integer
cents so that sums are exact and identical on SQLite and PostgreSQL.

``scorecard_snapshot_score`` is the seam to payment (ARCHITECTURE.md "Frozen score snapshots"):
approved scores, one row per unit, read by payment through its own repository.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
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

from yilian.db.base import Base, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")
# Indicator numbers: counts, yuan (2 dp) and fractions/ratios/indices (4 dp) in one exact type.
Figure = Numeric(20, 4, asdecimal=True)


class IndicatorDailyCare(Base):
    """Encounters per record day × institution of care × kind × patient's home township × whether the
    patient was insured in the county on that day.  Visits are dated by visit date, stays by discharge."""

    __tablename__ = "indicator_daily_care"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(12), primary_key=True)
    home_division: Mapped[str] = mapped_column(String(12), primary_key=True)  # '' when unknown
    county_insured: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # 0 | 1
    encounters: Mapped[int] = mapped_column(Integer)
    bed_days: Mapped[int] = mapped_column(Integer)
    settled: Mapped[int] = mapped_column(Integer)
    total_cost_cents: Mapped[int] = mapped_column(BigInteger)
    fund_cents: Mapped[int] = mapped_column(BigInteger)
    drug_cents: Mapped[int] = mapped_column(BigInteger)


class IndicatorAggMonth(Base):
    """A month of ``indicator_daily_care`` that is built, with the records' fingerprint at build time."""

    __tablename__ = "indicator_agg_month"

    month: Mapped[date] = mapped_column(Date, primary_key=True)  # first day of the month
    fingerprint: Mapped[str] = mapped_column(String(400))
    rows: Mapped[int] = mapped_column(Integer)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IndicatorSnapshot(Base):
    """A stored computation of every catalogued code for one period and cut."""

    __tablename__ = "indicator_snapshot"

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(8))
    cut: Mapped[str] = mapped_column(String(12))
    catalogue_version: Mapped[str] = mapped_column(String(40))
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    computed_by: Mapped[str] = mapped_column(String(80))
    rows: Mapped[int] = mapped_column(Integer)

    __table_args__ = (UniqueConstraint("period", "cut"),)


class IndicatorSnapshotRow(Base):
    __tablename__ = "indicator_snapshot_row"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("indicator_snapshot.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(String(48))
    unit: Mapped[str] = mapped_column(String(40))  # '' for the county
    group_code: Mapped[str] = mapped_column(String(24))  # '' for the all-groups row
    numerator: Mapped[Decimal | None] = mapped_column(Figure)
    denominator: Mapped[Decimal | None] = mapped_column(Figure)
    value: Mapped[Decimal | None] = mapped_column(Figure)
    status: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(24))

    __table_args__ = (
        Index("ix_indicator_snapshot_row_lookup", "snapshot_id", "code", "unit"),
        Index("ix_indicator_snapshot_row_unit", "snapshot_id", "unit"),
    )


class Scorecard(Base):
    """A versioned scorecard definition: indicators with weights, targets and scoring rules."""

    __tablename__ = "scorecard"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(120))
    level: Mapped[str] = mapped_column(String(12))  # institution | consortium
    missing_policy: Mapped[str] = mapped_column(String(16))  # redistribute | zero
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(80))

    __table_args__ = (UniqueConstraint("code", "version"),)


class ScorecardItem(Base):
    __tablename__ = "scorecard_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("scorecard.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    indicator_code: Mapped[str] = mapped_column(String(48))
    group_code: Mapped[str] = mapped_column(String(24))
    weight: Mapped[Decimal] = mapped_column(Numeric(8, 3))
    rule: Mapped[str] = mapped_column(String(16))  # linear | threshold | ratio
    floor: Mapped[Decimal | None] = mapped_column(Figure)
    target: Mapped[Decimal] = mapped_column(Figure)

    __table_args__ = (UniqueConstraint("scorecard_id", "indicator_code", "group_code"),)


class ScorecardApproval(Base):
    """The freeze: a scorecard version's scores for one period, approved once."""

    __tablename__ = "scorecard_approval"

    id: Mapped[int] = mapped_column(primary_key=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("scorecard.id"))
    scorecard_code: Mapped[str] = mapped_column(String(40))
    scorecard_version: Mapped[int] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(8))
    indicator_snapshot_id: Mapped[int] = mapped_column(Integer)  # no FK: a later recompute may replace it
    indicator_computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    catalogue_version: Mapped[str] = mapped_column(String(40))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime())
    approved_by: Mapped[str] = mapped_column(String(80))

    __table_args__ = (UniqueConstraint("scorecard_code", "period"),)


class ScorecardSnapshotScore(Base):
    """Frozen score of one unit: what payment's surplus distribution reads."""

    __tablename__ = "scorecard_snapshot_score"

    id: Mapped[int] = mapped_column(primary_key=True)
    approval_id: Mapped[int] = mapped_column(ForeignKey("scorecard_approval.id"), index=True)
    scorecard_code: Mapped[str] = mapped_column(String(40))
    scorecard_version: Mapped[int] = mapped_column(Integer)
    period: Mapped[str] = mapped_column(String(8))
    unit_kind: Mapped[str] = mapped_column(String(12))  # institution | consortium
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    consortium_id: Mapped[int | None] = mapped_column(ForeignKey("consortium.id"))
    unit_code: Mapped[str] = mapped_column(String(40))
    score: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    rank: Mapped[int] = mapped_column(Integer)
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("scorecard_code", "period", "unit_kind", "unit_code"),
        Index("ix_scorecard_snapshot_score_period", "period", "unit_kind"),
    )


class ScorecardSnapshotItem(Base):
    """How a frozen score came about: each indicator's value, effective weight and points."""

    __tablename__ = "scorecard_snapshot_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    score_id: Mapped[int] = mapped_column(ForeignKey("scorecard_snapshot_score.id", ondelete="CASCADE"), index=True)
    indicator_code: Mapped[str] = mapped_column(String(48))
    group_code: Mapped[str] = mapped_column(String(24))
    weight: Mapped[Decimal] = mapped_column(Numeric(8, 3))
    effective_weight: Mapped[Decimal] = mapped_column(Numeric(12, 6))
    value: Mapped[Decimal | None] = mapped_column(Figure)
    status: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(24))
    points: Mapped[Decimal] = mapped_column(Numeric(12, 4))
