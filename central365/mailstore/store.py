"""The sandbox's model of Exchange: mailboxes, contact folders, contacts and their change log.

What it owns: ids, changeKeys, timestamps, folder structure, contact bodies (validated through
`central365.mailstore.schema`), and a per-mailbox sequence of changes that delta queries read.
What it must not do: speak HTTP, know about throttling or faults, touch the disk, or read the
wall clock directly (the clock is injected so tests can pin timestamps).

Mailboxes exist only when declared (the default mailbox, `--mailbox`, `declare_mailbox`), known
to the directory hook (the identity platform's users), or added by the admin API; any other
name is Graph's 404 `ErrorInvalidUser` (issue 10 item 4).  Every write is noted as a pending
row, so the state file (`central365.sandbox.persist`) saves only what changed, before the
answer is sent.

Both the HTTP sandbox (`central365.sandbox.app`) and the in-memory ports
(`central365.memory`) call this store, so the fake and the sandbox share one model of Graph.
All public methods take the store's lock: the sandbox runs on an event loop thread while tests,
seeding helpers and the state file's writer may call in from other threads.

Contacts and folders are returned as Graph JSON (plain dicts), ready to send.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from central365.mailstore import ids
from central365.mailstore.contacts_ops import Change, ContactOps
from central365.mailstore.pending import PendingWrites
from central365.mailstore.problem import GraphProblem
from central365.mailstore.records import Folder, MailboxState

DEFAULT_MAILBOX = "demo@contoso.test"
DEFAULT_FOLDER_NAME = "Contacts"

Clock = Callable[[], datetime]
#: Looks a user up in the directory by UPN or object id: (UPN, object id), or None.
Directory = Callable[[str], tuple[str, str] | None]

_USER_NAMESPACE = uuid.UUID("0b7f8f52-3c1d-4d8e-a9f0-5e2c7d1b4a63")


def utc_now() -> datetime:
    return datetime.now(UTC)


def graph_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, seconds precision, as Graph returns (reference §1.1)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def invalid_user(name: str) -> GraphProblem:
    """Graph's answer for a mailbox that does not exist (issue 10 item 4)."""
    return GraphProblem(404, "ErrorInvalidUser", f"The requested user '{name}' is invalid.")


class SandboxStore(ContactOps):
    """Graph-shaped state for the declared mailboxes.

    `/me` resolves to `default_mailbox`.  Mailbox names are UPNs or user ids (GUIDs) and
    compare case-insensitively.  Folder operations live in `FolderOps`, contact operations in
    `ContactOps` (its subclass); this class owns the mailboxes, the lock and the pending
    writes.
    """

    def __init__(
        self,
        default_mailbox: str = DEFAULT_MAILBOX,
        clock: Clock = utc_now,
        mailboxes: Iterable[str] = (),
    ) -> None:
        self.default_mailbox = default_mailbox
        self._clock = clock
        self._lock = threading.RLock()
        self._mailboxes: dict[str, MailboxState] = {}
        self._declared: dict[str, str] = {}
        self._directory: Directory | None = None
        self.pending = PendingWrites()
        #: Bumped on every write.
        self.revision = 0
        for name in (default_mailbox, *mailboxes):
            self.declare_mailbox(name)

    # -- mailboxes ---------------------------------------------------------------------------

    def declare_mailbox(self, name: str) -> None:
        """Make `name` (a UPN) a mailbox that exists; it is created empty on first use."""
        with self._lock:
            self._declared.setdefault(name.casefold(), name)

    def set_directory(self, directory: Directory | None) -> None:
        """Users the directory knows have mailboxes too (the identity platform's users).

        Mailboxes made before (seeded stores) take their directory user's object id, so
        `@odata.context` names the same user as the tokens do.
        """
        with self._lock:
            self._directory = directory
            for box in self._mailboxes.values():
                self._adopt_directory_id(box)

    def _adopt_directory_id(self, box: MailboxState) -> None:
        found = self._directory(box.name) if self._directory is not None else None
        if found is not None and found[1] and box.user_id != found[1]:
            box.user_id = found[1]
            self._touch(box)

    def add_mailbox(self, name: str, user_id: str | None = None) -> dict[str, str]:
        """Create the mailbox now (the admin API); returns `{"userPrincipalName", "id"}`."""
        with self._lock:
            self.declare_mailbox(name)
            box = self._mailbox(name)
            if user_id and box.user_id != user_id:
                box.user_id = user_id
                self._touch(box)
            return {"userPrincipalName": box.name, "id": box.user_id}

    def has_mailbox(self, name: str) -> bool:
        with self._lock:
            try:
                self._mailbox(name)
            except GraphProblem:
                return False
            return True

    def mailbox_key(self, mailbox: str) -> str:
        """The case-insensitive key of a mailbox (by UPN or user id); `me` is the default one."""
        name = self.default_mailbox if mailbox.casefold() == "me" else mailbox
        folded = name.casefold()
        with self._lock:
            if folded in self._mailboxes or folded in self._declared:
                return folded
            for box in self._mailboxes.values():
                if box.user_id.casefold() == folded:
                    return box.key
        return folded

    def mailbox_user_id(self, mailbox: str) -> str:
        """The user's object id (a GUID), what Graph's `@odata.context` names (issue 10 #10)."""
        with self._lock:
            return self._mailbox(mailbox).user_id

    def mailbox_names(self) -> list[str]:
        with self._lock:
            names = {box.key: box.name for box in self._mailboxes.values()}
            return list({**self._declared, **names}.values())

    def _mailbox(self, mailbox: str) -> MailboxState:
        key = self.mailbox_key(mailbox)
        found = self._mailboxes.get(key)
        if found is not None:
            return found
        upn, user_id = self._declared.get(key), ""
        looked_up = self._directory(upn or mailbox) if self._directory is not None else None
        if looked_up is not None:
            upn, user_id = looked_up
        if upn is None:
            raise invalid_user(mailbox)
        known = self._mailboxes.get(upn.casefold())  # named by a directory id it lacked
        if known is not None:
            self._adopt_directory_id(known)
            return known
        return self._materialize(upn, user_id)

    def _materialize(self, upn: str, user_id: str) -> MailboxState:
        key = upn.casefold()
        root_id = ids.regular_id(key, "root", 0)
        default_id = ids.regular_id(key, "folder", 0)
        box = MailboxState(
            name=upn,
            root_id=root_id,
            default_folder_id=default_id,
            user_id=user_id or str(uuid.uuid5(_USER_NAMESPACE, key)),
        )
        box.folders[default_id] = Folder(default_id, DEFAULT_FOLDER_NAME, root_id)
        self._mailboxes[key] = box
        self._declared.setdefault(key, upn)
        self._touch(box)
        self.pending.row("folders", key, default_id, box.folders[default_id])
        return box

    def _touch(self, box: MailboxState) -> None:
        """Note a change to the mailbox's own fields (sequence numbers, counters)."""
        self.revision += 1
        self.pending.mailbox(box)

    def _now(self) -> str:
        return graph_timestamp(self._clock())

    # -- whole-store operations --------------------------------------------------------------

    def reset(self) -> None:
        """Empty every mailbox (the admin API's `POST /_sandbox/reset`); they still exist."""
        with self._lock:
            known = [(box.name, box.user_id) for box in self._mailboxes.values()]
            self._mailboxes.clear()
            self.pending.wipe()
            for upn, user_id in known:
                self._materialize(upn, user_id)
            self.revision += 1

    def take_pending(self) -> PendingWrites:
        """The writes since the last call (for the state file); the store starts a new list."""
        with self._lock:
            taken, self.pending = self.pending, PendingWrites()
            taken.freeze()
            return taken

    def everything(self) -> PendingWrites:
        """Every row of the store, as one wipe-and-write (for a state file's first save)."""
        with self._lock:
            full = PendingWrites()
            full.wipe()
            for box in self._mailboxes.values():
                full.whole_mailbox(box)
            self.pending = PendingWrites()
            full.freeze()
            return full

    def restore(self, mailboxes: Iterable[MailboxState]) -> None:
        """Replace the state with mailboxes read from a state file (nothing is pending after)."""
        with self._lock:
            self._mailboxes = {}
            for box in mailboxes:
                box.user_id = box.user_id or str(uuid.uuid5(_USER_NAMESPACE, box.key))
                self._mailboxes[box.key] = box
                self._declared.setdefault(box.key, box.name)
            self.pending = PendingWrites()
            self.revision += 1


def seed_folder(
    store: SandboxStore,
    mailbox: str,
    display_name: str,
    contacts: Iterable[Mapping[str, Any]] = (),
    *,
    allow_duplicate: bool = False,
) -> dict[str, Any]:
    """Create (or reuse) a top-level folder and put Graph-JSON contacts in it, for demos/tests.

    The contacts go through the same validation as a POST, so seed data can't hold what Graph
    would refuse.  With `allow_duplicate`, a second folder of the same name is always created.
    Returns the folder's Graph body.
    """
    existing = [
        f
        for f in store.list_folders(mailbox)
        if f["displayName"].casefold() == display_name.casefold()
    ]
    if existing and not allow_duplicate:
        folder = existing[0]
    else:
        folder = store.create_folder(mailbox, display_name, allow_duplicate=allow_duplicate)
    for body in contacts:
        store.create_contact(mailbox, folder["id"], body)
    return folder


__all__ = ["DEFAULT_MAILBOX", "Change", "SandboxStore", "graph_timestamp", "seed_folder"]
