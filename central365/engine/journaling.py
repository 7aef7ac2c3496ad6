"""Recording a sync's writes in the journal as each answer is read.

The service wraps the run's result callback with `Journaling`: every write that happened is
turned into a journal entry (`core.journal.journal_entry`) and recorded before the front end
hears of it, on the thread that reads the answers.  One `$batch`'s answers are recorded together
(`batch()`, one transaction), so the journal never lags Office 365 by more than the batch being
recorded, and a run killed meanwhile leaves the whole batch journalled or none of it.  A journal that cannot be written does not stop the run (the
contacts carry their anchors, so the next plan finds them); it is counted and logged by type
only, never with a record's values.

A run killed between a write and its journalling leaves a contact that carries its anchor but
that the journal lacks; the next plan finds it by its anchor, in sync.  `adoptions` lists such
contacts (every in-sync contact matched by anchor; the journal keeps only those it lacks), so the
next journalled sync brings the journal level with the folder again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
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
        #: Inside `batch()`: the call's results so far (journalled when it ends).
        self._held: list[WriteResult] | None = None

    def __call__(self, result: WriteResult) -> None:
        if self._held is not None:
            self._held.append(result)
        else:
            self._journal([result])

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One call's results: journalled in one transaction when the call's answers have
        all been read, then handed on (`ports.BatchedResults`)."""
        if self._held is not None:  # already inside one: the outer block journals
            yield
            return
        self._held = []
        try:
            yield
        finally:
            held, self._held = self._held, None
            self._journal(held)

    def _journal(self, results: list[WriteResult]) -> None:
        entries = [e for e in map(self._entry_of, results) if e is not None]
        if entries:
            try:
                self._run.journal.record_many(self._run.run_id, entries)
            except Exception as exc:  # the run goes on: the contacts carry their anchors
                self.failures += len(entries)
                log.error(
                    "Run %d: %d writes could not be journalled (%s)",
                    self._run.run_id,
                    len(entries),
                    type(exc).__name__,
                )
        if self._then is not None:
            for result in results:
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


def adoptions(
    plan: Plan, anchored: Mapping[str, FolderContact], journalled: Collection[str] = ()
) -> list[JournalEntry]:
    """Entries for the in-sync contacts the plan matched by anchor (`anchored`: by id), for
    `Journal.adopt`: their values and changeKey as read, as if just written.  Records in
    `journalled` (the journal held them when the plan was made) are left out: `adopt` keeps
    only what the journal lacks, and a nightly run of an unchanged folder would otherwise
    work out every contact's values to have them all refused."""
    entries: list[JournalEntry] = []
    for item in plan.items:
        if item.state is not State.UNCHANGED or item.match is not Match.ANCHOR:
            continue
        if item.key in journalled:
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
