"""Synchronisation runs in the background, for the homepage.

What it owns: one thread per run, one run at a time per mailbox folder, progress and outcomes
persisted as they arrive, and telling the web app when a run has ended (so it plans again).
Each write is journalled as its answer is read (`journal`, the same run id: a run of History
is the journal's run).  It renders nothing and knows no HTTP: a browser that goes away changes nothing, because
everything a page shows about a run is read back from the database (`RunRepository`).

A run opens its service in its own thread (`RunRequest.service_factory`) and calls
`SyncService.sync`, which plans again first, so only what is still actionable is written and
nothing unselected ever is.  Outcomes are queued by the sync's callbacks and written in groups
by a flusher thread at least every `FLUSH_INTERVAL` seconds, and once more at the end: an outcome
the run received is recorded even when the run then dies.

Locking: `start` checks this process's running runs and registers the new one under one lock,
takes the folder's lease (`appdb.leases`: the one every front end takes, so a run from the
command line and one from the homepage exclude each other; renewed while the run goes, released
when it ends, taken over after a minute if this process dies), and the database refuses a second
RUNNING run holding the same lock key (a unique column).  `mark_interrupted` (at start-up)
assumes one application process per database.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace

from central365.appdb import (
    OutcomeRecord,
    RunInProgress,
    RunRecord,
    RunRepository,
    RunStatus,
)
from central365.appdb.leases import KeptLease, LeaseRepository
from central365.core.errors import Central365Error
from central365.core.execute import Selection, select
from central365.core.model import WriteResult
from central365.core.ports import Journal, ResultCallback, UndoJournal, WaitCallback
from central365.core.undo import UndoPlan
from central365.engine.journaling import JournalRun
from central365.engine.outcome_writer import OutcomeWriter
from central365.engine.service import PlanReport, SyncService

log = logging.getLogger(__name__)

__all__ = [
    "FLUSH_INTERVAL",
    "INTERNAL_ERROR",
    "SHUTDOWN_MESSAGE",
    "RunInProgress",
    "RunManager",
    "RunRequest",
]

#: The longest an outcome waits in memory before it is written (seconds).
FLUSH_INTERVAL = 0.5
INTERNAL_ERROR = "central365 hit an internal error; see the server log"
SHUTDOWN_MESSAGE = (
    "central365 was stopped while this run was going; records without an outcome here may or "
    "may not have been written. Plan again to see where things stand."
)


@dataclass(frozen=True)
class RunRequest:
    """What to synchronise, who asked, and how to open the service in the run's thread.

    `mailbox` and `folder_name` are optional: when given they are recorded at once; the run
    records what its service actually targets as soon as it has opened it.
    """

    started_by: str
    selection: Selection
    service_factory: Callable[[], AbstractContextManager[SyncService]]
    lock_key: str
    mailbox: str = ""
    folder_name: str = ""
    #: Write even when the fresh plan trips a guard against mass changes (an admin allowed it).
    allow_mass_change: bool = False
    #: A run that deletes these orphans (Office 365 ids) of the fresh plan instead of
    #: synchronising `selection` (`SyncService.delete_orphans`): an admin's choice.
    delete_orphans: frozenset[str] | None = None
    #: Undo this run instead of synchronising (`SyncService.undo`; `selection` is unused).
    undoes: int | None = None


@dataclass
class _Active:
    run_id: int
    lock_key: str
    folder_name: str
    thread: threading.Thread
    writer: OutcomeWriter
    lease: KeptLease | None
    #: Set once the run's end is recorded; `done` once its end-of-run handler has returned too.
    recorded: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)


class RunManager:
    """Starts runs in background threads and keeps one run per mailbox folder."""

    def __init__(
        self,
        runs: RunRepository,
        on_finished: Callable[[int], None] | None = None,
        *,
        leases: LeaseRepository | None = None,
        flush_interval: float = FLUSH_INTERVAL,
        journal: Journal | None = None,
    ) -> None:
        self._runs = runs
        self._leases = leases
        self._journal = journal
        self._on_finished = on_finished
        self._flush_interval = flush_interval
        self._lock = threading.Lock()
        self._by_lock: dict[str, _Active] = {}
        self._by_id: dict[int, _Active] = {}
        self._closing = False

    def start(self, request: RunRequest) -> RunRecord:
        """Record a new run and start it in a thread; returns at once.

        Raises `RunInProgress` when a run with the same lock key is going (here or, through the
        database, in another process).
        """
        with self._lock:
            if self._closing:
                raise Central365Error(
                    "central365 is shutting down; start the synchronisation again once it is back."
                )
            active = self._by_lock.get(request.lock_key)
            if active is not None:
                raise RunInProgress(active.folder_name, active.run_id)
            lease = self._take_lease(request)
            selected = _selected_at_start(request.selection)
            try:
                record = self._runs.start(
                    started_by=request.started_by,
                    mailbox=request.mailbox,
                    folder_name=request.folder_name,
                    selected=selected,
                    lock_key=request.lock_key,
                    undoes=request.undoes,
                )
            except BaseException:
                if lease is not None:
                    lease.stop()
                raise
            if lease is not None and self._leases is not None:
                self._leases.attach_run(lease.lease, record.id)
            if selected:
                # The run page shows "0 of N" from the start, not "0 of 0" while the run opens
                # its service and plans again; the fresh plan then sets the exact total.
                self._runs.set_total(record.id, selected)
                record = replace(record, total=selected)
            writer = OutcomeWriter(self._runs, record.id, self._flush_interval)
            thread = threading.Thread(
                target=self._run,
                args=(record.id, request, writer),
                name=f"central365-run-{record.id}",
                daemon=True,
            )
            active = _Active(
                record.id, request.lock_key, request.folder_name, thread, writer, lease
            )
            self._by_lock[request.lock_key] = active
            self._by_id[record.id] = active
            try:
                thread.start()
            except BaseException:  # no thread (resources exhausted): release the folder
                del self._by_lock[request.lock_key], self._by_id[record.id]
                self._runs.finish(record.id, RunStatus.FAILED, INTERNAL_ERROR)
                if lease is not None:
                    lease.stop()
                raise
        return record

    def _take_lease(self, request: RunRequest) -> KeptLease | None:
        """The folder's lease for this run (`RunInProgress` naming the holder if taken)."""
        if self._leases is None:
            return None
        acquired = self._leases.acquire(
            request.lock_key,
            f"{request.started_by}, from the homepage",
            folder_name=request.folder_name,
        )
        return KeptLease(self._leases, acquired)

    def is_running(self, lock_key: str) -> int | None:
        """The id of the run going into this folder (here or in another process), if any."""
        with self._lock:
            active = self._by_lock.get(lock_key)
        if active is not None:
            return active.run_id
        return self._runs.running(lock_key)

    def wait(self, run_id: int, timeout: float) -> bool:
        """Wait until the run has ended here (and `on_finished` returned); False on timeout.

        A run this manager is not running counts as ended.
        """
        with self._lock:
            active = self._by_id.get(run_id)
        return True if active is None else active.done.wait(timeout)

    def shutdown(self, timeout: float) -> None:
        """Refuse new runs and give the running ones `timeout` seconds in all to end.

        Runs still going then have their received outcomes written and are marked
        INTERRUPTED (their daemon threads die with the process).
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            self._closing = True
            actives = list(self._by_id.values())
        for active in actives:
            active.done.wait(max(0.0, deadline - time.monotonic()))
        for active in actives:
            if active.done.is_set():
                continue
            if active.recorded.is_set():  # ended; only the end-of-run handler (a replan) is left
                log.info("Run %d ended; its end-of-run handler was cut short", active.run_id)
                continue
            active.writer.flush()
            try:
                self._runs.finish(active.run_id, RunStatus.INTERRUPTED, SHUTDOWN_MESSAGE)
            except Exception:
                log.exception("Could not mark run %d as interrupted", active.run_id)
            if active.lease is not None:
                active.lease.stop()
            log.warning("Run %d was still going at shutdown; marked as interrupted", active.run_id)

    def mark_interrupted(self) -> int:
        """At start-up: end as INTERRUPTED the RUNNING runs a stopped process left behind."""
        with self._lock:
            keep = list(self._by_id)
        count = self._runs.mark_interrupted(keep=keep)
        if count:
            log.warning("Marked %d run(s) left running by a stopped process as interrupted", count)
        return count

    # -- the run's thread --------------------------------------------------------------------

    def _run(self, run_id: int, request: RunRequest, writer: OutcomeWriter) -> None:
        status = RunStatus.FAILED
        error: str | None = INTERNAL_ERROR
        try:
            writer.start()
            with request.service_factory() as service:
                if request.delete_orphans is not None:
                    stopped = self._delete(run_id, request, service, writer)
                elif request.undoes is not None:
                    stopped = self._undo(run_id, request.undoes, request, service, writer)
                else:
                    stopped = self._sync(run_id, request, service, writer)
            status, error = (RunStatus.FAILED, stopped) if stopped else (RunStatus.FINISHED, None)
        except Central365Error as exc:
            error = exc.full_message().splitlines()[0] if exc.full_message() else INTERNAL_ERROR
            log.warning("Run %d failed: %s", run_id, error)
        except Exception:
            log.exception("Run %d hit an internal error", run_id)
        finally:
            self._end(run_id, request.lock_key, writer, status, error)

    def _sync(
        self, run_id: int, request: RunRequest, service: SyncService, writer: OutcomeWriter
    ) -> str | None:
        """Synchronise; why the run stopped before writing everything, or None if it did not."""
        self._note_target(run_id, request, service)
        people: dict[str, tuple[str, str]] = {}
        bulk = request.selection.everything or bool(request.selection.states)

        def on_plan(planned: PlanReport, writes: int) -> None:
            people.update((item.key, (item.name, item.email)) for item in planned.plan.items)
            _, skipped = select(planned.plan, request.selection)
            total = writes + len(skipped)
            self._runs.set_total(run_id, total, selected=total if bulk else None)

        on_wait, on_result = self._reporters(run_id, people, writer)
        journal = JournalRun(self._journal, run_id) if self._journal is not None else None
        outcome = service.sync(
            request.selection,
            on_result=on_result,
            on_plan=on_plan,
            on_wait=on_wait,
            allow_mass_change=request.allow_mass_change,
            journal=journal,
        )
        return _stopped(outcome.unwritten, outcome.stop_reason, "Synchronise them again to finish.")

    def _undo(
        self,
        run_id: int,
        undoes: int,
        request: RunRequest,
        service: SyncService,
        writer: OutcomeWriter,
    ) -> str | None:
        """Undo run `undoes` (its plan made again now); why it stopped early, or None."""
        if not isinstance(self._journal, UndoJournal):
            raise Central365Error("central365 cannot undo a run without its journal.")
        self._note_target(run_id, request, service)
        people: dict[str, tuple[str, str]] = {}

        def on_plan(planned: UndoPlan) -> None:
            people.update((item.key, (item.name, item.email)) for item in planned.items)
            self._runs.set_total(run_id, len(planned.items), selected=len(planned.items))

        on_wait, on_result = self._reporters(run_id, people, writer)
        outcome = service.undo(
            undoes,
            self._journal,
            on_result,
            on_wait,
            journal=JournalRun(self._journal, run_id),
            on_plan=on_plan,
        )
        return _stopped(
            outcome.unwritten, outcome.stop_reason, f"Undo run {undoes} again to finish."
        )

    def _note_target(self, run_id: int, request: RunRequest, service: SyncService) -> None:
        """Record the mailbox and folder the opened service writes into, if not as asked."""
        mailbox, folder_name = service.mailbox.name, service.folder_name
        if (mailbox, folder_name) != (request.mailbox, request.folder_name):
            self._runs.set_target(run_id, mailbox=mailbox, folder_name=folder_name)
            with self._lock:
                self._by_id[run_id].folder_name = folder_name

    def _reporters(
        self, run_id: int, people: dict[str, tuple[str, str]], writer: OutcomeWriter
    ) -> tuple[WaitCallback, ResultCallback]:
        """The run's wait and result callbacks: waits shown on the run page, outcomes queued."""
        waiting = threading.Event()

        def on_wait(reason: str, seconds: float) -> None:
            # The run page says why the bar stands still, and until when.
            waiting.set()
            self._runs.set_waiting(
                run_id, f"Office 365 asked central365 to wait ({reason})", seconds
            )

        def on_result(result: WriteResult) -> None:
            if waiting.is_set():
                waiting.clear()
                self._runs.set_waiting(run_id, None)
            name, email = people.get(result.key, ("", ""))
            writer.add(
                OutcomeRecord(
                    key=result.key,
                    name=name,
                    email=email,
                    outcome=result.outcome,
                    office365_id=result.office365_id,
                    error=result.error or result.note,
                )
            )

        return on_wait, on_result

    def _delete(
        self, run_id: int, request: RunRequest, service: SyncService, writer: OutcomeWriter
    ) -> str | None:
        """Delete the chosen orphans of a fresh plan; why the run stopped early, or None."""
        assert request.delete_orphans is not None
        self._record_target(run_id, request, service)
        planned = service.plan(journal=self._journal)
        chosen = service.orphans_to_delete(
            planned, request.delete_orphans, allow_mass_change=request.allow_mass_change
        )
        people = {o.office365_id: (o.name, o.email) for o in chosen}
        self._runs.set_total(run_id, len(chosen), selected=len(chosen))

        def on_result(result: WriteResult) -> None:
            name, email = people.get(result.office365_id or "", ("", ""))
            writer.add(
                OutcomeRecord(
                    key=result.key,
                    name=name,
                    email=email,
                    outcome=result.outcome,
                    office365_id=result.office365_id,
                    error=result.error,
                )
            )

        journal = JournalRun(self._journal, run_id) if self._journal is not None else None
        outcome = service.delete(list(people), on_result=on_result, journal=journal)
        if not outcome.unwritten:
            return None
        why = outcome.stop_reason
        return (
            f"The run stopped before {outcome.unwritten:,} of its contacts were deleted"
            + (f": {why.rstrip('.')}." if why else ".")
            + " Delete them again to finish."
        )

    def _record_target(self, run_id: int, request: RunRequest, service: SyncService) -> None:
        """Record the mailbox and folder the service actually targets, when not as requested."""
        mailbox, folder_name = service.mailbox.name, service.folder_name
        if (mailbox, folder_name) != (request.mailbox, request.folder_name):
            self._runs.set_target(run_id, mailbox=mailbox, folder_name=folder_name)
            with self._lock:
                self._by_id[run_id].folder_name = folder_name

    def _end(
        self,
        run_id: int,
        lock_key: str,
        writer: OutcomeWriter,
        status: RunStatus,
        error: str | None,
    ) -> None:
        writer.close()
        recorded = False
        try:
            self._runs.finish(run_id, status, error)
            recorded = True
        except Exception:
            log.exception("Could not record the end of run %d", run_id)
        with self._lock:  # the folder is free again; `wait` still waits for on_finished
            active = self._by_id[run_id]
            if active.lease is not None:
                active.lease.stop()
            if recorded:
                active.recorded.set()
            if self._by_lock.get(lock_key) is active:
                del self._by_lock[lock_key]
        try:
            if self._on_finished is not None:
                self._on_finished(run_id)
        except Exception:
            log.exception("The end-of-run handler failed for run %d", run_id)
        finally:
            active.done.set()
            with self._lock:
                self._by_id.pop(run_id, None)


def _stopped(unwritten: int, why: str, again: str) -> str | None:
    """Why a run stopped before writing everything (None when it did not)."""
    if not unwritten:
        return None
    return (
        f"The run stopped before {unwritten:,} of its records were written"
        + (f": {why.rstrip('.')}." if why else ".")
        + f" {again}"
    )


def _selected_at_start(selection: Selection) -> int:
    """Records selected, as far as known before planning: the keys of a key-only selection."""
    if selection.everything or selection.states:
        return 0
    return len(selection.keys)
