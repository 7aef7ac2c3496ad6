"""The journal (`core.ports.Journal`) in the application database.

A run of the journal IS a run of History (`runs`, one table for the homepage and the command
line): the journal adds how many active Central records its plan saw, and for every contact it
wrote a row of `journal_writes` (its before-image) while `journal_contacts` keeps, per mailbox
folder and Central id, the latest write (contact id, baseline, changeKey).  Both rows of one
write go in one transaction, so the journal never holds half a write.

Must not: decide anything about a plan, or hold contact values anywhere but in these tables
(never in a log).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from central365.appdb.clock import Now, utc_now
from central365.appdb.database import Database
from central365.appdb.models import JournalContactRow, JournalWriteRow, RunRow
from central365.appdb.run_repository import run_lock_key
from central365.core.journal import (
    JournalAction,
    JournalContact,
    JournalEntry,
    JournalWrite,
    RunSummary,
)


def _summary(row: RunRow) -> RunSummary:
    return RunSummary(
        id=row.id,
        started_by=row.started_by,
        mailbox=row.mailbox,
        folder_name=row.folder_name,
        status=row.status,
        started_at=row.started_at,
        finished_at=row.finished_at,
        active_records=row.active_records,
        created=row.created,
        updated=row.updated,
        failed=row.failed,
        skipped=row.skipped,
    )


#: The tables themselves, for the plain statements of `record`.
_WRITES: Table = JournalWriteRow.__table__  # type: ignore[assignment]
_CONTACTS: Table = JournalContactRow.__table__  # type: ignore[assignment]


def _json(value: Mapping[str, Any]) -> str:
    return json.dumps(dict(value), ensure_ascii=False, sort_keys=True)


def _latest(entry: JournalEntry, run_id: int, now: datetime) -> dict[str, Any]:
    """The `journal_contacts` values of a write (its record's latest contact)."""
    return {
        "office365_id": entry.office365_id,
        "baseline": _json(entry.baseline),
        "change_key": entry.change_key,
        "run_id": run_id,
        "written_at": now,
    }


def _latest_one(
    connection: Connection, folder_key: str, run_id: int, entry: JournalEntry, now: datetime
) -> None:
    """One write's latest contact: updated, inserted, or (a delete of it) forgotten."""
    this_record = (_CONTACTS.c.folder_key == folder_key) & (_CONTACTS.c.central_key == entry.key)
    if entry.action is JournalAction.DELETED:
        connection.execute(
            delete(_CONTACTS).where(this_record, _CONTACTS.c.office365_id == entry.office365_id)
        )
        return
    done = connection.execute(
        update(_CONTACTS).where(this_record).values(**_latest(entry, run_id, now))
    )
    if done.rowcount == 0:
        connection.execute(
            insert(_CONTACTS),
            {"folder_key": folder_key, "central_key": entry.key, **_latest(entry, run_id, now)},
        )


def _latest_in_bulk(
    connection: Connection,
    folder_key: str,
    run_id: int,
    entries: Sequence[JournalEntry],
    now: datetime,
) -> None:
    """The latest contacts of writes to distinct records: a few statements for the batch."""
    known = set(
        connection.scalars(
            select(_CONTACTS.c.central_key).where(
                _CONTACTS.c.folder_key == folder_key,
                _CONTACTS.c.central_key.in_([e.key for e in entries]),
            )
        )
    )
    deleted = [e for e in entries if e.action is JournalAction.DELETED]
    for entry in deleted:
        if entry.key in known:
            _latest_one(connection, folder_key, run_id, entry, now)
    kept = [e for e in entries if e.action is not JournalAction.DELETED]
    changed = [e for e in kept if e.key in known]
    if changed:
        connection.execute(
            update(_CONTACTS)
            .where(
                _CONTACTS.c.folder_key == bindparam("b_folder_key"),
                _CONTACTS.c.central_key == bindparam("b_central_key"),
            )
            .values(
                office365_id=bindparam("b_office365_id"),
                baseline=bindparam("b_baseline"),
                change_key=bindparam("b_change_key"),
                run_id=bindparam("b_run_id"),
                written_at=bindparam("b_written_at"),
            ),
            [
                {"b_folder_key": folder_key, "b_central_key": e.key}
                | {f"b_{k}": v for k, v in _latest(e, run_id, now).items()}
                for e in changed
            ],
        )
    new = [e for e in kept if e.key not in known]
    if new:
        connection.execute(
            insert(_CONTACTS),
            [
                {"folder_key": folder_key, "central_key": e.key, **_latest(e, run_id, now)}
                for e in new
            ],
        )


class JournalRepository:
    """The journal of every mailbox folder central365 writes into."""

    def __init__(self, database: Database, clock: Now = utc_now) -> None:
        self._db = database
        self._clock = clock
        self._folder_keys: dict[int, str] = {}

    def note_plan(self, run_id: int, active_records: int) -> None:
        with self._db.session(write=True) as s, s.begin():
            s.execute(
                update(RunRow).where(RunRow.id == run_id).values(active_records=active_records)
            )

    def record(self, run_id: int, entry: JournalEntry) -> None:
        """Remember one write: the before-image, and the record's latest contact (one
        transaction); a delete forgets the record's contact when it was the one deleted.
        Raises `LookupError` for an unknown run."""
        self.record_many(run_id, [entry])

    def record_many(self, run_id: int, entries: Sequence[JournalEntry]) -> None:
        """`record` each entry in order, in one transaction (one `$batch`'s answers).

        Plain SQL statements rather than the ORM's unit of work, and one transaction per
        batch rather than per contact: this runs for every contact written, and a mailbox job
        of 500 new contacts spent about half its CPU opening transactions and flushing here.
        The before-images go in one multi-row insert; the latest contacts in one update and
        one insert when the batch names each record once (the usual case), else statement by
        statement in order.  Only the folder's lease holder writes its journal rows, so the
        read-then-write cannot race.
        """
        if not entries:
            return
        now = self._clock()
        with self._db.session(write=True) as s, s.begin():
            folder_key = self._folder_key(s, run_id)
            connection = s.connection()
            connection.execute(
                insert(_WRITES),
                [
                    {
                        "run_id": run_id,
                        "central_key": e.key,
                        "office365_id": e.office365_id,
                        "action": e.action.value,
                        "before": None if e.action is JournalAction.CREATED else _json(e.before),
                        "change_key": e.change_key,
                        "written_at": now,
                    }
                    for e in entries
                ],
            )
            keys = [e.key for e in entries]
            if len(set(keys)) == len(keys):
                _latest_in_bulk(connection, folder_key, run_id, entries, now)
            else:
                for entry in entries:
                    _latest_one(connection, folder_key, run_id, entry, now)

    def adopt(self, run_id: int, entries: Sequence[JournalEntry]) -> int:
        if not entries:
            return 0
        now = self._clock()
        with self._db.session(write=True) as s, s.begin():
            folder_key = self._folder_key(s, run_id)
            known = set(
                s.scalars(
                    select(JournalContactRow.central_key).where(
                        JournalContactRow.folder_key == folder_key
                    )
                )
            )
            missing = [e for e in entries if e.key not in known]
            if missing:
                s.execute(
                    insert(JournalContactRow),
                    [
                        {
                            "folder_key": folder_key,
                            "central_key": e.key,
                            "office365_id": e.office365_id,
                            "baseline": _json(e.baseline),
                            "change_key": e.change_key,
                            "run_id": None,
                            "written_at": now,
                        }
                        for e in missing
                    ],
                )
            return len(missing)

    def _folder_key(self, s: Session, run_id: int) -> str:
        """The run's mailbox folder as the journal keys it (read once per run)."""
        key = self._folder_keys.get(run_id)
        if key is None:
            run = s.get(RunRow, run_id)
            if run is None:
                raise LookupError(f"there is no run {run_id}")
            key = self._folder_keys[run_id] = run_lock_key(run.mailbox, run.folder_name)
        return key

    def last_run(self, mailbox: str, folder_name: str) -> RunSummary | None:
        """The newest run into this folder whose plan counted Central (any status)."""
        query = (
            select(RunRow)
            .where(
                func.lower(func.trim(RunRow.mailbox)) == mailbox.strip().lower(),
                func.lower(func.trim(RunRow.folder_name)) == folder_name.strip().lower(),
                RunRow.active_records.is_not(None),
            )
            .order_by(RunRow.id.desc())
            .limit(1)
        )
        with self._db.session() as s, s.begin():
            row = s.scalar(query)
            return None if row is None else _summary(row)

    def contacts(self, mailbox: str, folder_name: str) -> dict[str, JournalContact]:
        """The folder's latest contact per Central id (every plan of the folder reads them).

        Plain rows rather than ORM objects: a nightly plan of a folder with nothing changed
        spent a sixth of its CPU building and tracking them."""
        folder_key = run_lock_key(mailbox, folder_name)
        c = _CONTACTS.c
        query = select(
            c.central_key, c.office365_id, c.baseline, c.change_key, c.run_id, c.written_at
        ).where(c.folder_key == folder_key)
        with self._db.session() as s, s.begin():
            return {
                key: JournalContact(
                    key=key,
                    office365_id=office365_id,
                    baseline=json.loads(baseline),
                    change_key=change_key,
                    run_id=run_id,
                    written_at=written_at,
                )
                for key, office365_id, baseline, change_key, run_id, written_at in s.execute(query)
            }

    def wrote_any(self, run_id: int) -> bool:
        """Whether the run journalled any write (without reading them all)."""
        query = select(JournalWriteRow.id).where(JournalWriteRow.run_id == run_id).limit(1)
        with self._db.session() as s, s.begin():
            return s.scalar(query) is not None

    def writes(self, run_id: int) -> list[JournalWrite]:
        """Every contact the run wrote, in the order it wrote them."""
        return list(self._writes(run_id))

    def _writes(self, run_id: int) -> Iterator[JournalWrite]:
        query = (
            select(JournalWriteRow)
            .where(JournalWriteRow.run_id == run_id)
            .order_by(JournalWriteRow.id)
        )
        with self._db.session() as s, s.begin():
            for row in s.scalars(query):
                yield JournalWrite(
                    key=row.central_key,
                    office365_id=row.office365_id,
                    action=JournalAction(row.action),
                    before=json.loads(row.before) if row.before is not None else {},
                    change_key=row.change_key,
                    written_at=row.written_at,
                )
