"""RunRepository on SQLite and PostgreSQL: runs, their lock, counters and outcomes."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from central365.appdb import (
    INTERRUPTED_MESSAGE,
    Database,
    OutcomeRecord,
    RunInProgress,
    RunRepository,
    RunStatus,
    run_lock_key,
)
from central365.core.model import Outcome

from .conftest import FakeClock

MAILBOX = "ops@contoso.test"


def outcome(n: int, result: Outcome = Outcome.CREATED, error: str | None = None) -> OutcomeRecord:
    office365_id = None if result in (Outcome.FAILED, Outcome.SKIPPED) else f"AAMk{n}"
    return OutcomeRecord(str(n), f"Person {n}", f"p{n}@example.com", result, office365_id, error)


def start(repo: RunRepository, folder: str = "Central", selected: int = 3) -> int:
    return repo.start(started_by="Ann", mailbox=MAILBOX, folder_name=folder, selected=selected).id


def test_start_and_get(database: Database, clock: FakeClock) -> None:
    repo = RunRepository(database, clock)
    record = repo.start(started_by="Ann", mailbox=MAILBOX, folder_name="Central", selected=3)
    assert record.status is RunStatus.RUNNING
    assert (record.started_by, record.mailbox, record.folder_name) == ("Ann", MAILBOX, "Central")
    assert (record.selected, record.total, record.done) == (3, 0, 0)
    assert record.started_at == clock.now and record.started_at.utcoffset() == timedelta(0)
    assert record.finished_at is None and record.duration is None and record.error is None
    assert repo.get(record.id) == record
    assert repo.get(record.id + 1000) is None


def test_one_running_run_per_folder(database: Database) -> None:
    repo = RunRepository(database)
    first = start(repo)
    with pytest.raises(RunInProgress) as caught:
        repo.start(started_by="Bob", mailbox=MAILBOX.upper(), folder_name="CENTRAL", selected=1)
    assert caught.value.run_id == first
    assert (
        str(caught.value)
        == f"A synchronisation into folder Central is already running (run {first})."
    )
    assert repo.running(run_lock_key(MAILBOX, "Central")) == first
    other = start(repo, folder="Elsewhere")  # another folder is free
    repo.finish(first, RunStatus.FINISHED)
    assert repo.running(run_lock_key(MAILBOX, "Central")) is None
    assert start(repo) > other


def test_an_explicit_lock_key(database: Database) -> None:
    repo = RunRepository(database)
    first = repo.start(started_by="A", mailbox="me", folder_name="F", selected=1, lock_key="k")
    with pytest.raises(RunInProgress):
        repo.start(started_by="A", mailbox="x", folder_name="G", selected=1, lock_key="k")
    assert repo.running("k") == first.id


def test_set_total_and_target(database: Database) -> None:
    repo = RunRepository(database)
    run_id = start(repo, selected=0)
    repo.set_total(run_id, 5)
    record = repo.get(run_id)
    assert record is not None and (record.selected, record.total) == (0, 5)
    repo.set_total(run_id, 6, selected=6)
    repo.set_target(run_id, mailbox="me", folder_name="Other")
    record = repo.get(run_id)
    assert record is not None
    assert (record.selected, record.total, record.mailbox, record.folder_name) == (
        6,
        6,
        "me",
        "Other",
    )


def test_add_outcomes_bumps_counters_and_keeps_order(database: Database) -> None:
    repo = RunRepository(database)
    run_id = start(repo)
    other = start(repo, folder="Elsewhere")
    first = [outcome(1), outcome(2, Outcome.FAILED, "Office 365 refused the contact.")]
    second = [outcome(3, Outcome.UPDATED), outcome(4, Outcome.SKIPPED, "No updates."), outcome(5)]
    repo.add_outcomes(run_id, first)
    repo.add_outcomes(run_id, second)
    repo.add_outcomes(run_id, [])
    repo.add_outcomes(other, [outcome(9)])
    record = repo.get(run_id)
    assert record is not None
    assert (record.created, record.updated, record.failed, record.skipped) == (2, 1, 1, 1)
    assert record.done == 5
    assert repo.outcomes(run_id) == first + second
    assert repo.outcomes(run_id, only_failed=True) == [first[1]]
    assert repo.outcomes(run_id, limit=2, offset=1) == [first[1], second[0]]
    assert repo.outcomes(other) == [outcome(9)]


def test_outcomes_from_several_threads_all_count(database: Database) -> None:
    repo = RunRepository(database)
    run_id = start(repo)

    def write(base: int) -> None:
        for n in range(10):
            repo.add_outcomes(run_id, [outcome(base + n), outcome(base + n, Outcome.SKIPPED)])

    threads = [threading.Thread(target=write, args=(1000 * t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    record = repo.get(run_id)
    assert record is not None and (record.created, record.skipped) == (40, 40)
    assert len(repo.outcomes(run_id, limit=1000)) == 80


def test_finish(database: Database, clock: FakeClock) -> None:
    repo = RunRepository(database, clock)
    run_id = start(repo)
    clock.advance(timedelta(seconds=42))
    record = repo.finish(run_id, RunStatus.FAILED, "Central cannot be read.")
    assert record.status is RunStatus.FAILED and record.error == "Central cannot be read."
    assert record.finished_at == clock.now and record.duration == timedelta(seconds=42)
    clock.advance(timedelta(seconds=1))
    assert repo.finish(run_id, RunStatus.FINISHED) == record  # the first end wins
    with pytest.raises(ValueError):
        repo.finish(run_id, RunStatus.RUNNING)
    with pytest.raises(LookupError):
        repo.finish(run_id + 1000, RunStatus.FINISHED)


def test_recent_is_newest_first_and_pages(database: Database) -> None:
    repo = RunRepository(database)
    ids = []
    for n in range(5):
        ids.append(start(repo, folder=f"F{n}"))
    assert [r.id for r in repo.recent()] == ids[::-1]
    assert [r.id for r in repo.recent(limit=2, offset=1)] == [ids[3], ids[2]]
    assert repo.count() == 5


def test_mark_interrupted(database: Database) -> None:
    repo = RunRepository(database)
    left, kept, done = start(repo, "A"), start(repo, "B"), start(repo, "C")
    repo.finish(done, RunStatus.FINISHED)
    assert repo.mark_interrupted(keep=[kept]) == 1
    record = repo.get(left)
    assert record is not None and record.status is RunStatus.INTERRUPTED
    assert record.error == INTERRUPTED_MESSAGE and record.finished_at is not None
    kept_record, done_record = repo.get(kept), repo.get(done)
    assert kept_record is not None and kept_record.status is RunStatus.RUNNING
    assert done_record is not None and done_record.status is RunStatus.FINISHED
    start(repo, "A")  # the interrupted run's folder is free again
    assert repo.mark_interrupted() == 2


def test_a_run_says_why_and_until_when_it_waits(database: Database, clock: FakeClock) -> None:
    repo = RunRepository(database, clock)
    run_id = start(repo)
    repo.set_waiting(run_id, "Office 365 asked to wait (throttled: 429)", 100.0)
    waiting = repo.get(run_id)
    assert waiting is not None and waiting.waiting == "Office 365 asked to wait (throttled: 429)"
    assert waiting.waiting_until == clock.now + timedelta(seconds=100)
    repo.set_waiting(run_id, None)
    going = repo.get(run_id)
    assert going is not None and (going.waiting, going.waiting_until) == (None, None)
    repo.set_waiting(run_id, "Office 365 answers nothing but errors", 30.0)
    ended = repo.finish(run_id, RunStatus.FINISHED)
    assert (ended.waiting, ended.waiting_until) == (None, None)  # an ended run waits on nothing
