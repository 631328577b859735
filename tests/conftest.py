"""Test harness: the whole suite runs on the migrated schema of SQLite or PostgreSQL.

``YILIAN_TEST_DB`` picks the database (``sqlite`` default, ``postgres``): PostgreSQL gets a
throwaway database created from ``YILIAN_TEST_POSTGRES_URL`` and dropped at the end.
Each DB test runs inside a transaction rolled back afterwards (savepoints for the code's
own commits).  Tests that need committed rows use ``committed_db`` instead.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_VAR = Path(tempfile.mkdtemp(prefix="yilian-test-var-"))
os.environ["YILIAN_ENV"] = "test"
os.environ["YILIAN_VAR_DIR"] = str(_VAR)
os.environ.pop("YILIAN_SECRET_KEY", None)
os.environ.pop("YILIAN_PII_KEY", None)

from sqlalchemy import Connection, Engine  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from dbkit import BACKEND, PG_URL, ThrowawayDatabase  # noqa: E402,F401 - shared with tests that need a DB of their own
from yilian.core.config import Settings, reset_settings  # noqa: E402
from yilian.db.session import make_engine  # noqa: E402

reset_settings()
REPO_ROOT = Path(__file__).resolve().parents[1]


def pytest_report_header(config: pytest.Config) -> str:
    return f"yilian test database: {BACKEND}"


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
