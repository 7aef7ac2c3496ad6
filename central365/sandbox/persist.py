"""Keep the sandbox's state in a SQLite file across restarts (`--state FILE`).

A write the sandbox confirmed must survive `kill -9` (issue 8 item 9).  So the app saves the
store's pending rows before it sends an answer (`save_pending`: one transaction per HTTP
request, hence one per `$batch`), in WAL mode with `synchronous=FULL`, which makes SQLite fsync
the log at every commit.  Only changed rows are written, so saving thousands of contacts is a
single transaction of small inserts (`bench/sandbox_state.py` measures it).

A state file of the old JSON format (format 1) is read once and set aside as `FILE.v1.json`;
the next save writes the SQLite file in its place.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from central365.mailstore.pending import TABLES, PendingWrites
from central365.mailstore.records import (
    Contact,
    Folder,
    FolderTombstone,
    MailboxState,
    Tombstone,
)
from central365.mailstore.store import SandboxStore

log = logging.getLogger(__name__)

_SQLITE_MAGIC = b"SQLite format 3\x00"
_JSON_FORMAT = 1
_SCHEMA_VERSION = "2"

_SCHEMA = [
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS mailboxes (mailbox TEXT PRIMARY KEY, body TEXT NOT NULL)",
    *(
        f"CREATE TABLE IF NOT EXISTS {table} (mailbox TEXT NOT NULL, id TEXT NOT NULL, "
        "body TEXT NOT NULL, PRIMARY KEY (mailbox, id))"
        for table in TABLES
    ),
]


class StateFileError(ValueError):
    """The state file is neither a sandbox SQLite file nor an old JSON state."""


def load_state(store: SandboxStore, path: Path) -> bool:
    """Fill `store` from `path` if it exists; True when something was loaded.

    Raises StateFileError (a ValueError) for a file that is not a sandbox state.
    """
    if not path.exists() or path.stat().st_size == 0:
        return False
    with path.open("rb") as handle:
        head = handle.read(len(_SQLITE_MAGIC))
    if head == _SQLITE_MAGIC:
        store.restore(_read_sqlite(path))
        return True
    if head.lstrip()[:1] == b"{":
        store.restore(_read_json(path))
        aside = path.with_name(path.name + ".v1.json")
        path.replace(aside)
        log.warning("The old JSON sandbox state was read and kept as %s.", aside)
        return True
    raise StateFileError(f"{path} is not a sandbox state file; pass another --state file.")


class StateFile:
    """An open SQLite state file the app saves into; thread-safe (one writer at a time)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._rewrite = False
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size > 0:
            with path.open("rb") as handle:
                head = handle.read(len(_SQLITE_MAGIC))
            if head.lstrip()[:1] == b"{":  # an old JSON state the caller chose not to load
                aside = path.with_name(path.name + ".v1.json")
                path.replace(aside)
                log.warning("The old JSON sandbox state was kept as %s.", aside)
            elif head != _SQLITE_MAGIC:
                raise StateFileError(
                    f"{path} is not a sandbox state file; pass another --state file."
                )
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        for statement in _SCHEMA:
            self._conn.execute(statement)
        self._conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)", (_SCHEMA_VERSION,)
        )

    def save_everything(self, store: SandboxStore) -> None:
        """Make the file hold exactly the store (the first save after start)."""
        self._write(store.everything())

    def save_pending(self, store: SandboxStore) -> bool:
        """Write what changed since the last save, durably; True when something was written."""
        pending = store.everything() if self._rewrite else store.take_pending()
        if not pending:
            return False
        try:
            self._write(pending)
        except BaseException:
            # What was taken is no longer pending: the next save rewrites everything.
            self._rewrite = True
            raise
        self._rewrite = False
        return True

    def _write(self, pending: PendingWrites) -> None:
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                if pending.wiped:
                    for table in ("mailboxes", *TABLES):
                        conn.execute(f"DELETE FROM {table}")
                conn.executemany(
                    "INSERT INTO mailboxes (mailbox, body) VALUES (?, ?) "
                    "ON CONFLICT (mailbox) DO UPDATE SET body = excluded.body",
                    pending.headers,
                )
                for table in TABLES:
                    rows = [r for r in pending.rows if r[0] == table]
                    conn.executemany(
                        f"INSERT INTO {table} (mailbox, id, body) VALUES (?, ?, ?) "
                        "ON CONFLICT (mailbox, id) DO UPDATE SET body = excluded.body",
                        [(key, row_id, body) for _, key, row_id, body in rows if body is not None],
                    )
                    conn.executemany(
                        f"DELETE FROM {table} WHERE mailbox = ? AND id = ?",
                        [(key, row_id) for _, key, row_id, body in rows if body is None],
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _read_sqlite(path: Path) -> list[MailboxState]:
    conn = sqlite3.connect(path)
    try:
        boxes: dict[str, MailboxState] = {}
        for key, body in conn.execute("SELECT mailbox, body FROM mailboxes ORDER BY rowid"):
            boxes[key] = MailboxState(**json.loads(body))
        for table in TABLES:
            query = f"SELECT mailbox, body FROM {table} ORDER BY rowid"
            for key, body in conn.execute(query):
                box = boxes.get(key)
                if box is not None:
                    _add_record(box, table, json.loads(body))
    finally:
        conn.close()
    return [_indexed(box) for box in boxes.values()]


def _add_record(box: MailboxState, table: str, raw: dict[str, Any]) -> None:
    if table == "folders":
        folder = Folder(**raw)
        box.folders[folder.id] = folder
    elif table == "contacts":
        contact = Contact(**raw)
        box.contacts[contact.id] = contact
    elif table == "tombstones":
        box.tombstones.append(Tombstone(**raw))
    else:
        box.folder_tombstones.append(FolderTombstone(**raw))


def _read_json(path: Path) -> list[MailboxState]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise StateFileError(
            f"{path} is not a sandbox state file; pass another --state file."
        ) from None
    found = data.get("format") if isinstance(data, Mapping) else None
    if found != _JSON_FORMAT:
        raise StateFileError(f"unsupported sandbox state format in {path}: {found!r}")
    return [_json_mailbox(raw) for raw in data["mailboxes"]]


def _json_mailbox(raw: Mapping[str, Any]) -> MailboxState:
    box = MailboxState(
        name=raw["name"],
        root_id=raw["root_id"],
        default_folder_id=raw["default_folder_id"],
        folders={k: Folder(**v) for k, v in raw["folders"].items()},
        contacts={k: Contact(**v) for k, v in raw["contacts"].items()},
        tombstones=[Tombstone(**t) for t in raw["tombstones"]],
        seq=raw["seq"],
        counter=raw["counter"],
    )
    return _indexed(box)


def _indexed(box: MailboxState) -> MailboxState:
    box.folder_tombstones.sort(key=lambda t: t.seq)
    box.tombstones.sort(key=lambda t: t.seq)
    box.immutable = {c.immutable_id: c.id for c in box.contacts.values() if c.immutable_id}
    return box
