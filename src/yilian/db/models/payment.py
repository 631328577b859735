"""Payment runs: settlements (DRG point method, DIP), global-budget clearings and capitation, stored
immutably with the parameters and rule versions they used.

A run is written once, in one transaction, and never updated: a rerun or a what-if is a new run
(``base_run_id`` names the run a what-if changes).  Its rows:

* ``payment_run_institution`` — the per-institution statement (one row per institution);
* ``payment_run_case`` — one row per discharge priced (DRG, kind, points, money); written with
  ``COPY``, so it carries no foreign keys and one composite key that serves the drill-down
  (run → institution → cases);
* ``payment_run_weight`` — the relative weights the run used (published table or derived);
* ``payment_run_month`` — the monthly provisional settlement per institution;
* ``payment_budget_entry`` — the budget ledger of a global-budget clearing.

Money is ``Numeric(16, 2)``; points, scores and weights are unrounded in the calculation and kept
here to 6 decimals (point values to 10), which is display precision: a what-if recomputes from the
stored inputs (cases, weights, parameters), never from rounded results.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from yilian.db.base import Base, Money, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")
# Points, scores, CMI: unrounded in the calculation, six decimals stored.
PointsValue = Numeric(24, 6, asdecimal=True)
PointValue = Numeric(24, 10, asdecimal=True)
Weight = Numeric(20, 10, asdecimal=True)

RUN_KINDS = ("drg", "dip", "budget", "capitation", "grouping")


class PaymentRun(Base):
    """One settlement, clearing or grouping of a year: what was asked, with what, and the totals."""

    __tablename__ = "payment_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    year: Mapped[int] = mapped_column(SmallInteger)
    #: The region (insurance bureau's division) the run settles; None = every in-county institution.
    division_code: Mapped[str | None] = mapped_column(ForeignKey("division.code"))
    consortium_id: Mapped[int | None] = mapped_column(ForeignKey("consortium.id"))
    #: A what-if run names the run whose inputs it re-prices.
    base_run_id: Mapped[int | None] = mapped_column(ForeignKey("payment_run.id"))
    overrides: Mapped[dict[str, str] | None] = mapped_column(JSON)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    options: Mapped[dict[str, Any]] = mapped_column(JSON)  # method options (variant, coefficient strategy …)
    rules_name: Mapped[str | None] = mapped_column(String(80))
    rules_version: Mapped[str | None] = mapped_column(String(40))
    weights_source: Mapped[str | None] = mapped_column(String(12))  # file | derived
    weights_name: Mapped[str | None] = mapped_column(String(120))
    weights_version: Mapped[str | None] = mapped_column(String(80))
    budget: Mapped[Decimal | None] = mapped_column(Money)
    point_value: Mapped[Decimal | None] = mapped_column(PointValue)
    point_value_source: Mapped[str | None] = mapped_column(String(12))  # budget | fixed
    total_points: Mapped[Decimal | None] = mapped_column(PointsValue)
    total_payment: Mapped[Decimal | None] = mapped_column(Money)
    cases: Mapped[int] = mapped_column(Integer, default=0)
    flagged: Mapped[int] = mapped_column(Integer, default=0)
    institutions: Mapped[int] = mapped_column(Integer, default=0)
    #: Exact figures and counts kept as text/JSON (city_avg_cost, counts by kind, clearing …).
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    inputs_digest: Mapped[str] = mapped_column(String(64))
    result_digest: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(80))

    __table_args__ = (
        CheckConstraint("kind in ('drg','dip','budget','capitation','grouping')", name="kind_valid"),
        Index("ix_payment_run_year_kind", "year", "kind"),
        Index("ix_payment_run_base", "base_run_id"),
    )


class PaymentRunInstitution(Base):
    """A statement line: one institution's figures in a run."""

    __tablename__ = "payment_run_institution"

    run_id: Mapped[int] = mapped_column(ForeignKey("payment_run.id", ondelete="CASCADE"), primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), primary_key=True)
    level: Mapped[str] = mapped_column(String(8))
    role: Mapped[str | None] = mapped_column(String(20))  # budget: lead | member; surplus tier
    coefficient: Mapped[Decimal | None] = mapped_column(Numeric(12, 6))
    cases: Mapped[int] = mapped_column(Integer, default=0)
    flagged: Mapped[int] = mapped_column(Integer, default=0)
    high: Mapped[int] = mapped_column(Integer, default=0)
    low: Mapped[int] = mapped_column(Integer, default=0)
    total_cost: Mapped[Decimal] = mapped_column(Money)
    fund_paid: Mapped[Decimal] = mapped_column(Money)
    points: Mapped[Decimal | None] = mapped_column(PointsValue)
    cmi: Mapped[Decimal | None] = mapped_column(Numeric(12, 6))
    case_money: Mapped[Decimal | None] = mapped_column(Money)
    provisional: Mapped[Decimal | None] = mapped_column(Money)
    payment: Mapped[Decimal | None] = mapped_column(Money)
    balance: Mapped[Decimal | None] = mapped_column(Money)
    rounding: Mapped[Decimal | None] = mapped_column(Money)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class PaymentRunCase(Base):
    """One discharge as a run priced it.  No foreign keys: a million rows go in with COPY."""

    __tablename__ = "payment_run_case"

    run_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    encounter_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    month: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(10))  # grouped | ungrouped | invalid (DIP: scored | unscored)
    group_code: Mapped[str] = mapped_column(String(40))  # DRG, or the DIP combination / chapter group
    kind: Mapped[str] = mapped_column(String(10))  # normal | high | low | ungrouped | no_weight | extreme …
    cost: Mapped[Decimal] = mapped_column(Money)
    points: Mapped[Decimal | None] = mapped_column(PointsValue)
    money: Mapped[Decimal | None] = mapped_column(Money)
    flagged: Mapped[bool] = mapped_column(Boolean)


class PaymentRunWeight(Base):
    """A relative weight (or DIP score) the run used, with where it came from."""

    __tablename__ = "payment_run_weight"

    run_id: Mapped[int] = mapped_column(ForeignKey("payment_run.id", ondelete="CASCADE"), primary_key=True)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    rw: Mapped[Decimal] = mapped_column(Weight)
    avg_cost: Mapped[Decimal | None] = mapped_column(Numeric(20, 6))  # as published (file) or derived mean
    source: Mapped[str] = mapped_column(String(12))  # file | drg | adrg | mdc | combination | chapter
    cases: Mapped[int] = mapped_column(Integer, default=0)


class PaymentRunMonth(Base):
    """Monthly provisional settlement (月度预结算) of one institution: accounting only."""

    __tablename__ = "payment_run_month"

    run_id: Mapped[int] = mapped_column(ForeignKey("payment_run.id", ondelete="CASCADE"), primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), primary_key=True)
    month: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    cases: Mapped[int] = mapped_column(Integer, default=0)
    points: Mapped[Decimal] = mapped_column(PointsValue)
    point_value: Mapped[Decimal] = mapped_column(PointValue)
    provisional: Mapped[Decimal] = mapped_column(Money)


class PaymentBudgetEntry(Base):
    """A line of a global budget's ledger: budget, prepayment, monthly spending, clearing, shares."""

    __tablename__ = "payment_budget_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("payment_run.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    consortium_id: Mapped[int] = mapped_column(ForeignKey("consortium.id"))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    month: Mapped[int] = mapped_column(SmallInteger)  # 0 = the year as a whole
    entry: Mapped[str] = mapped_column(String(24))
    amount: Mapped[Decimal] = mapped_column(Money)
    balance: Mapped[Decimal | None] = mapped_column(Money)
    note: Mapped[str | None] = mapped_column(String(200))
