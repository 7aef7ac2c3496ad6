"""What undoing a run would do, decided purely: its before-images + the folder now + the journal.

One item per contact the run wrote (`JournalWrite`, in the order it wrote them):

- it **updated** the contact → `restore`: PATCH back the values its before-image holds (only
  the properties that run changed; the rest of the contact is left as it is);
- it **created** the contact → `delete` it;
- it **deleted** the contact → `recreate` it from its before-image (every synced value it held),
  with its Central anchor;
- anything else → `skip`, with the reason.

A contact is put back only where it is unchanged since that run: its changeKey is the one the
journal kept for that run's write, or (when no later run wrote it, e.g. the answer carried no
changeKey) its synced values are the baseline that run left.  So a contact edited in Outlook
since ("changed in Outlook since run 12"), written again by a later run ("written again by run
15": undo that one first), or gone ("already deleted") is left alone.  A deleted contact is never
made again while the folder holds a contact carrying its Central id, and one run's writes
put back at most one contact per Central record: no record ever gets two contacts.

An undo is itself a run, journalled like any other (`undo_entry`), so it can be undone too: its
restores are updates whose before-image is what they replaced, its recreations are creations
and its deletes are deletes.

Must not: read the folder, the journal or a clock; the engine gathers them and executes the plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from central365.core.journal import (
    JournalAction,
    JournalContact,
    JournalEntry,
    JournalWrite,
    deletion_entry,
)
from central365.core.mapping import (
    anchor_property,
    create_body,
    desired_from_values,
    synced_values,
)
from central365.core.model import (
    ContactWrite,
    FieldChange,
    FolderContact,
    Outcome,
    WriteKind,
    WriteResult,
)
from central365.core.normalize import display_name
from central365.core.plan import diff


class UndoAction(StrEnum):
    """What an undo does to one contact.  The values are the stable codes of `undo --json`."""

    RESTORE = "restore"
    DELETE = "delete"
    RECREATE = "recreate"
    SKIP = "skip"


#: The write each acting item sends.
_WRITE_KIND = {
    UndoAction.RESTORE: WriteKind.UPDATE,
    UndoAction.DELETE: WriteKind.DELETE,
    UndoAction.RECREATE: WriteKind.CREATE,
}


@dataclass(frozen=True, slots=True)
class UndoItem:
    """The undo's decision for one contact the run wrote.

    `office365_id` is the contact acted on (for a recreation: the one the run deleted).
    `changes` are what the undo writes (a restore: now → then; a recreation: the values it
    gets back); `reason` says why an item is skipped.  `current` is the contact as read now.
    """

    key: str
    office365_id: str
    action: UndoAction
    name: str
    email: str
    reason: str = ""
    changes: tuple[FieldChange, ...] = ()
    body: Mapping[str, Any] = field(default_factory=dict)
    current: FolderContact | None = field(default=None, compare=False, repr=False)

    def write(self) -> ContactWrite | None:
        """The folder write this item sends (None when it is skipped)."""
        kind = _WRITE_KIND.get(self.action)
        if kind is None:
            return None
        contact_id = None if kind is WriteKind.CREATE else self.office365_id
        return ContactWrite(self.key, kind, self.body, self.email, contact_id)


@dataclass(frozen=True, slots=True)
class UndoPlan:
    """What undoing run `run_id` would do, one item per contact it wrote."""

    run_id: int
    items: tuple[UndoItem, ...]

    def count(self, action: UndoAction) -> int:
        return sum(1 for item in self.items if item.action is action)

    @property
    def acting(self) -> tuple[UndoItem, ...]:
        """The items that write something."""
        return tuple(item for item in self.items if item.action is not UndoAction.SKIP)

    def writes(self) -> list[ContactWrite]:
        return [w for item in self.items if (w := item.write()) is not None]


ALREADY_DELETED = "Already deleted: it is no longer in the folder."
NOTHING_TO_RESTORE = "Nothing to restore: it already holds the values it had before that run."
HAS_CONTACT_AGAIN = (
    "The folder holds a contact for this Central record again: it is not made a second time."
)
TWICE = "Another contact of this Central record is put back: it is not made a second time."


def changed_since(run_id: int) -> str:
    return f"Changed in Outlook since run {run_id}: it is left as it is."


def written_again(run_id: int) -> str:
    return f"Written again by run {run_id}: undo that run first."


def still_there(run_id: int) -> str:
    return f"Still in the folder: run {run_id} did not delete it."


def plan_undo(
    run_id: int,
    writes: Sequence[JournalWrite],
    folder: Iterable[FolderContact],
    journal: Mapping[str, JournalContact],
) -> UndoPlan:
    """The undo of run `run_id`.

    Args:
        run_id: the run to undo.
        writes: every contact it wrote, as journalled (its before-images), in order.
        folder: the folder's contacts now, with their anchors.
        journal: the journal's latest word on each Central record of the folder.
    """
    current = {c.id: c for c in folder}
    anchored = {c.anchor for c in current.values() if c.anchor}
    items: list[UndoItem] = []
    acting: set[str] = set()
    for write in writes:
        item = _undo_one(run_id, write, current, anchored, journal.get(write.key))
        if item.action is not UndoAction.SKIP:
            if item.key in acting:
                item = _skip(item, TWICE)
            acting.add(item.key)
        items.append(item)
    return UndoPlan(run_id, tuple(items))


def _undo_one(
    run_id: int,
    write: JournalWrite,
    current: Mapping[str, FolderContact],
    anchored: set[str],
    journalled: JournalContact | None,
) -> UndoItem:
    later = _later_run(run_id, journalled)
    if write.action is JournalAction.DELETED:
        return _recreate(run_id, write, current, anchored, later)
    contact = current.get(write.office365_id)
    if contact is None:
        return _skipped(write, ALREADY_DELETED, None)
    if later is not None:
        return _skipped(write, written_again(later), contact)
    if not _unchanged(run_id, write, contact, journalled):
        return _skipped(write, changed_since(run_id), contact)
    if write.action is JournalAction.CREATED:
        return UndoItem(
            write.key,
            contact.id,
            UndoAction.DELETE,
            contact.display_name,
            _first_email(contact),
            current=contact,
        )
    return _restore(write, contact)


def _later_run(run_id: int, journalled: JournalContact | None) -> int | None:
    """The run after `run_id` that last wrote the record, if one did."""
    if journalled is None or journalled.run_id is None or journalled.run_id <= run_id:
        return None
    return journalled.run_id


def _unchanged(
    run_id: int, write: JournalWrite, contact: FolderContact, journalled: JournalContact | None
) -> bool:
    """The contact is as run `run_id` left it: same changeKey, or (when that run was the last
    to write it) the same synced values as the baseline it left."""
    if write.change_key and contact.change_key == write.change_key:
        return True
    return (
        journalled is not None
        and journalled.run_id == run_id
        and journalled.office365_id == contact.id
        and synced_values(contact) == dict(journalled.baseline)
    )


def _restore(write: JournalWrite, contact: FolderContact) -> UndoItem:
    """PATCH back the properties the run changed, to the values they held before it."""
    now = synced_values(contact)
    then = {**now, **{name: value or "" for name, value in write.before.items()}}
    changes, body = diff(desired_from_values(then), contact, frozenset(write.before), owned=True)
    if not changes:
        return _skipped(write, NOTHING_TO_RESTORE, contact)
    if not then.get("emailAddresses[0]") and "emailAddresses" in body:
        # The run gave the contact its first email: without it, the others stay.
        body["emailAddresses"] = [a for a in body["emailAddresses"] if a["address"]]
    return UndoItem(
        write.key,
        contact.id,
        UndoAction.RESTORE,
        contact.display_name,
        _first_email(contact),
        changes=tuple(changes),
        body=body,
        current=contact,
    )


def _recreate(
    run_id: int,
    write: JournalWrite,
    current: Mapping[str, FolderContact],
    anchored: set[str],
    later: int | None,
) -> UndoItem:
    """Make the deleted contact again, unless it is there or its record has a contact now."""
    values = {name: value for name, value in write.before.items() if value}
    name = display_name(values.get("givenName", ""), values.get("surname", ""))
    email = values.get("emailAddresses[0]", "")
    if write.office365_id in current:
        return UndoItem(
            write.key, write.office365_id, UndoAction.SKIP, name, email, still_there(run_id)
        )
    if later is not None:
        return UndoItem(
            write.key, write.office365_id, UndoAction.SKIP, name, email, written_again(later)
        )
    if write.key in anchored:
        return UndoItem(
            write.key, write.office365_id, UndoAction.SKIP, name, email, HAS_CONTACT_AGAIN
        )
    body = create_body(desired_from_values(values))
    if not email:
        body.pop("emailAddresses", None)
    return UndoItem(
        write.key,
        write.office365_id,
        UndoAction.RECREATE,
        name,
        email,
        changes=tuple(FieldChange(f, None, v) for f, v in values.items()),
        body={**body, **anchor_property(write.key)},
    )


def _skipped(write: JournalWrite, reason: str, contact: FolderContact | None) -> UndoItem:
    name = contact.display_name if contact is not None else ""
    email = _first_email(contact) if contact is not None else ""
    return UndoItem(
        write.key, write.office365_id, UndoAction.SKIP, name, email, reason, current=contact
    )


def _skip(item: UndoItem, reason: str) -> UndoItem:
    return UndoItem(
        item.key,
        item.office365_id,
        UndoAction.SKIP,
        item.name,
        item.email,
        reason,
        current=item.current,
    )


def _first_email(contact: FolderContact) -> str:
    return contact.email_addresses[0].address if contact.email_addresses else ""


def undo_entry(item: UndoItem, result: WriteResult) -> JournalEntry | None:
    """The journal entry of one of the undo's writes that happened (None otherwise), so that the
    undo can be undone in turn."""
    if result.outcome is Outcome.DELETED and item.current is not None:
        return deletion_entry(item.key, item.current, result)
    if result.outcome not in (Outcome.CREATED, Outcome.UPDATED) or not result.office365_id:
        return None
    written = result.contact
    if result.outcome is Outcome.CREATED:
        sent = {**dict.fromkeys(synced_values(FolderContact(id="")), ""), **_after(item)}
        return JournalEntry(
            key=item.key,
            office365_id=result.office365_id,
            action=JournalAction.CREATED,
            before={},
            baseline=synced_values(written) if written is not None else sent,
            change_key=written.change_key if written is not None else "",
        )
    now = synced_values(item.current) if item.current is not None else {}
    return JournalEntry(
        key=item.key,
        office365_id=result.office365_id,
        action=JournalAction.UPDATED,
        before={c.field: c.before for c in item.changes},
        baseline=synced_values(written) if written is not None else {**now, **_after(item)},
        change_key=written.change_key if written is not None else "",
    )


def _after(item: UndoItem) -> dict[str, str]:
    return {c.field: c.after or "" for c in item.changes}
