"""Alembic environment: one tree for SQLite and PostgreSQL; batch mode on SQLite."""

from __future__ import annotations

from alembic import context

import yilian.db.models  # noqa: F401 - registers every table
from yilian.db.base import Base
from yilian.db.session import make_engine

config = context.config
url = config.get_main_option("sqlalchemy.url") or ""
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
