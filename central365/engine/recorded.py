"""A run of History for a writer that holds the folder's lease (the command line, a worker).

The run is recorded before anything is written and ended however the block ends (finished,
failed, interrupted); its outcomes are stored at the end, while each write is journalled as it
happens (`engine.journaling`).  The folder's lease, not the run, is the lock
(`hold_lock=False`): a killed writer blocks no one once its lease has expired, and its run is
then marked interrupted by the next writer (`RunRepository.mark_abandoned`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from central365.appdb import JournalRepository, OutcomeRecord, RunRepository, RunStatus
from central365.appdb.database import Database
from central365.appdb.leases import Lease
from central365.core.errors import Central365Error
from central365.core.model import FolderContact, WriteResult
from central365.engine.deletion import DeleteOutcome
from central365.engine.journaling import JournalRun
from central365.engine.service import SyncOutcome

INTERRUPTED = (
    "The command was stopped (Ctrl-C) while it was writing; plan again to see where things stand."
)
CRASHED = "The command stopped on an internal error while it was writing; plan again to see where things stand."


@dataclass
class RecordedRun:
    """The run being recorded: its id, and the journal the sync writes into."""

    id: int
    journal: JournalRun
    runs: RunRepository
    ended: bool = field(default=False)

    def finish(self, outcome: SyncOutcome) -> None:
        """Store every outcome and end the run (failed when it stopped before the end)."""
        people = {item.key: (item.name, item.email) for item in outcome.planned.plan.items}
        self.finish_results(outcome.report.results, people, outcome.unwritten, outcome.stop_reason)

    def finish_deletes(self, outcome: DeleteOutcome) -> None:
        """`finish` for a run that deleted chosen contacts (named as the folder held them)."""
        people = {
            contact.anchor: (contact.display_name, _first_address(contact))
            for contact in outcome.contacts.values()
        }
        self.finish_results(outcome.report.results, people, outcome.unwritten, outcome.stop_reason)

    def finish_results(
        self,
        results: Sequence[WriteResult],
        people: Mapping[str, tuple[str, str]],
        unwritten: int,
        stop_reason: str,
        again: str = "Synchronise them again to finish.",
    ) -> None:
        """Store these outcomes (`people`: name and email by Central id) and end the run."""
        self.runs.set_total(self.id, len(results), selected=len(results))
        self.runs.add_outcomes(
            self.id,
            [
                OutcomeRecord(
                    key=r.key,
                    name=people.get(r.key, ("", ""))[0],
                    email=people.get(r.key, ("", ""))[1],
                    outcome=r.outcome,
                    office365_id=r.office365_id,
                    error=r.error or r.note,
                )
                for r in results
            ],
        )
        if unwritten:
            why = stop_reason.rstrip(".")
            error = (
                f"The run stopped before {unwritten:,} of its records were written"
                + (f": {why}." if why else ".")
                + f" {again}"
            )
            self.runs.finish(self.id, RunStatus.FAILED, error)
        else:
            self.runs.finish(self.id, RunStatus.FINISHED)
        self.ended = True


def _first_address(contact: FolderContact) -> str:
    return contact.email_addresses[0].address if contact.email_addresses else ""


@contextmanager
def recorded_run(
    database: Database,
    lease: Lease,
    mailbox: str,
    folder_name: str,
    *,
    started_by: str,
    undoes: int | None = None,
) -> Iterator[RecordedRun]:
    """Record a RUNNING run for the block; end it FAILED or INTERRUPTED if the block raises
    before `CliRun.finish` was called.

    `lease` is the folder's lease this command holds: it names the run, so the homepage knows
    the run's writer is alive; runs of killed commands (lease lapsed) are marked interrupted.
    `undoes`: the run this one undoes (`central365 undo`).
    """
    runs = RunRepository(database)
    runs.mark_abandoned()
    record = runs.start(
        started_by=started_by,
        mailbox=mailbox,
        folder_name=folder_name,
        selected=0,
        hold_lock=False,
        lease=(lease.key, lease.token),
        undoes=undoes,
    )
    run = RecordedRun(record.id, JournalRun(JournalRepository(database), record.id), runs)
    try:
        yield run
    except KeyboardInterrupt:
        if not run.ended:
            runs.finish(run.id, RunStatus.INTERRUPTED, INTERRUPTED)
        raise
    except Central365Error as exc:
        if not run.ended:
            first = exc.full_message().splitlines()
            runs.finish(run.id, RunStatus.FAILED, first[0] if first else CRASHED)
        raise
    except BaseException:
        if not run.ended:
            runs.finish(run.id, RunStatus.FAILED, CRASHED)
        raise
