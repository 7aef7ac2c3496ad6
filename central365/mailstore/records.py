"""The records the sandbox store keeps per mailbox, and how a contact is rendered as Graph JSON.

Plain dataclasses, so the state file (`central365.sandbox.persist`) can write them as JSON and
read them back with `from_json`; no behaviour beyond rendering lives here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from central365.mailstore import schema


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
    """A contact.  `id` is its regular (REST) id, which changes when it moves to another folder;
    `immutable_id` never changes within the mailbox (reference §6.1)."""

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
    immutable_id: str = ""
    moves: int = 0
    number: int = 0


@dataclass
class Tombstone:
    """A deleted contact, kept so later delta rounds can report `@removed`."""

    id: str
    folder_id: str
    seq: int
    immutable_id: str = ""


@dataclass
class FolderTombstone:
    """A deleted folder, kept so later `contactFolders/delta` rounds can report `@removed`."""

    id: str
    parent_folder_id: str
    seq: int


@dataclass
class MailboxState:
    """One user's mailbox.  `name` is the UPN, `user_id` the user's object id (a GUID)."""

    name: str
    root_id: str
    default_folder_id: str
    folders: dict[str, Folder] = field(default_factory=dict)
    contacts: dict[str, Contact] = field(default_factory=dict)
    tombstones: list[Tombstone] = field(default_factory=list)
    seq: int = 0
    counter: int = 0
    user_id: str = ""
    folder_seqs: dict[str, int] = field(default_factory=dict)
    folder_tombstones: list[FolderTombstone] = field(default_factory=list)
    #: Delta tokens of an older epoch have expired (sandbox admin API); not saved.
    delta_epoch: int = 0
    #: immutable id -> regular id; derived from `contacts`, never saved.
    immutable: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def key(self) -> str:
        return self.name.casefold()

    def header(self) -> dict[str, Any]:
        """Everything but the folders, contacts and tombstones (each stored on its own)."""
        return {
            "name": self.name,
            "root_id": self.root_id,
            "default_folder_id": self.default_folder_id,
            "seq": self.seq,
            "counter": self.counter,
            "user_id": self.user_id,
            "folder_seqs": dict(self.folder_seqs),
        }


def contact_from_json(raw: dict[str, Any]) -> Contact:
    return Contact(**raw)


def as_json(record: Folder | Contact | Tombstone | FolderTombstone) -> str:
    """The record's fields as JSON (`vars`, not `asdict`: no deep copy, 10x faster)."""
    return json.dumps(vars(record), separators=(",", ":"))


def graph_json(contact: Contact, *, immutable: bool = False) -> dict[str, Any]:
    """The full v1.0 body of a contact, in the order of the `contact-get.md` example.

    `immutable` renders the immutable id in `id` (the answer to `Prefer: IdType="ImmutableId"`).
    """
    meta = {
        "id": contact.immutable_id if immutable and contact.immutable_id else contact.id,
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
