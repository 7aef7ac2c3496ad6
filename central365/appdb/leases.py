"""One writer per mailbox folder: leases in the application database, with a heartbeat.

Every front end that writes into a folder — the command line, the homepage's runs, later the
workers — takes the folder's lease first, in the one application database they share (SQLite on
one machine, PostgreSQL across machines), and keeps it alive while it writes.  A second run
is refused with who holds the folder and since when.  A holder that was killed or froze stops
renewing; once its lease has expired the next run takes it over, so a dead run never blocks the
folder for good.  Without this two runs would both plan a record as new and create it twice.

Taking a lease is one short transaction: insert it, or — when the row exists and has expired —
update it *where the token is still the expired holder's*, so of two runs taking over at once
exactly one wins.  Renewals and the release also name the token, so a holder that lost its
lease (it froze past the expiry) can never extend or delete its successor's.

Must not: hold a database transaction open while the run writes (a lease is a row, not a lock).
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.exc import IntegrityError

from central365.appdb.clock import Now, utc_now
from central365.appdb.database import Database
from central365.appdb.models import RunLeaseRow
from central365.appdb.run_repository import RunInProgress

log = logging.getLogger(__name__)

#: How long a lease lives without a renewal: how soon a killed run's folder is free again.
LEASE_TTL = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Lease:
    """A held lease: the folder's key, the holder's secret token, and until when it holds."""

    key: str
    token: str
    holder: str
    acquired_at: datetime
    expires_at: datetime

    def __repr__(self) -> str:
        return f"Lease(key={self.key!r}, holder={self.holder!r}, token=***)"


def folder_busy(
    folder_name: str, holder: str, since: datetime, run_id: int | None
) -> RunInProgress:
    """The refusal a second run gets: who writes into the folder, and since when."""
    return RunInProgress(folder_name, run_id, holder=holder, since=since)


class LeaseRepository:
    """Take, renew and release folder leases."""

    def __init__(self, database: Database, clock: Now = utc_now) -> None:
        self._db = database
        self._clock = clock

    def acquire(
        self,
        key: str,
        holder: str,
        *,
        folder_name: str = "",
        ttl: timedelta = LEASE_TTL,
        run_id: int | None = None,
    ) -> Lease:
        """The folder's lease, or `RunInProgress` naming its live holder."""
        token = secrets.token_hex(16)
        for _ in range(3):  # an insert that lost a race re-reads the winner
            now = self._clock()
            lease = Lease(key, token, holder, now, now + ttl)
            try:
                with self._db.session(write=True) as s, s.begin():
                    current = s.get(RunLeaseRow, key)
                    if current is None:
                        s.add(_row(lease, run_id))
                        s.flush()
                        return lease
                    if current.expires_at > now:
                        raise folder_busy(
                            folder_name, current.holder, current.acquired_at, current.run_id
                        )
                    taken = s.execute(
                        update(RunLeaseRow)
                        .where(RunLeaseRow.key == key, RunLeaseRow.token == current.token)
                        .values(
                            token=token,
                            holder=holder,
                            run_id=run_id,
                            acquired_at=now,
                            expires_at=lease.expires_at,
                        )
                    )
                    assert isinstance(taken, CursorResult)
                    if taken.rowcount == 1:
                        log.warning("Took over the expired lease of %s", current.holder)
                        return lease
            except IntegrityError:
                continue
        raise RunInProgress(folder_name, None)

    def renew(self, lease: Lease, ttl: timedelta = LEASE_TTL) -> Lease | None:
        """The lease with a later expiry; None when it was lost (taken over after expiring)."""
        expires_at = self._clock() + ttl
        with self._db.session(write=True) as s, s.begin():
            done = s.execute(
                update(RunLeaseRow)
                .where(RunLeaseRow.key == lease.key, RunLeaseRow.token == lease.token)
                .values(expires_at=expires_at)
            )
            assert isinstance(done, CursorResult)
            if done.rowcount != 1:
                return None
        return Lease(lease.key, lease.token, lease.holder, lease.acquired_at, expires_at)

    def attach_run(self, lease: Lease, run_id: int) -> None:
        """Name the run that holds the lease (known once the run is recorded)."""
        with self._db.session(write=True) as s, s.begin():
            s.execute(
                update(RunLeaseRow)
                .where(RunLeaseRow.key == lease.key, RunLeaseRow.token == lease.token)
                .values(run_id=run_id)
            )

    def release(self, lease: Lease) -> None:
        """Free the folder (a lease already taken over by another run is left alone)."""
        with self._db.session(write=True) as s, s.begin():
            s.execute(
                delete(RunLeaseRow).where(
                    RunLeaseRow.key == lease.key, RunLeaseRow.token == lease.token
                )
            )

    def holder(self, key: str) -> tuple[str, datetime, int | None] | None:
        """Who holds the folder's live lease (name, since, run), if anyone."""
        with self._db.session() as s, s.begin():
            row = s.scalar(select(RunLeaseRow).where(RunLeaseRow.key == key))
            if row is None or row.expires_at <= self._clock():
                return None
            return row.holder, row.acquired_at, row.run_id


class KeptLease:
    """A lease renewed by a background thread every third of its lifetime until `stop`.

    `lost` is set when a renewal finds the lease gone (the holder froze past its expiry and
    another run took the folder): the holder should stop writing as soon as it can.
    """

    def __init__(self, leases: LeaseRepository, lease: Lease, ttl: timedelta = LEASE_TTL) -> None:
        self.lease = lease
        self.lost = threading.Event()
        self._leases = leases
        self._ttl = ttl
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name="central365-lease-heartbeat", daemon=True
        )
        self._thread.start()

    def _beat(self) -> None:
        interval = self._ttl.total_seconds() / 3
        while not self._stopping.wait(interval):
            try:
                renewed = self._leases.renew(self.lease, self._ttl)
            except Exception:  # the database hiccuped: try again at the next beat
                log.warning("Could not renew the lease on %s; trying again", self.lease.key)
                continue
            if renewed is None:
                log.error("The lease on %s was taken over by another run", self.lease.key)
                self.lost.set()
                return
            self.lease = renewed

    def stop(self) -> None:
        """Stop renewing and release the lease."""
        self._stopping.set()
        self._thread.join()
        try:
            self._leases.release(self.lease)
        except Exception:  # it expires by itself; nothing is left locked for good
            log.warning("Could not release the lease on %s; it expires by itself", self.lease.key)


@contextmanager
def folder_lease(
    leases: LeaseRepository,
    key: str,
    holder: str,
    *,
    folder_name: str = "",
    ttl: timedelta = LEASE_TTL,
) -> Iterator[KeptLease]:
    """Hold the folder's lease (renewed in the background) for the duration of the block."""
    kept = KeptLease(leases, leases.acquire(key, holder, folder_name=folder_name, ttl=ttl), ttl)
    try:
        yield kept
    finally:
        kept.stop()


def _row(lease: Lease, run_id: int | None) -> RunLeaseRow:
    return RunLeaseRow(
        key=lease.key,
        token=lease.token,
        holder=lease.holder,
        run_id=run_id,
        acquired_at=lease.acquired_at,
        expires_at=lease.expires_at,
    )
