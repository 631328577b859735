"""Test harness: the whole suite runs on the migrated schema of SQLite or PostgreSQL.

``YILIAN_TEST_DB`` picks the database (``sqlite`` default, ``postgres``): PostgreSQL gets a
throwaway database created from ``YILIAN_TEST_POSTGRES_URL`` and dropped at the end.
Each DB test runs inside a transaction rolled back afterwards (savepoints for the code's
own commits).  Tests that need committed rows use ``committed_db`` instead.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

_VAR = Path(tempfile.mkdtemp(prefix="yilian-test-var-"))
os.environ["YILIAN_ENV"] = "test"
os.environ["YILIAN_VAR_DIR"] = str(_VAR)
os.environ.pop("YILIAN_SECRET_KEY", None)
os.environ.pop("YILIAN_PII_KEY", None)

from sqlalchemy import Connection, Engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from yilian.core.config import Settings, reset_settings  # noqa: E402
from yilian.db import migrate  # noqa: E402
from yilian.db.session import make_engine  # noqa: E402

reset_settings()
BACKEND = os.environ.get("YILIAN_TEST_DB", "sqlite")
PG_URL = os.environ.get("YILIAN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REPO_ROOT = Path(__file__).resolve().parents[1]


def pytest_report_header(config: pytest.Config) -> str:
    return f"yilian test database: {BACKEND}"


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


@pytest.fixture(scope="session")
def db_url() -> Iterator[str]:
    db = ThrowawayDatabase("suite")
    try:
        yield db.create()
    finally:
        db.drop()


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture()
def connection(engine: Engine) -> Iterator[Connection]:
    conn = engine.connect()
    trans = conn.begin()
    try:
        yield conn
    finally:
        trans.rollback()
        conn.close()


@pytest.fixture()
def session_maker(connection: Connection) -> sessionmaker[Session]:
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture()
def session(session_maker: sessionmaker[Session]) -> Iterator[Session]:
    s = session_maker()
    try:
        yield s
    finally:
        s.close()


@pytest.fixture()
def committed_db() -> Iterator[str]:
    """A fresh migrated database whose commits are real (for concurrency and end-to-end tests)."""
    db = ThrowawayDatabase("committed")
    try:
        yield db.create()
    finally:
        db.drop()


@pytest.fixture()
def settings(db_url: str) -> Settings:
    return Settings(env="test", database_url=db_url, var_dir=_VAR)


@pytest.fixture()
def app(settings: Settings, engine: Engine, session_maker: sessionmaker[Session]):  # type: ignore[no-untyped-def]
    """The real app wired to the test's rolled-back connection."""
    from yilian.web.app import create_app

    return create_app(settings, engine=engine, session_maker=session_maker)


@pytest.fixture()
def client(app):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


from helpers import api_login, page_login  # noqa: E402,F401 - re-exported for older imports
