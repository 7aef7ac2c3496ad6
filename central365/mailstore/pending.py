"""The writes a store made since the state file last saved, as rows ready to write.

The store notes each changed record here under its lock; `freeze` turns them into JSON text
(still under the lock, so a record cannot change half-way through being written), and the
state file (`central365.sandbox.persist`) writes the frozen rows in one transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from central365.mailstore.records import (
    Contact,
    Folder,
    FolderTombstone,
    MailboxState,
    Tombstone,
    as_json,
)

Record = Folder | Contact | Tombstone | FolderTombstone

#: Tables of the state file, one per kind of record.
TABLES = ("folders", "contacts", "tombstones", "folder_tombstones")


@dataclass
class PendingWrites:
    """Changed mailbox headers and rows; a row of None is a deletion."""

    wiped: bool = False
    _boxes: dict[str, MailboxState] = field(default_factory=dict)
    _rows: dict[tuple[str, str, str], Record | None] = field(default_factory=dict)
    #: Filled by `freeze`: (mailbox key, header JSON) and (table, mailbox key, row id, JSON).
    headers: list[tuple[str, str]] = field(default_factory=list)
    rows: list[tuple[str, str, str, str | None]] = field(default_factory=list)

    def wipe(self) -> None:
        """Everything before this is gone: the state file starts empty."""
        self.wiped = True
        self._boxes.clear()
        self._rows.clear()

    def mailbox(self, box: MailboxState) -> None:
        self._boxes[box.key] = box

    def row(self, table: str, mailbox_key: str, row_id: str, record: Record | None) -> None:
        self._rows[(table, mailbox_key, row_id)] = record

    def whole_mailbox(self, box: MailboxState) -> None:
        self.mailbox(box)
        for folder in box.folders.values():
            self.row("folders", box.key, folder.id, folder)
        for contact in box.contacts.values():
            self.row("contacts", box.key, contact.id, contact)
        for tomb in box.tombstones:
            self.row("tombstones", box.key, str(tomb.seq), tomb)
        for gone in box.folder_tombstones:
            self.row("folder_tombstones", box.key, str(gone.seq), gone)

    def freeze(self) -> None:
        """Render every noted record as JSON now (call under the store's lock)."""
        self.headers = [
            (key, json.dumps(box.header(), separators=(",", ":")))
            for key, box in self._boxes.items()
        ]
        self.rows = [
            (table, key, row_id, None if record is None else as_json(record))
            for (table, key, row_id), record in self._rows.items()
        ]
        self._boxes.clear()
        self._rows.clear()

    def __bool__(self) -> bool:
        return self.wiped or bool(self._boxes or self._rows or self.headers or self.rows)
