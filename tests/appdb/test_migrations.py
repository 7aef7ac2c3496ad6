"""Migrations: from an empty database to head on SQLite and PostgreSQL, idempotent, and in
agreement with the models."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from central365.appdb import alembic_config, migrate, open_database
from central365.appdb.models import Base

TABLES = {
    "users",
    "token_caches",
    "web_sessions",
    "app_settings",
    "runs",
    "run_outcomes",
    "run_leases",
    "journal_contacts",
    "journal_writes",
    "folder_caches",
    "folder_cache_contacts",
    "schedules",
    "target_runs",
    "target_run_mailboxes",
    "alert_mail",
}
#: The newest migration: a new one changes this on purpose.
HEAD = "0007_alert_mail"


def _state(url: str) -> tuple[set[str], str | None]:
    database = open_database(url)
    try:
        with database.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            revision = MigrationContext.configure(connection).get_current_revision()
        return tables, revision
    finally:
        database.dispose()


def test_migrate_creates_every_table_from_an_empty_database(db_url: str) -> None:
    assert _state(db_url) == (set(), None)
    migrate(db_url)
    tables, revision = _state(db_url)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert tables == TABLES | {"alembic_version"}
    assert revision == head == HEAD


def test_migrate_is_idempotent(db_url: str) -> None:
    migrate(db_url)
    migrate(db_url)
    assert _state(db_url)[1] == HEAD


def test_models_and_migrations_agree(db_url: str) -> None:
    migrate(db_url)
    database = open_database(db_url)
    try:
        with database.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        database.dispose()


def test_migrate_makes_the_folder_of_a_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'deeper' / 'app.db'}"
    migrate(url)
    assert (tmp_path / "new" / "deeper" / "app.db").is_file()


def test_sqlite_runs_in_wal_mode(sqlite_url: str) -> None:
    migrate(sqlite_url)
    database = open_database(sqlite_url)
    try:
        with database.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        database.dispose()


def test_an_in_memory_sqlite_database_is_refused() -> None:
    with pytest.raises(ValueError, match="SQLite file"):
        open_database("sqlite://")


def test_the_migration_scripts_ship_inside_the_package() -> None:
    root = resources.files("central365.appdb") / "migrations"
    assert (root / "env.py").is_file()
    assert (root / "script.py.mako").is_file()
    assert (root / "versions" / "0001_initial.py").is_file()


def test_migrate_accepts_an_existing_empty_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    migrate(f"sqlite:///{path}")
    assert _state(f"sqlite:///{path}") == (TABLES | {"alembic_version"}, HEAD)
