"""Schedules' state and target runs: the rows that make a schedule fire once and a target's
run one run of many mailboxes.

Firing exactly once: every scheduler (one in each `serve`, one in each `worker --beat`) works
out the cron slot that is due and *claims* it with one conditional update — the slot moves
forward only `WHERE last_fired_slot < :slot` — so of any number of schedulers sharing the
database exactly one sees its update take, and only that one starts the run.

A target run ends once: each mailbox job records its end in a transaction that first locks the
target run's row (`FOR UPDATE`; SQLite's writes are serialised anyway), then ends the target
run if no mailbox is left, so the last of two mailboxes ending at once is the one that ends it
and tells the admins, never both and never neither.

Must not: know cron or time zones (the engine works out the slots), or hold a transaction open
while a mailbox is written.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import CursorResult, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central365.appdb.clock import Now, utc_now
from central365.appdb.database import Database
from central365.appdb.models import ScheduleRow, TargetRunMailboxRow, TargetRunRow
from central365.appdb.records import (
    MailboxJobStatus,
    ScheduleState,
    TargetRunMailbox,
    TargetRunRecord,
    TargetRunStatus,
    TargetTrigger,
)


def _state(row: ScheduleRow) -> ScheduleState:
    return ScheduleState(
        target=row.target,
        paused=row.paused,
        last_fired_slot=row.last_fired_slot,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def _mailbox(row: TargetRunMailboxRow) -> TargetRunMailbox:
    return TargetRunMailbox(
        mailbox=row.mailbox,
        status=MailboxJobStatus(row.status),
        run_id=row.run_id,
        created=row.created,
        updated=row.updated,
        failed=row.failed,
        skipped=row.skipped,
        error=row.error,
        refused=row.refused,
        attempts=row.attempts,
        finished_at=row.finished_at,
    )


def _target_run(row: TargetRunRow, mailboxes: Sequence[TargetRunMailboxRow]) -> TargetRunRecord:
    return TargetRunRecord(
        id=row.id,
        target=row.target,
        trigger=TargetTrigger(row.trigger),
        requested_by=row.requested_by,
        status=TargetRunStatus(row.status),
        started_at=row.started_at,
        slot=row.slot,
        finished_at=row.finished_at,
        error=row.error,
        mailboxes=tuple(_mailbox(m) for m in mailboxes),
    )


class ScheduleRepository:
    """Pause flags, slot claims, and target runs with their mailboxes."""

    def __init__(self, database: Database, clock: Now = utc_now) -> None:
        self._db = database
        self._clock = clock

    # --- schedules -------------------------------------------------------------------------

    def states(self) -> dict[str, ScheduleState]:
        """Every target's stored state, by target name (targets never seen have none)."""
        with self._db.session() as s, s.begin():
            return {row.target: _state(row) for row in s.scalars(select(ScheduleRow))}

    def ensure(self, target: str, current_slot: datetime | None) -> ScheduleState:
        """The target's state, created (not paused, `current_slot` counted as fired, so a new
        schedule waits for its next slot rather than firing for one that passed) if missing."""
        try:
            with self._db.session(write=True) as s, s.begin():
                row = s.get(ScheduleRow, target)
                if row is None:
                    row = ScheduleRow(
                        target=target,
                        paused=False,
                        last_fired_slot=current_slot,
                        updated_at=self._clock(),
                        updated_by=None,
                    )
                    s.add(row)
                    s.flush()
                return _state(row)
        except IntegrityError:  # another scheduler created it at the same moment
            with self._db.session() as s, s.begin():
                found = s.get(ScheduleRow, target)
                assert found is not None
                return _state(found)

    def set_paused(self, target: str, paused: bool, by: str) -> ScheduleState:
        """Pause or resume the target's schedule (the row is created when missing)."""
        self.ensure(target, None)
        with self._db.session(write=True) as s, s.begin():
            s.execute(
                update(ScheduleRow)
                .where(ScheduleRow.target == target)
                .values(paused=paused, updated_at=self._clock(), updated_by=by)
            )
            row = s.get(ScheduleRow, target)
            assert row is not None
            return _state(row)

    def claim_slot(self, target: str, slot: datetime) -> bool:
        """Move the target's last fired slot to `slot`; True only for the one caller whose
        update took (the schedule is not paused and had not fired this slot or a later one)."""
        with self._db.session(write=True) as s, s.begin():
            done = s.execute(
                update(ScheduleRow)
                .where(
                    ScheduleRow.target == target,
                    ScheduleRow.paused.is_(False),
                    or_(ScheduleRow.last_fired_slot.is_(None), ScheduleRow.last_fired_slot < slot),
                )
                .values(last_fired_slot=slot)
            )
            assert isinstance(done, CursorResult)
            return done.rowcount == 1

    # --- target runs -----------------------------------------------------------------------

    def start_target_run(
        self,
        target: str,
        *,
        trigger: TargetTrigger,
        requested_by: str,
        slot: datetime | None = None,
    ) -> int:
        """Record a new RUNNING target run (its mailboxes come with `add_mailboxes`)."""
        row = TargetRunRow(
            target=target,
            trigger=trigger.value,
            requested_by=requested_by,
            slot=slot,
            status=TargetRunStatus.RUNNING.value,
            started_at=self._clock(),
            finished_at=None,
            error=None,
        )
        with self._db.session(write=True) as s, s.begin():
            s.add(row)
            s.flush()
            return row.id

    def add_mailboxes(self, target_run_id: int, mailboxes: Sequence[str]) -> None:
        """Queue the target run's mailboxes (repeats, any case, are queued once; so is a
        mailbox queued already: the expansion may run twice when its job is redelivered)."""
        with self._db.session() as s, s.begin():
            present = s.scalars(
                select(TargetRunMailboxRow.mailbox).where(
                    TargetRunMailboxRow.target_run_id == target_run_id
                )
            ).all()
        seen: dict[str, str] = {m.casefold(): m for m in present}
        fresh = set(seen)
        for mailbox in mailboxes:
            seen.setdefault(mailbox.strip().casefold(), mailbox.strip())
        seen = {k: v for k, v in seen.items() if k not in fresh}
        rows = [
            {
                "target_run_id": target_run_id,
                "mailbox": mailbox,
                "status": MailboxJobStatus.QUEUED.value,
                "run_id": None,
                "created": 0,
                "updated": 0,
                "failed": 0,
                "skipped": 0,
                "error": None,
                "refused": False,
                "attempts": 0,
                "finished_at": None,
            }
            for mailbox in seen.values()
        ]
        if rows:
            with self._db.session(write=True) as s, s.begin():
                s.execute(insert(TargetRunMailboxRow), rows)

    def fail_target_run(self, target_run_id: int, error: str) -> TargetRunRecord | None:
        """End a target run that could not start its mailboxes (its group could not be read);
        the record when this call ended it, None when it had ended already."""
        with self._db.session(write=True) as s, s.begin():
            self._lock(s, target_run_id)
            done = s.execute(
                update(TargetRunRow)
                .where(
                    TargetRunRow.id == target_run_id,
                    TargetRunRow.status == TargetRunStatus.RUNNING.value,
                )
                .values(status=TargetRunStatus.FAILED.value, error=error, finished_at=self._clock())
            )
            assert isinstance(done, CursorResult)
            return self._read(s, target_run_id) if done.rowcount == 1 else None

    def mailbox_started(self, target_run_id: int, mailbox: str, run_id: int | None) -> None:
        """The mailbox's job began an attempt (`run_id`: its run of History, when recorded)."""
        with self._db.session(write=True) as s, s.begin():
            s.execute(
                update(TargetRunMailboxRow)
                .where(
                    TargetRunMailboxRow.target_run_id == target_run_id,
                    TargetRunMailboxRow.mailbox == mailbox,
                    TargetRunMailboxRow.status != MailboxJobStatus.DONE.value,
                )
                .values(
                    status=MailboxJobStatus.RUNNING.value,
                    run_id=run_id,
                    attempts=TargetRunMailboxRow.attempts + 1,
                )
            )

    def mailbox_finished(
        self,
        target_run_id: int,
        mailbox: str,
        *,
        created: int = 0,
        updated: int = 0,
        failed: int = 0,
        skipped: int = 0,
        error: str | None = None,
        refused: bool = False,
    ) -> TargetRunRecord | None:
        """Record the mailbox's end; when it was the target run's last mailbox, end the target
        run too and return it (to exactly one caller), else None."""
        with self._db.session(write=True) as s, s.begin():
            self._lock(s, target_run_id)
            s.execute(
                update(TargetRunMailboxRow)
                .where(
                    TargetRunMailboxRow.target_run_id == target_run_id,
                    TargetRunMailboxRow.mailbox == mailbox,
                    TargetRunMailboxRow.status != MailboxJobStatus.DONE.value,
                )
                .values(
                    status=MailboxJobStatus.DONE.value,
                    created=created,
                    updated=updated,
                    failed=failed,
                    skipped=skipped,
                    error=error,
                    refused=refused,
                    finished_at=self._clock(),
                )
            )
            return self._end_if_done(s, target_run_id)

    def _end_if_done(self, s: Session, target_run_id: int) -> TargetRunRecord | None:
        left = s.scalar(
            select(func.count())
            .select_from(TargetRunMailboxRow)
            .where(
                TargetRunMailboxRow.target_run_id == target_run_id,
                TargetRunMailboxRow.status != MailboxJobStatus.DONE.value,
            )
        )
        if left:
            return None
        bad = s.scalar(
            select(func.count())
            .select_from(TargetRunMailboxRow)
            .where(
                TargetRunMailboxRow.target_run_id == target_run_id,
                or_(TargetRunMailboxRow.error.is_not(None), TargetRunMailboxRow.failed > 0),
            )
        )
        status = TargetRunStatus.FAILED if bad else TargetRunStatus.FINISHED
        done = s.execute(
            update(TargetRunRow)
            .where(
                TargetRunRow.id == target_run_id,
                TargetRunRow.status == TargetRunStatus.RUNNING.value,
            )
            .values(status=status.value, finished_at=self._clock())
        )
        assert isinstance(done, CursorResult)
        return self._read(s, target_run_id) if done.rowcount == 1 else None

    def end_if_done(self, target_run_id: int) -> TargetRunRecord | None:
        """End the target run if none of its mailboxes is left (a target of no mailboxes)."""
        with self._db.session(write=True) as s, s.begin():
            self._lock(s, target_run_id)
            return self._end_if_done(s, target_run_id)

    def abandon_run(self, target_run_id: int, error: str) -> TargetRunRecord | None:
        """End one target run's unfinished mailboxes with `error` (and so the run); the run
        when this ended it, None when it had ended already."""
        with self._db.session(write=True) as s, s.begin():
            self._lock(s, target_run_id)
            s.execute(
                update(TargetRunMailboxRow)
                .where(
                    TargetRunMailboxRow.target_run_id == target_run_id,
                    TargetRunMailboxRow.status != MailboxJobStatus.DONE.value,
                )
                .values(status=MailboxJobStatus.DONE.value, error=error, finished_at=self._clock())
            )
            return self._end_if_done(s, target_run_id)

    def abandon_running(self, error: str) -> list[TargetRunRecord]:
        """End every RUNNING target run, its unfinished mailboxes with `error` (at the start
        of a process that ran them itself: the one that queued them is gone).  The runs ended."""
        with self._db.session() as s, s.begin():
            ids = list(
                s.scalars(
                    select(TargetRunRow.id).where(
                        TargetRunRow.status == TargetRunStatus.RUNNING.value
                    )
                )
            )
        ended = []
        for target_run_id in ids:
            done = self.abandon_run(target_run_id, error)
            if done is not None:
                ended.append(done)
        return ended

    @staticmethod
    def _lock(s: Session, target_run_id: int) -> None:
        s.execute(select(TargetRunRow.id).where(TargetRunRow.id == target_run_id).with_for_update())

    @staticmethod
    def _read(s: Session, target_run_id: int) -> TargetRunRecord | None:
        row = s.get(TargetRunRow, target_run_id)
        if row is None:
            return None
        mailboxes = s.scalars(
            select(TargetRunMailboxRow)
            .where(TargetRunMailboxRow.target_run_id == target_run_id)
            .order_by(TargetRunMailboxRow.id)
        ).all()
        return _target_run(row, mailboxes)

    def target_run(self, target_run_id: int) -> TargetRunRecord | None:
        """One target run with its mailboxes."""
        with self._db.session() as s, s.begin():
            return self._read(s, target_run_id)

    def target_runs(
        self, *, targets: Collection[str] | None = None, limit: int = 50, offset: int = 0
    ) -> list[TargetRunRecord]:
        """Target runs, newest first, with their mailboxes; only of `targets` when given."""
        query = select(TargetRunRow)
        if targets is not None:
            query = query.where(TargetRunRow.target.in_(sorted(targets)))
        query = query.order_by(TargetRunRow.id.desc()).limit(limit).offset(offset)
        with self._db.session() as s, s.begin():
            rows = s.scalars(query).all()
            return self._with_mailboxes(s, rows)

    def count_target_runs(self, *, targets: Collection[str] | None = None) -> int:
        query = select(func.count()).select_from(TargetRunRow)
        if targets is not None:
            query = query.where(TargetRunRow.target.in_(sorted(targets)))
        with self._db.session() as s, s.begin():
            return int(s.scalar(query) or 0)

    def last_target_runs(self, targets: Collection[str]) -> dict[str, TargetRunRecord]:
        """Each target's newest run, by target name (targets never run are missing)."""
        newest = (
            select(func.max(TargetRunRow.id))
            .where(TargetRunRow.target.in_(sorted(targets)))
            .group_by(TargetRunRow.target)
        )
        with self._db.session() as s, s.begin():
            rows = s.scalars(select(TargetRunRow).where(TargetRunRow.id.in_(newest))).all()
            return {r.target: r for r in self._with_mailboxes(s, rows)}

    def target_run_of(self, run_ids: Collection[int]) -> dict[int, int]:
        """The target run each of `run_ids` (runs of History) belongs to, where it does."""
        if not run_ids:
            return {}
        query = select(TargetRunMailboxRow.run_id, TargetRunMailboxRow.target_run_id).where(
            TargetRunMailboxRow.run_id.in_(sorted(run_ids))
        )
        with self._db.session() as s, s.begin():
            found = s.execute(query).all()
            return {int(run): int(target_run) for run, target_run in found if run is not None}

    @staticmethod
    def _with_mailboxes(s: Session, rows: Sequence[TargetRunRow]) -> list[TargetRunRecord]:
        ids = [r.id for r in rows]
        by_run: dict[int, list[TargetRunMailboxRow]] = {i: [] for i in ids}
        if ids:
            found = s.scalars(
                select(TargetRunMailboxRow)
                .where(TargetRunMailboxRow.target_run_id.in_(ids))
                .order_by(TargetRunMailboxRow.id)
            )
            for m in found:
                by_run[m.target_run_id].append(m)
        return [_target_run(r, by_run[r.id]) for r in rows]
