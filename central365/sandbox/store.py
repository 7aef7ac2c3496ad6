"""The sandbox's model of Exchange: mailboxes, contact folders, contacts and their change log.

What it owns: ids, changeKeys, timestamps, folder structure, contact bodies (validated through
`central365.sandbox.schema`), and a per-mailbox sequence of changes that delta queries read.
What it must not do: speak HTTP, know about throttling or faults, or read the wall clock
directly (the clock is injected so tests can pin timestamps).

Both the HTTP sandbox (`central365.sandbox.app`) and the in-memory ports
(`central365.memory`) call this store, so the fake and the sandbox share one model of Graph.
All public methods take the store's lock: the sandbox runs on an event loop thread while tests,
seeding helpers and the persistence flusher may call in from other threads.

Contacts and folders are returned as Graph JSON (plain dicts), ready to send.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from central365.sandbox import schema
from central365.sandbox.problem import GraphProblem, not_found

DEFAULT_MAILBOX = "demo@contoso.test"
DEFAULT_FOLDER_NAME = "Contacts"
_STATE_FORMAT = 1

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def graph_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, seconds precision, as Graph returns (reference §1.1)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Folder:
    id: str
    display_name: str
    parent_folder_id: str

    def to_graph(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "displayName": self.display_name,
            "parentFolderId": self.parent_folder_id,
        }


@dataclass
class Contact:
    id: str
    folder_id: str
    created: str
    modified: str
    change_key: str
    seq: int
    version: int
    props: dict[str, Any]
    relationships: dict[str, Any] = field(default_factory=dict)
    display_name_sent: bool = False


@dataclass
class Tombstone:
    """A deleted contact, kept so later delta rounds can report `@removed`."""

    id: str
    folder_id: str
    seq: int


@dataclass
class Mailbox:
    name: str
    root_id: str
    default_folder_id: str
    folders: dict[str, Folder] = field(default_factory=dict)
    contacts: dict[str, Contact] = field(default_factory=dict)
    tombstones: list[Tombstone] = field(default_factory=list)
    seq: int = 0
    counter: int = 0


@dataclass(frozen=True)
class Change:
    """One entry of a delta round: the contact as it is now, or a removal."""

    seq: int
    contact_id: str
    body: dict[str, Any] | None  # None: removed


class SandboxStore:
    """Graph-shaped state for any number of mailboxes.

    A mailbox springs into existence (with its default "Contacts" folder) the first time it is
    named, like a licensed user whose mailbox was always there.  `/me` resolves to
    `default_mailbox`.  Mailbox names are UPNs or ids and compare case-insensitively.
    """

    def __init__(self, default_mailbox: str = DEFAULT_MAILBOX, clock: Clock = utc_now) -> None:
        self.default_mailbox = default_mailbox
        self._clock = clock
        self._lock = threading.RLock()
        self._mailboxes: dict[str, Mailbox] = {}
        #: Bumped on every write; the persistence flusher saves when it moves.
        self.revision = 0

    # -- mailboxes ---------------------------------------------------------------------------

    def mailbox_key(self, mailbox: str) -> str:
        """The case-insensitive key of a mailbox; `me` means the default mailbox."""
        name = self.default_mailbox if mailbox.casefold() == "me" else mailbox
        return name.casefold()

    def _mailbox(self, mailbox: str) -> Mailbox:
        key = self.mailbox_key(mailbox)
        found = self._mailboxes.get(key)
        if found is None:
            name = self.default_mailbox if mailbox.casefold() == "me" else mailbox
            root_id = _make_id(key, "root", 0)
            default_id = _make_id(key, "folder", 0)
            found = Mailbox(name=name, root_id=root_id, default_folder_id=default_id)
            found.folders[default_id] = Folder(default_id, DEFAULT_FOLDER_NAME, root_id)
            self._mailboxes[key] = found
            self.revision += 1
        return found

    def mailbox_names(self) -> list[str]:
        with self._lock:
            return [m.name for m in self._mailboxes.values()]

    # -- folders -----------------------------------------------------------------------------

    def default_folder(self, mailbox: str) -> dict[str, Any]:
        with self._lock:
            box = self._mailbox(mailbox)
            return box.folders[box.default_folder_id].to_graph()

    def list_folders(self, mailbox: str, parent_id: str | None = None) -> list[dict[str, Any]]:
        """Child folders of `parent_id`; None means the default Contacts folder.

        Like Graph's `GET {u}/contactFolders` (reference §2.1), the default folder itself is not
        in that list.
        """
        with self._lock:
            box = self._mailbox(mailbox)
            parent = self._folder(box, parent_id or box.default_folder_id)
            return [f.to_graph() for f in box.folders.values() if f.parent_folder_id == parent.id]

    def all_folders(self, mailbox: str) -> list[dict[str, Any]]:
        """Every user folder at any depth (not the default folder)."""
        with self._lock:
            box = self._mailbox(mailbox)
            return [f.to_graph() for f in box.folders.values() if f.id != box.default_folder_id]

    def get_folder(self, mailbox: str, folder_id: str) -> dict[str, Any]:
        with self._lock:
            return self._folder(self._mailbox(mailbox), folder_id).to_graph()

    def create_folder(
        self,
        mailbox: str,
        display_name: str,
        parent_id: str | None = None,
        *,
        allow_duplicate: bool = False,
    ) -> dict[str, Any]:
        """Create a folder under `parent_id` (default: the Contacts folder).

        Exchange refuses a second folder of the same name under one parent with 409
        `ErrorFolderExists` (seen by corso, alcionai/corso PR #3278).  `allow_duplicate` lets
        tests build the broken mailboxes peers ran into (two folders with one name).
        """
        if not display_name.strip():
            raise GraphProblem(400, "ErrorInvalidArgument", "The folder name cannot be empty.")
        with self._lock:
            box = self._mailbox(mailbox)
            parent = self._folder(box, parent_id or box.default_folder_id)
            clash = any(
                f.parent_folder_id == parent.id
                and f.display_name.casefold() == display_name.casefold()
                for f in box.folders.values()
            )
            if clash and not allow_duplicate:
                raise GraphProblem(
                    409, "ErrorFolderExists", "A folder with the specified name already exists."
                )
            box.counter += 1
            folder = Folder(_make_id(box.name, "folder", box.counter), display_name, parent.id)
            box.folders[folder.id] = folder
            self.revision += 1
            return folder.to_graph()

    def _folder(self, box: Mailbox, folder_id: str) -> Folder:
        folder = box.folders.get(folder_id)
        if folder is None:
            raise not_found()
        return folder

    # -- contacts ----------------------------------------------------------------------------

    def list_contacts(self, mailbox: str, folder_id: str | None = None) -> list[dict[str, Any]]:
        """Full Graph bodies of a folder's contacts (default folder when None), oldest first."""
        with self._lock:
            box = self._mailbox(mailbox)
            folder = self._folder(box, folder_id or box.default_folder_id)
            return [_render(c) for c in box.contacts.values() if c.folder_id == folder.id]

    def find_contact_ids(
        self,
        mailbox: str,
        folder_id: str | None = None,
        where: Callable[[Mapping[str, Any], Mapping[str, Any]], bool] | None = None,
    ) -> list[str]:
        """Ids of a folder's contacts (oldest first) that `where(props, relationships)` keeps.

        Lists page over ids and render only the page, so reading a 50,000-contact folder in
        pages of 1,000 costs O(n) per page instead of rendering every contact for every page.
        """
        with self._lock:
            box = self._mailbox(mailbox)
            folder = self._folder(box, folder_id or box.default_folder_id)
            return [
                c.id
                for c in box.contacts.values()
                if c.folder_id == folder.id and (where is None or where(c.props, c.relationships))
            ]

    def get_contact(
        self, mailbox: str, contact_id: str, folder_id: str | None = None
    ) -> dict[str, Any]:
        with self._lock:
            return _render(self._contact(self._mailbox(mailbox), contact_id, folder_id))

    def create_contact(self, mailbox: str, folder_id: str | None, body: Any) -> dict[str, Any]:
        """Validate `body` and store a new contact; returns the full Graph body (201)."""
        props_in, relationships = schema.validate_contact_body(body)
        with self._lock:
            box = self._mailbox(mailbox)
            folder = self._folder(box, folder_id or box.default_folder_id)
            box.counter += 1
            box.seq += 1
            now = graph_timestamp(self._clock())
            contact_id = _make_id(box.name, "contact", box.counter)
            props = schema.blank_properties()
            props.update(props_in)
            sent = "displayName" in props_in
            if not sent:
                props["displayName"] = schema.generated_display_name(props)
            contact = Contact(
                id=contact_id,
                folder_id=folder.id,
                created=now,
                modified=now,
                change_key=_change_key(contact_id, 1),
                seq=box.seq,
                version=1,
                props=props,
                relationships=relationships,
                display_name_sent=sent,
            )
            box.contacts[contact_id] = contact
            self.revision += 1
            return _render(contact)

    def update_contact(
        self, mailbox: str, contact_id: str, body: Any, folder_id: str | None = None
    ) -> dict[str, Any]:
        """PATCH semantics (reference §1.3); returns the full updated body (200)."""
        props_in, relationships = schema.validate_contact_body(body)
        with self._lock:
            box = self._mailbox(mailbox)
            contact = self._contact(box, contact_id, folder_id)
            contact.props.update(props_in)
            contact.relationships.update(relationships)
            if "displayName" in props_in:
                contact.display_name_sent = True
            elif not contact.display_name_sent:
                contact.props["displayName"] = schema.generated_display_name(contact.props)
            box.seq += 1
            contact.seq = box.seq
            contact.version += 1
            contact.change_key = _change_key(contact.id, contact.version)
            contact.modified = graph_timestamp(self._clock())
            self.revision += 1
            return _render(contact)

    def delete_contact(self, mailbox: str, contact_id: str, folder_id: str | None = None) -> None:
        with self._lock:
            box = self._mailbox(mailbox)
            contact = self._contact(box, contact_id, folder_id)
            del box.contacts[contact.id]
            box.seq += 1
            box.tombstones.append(Tombstone(contact.id, contact.folder_id, box.seq))
            self.revision += 1

    def relationships(self, mailbox: str, contact_id: str) -> dict[str, Any]:
        """The write-only relationships stored with a contact (extended properties, ...)."""
        with self._lock:
            contact = self._contact(self._mailbox(mailbox), contact_id, None)
            copied: dict[str, Any] = json.loads(json.dumps(contact.relationships))
            return copied

    def _contact(self, box: Mailbox, contact_id: str, folder_id: str | None) -> Contact:
        """Find a contact; with `folder_id`, only inside that folder (404 otherwise).

        The flat `{u}/contacts/{id}` path (folder_id None) reaches any contact of the mailbox,
        which is what `contact-get.md` describes (reference §2.2).
        """
        if folder_id is not None:
            self._folder(box, folder_id)
        contact = box.contacts.get(contact_id)  # ids are case-sensitive (reference §6.1)
        if contact is None or (folder_id is not None and contact.folder_id != folder_id):
            raise not_found()
        return contact

    # -- delta -------------------------------------------------------------------------------

    def current_seq(self, mailbox: str) -> int:
        with self._lock:
            return self._mailbox(mailbox).seq

    def changes(
        self, mailbox: str, folder_id: str, after: int, upto: int, *, initial: bool
    ) -> list[Change]:
        """What changed in a folder with `after < seq <= upto`, oldest change first.

        An initial round (`initial`) lists the contacts present now and no removals: items
        created and deleted before the first call are never reported (reference §2.4).
        """
        with self._lock:
            box = self._mailbox(mailbox)
            folder = self._folder(box, folder_id)
            found = [
                Change(c.seq, c.id, _render(c))
                for c in box.contacts.values()
                if c.folder_id == folder.id and after < c.seq <= upto
            ]
            if not initial:
                found += [
                    Change(t.seq, t.id, None)
                    for t in box.tombstones
                    if t.folder_id == folder.id and after < t.seq <= upto
                ]
            return sorted(found, key=lambda change: change.seq)

    # -- whole-store operations --------------------------------------------------------------

    def reset(self) -> None:
        """Forget every mailbox (the admin API's `POST /_sandbox/reset`)."""
        with self._lock:
            self._mailboxes.clear()
            self.revision += 1

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "format": _STATE_FORMAT,
                "default_mailbox": self.default_mailbox,
                "mailboxes": [asdict(box) for box in self._mailboxes.values()],
            }

    def load_json(self, data: Mapping[str, Any]) -> None:
        """Replace the state with a `to_json()` snapshot (the default mailbox stays as set)."""
        if data.get("format") != _STATE_FORMAT:
            raise ValueError(f"unsupported sandbox state format: {data.get('format')!r}")
        with self._lock:
            self._mailboxes = {}
            for raw in data["mailboxes"]:
                box = Mailbox(
                    name=raw["name"],
                    root_id=raw["root_id"],
                    default_folder_id=raw["default_folder_id"],
                    folders={k: Folder(**v) for k, v in raw["folders"].items()},
                    contacts={k: Contact(**v) for k, v in raw["contacts"].items()},
                    tombstones=[Tombstone(**t) for t in raw["tombstones"]],
                    seq=raw["seq"],
                    counter=raw["counter"],
                )
                self._mailboxes[box.name.casefold()] = box
            self.revision += 1

    def save(self, path: Path) -> None:
        """Write the state to `path` atomically (temp file in the same directory + rename)."""
        payload = json.dumps(self.to_json(), indent=1)  # keep order: lists are oldest first
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def load(self, path: Path) -> None:
        self.load_json(json.loads(path.read_text(encoding="utf-8")))


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


def _render(contact: Contact) -> dict[str, Any]:
    """The full v1.0 body of a contact, in the order of the `contact-get.md` example."""
    meta = {
        "id": contact.id,
        "createdDateTime": contact.created,
        "lastModifiedDateTime": contact.modified,
        "changeKey": contact.change_key,
        "parentFolderId": contact.folder_id,
    }
    body: dict[str, Any] = {"@odata.etag": f'W/"{contact.change_key}"'}
    for name in schema.RESPONSE_ORDER:
        value = meta[name] if name in meta else contact.props[name]
        # copy collections so callers can't mutate the stored contact
        body[name] = json.loads(json.dumps(value)) if isinstance(value, list | dict) else value
    return body


def _make_id(mailbox_key: str, kind: str, number: int) -> str:
    """A deterministic, Graph-looking id (url-safe base64 ending in "=").

    Deterministic so test runs and demos repeat; distinct per mailbox, kind and number.
    """
    digest = hashlib.sha256(f"{mailbox_key.casefold()}|{kind}|{number}".encode()).digest()
    prefix = {"root": b"\x00\x01", "folder": b"\x00\x2e", "contact": b"\x00\x46"}[kind]
    return "AAMkA" + base64.urlsafe_b64encode(prefix + digest + digest[:6]).decode()


def _change_key(contact_id: str, version: int) -> str:
    digest = hashlib.sha256(f"{contact_id}|{version}".encode()).digest()
    return "EQAAABYAAAA" + base64.b64encode(digest[:18]).decode()
