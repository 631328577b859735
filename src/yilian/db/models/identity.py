from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from yilian.db.base import Base, UTCDateTime


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    display_name: Mapped[str] = mapped_column(String(60))
    password_hash: Mapped[str] = mapped_column(String(200))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    grants: Mapped[list[RoleGrant]] = relationship(back_populates="user", lazy="selectin")


class RoleGrant(Base):
    """A user works for an institution / consortium / division in a role."""

    __tablename__ = "role_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    consortium_id: Mapped[int | None] = mapped_column(ForeignKey("consortium.id"))
    division_code: Mapped[str | None] = mapped_column(ForeignKey("division.code"))
    user: Mapped[User] = relationship(back_populates="grants")

    __table_args__ = (
        UniqueConstraint("user_id", "role", "institution_id", "consortium_id", "division_code"),
    )


class LoginAttempt(Base):
    """Failed logins, kept in the database so throttling holds across processes."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_login_attempt_key_at", "key", "at"),)
