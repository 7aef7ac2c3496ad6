"""Undoing a run: read the folder and the journal, plan the undo (`core.undo`), write it.

The undo's plan is made again right before it writes, under the caller's folder lease, so it
acts on what the folder holds now (a contact edited in Outlook between the preview and the
click is skipped, not overwritten).  Its writes go through the folder's batched write path like
a sync's, and each is journalled as its answer is read (`core.undo.undo_entry`), so the undo is
a run of History like any other and can itself be undone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from central365.core.execute import SyncReport
from central365.core.journal import JournalEntry
from central365.core.model import FolderInfo, Outcome, WriteResult
from central365.core.ports import Mailbox, ResultCallback, UndoJournal
from central365.core.undo import UndoAction, UndoItem, UndoPlan, plan_undo, undo_entry
from central365.engine.journaling import EntryJournaling, JournalRun


@dataclass(frozen=True, slots=True)
class UndoOutcome:
    """What an undo did: one outcome per item of the plan it acted on, in its order.

    `unwritten` counts writes the run did not get to (deadline, breaker); `stop_reason` says why.
    """

    planned: UndoPlan
    report: SyncReport
    unwritten: int = 0
    stop_reason: str = ""
    journal_failures: int = 0
    folder_created: bool = False


def read_undo(mailbox: Mailbox, folder_name: str, run_id: int, journal: UndoJournal) -> UndoPlan:
    """The plan of undoing run `run_id` against the folder as it is now."""
    writes = journal.writes(run_id)
    info = mailbox.find_folder(folder_name)
    contacts = list(mailbox.folder(info).contacts()) if info is not None and writes else []
    return plan_undo(run_id, writes, contacts, journal.contacts(mailbox.name, folder_name))


def write_undo(
    mailbox: Mailbox,
    folder_name: str,
    planned: UndoPlan,
    on_result: ResultCallback | None,
    journal: JournalRun | None,
    limit: Callable[[object], None],
) -> UndoOutcome:
    """Send the plan's writes (the folder is made again if a recreation needs it)."""
    items = {item.key: item for item in planned.acting}
    journaling = None
    if journal is not None:
        on_result = journaling = EntryJournaling(journal, _entry_of(items), on_result)
    skipped = [
        (n, WriteResult(i.key, Outcome.SKIPPED, i.office365_id or None, i.reason))
        for n, i in enumerate(planned.items)
        if i.action is UndoAction.SKIP
    ]
    for _, result in skipped:
        if on_result is not None:
            on_result(result)
    writes = planned.writes()
    info = mailbox.find_folder(folder_name) if writes else None
    created = False
    if writes and info is None:
        info, created = mailbox.create_folder(folder_name), True
    written: list[WriteResult] = []
    if info is not None:
        folder = mailbox.folder(FolderInfo(info.id, folder_name))
        limit(folder)
        written = folder.write(writes, on_result)
    position = {
        item.key: n for n, item in enumerate(planned.items) if item.action is not UndoAction.SKIP
    }
    in_order = sorted(
        [*skipped, *((position.get(r.key, len(planned.items)), r) for r in written)],
        key=lambda pair: pair[0],
    )
    results = [result for _, result in in_order]
    stopped = [r for r in written if r.outcome is Outcome.SKIPPED]
    return UndoOutcome(
        planned,
        SyncReport(tuple(results)),
        len(stopped),
        next((r.error for r in stopped if r.error), ""),
        journaling.failures if journaling is not None else 0,
        created,
    )


def _entry_of(items: dict[str, UndoItem]) -> Callable[[WriteResult], JournalEntry | None]:
    """Each undo write's journal entry, found by its record (one acting item per record)."""

    def entry(result: WriteResult) -> JournalEntry | None:
        item = items.get(result.key)
        return undo_entry(item, result) if item is not None else None

    return entry
