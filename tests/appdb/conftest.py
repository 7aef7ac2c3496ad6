"""Fixtures for the application database: a migrated database on SQLite and on PostgreSQL.

The PostgreSQL fixture gives each test a schema of its own (chosen through `search_path` in the
URL), migrates into it and drops it afterwards.  It *fails* when the server cannot be reached:
the PostgreSQL tier must not pass by skipping.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

from central365.appdb import Database, SecretBox, migrate, open_database

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(Fernet.generate_key())


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'app' / 'central365.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """An empty schema of its own in the running PostgreSQL, dropped afterwards."""
    schema = f"c365app_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
        finally:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.db)])
def db_url(request: pytest.FixtureRequest) -> str:
    """The URL of an empty database: a SQLite file, or a fresh PostgreSQL schema."""
    url = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    assert isinstance(url, str)
    return url


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    """A migrated database, disposed afterwards."""
    migrate(db_url)
    db = open_database(db_url)
    try:
        yield db
    finally:
        db.dispose()
