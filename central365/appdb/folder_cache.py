"""The folder cache: each mailbox folder's contacts as last seen, and its deltaLink.

A plan reads the folder as kept here plus one Graph delta round, instead of the whole folder
(issue 11 §3).  Every front end — the command line, the homepage, a worker — keeps it in the
one application database they share, so a plan made by one continues from the round of another.

Rows are the contacts' projected Graph properties as JSON text, so a property read later (an
extended property) is one more key, not a migration.  Contact data at rest here is what the
run outcomes already hold (names, emails) in the same private database; nothing is logged.

Each call is one short transaction; two plans applying rounds at the same time each leave a
consistent pair (contacts, link): a round re-reports anything a later link has not seen yet.

A long-lived process (the homepage) keeps one repository, which remembers the last snapshot of
each folder it read or wrote: a load then reads only the folder's row, and the 50,000 contact
rows only when that row moved (another process applied a round, or replaced the folder).
Must not: call Graph or decide what a round means (`central365.graph.folder` does).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from central365.appdb.clock import Now, utc_now
from central365.appdb.database import Database
from central365.appdb.models import FolderCacheContactRow, FolderCacheRow
from central365.core.ports import ContactJson, FolderSnapshot

#: Ids per `IN (...)` when deleting changed rows: well under every database's parameter limit.
_CHUNK = 500
#: Rows per insert statement.
_INSERT_PAGE = 2000

#: What identifies one stored state of a folder: its row, its link and when it was written.
_Version = tuple[int, str, datetime]


class _Remembered:
    """The last snapshot per (mailbox, folder id), with the version of the row it matches."""

    def __init__(self, *, enabled: bool = True) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[_Version, FolderSnapshot]] = {}
        self._enabled = enabled

    def get(self, key: tuple[str, str], version: _Version) -> FolderSnapshot | None:
        with self._lock:
            found = self._entries.get(key)
        return found[1] if found is not None and found[0] == version else None

    def put(self, key: tuple[str, str], version: _Version, snapshot: FolderSnapshot) -> None:
        if not self._enabled:
            return
        with self._lock:
            self._entries[key] = (version, snapshot)

    def drop(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._entries.pop(key, None)


class FolderCacheRepository:
    """Folder caches of every mailbox; `for_mailbox` gives the port one mailbox's plans use."""

    def __init__(self, database: Database, clock: Now = utc_now, *, remember: bool = True) -> None:
        """`remember`: keep each folder's last snapshot in memory for the next load (a
        long-lived process); a one-shot command, which loads once, passes False and so never
        holds a large folder's contacts twice."""
        self._db = database
        self._clock = clock
        self._remembered = _Remembered(enabled=remember)

    def for_mailbox(self, mailbox: str) -> MailboxFolderCache:
        """The `FolderCache` of one mailbox, named as people name it (an address, case-folded)."""
        return MailboxFolderCache(
            self._db, mailbox.strip().casefold(), self._clock, self._remembered
        )


class MailboxFolderCache:
    """The `FolderCache` port for one mailbox, in the application database."""

    def __init__(
        self,
        database: Database,
        mailbox: str,
        clock: Now = utc_now,
        remembered: _Remembered | None = None,
    ) -> None:
        self._db = database
        self.mailbox = mailbox
        self._clock = clock
        self._remembered = remembered or _Remembered()

    def load(self, folder_id: str) -> FolderSnapshot | None:
        key = (self.mailbox, folder_id)
        with self._db.session() as s, s.begin():
            row = self._row(s, folder_id)
            if row is None:
                self._remembered.drop(key)
                return None
            version = _version(row)
            found = self._remembered.get(key, version)
            if found is not None:
                return found
            bodies = s.execute(
                select(FolderCacheContactRow.contact_id, FolderCacheContactRow.body).where(
                    FolderCacheContactRow.cache_id == row.id
                )
            ).all()
        contacts = {contact_id: json.loads(body) for contact_id, body in bodies}
        snapshot = FolderSnapshot(version[1], contacts)
        self._remembered.put(key, version, snapshot)
        return snapshot

    def replace(self, folder_id: str, snapshot: FolderSnapshot) -> None:
        key = (self.mailbox, folder_id)
        self._remembered.drop(key)
        with self._db.session(write=True) as s, s.begin():
            row = self._ensure(s, folder_id, snapshot.delta_link)
            s.execute(delete(FolderCacheContactRow).where(FolderCacheContactRow.cache_id == row.id))
            _insert(s, row.id, snapshot.contacts.items())
            version = _version(row)
        kept = FolderSnapshot(snapshot.delta_link, dict(snapshot.contacts))
        self._remembered.put(key, version, kept)

    def update(
        self,
        folder_id: str,
        delta_link: str,
        changed: Mapping[str, ContactJson],
        removed: Collection[str],
    ) -> None:
        key = (self.mailbox, folder_id)
        with self._db.session(write=True) as s, s.begin():
            before = self._row(s, folder_id)
            previous = self._remembered.get(key, _version(before)) if before else None
            self._remembered.drop(key)
            row = self._ensure(s, folder_id, delta_link)
            for ids in _chunks([*removed, *changed]):
                s.execute(
                    delete(FolderCacheContactRow).where(
                        FolderCacheContactRow.cache_id == row.id,
                        FolderCacheContactRow.contact_id.in_(ids),
                    )
                )
            _insert(s, row.id, changed.items())
            version = _version(row)
        if previous is not None:  # the remembered state was current: apply the round to it
            contacts = dict(previous.contacts)
            for contact_id in removed:
                contacts.pop(contact_id, None)
            contacts.update(changed)
            self._remembered.put(key, version, FolderSnapshot(delta_link, contacts))

    def forget(self, folder_id: str) -> None:
        """Drop what is kept for the folder (its rows go with it)."""
        self._remembered.drop((self.mailbox, folder_id))
        with self._db.session(write=True) as s, s.begin():
            row = self._row(s, folder_id)
            if row is not None:
                s.execute(
                    delete(FolderCacheContactRow).where(FolderCacheContactRow.cache_id == row.id)
                )
                s.delete(row)

    def _row(self, s: Session, folder_id: str) -> FolderCacheRow | None:
        return s.scalars(
            select(FolderCacheRow).where(
                FolderCacheRow.mailbox == self.mailbox, FolderCacheRow.folder_id == folder_id
            )
        ).one_or_none()

    def _ensure(self, s: Session, folder_id: str, delta_link: str) -> FolderCacheRow:
        """The folder's row with the new link (created when the folder was never kept)."""
        row = self._row(s, folder_id)
        now = self._clock()
        if row is None:
            row = FolderCacheRow(
                mailbox=self.mailbox, folder_id=folder_id, delta_link=delta_link, updated_at=now
            )
            s.add(row)
            s.flush()
        else:
            row.delta_link, row.updated_at = delta_link, now
        return row


def _version(row: FolderCacheRow) -> _Version:
    return (row.id, row.delta_link, row.updated_at)


def _insert(s: Session, cache_id: int, contacts: Iterable[tuple[str, ContactJson]]) -> None:
    """Insert a page of rows at a time: a 500,000-contact folder's rows and JSON texts are
    never all in memory at once."""
    pending = iter(contacts)
    while page := list(islice(pending, _INSERT_PAGE)):
        rows: list[dict[str, Any]] = [
            {"cache_id": cache_id, "contact_id": contact_id, "body": _dump(body)}
            for contact_id, body in page
        ]
        s.execute(insert(FolderCacheContactRow), rows)


def _dump(body: ContactJson) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]
