"""Opening the application database and bringing its schema up to date.

`open_database(url)` builds the engine and session factories; `migrate(url)` runs the Alembic
migrations shipped inside this package (`central365/appdb/migrations`) to head, with an
`alembic.config.Config` built in code, so no `alembic.ini` is needed anywhere.

SQLite is set up for several threads in one process (the web server's and the runs'):
`check_same_thread=False`, WAL journal, a busy timeout, foreign keys on, and transactions that
write start with `BEGIN IMMEDIATE`, so two writers queue on the busy timeout instead of failing
when one upgrades a read lock.  Reads use a plain deferred `BEGIN` and never block under WAL.

The SQLite file holds sealed secrets, token caches and run outcomes: it is created 0600 (its
folder 0700) before SQLite opens it, and its `-wal`/`-shm` companions are made 0600 on every
connection (SQLite gives them the database's mode; the check keeps it so whatever made them).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from central365.private_files import create_private_file, restrict

log = logging.getLogger(__name__)

#: Where Alembic finds env.py and the versions, as a package resource.
SCRIPT_LOCATION = "central365.appdb:migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000
_WRITE_OPTION = "central365_write"
#: Any constant: the PostgreSQL advisory lock two processes migrating at once queue on.
_PG_MIGRATION_LOCK = 365_000_001


class Database:
    """The engine and session factories of the application database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._reader = sessionmaker(engine, expire_on_commit=False)
        self._writer = sessionmaker(
            engine.execution_options(**{_WRITE_OPTION: True}), expire_on_commit=False
        )

    @property
    def url(self) -> str:
        """The URL with any password hidden (safe to log or show)."""
        return self.engine.url.render_as_string(hide_password=True)

    def session(self, *, write: bool = False) -> Session:
        """A new session; use as `with db.session() as s, s.begin():`.

        `write=True` marks a transaction that will write (on SQLite it then takes the write
        lock at BEGIN); other databases ignore it.
        """
        return (self._writer if write else self._reader)()

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self.engine.connect() as connection:
            yield connection

    def dispose(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.dispose()


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    name = parsed.database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name)


def _sqlite_companions(path: Path) -> tuple[Path, ...]:
    """The files SQLite keeps beside the database in WAL mode."""
    return tuple(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm"))


def _make_private(path: Path) -> None:
    try:
        create_private_file(path)
    except PermissionError:
        # Not ours to chmod (made by another account): SQLite may still be able to use it.
        log.warning("Could not make the application database %s private (mode 0600).", path)


def _configure_sqlite(engine: Engine, path: Path) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN itself (pysqlite's own is too late).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()
        for companion in _sqlite_companions(path):
            restrict(companion)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        writing = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


def open_database(url: str) -> Database:
    """An engine and session factories for `url` (a SQLite file is created 0600, its folder 0700).

    An in-memory SQLite URL is refused: every connection would see its own empty database.
    """
    kwargs: dict[str, Any] = {}
    backend = make_url(url).get_backend_name()
    path = _sqlite_file(url)
    if backend == "sqlite":
        if path is None:
            raise ValueError("the application database must be a SQLite file, not in memory")
        _make_private(path)
        kwargs["connect_args"] = {
            "check_same_thread": False,
            "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
        }
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if path is not None:
        _configure_sqlite(engine, path)
    return Database(engine)


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic configuration for this package's migrations, built in code.

    With `connection`, env.py migrates through it (inside the caller's transaction); with only
    `url`, env.py opens the database itself (for `alembic` commands run from Python).
    """
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migrate(url: str) -> None:
    """Bring the database at `url` to the newest schema (Alembic upgrade head); idempotent.

    The whole upgrade is one transaction: on SQLite it holds the write lock, on PostgreSQL an
    advisory lock, so two processes starting at once migrate one after the other.
    """
    database = open_database(url)
    try:
        with database.engine.execution_options(**{_WRITE_OPTION: True}).begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
                )
            command.upgrade(alembic_config(connection), "head")
    finally:
        database.dispose()
    log.info("The application database %s is up to date.", database.url)
