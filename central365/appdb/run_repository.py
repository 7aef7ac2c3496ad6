"""Synchronisation runs: their folder lock, counters, waits and every record's outcome."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import CursorResult, Select, Update, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from central365.appdb.clock import Now, utc_now
from central365.appdb.database import Database
from central365.appdb.models import (
    RunLeaseRow,
    RunOutcomeRow,
    RunRow,
)
from central365.appdb.records import (
    OutcomeRecord,
    RunRecord,
    RunStatus,
)
from central365.core.errors import Central365Error
from central365.core.model import Outcome

INTERRUPTED_MESSAGE = (
    "central365 stopped while this run was going; records without an outcome here may or may "
    "not have been written. Plan again to see where things stand."
)


class RunInProgress(Central365Error):
    """A run into the same mailbox folder is already going (in this process or another).

    `holder` and `since` name it when it holds the folder's lease (`appdb.leases`), which is
    also how a run from the command line is named to the homepage and the other way round.
    """

    def __init__(
        self,
        folder_name: str,
        run_id: int | None,
        *,
        holder: str = "",
        since: datetime | None = None,
    ) -> None:
        where = f"folder {folder_name}" if folder_name else "this folder"
        if holder:
            when = f" since {since.strftime('%d %b %Y, %H:%M:%S')} UTC" if since else ""
            message = (
                f"Another synchronisation is writing into {where}: {holder}{when}. Try again "
                "once it has ended (a run that was stopped frees the folder within a minute)."
            )
        elif run_id is not None:
            message = f"A synchronisation into {where} is already running (run {run_id})."
        else:
            message = (
                f"Another synchronisation is writing into {where}; try again once it has ended."
            )
        super().__init__(message)
        self.folder_name = folder_name
        self.run_id = run_id
        self.holder = holder
        self.since = since


def run_lock_key(mailbox: str, folder_name: str) -> str:
    """The lock key of a mailbox folder: mailbox and folder name, trimmed and case-folded."""
    return f"{mailbox.strip()}\n{folder_name.strip()}".casefold()


SelectT = TypeVar("SelectT", bound=Select[Any])


def _run(row: RunRow) -> RunRecord:
    return RunRecord(
        id=row.id,
        started_by=row.started_by,
        mailbox=row.mailbox,
        folder_name=row.folder_name,
        status=RunStatus(row.status),
        selected=row.selected,
        total=row.total,
        created=row.created,
        updated=row.updated,
        failed=row.failed,
        skipped=row.skipped,
        started_at=row.started_at,
        finished_at=row.finished_at,
        error=row.error,
        waiting=row.waiting,
        waiting_until=row.waiting_until,
        active_records=row.active_records,
        deleted=row.deleted or 0,
        undoes=row.undoes,
    )


def _outcome(row: RunOutcomeRow) -> OutcomeRecord:
    return OutcomeRecord(
        key=row.key,
        name=row.name,
        email=row.email,
        outcome=Outcome(row.outcome),
        office365_id=row.office365_id,
        error=row.error,
    )


_COUNTER = {
    Outcome.CREATED: "created",
    Outcome.UPDATED: "updated",
    Outcome.DELETED: "deleted",
    Outcome.FAILED: "failed",
    Outcome.SKIPPED: "skipped",
}


def _into(query: SelectT, mailboxes: Collection[str] | None) -> SelectT:
    """`query` limited to runs into `mailboxes` (compared lower-cased); None: every run."""
    if mailboxes is None:
        return query
    return query.where(func.lower(RunRow.mailbox).in_(sorted({m.lower() for m in mailboxes})))


class RunRepository:
    """Synchronisation runs, their counters and every record's outcome."""

    def __init__(self, database: Database, clock: Now = utc_now) -> None:
        self._db = database
        self._clock = clock

    def start(
        self,
        *,
        started_by: str,
        mailbox: str,
        folder_name: str,
        selected: int,
        lock_key: str | None = None,
        hold_lock: bool = True,
        undoes: int | None = None,
        lease: tuple[str, str] | None = None,
    ) -> RunRecord:
        """Record a new RUNNING run holding the folder's lock.

        `lock_key` defaults to `run_lock_key(mailbox, folder_name)`.  Raises `RunInProgress`
        when a RUNNING run (of any process using this database) already holds it.
        `hold_lock=False` records a run whose writer holds the folder's lease instead (the
        command line, a worker): a killed process then blocks no one once its lease has
        expired; `lease` (key, token) names the run on that lease at once.
        `undoes`: the run this one undoes.
        """
        key = lock_key if lock_key is not None else run_lock_key(mailbox, folder_name)
        if not hold_lock:
            return self._insert(
                self._new_row(started_by, mailbox, folder_name, selected, None, undoes), lease
            )
        row = self._new_row(started_by, mailbox, folder_name, selected, key, undoes)
        try:
            with self._db.session(write=True) as s, s.begin():
                holder = s.scalar(select(RunRow).where(RunRow.active_lock == key))
                if holder is not None:
                    raise RunInProgress(holder.folder_name, holder.id)
                s.add(row)
                s.flush()
                return _run(row)
        except IntegrityError:  # another process took the lock between our check and insert
            with self._db.session() as s, s.begin():
                holder = s.scalar(select(RunRow).where(RunRow.active_lock == key))
                if holder is None:
                    raise
                raise RunInProgress(holder.folder_name, holder.id) from None

    def _new_row(
        self,
        started_by: str,
        mailbox: str,
        folder_name: str,
        selected: int,
        key: str | None,
        undoes: int | None,
    ) -> RunRow:
        return RunRow(
            started_by=started_by,
            mailbox=mailbox,
            folder_name=folder_name,
            status=RunStatus.RUNNING.value,
            active_lock=key,
            selected=selected,
            total=0,
            created=0,
            updated=0,
            failed=0,
            skipped=0,
            deleted=0,
            undoes=undoes,
            started_at=self._clock(),
            finished_at=None,
            error=None,
        )

    def _insert(self, row: RunRow, lease: tuple[str, str] | None = None) -> RunRecord:
        """Insert the run; with `lease` (key, token), name it on that lease in the same
        transaction, so no other writer's `mark_abandoned` ever sees it unleased."""
        with self._db.session(write=True) as s, s.begin():
            s.add(row)
            s.flush()
            if lease is not None:
                s.execute(
                    update(RunLeaseRow)
                    .where(RunLeaseRow.key == lease[0], RunLeaseRow.token == lease[1])
                    .values(run_id=row.id)
                )
            return _run(row)

    def running(self, lock_key: str) -> int | None:
        """The id of the RUNNING run holding `lock_key`, if any."""
        with self._db.session() as s, s.begin():
            return s.scalar(select(RunRow.id).where(RunRow.active_lock == lock_key))

    def set_waiting(self, run_id: int, reason: str | None, seconds: float = 0.0) -> None:
        """The run waits on Office 365 for `seconds` because of `reason`; None: it goes on."""
        until = self._clock() + timedelta(seconds=seconds) if reason is not None else None
        with self._db.session(write=True) as s, s.begin():
            s.execute(
                update(RunRow)
                .where(RunRow.id == run_id)
                .values(waiting=reason, waiting_until=until)
            )

    def set_total(self, run_id: int, total: int, *, selected: int | None = None) -> None:
        """How many outcomes the run expects, from its fresh plan (and `selected`, if given)."""
        values: dict[str, Any] = {"total": total}
        if selected is not None:
            values["selected"] = selected
        with self._db.session(write=True) as s, s.begin():
            s.execute(update(RunRow).where(RunRow.id == run_id).values(**values))

    def set_target(self, run_id: int, *, mailbox: str, folder_name: str) -> None:
        """Correct the mailbox and folder a run writes into (as the opened service says)."""
        with self._db.session(write=True) as s, s.begin():
            s.execute(
                update(RunRow)
                .where(RunRow.id == run_id)
                .values(mailbox=mailbox, folder_name=folder_name)
            )

    def add_outcomes(self, run_id: int, outcomes: Sequence[OutcomeRecord]) -> None:
        """Store outcomes (in arrival order) and bump the run's counters, in one transaction."""
        if not outcomes:
            return
        rows = [
            {
                "run_id": run_id,
                "key": o.key,
                "name": o.name,
                "email": o.email,
                "outcome": Outcome(o.outcome).value,
                "office365_id": o.office365_id,
                "error": o.error,
            }
            for o in outcomes
        ]
        bumps: dict[str, Any] = {}
        for outcome, column in _COUNTER.items():
            n = sum(1 for o in outcomes if o.outcome is outcome)
            if n:
                bumps[column] = getattr(RunRow, column) + n
        with self._db.session(write=True) as s, s.begin():
            s.execute(update(RunRow).where(RunRow.id == run_id).values(**bumps))
            s.execute(insert(RunOutcomeRow), rows)

    def finish(self, run_id: int, status: RunStatus, error: str | None = None) -> RunRecord:
        """End a RUNNING run (releasing its folder lock); the first end wins.

        Finishing a run that has already ended changes nothing and returns it as it is.
        Raises `LookupError` for an unknown run, `ValueError` for status RUNNING.
        """
        if status is RunStatus.RUNNING:
            raise ValueError("a run cannot finish as RUNNING")
        with self._db.session(write=True) as s, s.begin():
            s.execute(
                update(RunRow)
                .where(RunRow.id == run_id, RunRow.status == RunStatus.RUNNING.value)
                .values(
                    status=status.value,
                    error=error,
                    finished_at=self._clock(),
                    active_lock=None,
                    waiting=None,
                    waiting_until=None,
                )
            )
            row = s.get(RunRow, run_id)
            if row is None:
                raise LookupError(f"there is no run {run_id}")
            return _run(row)

    def get(self, run_id: int) -> RunRecord | None:
        with self._db.session() as s, s.begin():
            row = s.get(RunRow, run_id)
            return None if row is None else _run(row)

    def recent(
        self, limit: int = 50, offset: int = 0, *, mailboxes: Collection[str] | None = None
    ) -> list[RunRecord]:
        """Runs, newest first; only those into `mailboxes` (any case) when given."""
        query = _into(select(RunRow), mailboxes).order_by(RunRow.id.desc())
        with self._db.session() as s, s.begin():
            rows = s.scalars(query.limit(limit).offset(offset))
            return [_run(row) for row in rows]

    def count(self, *, mailboxes: Collection[str] | None = None) -> int:
        """How many runs there are (for paging History); only into `mailboxes` when given."""
        query = _into(select(func.count()).select_from(RunRow), mailboxes)
        with self._db.session() as s, s.begin():
            return int(s.scalar(query) or 0)

    def outcomes(
        self, run_id: int, *, only_failed: bool = False, limit: int = 500, offset: int = 0
    ) -> list[OutcomeRecord]:
        """A run's outcomes in the order they arrived."""
        query = select(RunOutcomeRow).where(RunOutcomeRow.run_id == run_id)
        if only_failed:
            query = query.where(RunOutcomeRow.outcome == Outcome.FAILED.value)
        query = query.order_by(RunOutcomeRow.id).limit(limit).offset(offset)
        with self._db.session() as s, s.begin():
            return [_outcome(row) for row in s.scalars(query)]

    def _leased(self) -> Select[Any]:
        """The runs named by a folder lease that has not expired: their writer is alive."""
        return select(RunLeaseRow.run_id).where(
            RunLeaseRow.run_id.is_not(None), RunLeaseRow.expires_at > self._clock()
        )

    def mark_abandoned(self) -> int:
        """End as INTERRUPTED the RUNNING runs recorded without the lock (the command line's)
        whose lease has lapsed: their process was killed.  Returns how many were marked."""
        query = update(RunRow).where(
            RunRow.status == RunStatus.RUNNING.value,
            RunRow.active_lock.is_(None),
            RunRow.id.not_in(self._leased()),
        )
        return self._interrupt(query)

    def mark_interrupted(self, *, keep: Collection[int] = ()) -> int:
        """At start-up: end as INTERRUPTED every RUNNING run (but those in `keep`, and those a
        live folder lease names: a command-line sync still writing).

        Assumes one application process per database: a run of another live process sharing it
        would be marked too.  Returns how many runs were marked.
        """
        query = update(RunRow).where(
            RunRow.status == RunStatus.RUNNING.value, RunRow.id.not_in(self._leased())
        )
        if keep:
            query = query.where(RunRow.id.not_in(list(keep)))
        return self._interrupt(query)

    def _interrupt(self, query: Update) -> int:
        """End the runs `query` selects as INTERRUPTED, releasing their lock; how many."""
        with self._db.session(write=True) as s, s.begin():
            result: CursorResult[Any] = s.execute(  # type: ignore[assignment]
                query.values(
                    status=RunStatus.INTERRUPTED.value,
                    error=INTERRUPTED_MESSAGE,
                    finished_at=self._clock(),
                    active_lock=None,
                    waiting=None,
                    waiting_until=None,
                )
            )
            return result.rowcount
