"""A `sync` from the command line as a run of History, journalled like the homepage's runs.

The command line and the homepage share one application database (`CENTRAL365_DATABASE_URL`,
by default the homepage's SQLite file), so both list the same runs and the journal remembers
every write whoever made it.  The run is recorded before anything is written and ended however
the command ends (finished, failed, Ctrl-C); its outcomes are stored at the end, while each
write is journalled as it happens (`engine.journaling`).  The folder's lease, not the run, is
the command line's lock (`hold_lock=False`): a killed command blocks no one once the lease
has expired.
"""

from __future__ import annotations

import getpass
import socket
from collections.abc import Iterator
from contextlib import contextmanager

from central365.appdb import (
    Database,
    JournalRepository,
    migrate,
    open_database,
)
from central365.appdb.leases import Lease
from central365.config import Settings
from central365.core.errors import ConfigError
from central365.core.journal import JournalContact, RunSummary
from central365.core.ports import JournalReader
from central365.engine.recorded import CRASHED, INTERRUPTED, RecordedRun
from central365.engine.recorded import recorded_run as engine_recorded_run

__all__ = [
    "CRASHED",
    "INTERRUPTED",
    "CliRun",
    "RecordedRun",
    "app_database",
    "cli_person",
    "reading_journal",
    "recorded_run",
]


def cli_person() -> str:
    """Who started a command-line run, as History shows it."""
    return f"{getpass.getuser()} (command line on {socket.gethostname()})"


@contextmanager
def app_database(settings: Settings, why: str) -> Iterator[Database]:
    """The application database, migrated; every database failure as one `ConfigError`.

    `why` completes "central365 …" in the message (what the command needs the database for).
    """
    from sqlalchemy.exc import SQLAlchemyError

    url = settings.app_database_url
    try:
        migrate(url)
        database = open_database(url)
    except (SQLAlchemyError, OSError, ValueError) as exc:
        raise ConfigError(
            f"The application database {_safe_url(url)} cannot be used ({type(exc).__name__}); "
            f"central365 {why}: check CENTRAL365_DATABASE_URL."
        ) from None
    try:
        yield database
    except SQLAlchemyError as exc:
        raise ConfigError(
            f"The application database {database.url} stopped answering "
            f"({type(exc).__name__}): check CENTRAL365_DATABASE_URL."
        ) from None
    finally:
        database.dispose()


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unreadable URL)"


#: The command line's name for the engine's recorded run.
CliRun = RecordedRun


@contextmanager
def recorded_run(
    database: Database, lease: Lease, mailbox: str, folder_name: str, undoes: int | None = None
) -> Iterator[RecordedRun]:
    """The engine's `recorded_run`, started by the person at this terminal (`cli_person`);
    `undoes`: the run this one undoes (`central365 undo`)."""
    with engine_recorded_run(
        database, lease, mailbox, folder_name, started_by=cli_person(), undoes=undoes
    ) as run:
        yield run


class _ReadOnlyJournal:
    """The journal as a command that writes nothing reads it (`ports.JournalReader`).

    A journal that cannot be read reads as empty: the plan is then the two-way one, as before
    any run, and `source_shrunk` is not checked (a real `sync` reads it under its lease and
    fails loudly instead).
    """

    def __init__(self, inner: JournalRepository) -> None:
        self._inner = inner

    def last_run(self, mailbox: str, folder_name: str) -> RunSummary | None:
        from sqlalchemy.exc import SQLAlchemyError

        try:
            return self._inner.last_run(mailbox, folder_name)
        except SQLAlchemyError:
            return None

    def contacts(self, mailbox: str, folder_name: str) -> dict[str, JournalContact]:
        from sqlalchemy.exc import SQLAlchemyError

        try:
            return self._inner.contacts(mailbox, folder_name)
        except SQLAlchemyError:
            return {}


@contextmanager
def reading_journal(settings: Settings) -> Iterator[JournalReader | None]:
    """The journal for a command that writes nothing (`plan`, `sync --dry-run`); None when the
    application database does not exist yet or cannot be opened (it is never created or
    migrated for a plan)."""
    from pathlib import Path

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    url = settings.app_database_url
    try:
        parsed = make_url(url)
    except ArgumentError:
        yield None
        return
    if parsed.get_backend_name() == "sqlite" and not (
        parsed.database and Path(parsed.database).is_file()
    ):
        yield None
        return
    try:
        database = open_database(url)
    except (SQLAlchemyError, OSError, ValueError):
        yield None
        return
    try:
        yield _ReadOnlyJournal(JournalRepository(database))
    finally:
        database.dispose()
