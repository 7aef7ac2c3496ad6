"""RunManager with a real SyncService over the in-memory fakes and a SQLite database."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest

from central365.appdb import Database, RunRecord, RunRepository, RunStatus
from central365.appdb.leases import LeaseRepository
from central365.core.execute import Selection
from central365.core.model import FolderContact, FolderInfo, Outcome, State, WriteResult
from central365.core.ports import ContactSource, Mailbox, RunLimits
from central365.engine.runs import (
    INTERNAL_ERROR,
    SHUTDOWN_MESSAGE,
    RunInProgress,
    RunManager,
    RunRequest,
)
from central365.engine.service import SyncService
from central365.mailstore.store import SandboxStore
from central365.memory import InMemoryMailbox, InMemorySource

from .conftest import FOLDER, MAILBOX, Gate, ScriptedMailbox, person

LOCK = f"{MAILBOX}\n{FOLDER}".casefold()
PEOPLE = [person(n) for n in range(1, 6)]

ServiceFactory = Callable[[], AbstractContextManager[SyncService]]


def opener(source: ContactSource, mailbox: Mailbox) -> ServiceFactory:
    @contextmanager
    def open_service() -> Iterator[SyncService]:
        yield SyncService(source, mailbox, FOLDER)

    return open_service


def request(
    open_service: ServiceFactory, selection: Selection, *, lock_key: str = LOCK
) -> RunRequest:
    return RunRequest("Ann", selection, open_service, lock_key)


class Finished:
    """Records the run ids `on_finished` is called with."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self._lock = threading.Lock()

    def __call__(self, run_id: int) -> None:
        with self._lock:
            self.calls.append(run_id)


@pytest.fixture
def finished() -> Finished:
    return Finished()


@pytest.fixture
def manager(runs: RunRepository, finished: Finished) -> Iterator[RunManager]:
    manager = RunManager(runs, finished)
    try:
        yield manager
    finally:
        manager.shutdown(5)


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def ended(manager: RunManager, runs: RunRepository, run_id: int) -> RunRecord:
    assert manager.wait(run_id, 10)
    record = runs.get(run_id)
    assert record is not None
    return record


def folder_emails(store: SandboxStore) -> list[str]:
    info = InMemoryMailbox(store, MAILBOX).find_folder(FOLDER)
    assert info is not None
    return sorted(
        address["address"]
        for contact in store.list_contacts(MAILBOX, info.id)
        for address in contact["emailAddresses"]
    )


def test_a_run_creates_exactly_the_selected_records(
    manager: RunManager, runs: RunRepository, store: SandboxStore, finished: Finished
) -> None:
    open_service = opener(InMemorySource(PEOPLE), InMemoryMailbox(store, MAILBOX))
    started = manager.start(request(open_service, Selection(keys=frozenset({"2", "4"}))))
    assert started.status is RunStatus.RUNNING and started.selected == 2
    record = ended(manager, runs, started.id)
    assert record.status is RunStatus.FINISHED and record.error is None
    assert (record.selected, record.total, record.created, record.done) == (2, 2, 2, 2)
    assert (record.mailbox, record.folder_name) == (MAILBOX, FOLDER)
    assert folder_emails(store) == ["person2@example.com", "person4@example.com"]
    outcomes = runs.outcomes(started.id)
    assert sorted((o.key, o.name, o.email, o.outcome) for o in outcomes) == [
        ("2", "First2 Last2", "person2@example.com", Outcome.CREATED),
        ("4", "First4 Last4", "person4@example.com", Outcome.CREATED),
    ]
    assert all(o.office365_id for o in outcomes)
    assert finished.calls == [started.id]
    assert manager.is_running(LOCK) is None


def test_a_bulk_selection_counts_from_the_fresh_plan(
    manager: RunManager, runs: RunRepository, store: SandboxStore
) -> None:
    open_service = opener(InMemorySource(PEOPLE), InMemoryMailbox(store, MAILBOX))
    first = manager.start(request(open_service, Selection(keys=frozenset({"1"}))))
    ended(manager, runs, first.id)
    started = manager.start(request(open_service, Selection(states=frozenset({State.NEW}))))
    assert started.selected == 0  # not known before the plan
    record = ended(manager, runs, started.id)
    assert (record.selected, record.total, record.created) == (4, 4, 4)
    assert len(folder_emails(store)) == 5


def test_unknown_and_unchanged_keys_are_skipped_with_a_reason(
    manager: RunManager, runs: RunRepository, store: SandboxStore
) -> None:
    open_service = opener(InMemorySource(PEOPLE), InMemoryMailbox(store, MAILBOX))
    ended(manager, runs, manager.start(request(open_service, Selection(keys=frozenset({"1"})))).id)
    started = manager.start(request(open_service, Selection(keys=frozenset({"1", "99"}))))
    record = ended(manager, runs, started.id)
    assert (record.status, record.total, record.skipped) == (RunStatus.FINISHED, 2, 2)
    by_key = {o.key: o for o in runs.outcomes(started.id)}
    assert by_key["1"].name == "First1 Last1" and by_key["1"].error
    assert (by_key["99"].name, by_key["99"].email) == ("", "")
    assert by_key["99"].error == "No active Central record has this id."


def test_a_second_run_into_the_same_folder_is_refused_while_the_first_runs(
    manager: RunManager, runs: RunRepository, store: SandboxStore
) -> None:
    gate = Gate(after=1)
    slow = opener(InMemorySource(PEOPLE), ScriptedMailbox(store, MAILBOX, gate=gate))
    first = manager.start(request(slow, Selection(everything=True)))
    assert gate.reached.wait(5)
    assert manager.is_running(LOCK) == first.id
    with pytest.raises(RunInProgress) as caught:
        manager.start(request(slow, Selection(everything=True)))
    assert caught.value.run_id == first.id
    assert str(caught.value) == (
        f"A synchronisation into folder {FOLDER} is already running (run {first.id})."
    )
    other = opener(InMemorySource(PEOPLE), InMemoryMailbox(store, MAILBOX))
    elsewhere = manager.start(request(other, Selection(everything=True), lock_key="other"))
    assert ended(manager, runs, elsewhere.id).status is RunStatus.FINISHED
    gate.release()
    assert ended(manager, runs, first.id).status is RunStatus.FINISHED
    again = manager.start(request(slow, Selection(everything=True)))
    assert ended(manager, runs, again.id).status is RunStatus.FINISHED


def test_another_process_holding_the_folder_is_seen_through_the_database(
    manager: RunManager, runs: RunRepository, store: SandboxStore
) -> None:
    gate = Gate(after=0)
    slow = opener(InMemorySource(PEOPLE), ScriptedMailbox(store, MAILBOX, gate=gate))
    first = manager.start(request(slow, Selection(everything=True)))
    elsewhere = RunManager(runs)  # as if in a second process sharing the database
    assert elsewhere.is_running(LOCK) == first.id
    with pytest.raises(RunInProgress) as caught:
        elsewhere.start(request(slow, Selection(everything=True)))
    assert caught.value.run_id == first.id
    gate.release()
    assert ended(manager, runs, first.id).status is RunStatus.FINISHED


def test_outcomes_are_recorded_while_the_run_is_still_going(
    manager: RunManager, runs: RunRepository, store: SandboxStore
) -> None:
    gate = Gate(after=2)
    slow = opener(InMemorySource(PEOPLE), ScriptedMailbox(store, MAILBOX, gate=gate))
    started = manager.start(request(slow, Selection(everything=True)))
    assert gate.reached.wait(5)

    def partial() -> bool:
        record = runs.get(started.id)
        return record is not None and record.done == 2

    assert wait_until(partial, timeout=3)
    record = runs.get(started.id)
    assert record is not None
    assert (record.status, record.total, record.created) == (RunStatus.RUNNING, 5, 2)
    assert len(runs.outcomes(started.id)) == 2
    gate.release()
    record = ended(manager, runs, started.id)
    assert (record.status, record.created, record.done) == (RunStatus.FINISHED, 5, 5)


def test_a_failing_record_is_recorded_and_the_run_still_finishes(
    manager: RunManager, runs: RunRepository, store: SandboxStore
) -> None:
    mailbox = InMemoryMailbox(store, MAILBOX, fail_on={"3": "Office 365 refused the contact."})
    started = manager.start(
        request(opener(InMemorySource(PEOPLE), mailbox), Selection(everything=True))
    )
    record = ended(manager, runs, started.id)
    assert (record.status, record.created, record.failed) == (RunStatus.FINISHED, 4, 1)
    assert [(o.key, o.email, o.error) for o in runs.outcomes(started.id, only_failed=True)] == [
        ("3", "person3@example.com", "Office 365 refused the contact.")
    ]


def test_a_source_error_fails_the_run_with_its_message(
    manager: RunManager, runs: RunRepository, store: SandboxStore, finished: Finished
) -> None:
    source = InMemorySource([], error="Central cannot be read: the file central.csv is missing.")
    started = manager.start(
        request(opener(source, InMemoryMailbox(store, MAILBOX)), Selection(everything=True))
    )
    record = ended(manager, runs, started.id)
    assert record.status is RunStatus.FAILED
    assert record.error == "Central cannot be read: the file central.csv is missing."
    assert record.finished_at is not None
    assert finished.calls == [started.id]
    assert InMemoryMailbox(store, MAILBOX).find_folder(FOLDER) is None


def test_an_internal_error_fails_the_run_and_logs_the_traceback(
    manager: RunManager, runs: RunRepository, caplog: pytest.LogCaptureFixture
) -> None:
    @contextmanager
    def broken() -> Iterator[SyncService]:
        raise KeyError("unexpected")
        yield  # pragma: no cover

    with caplog.at_level(logging.ERROR, logger="central365.engine.runs"):
        started = manager.start(request(broken, Selection(everything=True)))
        record = ended(manager, runs, started.id)
    assert (record.status, record.error) == (RunStatus.FAILED, INTERNAL_ERROR)
    logged = [r.exc_info[1] for r in caplog.records if r.exc_info is not None]
    assert len(logged) == 1 and isinstance(logged[0], KeyError)


def test_outcomes_received_before_a_crash_are_kept(
    manager: RunManager, runs: RunRepository, store: SandboxStore
) -> None:
    dying = opener(InMemorySource(PEOPLE), ScriptedMailbox(store, MAILBOX, die_after=3))
    started = manager.start(request(dying, Selection(everything=True)))
    record = ended(manager, runs, started.id)
    assert (record.status, record.error) == (RunStatus.FAILED, INTERNAL_ERROR)
    assert (record.total, record.created) == (5, 3)
    assert [o.key for o in runs.outcomes(started.id)] == ["1", "2", "3"]


def test_on_finished_is_called_once_and_its_errors_are_only_logged(
    runs: RunRepository, store: SandboxStore, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[int] = []

    def explode(run_id: int) -> None:
        calls.append(run_id)
        raise RuntimeError("refresh failed")

    manager = RunManager(runs, explode)
    open_service = opener(InMemorySource(PEOPLE), InMemoryMailbox(store, MAILBOX))
    with caplog.at_level(logging.ERROR, logger="central365.engine.runs"):
        started = manager.start(request(open_service, Selection(everything=True)))
        assert manager.wait(started.id, 10)
    manager.shutdown(1)
    assert calls == [started.id]
    assert any("end-of-run handler" in r.getMessage() for r in caplog.records)
    record = runs.get(started.id)
    assert record is not None and record.status is RunStatus.FINISHED


def test_wait_returns_only_after_on_finished(runs: RunRepository, store: SandboxStore) -> None:
    release = threading.Event()
    calls: list[int] = []

    def slow_refresh(run_id: int) -> None:
        assert release.wait(5)
        calls.append(run_id)

    manager = RunManager(runs, slow_refresh)
    open_service = opener(InMemorySource(PEOPLE), InMemoryMailbox(store, MAILBOX))
    started = manager.start(request(open_service, Selection(everything=True)))
    assert not manager.wait(started.id, 0.2)
    release.set()
    assert manager.wait(started.id, 5)
    assert calls == [started.id]
    manager.shutdown(1)


def test_shutdown_during_the_end_of_run_handler_keeps_the_run_finished(
    runs: RunRepository, store: SandboxStore, caplog: pytest.LogCaptureFixture
) -> None:
    release = threading.Event()
    entered = threading.Event()

    def slow_refresh(run_id: int) -> None:
        entered.set()
        assert release.wait(5)

    manager = RunManager(runs, slow_refresh)
    open_service = opener(InMemorySource(PEOPLE), InMemoryMailbox(store, MAILBOX))
    started = manager.start(request(open_service, Selection(everything=True)))
    assert entered.wait(5)
    with caplog.at_level(logging.INFO, logger="central365.engine.runs"):
        manager.shutdown(0.1)
    record = runs.get(started.id)
    assert record is not None and record.status is RunStatus.FINISHED
    assert "marked as interrupted" not in caplog.text
    release.set()
    assert manager.wait(started.id, 5)


@pytest.mark.e2e
def test_shutdown_interrupts_a_run_that_does_not_end_in_time(
    runs: RunRepository, store: SandboxStore
) -> None:
    gate = Gate(after=2)
    manager = RunManager(runs)
    slow = opener(InMemorySource(PEOPLE), ScriptedMailbox(store, MAILBOX, gate=gate))
    started = manager.start(request(slow, Selection(everything=True)))
    assert gate.reached.wait(5)
    manager.shutdown(0.1)
    record = runs.get(started.id)
    assert record is not None
    assert (record.status, record.error, record.created) == (
        RunStatus.INTERRUPTED,
        SHUTDOWN_MESSAGE,
        2,
    )
    with pytest.raises(Exception, match="shutting down"):
        manager.start(request(slow, Selection(everything=True)))
    gate.release()  # let the thread end; the interruption stands
    assert manager.wait(started.id, 10)
    record = runs.get(started.id)
    assert record is not None and (record.status, record.created) == (RunStatus.INTERRUPTED, 5)


def test_mark_interrupted_spares_this_managers_own_runs(
    manager: RunManager, runs: RunRepository, store: SandboxStore
) -> None:
    left = runs.start(started_by="Old", mailbox=MAILBOX, folder_name="Old folder", selected=1)
    gate = Gate(after=0)
    slow = opener(InMemorySource(PEOPLE), ScriptedMailbox(store, MAILBOX, gate=gate))
    mine = manager.start(request(slow, Selection(everything=True)))
    assert manager.mark_interrupted() == 1
    left_record, mine_record = runs.get(left.id), runs.get(mine.id)
    assert left_record is not None and left_record.status is RunStatus.INTERRUPTED
    assert mine_record is not None and mine_record.status is RunStatus.RUNNING
    gate.release()
    assert ended(manager, runs, mine.id).status is RunStatus.FINISHED


def test_start_returns_at_once(
    manager: RunManager, runs: RunRepository, store: SandboxStore
) -> None:
    gate = Gate(after=0)
    slow = opener(InMemorySource(PEOPLE), ScriptedMailbox(store, MAILBOX, gate=gate))
    began = time.monotonic()
    started = manager.start(request(slow, Selection(everything=True)))
    assert time.monotonic() - began < 1
    assert not manager.wait(started.id, 0.05)
    gate.release()
    assert ended(manager, runs, started.id).status is RunStatus.FINISHED


def test_the_homepage_and_the_command_line_exclude_each_other_through_the_lease(
    runs: RunRepository, database: Database, store: SandboxStore
) -> None:
    leases = LeaseRepository(database)
    manager = RunManager(runs, leases=leases, flush_interval=0.05)
    cli = leases.acquire(LOCK, "central365 sync by bob on ops-1 (process 4242)")
    mailbox = InMemoryMailbox(store, MAILBOX)
    service = opener(InMemorySource(PEOPLE), mailbox)

    with pytest.raises(RunInProgress) as refused:
        manager.start(request(service, Selection(everything=True)))
    assert "central365 sync by bob on ops-1 (process 4242) since" in str(refused.value)
    assert runs.count() == 0  # a refused run leaves nothing in History

    leases.release(cli)
    gate = Gate(after=1)
    slow = opener(InMemorySource(PEOPLE), ScriptedMailbox(store, MAILBOX, gate=gate))
    run = manager.start(request(slow, Selection(everything=True)))
    assert gate.reached.wait(5)
    held = leases.holder(LOCK)
    assert held is not None and held[0] == "Ann, from the homepage" and held[2] == run.id
    with pytest.raises(RunInProgress):
        leases.acquire(LOCK, "central365 sync by bob")
    gate.release()
    assert ended(manager, runs, run.id).status is RunStatus.FINISHED
    assert leases.holder(LOCK) is None
    manager.shutdown(1)


class WaitingMailbox:
    """A mailbox whose folder makes the run wait once, then writes — or stops the run."""

    def __init__(self, store: SandboxStore, *, stop: bool) -> None:
        self._inner = InMemoryMailbox(store, MAILBOX)
        self._stop = stop
        self.limits: RunLimits | None = None
        self.seen_waiting: RunRecord | None = None

    @property
    def name(self) -> str:
        return self._inner.name

    def limit_run(self, limits: RunLimits | None) -> None:
        self.limits = limits if limits is not None else self.limits

    def folders(self) -> list[FolderInfo]:
        return self._inner.folders()

    def find_folder(self, display_name: str) -> FolderInfo | None:
        return self._inner.find_folder(display_name)

    def create_folder(self, display_name: str) -> FolderInfo:
        return self._inner.create_folder(display_name)

    def folder(self, info: FolderInfo) -> Any:
        mailbox = self

        class Folder:
            def __init__(self) -> None:
                self._inner = mailbox._inner.folder(info)
                self.info = info

            def contacts(self) -> Any:
                return self._inner.contacts()

            def find_by_email(self, email: str) -> list[FolderContact]:
                return self._inner.find_by_email(email)

            def write(self, writes: Any, on_result: Any = None) -> list[WriteResult]:
                assert mailbox.limits is not None and mailbox.limits.on_wait is not None
                mailbox.limits.on_wait("throttled (429 TooManyRequests)", 30.0)
                mailbox.seen_waiting = mailbox.runs.get(mailbox.run_id)
                if not mailbox._stop:
                    return self._inner.write(writes, on_result)
                results = [
                    WriteResult(w.key, Outcome.SKIPPED, error="the run's deadline passed")
                    for w in writes
                ]
                for result in results:
                    if on_result is not None:
                        on_result(result)
                return results

        return Folder()

    runs: RunRepository
    run_id: int


@pytest.mark.parametrize("stop", [False, True])
def test_a_run_says_when_it_waits_and_fails_when_it_stopped_early(
    manager: RunManager, runs: RunRepository, store: SandboxStore, stop: bool
) -> None:
    mailbox = WaitingMailbox(store, stop=stop)
    mailbox.runs = runs
    mailbox.run_id = runs.count() + 1  # the id the run will get (a fresh database)
    run = manager.start(
        request(opener(InMemorySource(PEOPLE), mailbox), Selection(everything=True))
    )
    assert run.id == mailbox.run_id
    record = ended(manager, runs, run.id)

    seen = mailbox.seen_waiting
    assert seen is not None and seen.waiting is not None
    assert "throttled (429 TooManyRequests)" in seen.waiting
    assert seen.waiting_until is not None
    assert record.waiting is None  # an ended run waits on nothing
    if stop:
        assert record.status is RunStatus.FAILED
        assert record.error is not None
        assert f"stopped before {len(PEOPLE)} of its records were written" in record.error
        assert "the run's deadline passed" in record.error
    else:
        assert record.status is RunStatus.FINISHED and record.created == len(PEOPLE)


def test_a_run_whose_fresh_plan_is_a_mass_change_writes_nothing_unless_allowed(
    manager: RunManager, runs: RunRepository, store: SandboxStore
) -> None:
    """The homepage checks the plan it showed; the run checks its own fresh plan again."""
    from dataclasses import replace

    from central365.core.guards import GuardThresholds

    mailbox = InMemoryMailbox(store, MAILBOX)
    ended(
        manager,
        runs,
        manager.start(
            request(opener(InMemorySource(PEOPLE), mailbox), Selection(everything=True))
        ).id,
    )
    renamed = [replace(p, title="Dr") for p in PEOPLE]  # every contact would be updated

    @contextmanager
    def strict() -> Iterator[SyncService]:
        yield SyncService(
            InMemorySource(renamed),
            mailbox,
            FOLDER,
            guard_thresholds=GuardThresholds(min_contacts=1),
        )

    refused = ended(manager, runs, manager.start(request(strict, Selection(everything=True))).id)
    assert refused.status is RunStatus.FAILED and refused.updated == 0
    assert refused.error is not None
    assert refused.error.startswith("Refusing to synchronise a mass change. The run would update 5")

    allowed = replace(request(strict, Selection(everything=True)), allow_mass_change=True)
    record = ended(manager, runs, manager.start(allowed).id)
    assert (record.status, record.updated) == (RunStatus.FINISHED, 5)
