"""What the journal remembers of a run's writes, decided purely from the plan and the answers.

The journal (the port `ports.Journal`, kept in the application database by `appdb`) holds, per
mailbox + folder + Central id, the Office 365 contact central365 wrote, the values it wrote there
(the *baseline*) and the contact's changeKey after that write; and per run, for every contact the
run wrote, its *before-image*: the values the run replaced, or that it created the contact.  This
module turns one plan item and the write's result into that entry; it does no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from central365.core.mapping import synced_values
from central365.core.model import FolderContact, Outcome, PlanItem, State, WriteResult


class JournalAction(StrEnum):
    """What a run did to one contact."""

    CREATED = "created"
    UPDATED = "updated"
    #: The run deleted the contact; its before-image holds every synced value it had, so an
    #: undo can make it again.
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One contact a run wrote.

    `before` is the before-image: each property the run changed (field names as in
    `FieldChange`, e.g. "homeAddress.street") with the value it held, None when blank; empty for
    a created contact; every synced property for a deleted one.  `baseline` is every synced property as the contact held it right after
    the write ("" when blank); when Office 365's answer did not carry the contact (a create
    whose answer was lost and that was then found), it is what central365 sent.
    """

    key: str
    office365_id: str
    action: JournalAction
    before: Mapping[str, str | None]
    baseline: Mapping[str, str]
    change_key: str


@dataclass(frozen=True, slots=True)
class JournalWrite:
    """One contact a run wrote, as the journal keeps it (for History and undo).

    Re-exported by `appdb` (where it was first defined) for its callers.
    """

    key: str
    office365_id: str
    action: JournalAction
    #: Property → the value the run replaced (None: blank); empty for a created contact,
    #: every synced property for a deleted one.
    before: Mapping[str, str | None]
    change_key: str
    written_at: datetime


@dataclass(frozen=True, slots=True)
class JournalContact:
    """What the journal holds for one Central record of one folder: its latest write."""

    key: str
    office365_id: str
    baseline: Mapping[str, str]
    change_key: str
    run_id: int | None
    written_at: datetime


@dataclass(frozen=True, slots=True)
class RunSummary:
    """A run as the journal knows it (the guards of later runs compare against it).

    `active_records` is how many active Central records the run's plan saw (None when the run
    never got to plan).
    """

    id: int
    started_by: str
    mailbox: str
    folder_name: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    active_records: int | None
    created: int
    updated: int
    failed: int
    skipped: int


def _sent_values(item: PlanItem) -> dict[str, str]:
    """A new contact's synced values as the plan sent them (its changes are every non-blank
    value; the others are blank)."""
    values = dict.fromkeys(synced_values(FolderContact(id="")), "")
    values.update({c.field: c.after or "" for c in item.changes})
    return values


def journal_entry(item: PlanItem, result: WriteResult) -> JournalEntry | None:
    """The journal entry of a write that happened; None for one that failed or was skipped.

    Args:
        item: the plan item the write came from (its changes are the before-image).
        result: how the write ended (`result.contact`: the contact as Office 365 answered).
    """
    if result.outcome not in (Outcome.CREATED, Outcome.UPDATED) or not result.office365_id:
        return None
    created = result.outcome is Outcome.CREATED
    contact = result.contact
    if contact is not None:
        baseline = synced_values(contact)
    elif item.state is State.NEW:
        baseline = _sent_values(item)
    else:  # an update always answers with the contact; without it, only what was sent is known
        baseline = {c.field: c.after or "" for c in item.changes}
    # An Outlook edit a policy kept was not written: its baseline stays the last write's.
    baseline = {**baseline, **item.kept_baseline}
    return JournalEntry(
        key=item.key,
        office365_id=result.office365_id,
        action=JournalAction.CREATED if created else JournalAction.UPDATED,
        before={} if created else {c.field: c.before for c in item.changes},
        baseline=baseline,
        change_key=contact.change_key if contact is not None else "",
    )


def deletion_entry(key: str, contact: FolderContact, result: WriteResult) -> JournalEntry | None:
    """The journal entry of a delete that happened (None for one that failed or was skipped).

    Its before-image is every synced value `contact` held as read before the delete (None when
    blank), so an undo can recreate it; a deleted contact has no baseline and no changeKey.
    """
    if result.outcome is not Outcome.DELETED:
        return None
    return JournalEntry(
        key=key,
        office365_id=contact.id,
        action=JournalAction.DELETED,
        before={name: value or None for name, value in synced_values(contact).items()},
        baseline={},
        change_key="",
    )
