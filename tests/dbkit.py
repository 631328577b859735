"""Throwaway databases for tests: a migrated SQLite file, or a PostgreSQL database created and dropped.

Import it as ``from dbkit import ThrowawayDatabase`` (never ``from conftest import …``: several
conftest modules exist and the name ``conftest`` is ambiguous).
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from yilian.db import migrate
from yilian.db.session import make_engine

BACKEND = os.environ.get("YILIAN_TEST_DB", "sqlite")
PG_URL = os.environ.get("YILIAN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


class ThrowawayDatabase:
    """A fresh migrated database: a SQLite file, or a PostgreSQL database created and dropped."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.name = f"yilian_{label}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        if BACKEND == "postgres":
            self.admin_url = make_url(PG_URL).set(drivername="postgresql+psycopg")
            self.url = self.admin_url.set(database=self.name).render_as_string(hide_password=False)
        else:
            self.path = Path(tempfile.mkdtemp(prefix="yilian-db-")) / f"{self.name}.db"
            self.url = f"sqlite:///{self.path}"

    def create(self) -> str:
        if BACKEND == "postgres":
            admin = make_engine(self.admin_url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{self.name}"'))
            admin.dispose()
        migrate.upgrade(self.url)
        return self.url

    def drop(self) -> None:
        if BACKEND == "postgres":
            admin = make_engine(self.admin_url.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
            admin.dispose()
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
