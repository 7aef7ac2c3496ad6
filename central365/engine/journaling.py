"""Recording a sync's writes in the journal as each answer is read.

The service wraps the run's result callback with `Journaling`: every write that happened is
turned into a journal entry (`core.journal.journal_entry`) and recorded before the front end
hears of it, on the thread that reads the answers, so the journal never lags Office 365 by more
than the write being recorded.  A journal that cannot be written does not stop the run (the
contacts carry their anchors, so the next plan finds them); it is counted and logged by type
only, never with a record's values.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from central365.core.journal import journal_entry
from central365.core.model import ACTIONABLE_STATES, Plan, PlanItem, WriteResult
from central365.core.ports import Journal, ResultCallback

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class JournalRun:
    """The journal a sync records into, and the run (started by the front end) it adds to."""

    journal: Journal
    run_id: int


class Journaling:
    """A result callback that journals each write, then passes the result on."""

    def __init__(self, run: JournalRun, plan: Plan, then: ResultCallback | None) -> None:
        self._run = run
        self._then = then
        self._items: dict[str, PlanItem] = {
            item.key: item for item in plan.items if item.state in ACTIONABLE_STATES
        }
        #: Writes that happened but could not be journalled.
        self.failures = 0

    def __call__(self, result: WriteResult) -> None:
        item = self._items.get(result.key)
        entry = journal_entry(item, result) if item is not None else None
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
