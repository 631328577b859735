"""The migrated schema matches the models, on whichever database the suite runs."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

import yilian.db.models  # noqa: F401
from yilian.db.base import Base
from yilian.db.migrate import current_heads


def test_single_migration_head() -> None:
    assert len(current_heads()) == 1


def test_models_match_migrations(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"models and migrations differ: {diff}"
