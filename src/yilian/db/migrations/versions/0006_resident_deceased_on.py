"""resident deceased_on

A resident's date of death (已故): simulated deaths, and the end of care, contracts and population
denominators.  Nullable, no default: residents are alive unless recorded otherwise.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deceased_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("resident", schema=None) as batch_op:
        batch_op.drop_column("deceased_on")
