"""Deleting chosen contacts of the folder, as a journalled run (orphans, an undo's deletes).

The folder is read again first, so what is deleted, and the before-image the journal keeps of
it, is the contact as it is now: one already gone is left out (`skipped`, with why), one without
a Central anchor is never touched (people's own contacts), and the rest go through the folder's
batched write path like any sync's writes (`WriteKind.DELETE`; a 404 counts as deleted, with a
note).  Each delete is journalled as its answer is read, with every synced value the contact
held, so an undo can make it again.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from central365.core.execute import SyncReport, select_deletes
from central365.core.model import FolderContact, FolderInfo, Outcome, WriteResult
from central365.core.ports import ContactsFolder, Mailbox, ResultCallback
from central365.engine.journaling import DeletionJournaling, JournalRun


@dataclass(frozen=True, slots=True)
class DeleteOutcome:
    """What a delete did: one outcome per chosen contact, in the order they were chosen.

    `contacts` are the chosen contacts as read just before (by Office 365 id), so a front end
    can name them; `unwritten` counts deletes the run did not get to (deadline, breaker), and
    `stop_reason` says why.
    """

    report: SyncReport
    contacts: Mapping[str, FolderContact] = field(default_factory=dict)
    unwritten: int = 0
    stop_reason: str = ""
    journal_failures: int = 0


def missing_folder(folder_name: str, office365_ids: Collection[str]) -> DeleteOutcome:
    """Nothing to delete: the folder does not exist."""
    reason = f"The folder {folder_name} does not exist, so none of its contacts can be deleted."
    results = tuple(
        WriteResult("", Outcome.SKIPPED, i, reason) for i in dict.fromkeys(office365_ids)
    )
    return DeleteOutcome(SyncReport(results))


def delete_contacts(
    folder: ContactsFolder,
    office365_ids: Collection[str],
    on_result: ResultCallback | None = None,
    journal: JournalRun | None = None,
) -> DeleteOutcome:
    """Delete the chosen contacts of `folder` that are still there and carry an anchor."""
    current = {c.id: c for c in folder.contacts()}
    writes, skipped = select_deletes(office365_ids, current)
    chosen = {w.contact_id or "": current[w.contact_id or ""] for w in writes}
    journaling = None
    if journal is not None:
        on_result = journaling = DeletionJournaling(journal, chosen, on_result)
    for result in skipped:
        if on_result is not None:
            on_result(result)
    written = folder.write(writes, on_result) if writes else []
    order = {contact_id: n for n, contact_id in enumerate(dict.fromkeys(office365_ids))}
    results = sorted([*written, *skipped], key=lambda r: order.get(r.office365_id or "", -1))
    stopped = [r for r in written if r.outcome is Outcome.SKIPPED]
    return DeleteOutcome(
        SyncReport(tuple(results)),
        chosen,
        len(stopped),
        next((r.error for r in stopped if r.error), ""),
        journaling.failures if journaling is not None else 0,
    )


def open_folder(mailbox: Mailbox, folder_name: str) -> ContactsFolder | None:
    """The named folder of the mailbox, or None when it does not exist."""
    info = mailbox.find_folder(folder_name)
    return mailbox.folder(FolderInfo(info.id, folder_name)) if info is not None else None
