"""In-app notification inbox: messages written after commit by event handlers.

A message goes to one user, or to everyone holding ``recipient_role`` at an institution
or for a consortium (e.g. the receiving institution's clinicians, a consortium's referral
officers).  ``dedupe_key`` (e.g. ``<event id>:<recipient>``) makes handlers idempotent: a
redelivered event writes nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from yilian.db.base import Base, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")


class Notification(Base):
    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    recipient_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    recipient_institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    recipient_consortium_id: Mapped[int | None] = mapped_column(ForeignKey("consortium.id"))
    #: With an institution or consortium: which role there receives it (``clinician``, ``referral_officer``).
    recipient_role: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    link: Mapped[str | None] = mapped_column(String(300))
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    read_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    __table_args__ = (
        CheckConstraint(
            "recipient_user_id is not null or recipient_institution_id is not null"
            " or recipient_consortium_id is not null",
            name="recipient_given",
        ),
        Index("ix_notification_user", "recipient_user_id", "read_at", "created_at"),
        Index("ix_notification_institution", "recipient_institution_id", "read_at", "created_at"),
        Index("ix_notification_consortium", "recipient_consortium_id", "read_at", "created_at"),
    )
