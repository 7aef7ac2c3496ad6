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
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from central365.appdb import (
    Database,
    JournalRepository,
    OutcomeRecord,
    RunRepository,
    RunStatus,
    migrate,
    open_database,
)
from central365.appdb.leases import Lease, LeaseRepository
from central365.config import Settings
from central365.core.errors import Central365Error, ConfigError
from central365.core.journal import JournalContact, RunSummary
from central365.core.model import WriteResult
from central365.core.ports import JournalReader
from central365.engine.journaling import JournalRun
from central365.engine.service import SyncOutcome

INTERRUPTED = (
    "The command was stopped (Ctrl-C) while it was writing; plan again to see where things stand."
)
CRASHED = "The command stopped on an internal error while it was writing; plan again to see where things stand."


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


@dataclass
class CliRun:
    """The run being recorded: its id, and the journal the sync writes into."""

    id: int
    journal: JournalRun
    runs: RunRepository
    ended: bool = field(default=False)

    def finish(self, outcome: SyncOutcome) -> None:
        """Store every outcome and end the run (failed when it stopped before the end)."""
        people = {item.key: (item.name, item.email) for item in outcome.planned.plan.items}
        self.finish_results(outcome.report.results, people, outcome.unwritten, outcome.stop_reason)

    def finish_results(
        self,
        results: Sequence[WriteResult],
        people: Mapping[str, tuple[str, str]],
        unwritten: int,
        stop_reason: str,
        again: str = "Synchronise them again to finish.",
    ) -> None:
        """Store these outcomes (`people`: name and email by Central id) and end the run."""
        self.runs.set_total(self.id, len(results), selected=len(results))
        self.runs.add_outcomes(
            self.id,
            [
                OutcomeRecord(
                    key=r.key,
                    name=people.get(r.key, ("", ""))[0],
                    email=people.get(r.key, ("", ""))[1],
                    outcome=r.outcome,
                    office365_id=r.office365_id,
                    error=r.error or r.note,
                )
                for r in results
            ],
        )
        if unwritten:
            why = stop_reason.rstrip(".")
            error = (
                f"The run stopped before {unwritten:,} of its records were written"
                + (f": {why}." if why else ".")
                + f" {again}"
            )
            self.runs.finish(self.id, RunStatus.FAILED, error)
        else:
            self.runs.finish(self.id, RunStatus.FINISHED)
        self.ended = True


@contextmanager
def recorded_run(
    database: Database, lease: Lease, mailbox: str, folder_name: str, undoes: int | None = None
) -> Iterator[CliRun]:
    """Record a RUNNING run for the block; end it FAILED or INTERRUPTED if the block raises
    before `CliRun.finish` was called.

    `lease` is the folder's lease this command holds: it names the run, so the homepage knows
    the run's writer is alive; runs of killed commands (lease lapsed) are marked interrupted.
    `undoes`: the run this one undoes (`central365 undo`).
    """
    runs = RunRepository(database)
    runs.mark_abandoned()
    record = runs.start(
        started_by=cli_person(),
        mailbox=mailbox,
        folder_name=folder_name,
        selected=0,
        hold_lock=False,
        undoes=undoes,
    )
    LeaseRepository(database).attach_run(lease, record.id)
    run = CliRun(record.id, JournalRun(JournalRepository(database), record.id), runs)
    try:
        yield run
    except KeyboardInterrupt:
        if not run.ended:
            runs.finish(run.id, RunStatus.INTERRUPTED, INTERRUPTED)
        raise
    except Central365Error as exc:
        if not run.ended:
            first = exc.full_message().splitlines()
            runs.finish(run.id, RunStatus.FAILED, first[0] if first else CRASHED)
        raise
    except BaseException:
        if not run.ended:
            runs.finish(run.id, RunStatus.FAILED, CRASHED)
        raise


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
