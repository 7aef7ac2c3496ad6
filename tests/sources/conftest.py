"""Fixtures for the source tests: owned tables on SQLite, PostgreSQL and MariaDB.

Each database fixture creates a uniquely named table (or PostgreSQL schema) and drops it
afterwards, so parallel runs never collide.  PostgreSQL and MariaDB fixtures *fail* when the
server cannot be reached: a tier that cannot reach its server must not pass by skipping.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from .support import MARIADB_URL, PG_URLS, Database, reachable, unique_name


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    engine = create_engine(url)
    try:
        yield Database(url=url, engine=engine, schema=None, owned_tables=[])
    finally:
        engine.dispose()


@pytest.fixture
def pg_db() -> Iterator[Database]:
    """A schema of its own in the running PostgreSQL, dropped with everything in it."""
    url, engine = reachable(PG_URLS)
    schema = unique_name()
    try:
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield Database(url=url, engine=engine, schema=schema, owned_tables=[])
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture
def mariadb_db() -> Iterator[Database]:
    """Uniquely named tables in MariaDB's `test` database, dropped afterwards."""
    url, engine = reachable([MARIADB_URL])
    database = Database(url=url, engine=engine, schema=None, owned_tables=[])
    try:
        yield database
    finally:
        database.drop_owned()
        engine.dispose()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.db),
        pytest.param("mariadb", marks=pytest.mark.db),
    ]
)
def any_db(request: pytest.FixtureRequest) -> Database:
    """The same test against SQLite, PostgreSQL and MariaDB."""
    fixture = {"sqlite": "sqlite_db", "postgresql": "pg_db", "mariadb": "mariadb_db"}
    database = request.getfixturevalue(fixture[request.param])
    assert isinstance(database, Database)
    return database
