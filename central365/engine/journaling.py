"""Recording a sync's writes in the journal as each answer is read.

The service wraps the run's result callback with `Journaling`: every write that happened is
turned into a journal entry (`core.journal.journal_entry`) and recorded before the front end
hears of it, on the thread that reads the answers, so the journal never lags Office 365 by more
than the write being recorded.  A journal that cannot be written does not stop the run (the
contacts carry their anchors, so the next plan finds them); it is counted and logged by type
only, never with a record's values.

A run killed between a write and its journalling leaves a contact that carries its anchor but
that the journal lacks; the next plan finds it by its anchor, in sync.  `adoptions` lists such
contacts (every in-sync contact matched by anchor; the journal keeps only those it lacks), so the
next journalled sync brings the journal level with the folder again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from central365.core.journal import JournalAction, JournalEntry, deletion_entry, journal_entry
from central365.core.mapping import synced_values
from central365.core.model import (
    ACTIONABLE_STATES,
    FolderContact,
    Match,
    Plan,
    PlanItem,
    State,
    WriteResult,
)
from central365.core.ports import Journal, ResultCallback

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JournalRun:
    """The journal a sync records into, and the run (started by the front end) it adds to."""

    journal: Journal
    run_id: int


class EntryJournaling:
    """A result callback that journals each write (`entry_of` says as what), then passes the
    result on."""

    def __init__(
        self,
        run: JournalRun,
        entry_of: Callable[[WriteResult], JournalEntry | None],
        then: ResultCallback | None,
    ) -> None:
        self._run = run
        self._entry_of = entry_of
        self._then = then
        #: Writes that happened but could not be journalled.
        self.failures = 0

    def __call__(self, result: WriteResult) -> None:
        entry = self._entry_of(result)
        if entry is not None:
            try:
                self._run.journal.record(self._run.run_id, entry)
            except Exception as exc:  # the run goes on: the contact carries its anchor
                self.failures += 1
                log.error(
                    "Run %d: a write could not be journalled (%s)",
                    self._run.run_id,
                    type(exc).__name__,
                )
        if self._then is not None:
            self._then(result)


class Journaling(EntryJournaling):
    """Journals a sync's writes: each as its plan item says (`core.journal.journal_entry`)."""

    def __init__(self, run: JournalRun, plan: Plan, then: ResultCallback | None) -> None:
        super().__init__(run, self._entry, then)
        self._items: dict[str, PlanItem] = {
            item.key: item for item in plan.items if item.state in ACTIONABLE_STATES
        }

    def _entry(self, result: WriteResult) -> JournalEntry | None:
        item = self._items.get(result.key)
        return journal_entry(item, result) if item is not None else None


class DeletionJournaling(EntryJournaling):
    """Journals deletes: each contact's synced values as read before (`deletion_entry`)."""

    def __init__(
        self,
        run: JournalRun,
        contacts: Mapping[str, FolderContact],
        then: ResultCallback | None,
    ) -> None:
        super().__init__(run, self._entry, then)
        self._contacts = contacts

    def _entry(self, result: WriteResult) -> JournalEntry | None:
        contact = self._contacts.get(result.office365_id or "")
        return deletion_entry(result.key, contact, result) if contact is not None else None


def adoptions(plan: Plan, anchored: Mapping[str, FolderContact]) -> list[JournalEntry]:
    """Entries for the in-sync contacts the plan matched by anchor (`anchored`: by id), for
    `Journal.adopt`: their values and changeKey as read, as if just written."""
    entries: list[JournalEntry] = []
    for item in plan.items:
        if item.state is not State.UNCHANGED or item.match is not Match.ANCHOR:
            continue
        contact = anchored.get(item.office365_id or "")
        if contact is not None:
            entries.append(
                JournalEntry(
                    key=item.key,
                    office365_id=contact.id,
                    action=JournalAction.UPDATED,
                    before={},
                    baseline=synced_values(contact),
                    change_key=contact.change_key,
                )
            )
    return entries
