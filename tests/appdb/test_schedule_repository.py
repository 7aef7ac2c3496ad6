"""Schedules' state and target runs on SQLite and PostgreSQL: one claim per slot however many
schedulers race, pause, and a target run ended exactly once by its last mailbox."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from central365.appdb import (
    Database,
    MailboxJobStatus,
    RunRepository,
    ScheduleRepository,
    TargetRunStatus,
    TargetTrigger,
    open_database,
)

from .conftest import FakeClock

SLOT = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)


def test_a_new_schedule_counts_its_current_slot_as_fired(
    database: Database, clock: FakeClock
) -> None:
    repo = ScheduleRepository(database, clock)
    state = repo.ensure("staff", SLOT)

    assert state.paused is False
    assert state.last_fired_slot == SLOT
    assert repo.claim_slot("staff", SLOT) is False
    assert repo.claim_slot("staff", SLOT + timedelta(days=1)) is True
    assert repo.claim_slot("staff", SLOT + timedelta(days=1)) is False
    assert repo.states()["staff"].last_fired_slot == SLOT + timedelta(days=1)


def test_a_paused_schedule_claims_nothing_and_says_who_paused_it(
    database: Database, clock: FakeClock
) -> None:
    repo = ScheduleRepository(database, clock)
    repo.ensure("staff", SLOT)
    state = repo.set_paused("staff", True, "Ann")

    assert (state.paused, state.updated_by) == (True, "Ann")
    assert repo.claim_slot("staff", SLOT + timedelta(days=1)) is False
    repo.set_paused("staff", False, "Bob")
    assert repo.claim_slot("staff", SLOT + timedelta(days=1)) is True


def test_of_many_schedulers_racing_for_a_slot_exactly_one_wins(
    database: Database, db_url: str
) -> None:
    ScheduleRepository(database).ensure("staff", SLOT)
    wins: list[bool] = []
    start = threading.Barrier(6)

    def scheduler() -> None:
        own = open_database(db_url)  # each scheduler its own engine, as separate processes
        try:
            repo = ScheduleRepository(own)
            start.wait()
            wins.append(repo.claim_slot("staff", SLOT + timedelta(days=1)))
        finally:
            own.dispose()

    threads = [threading.Thread(target=scheduler) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(wins) == [False] * 5 + [True]


def test_the_last_mailbox_ends_the_target_run_once(database: Database, clock: FakeClock) -> None:
    repo = ScheduleRepository(database, clock)
    run_id = repo.start_target_run(
        "staff", trigger=TargetTrigger.SCHEDULE, requested_by="schedule", slot=SLOT
    )
    repo.add_mailboxes(run_id, ["ann@contoso.test", "bob@contoso.test", "ANN@contoso.test"])
    history = RunRepository(database, clock).start(
        started_by="worker", mailbox="ann@contoso.test", folder_name="C", selected=0
    )
    repo.mailbox_started(run_id, "ann@contoso.test", history.id)

    assert repo.mailbox_finished(run_id, "ann@contoso.test", created=3) is None
    clock.advance(timedelta(minutes=2))
    ended = repo.mailbox_finished(run_id, "bob@contoso.test", error="Refused.", refused=True)
    again = repo.mailbox_finished(run_id, "bob@contoso.test", created=9)

    assert ended is not None and again is None
    assert ended.status is TargetRunStatus.FAILED
    assert ended.finished_at == clock.now
    assert [(m.mailbox, m.created, m.refused, m.run_id, m.attempts) for m in ended.mailboxes] == [
        ("ann@contoso.test", 3, False, history.id, 1),
        ("bob@contoso.test", 0, True, None, 0),
    ]
    assert all(m.status is MailboxJobStatus.DONE for m in ended.mailboxes)
    assert repo.target_run_of([history.id, 999]) == {history.id: run_id}


def test_target_runs_are_listed_newest_first_with_each_targets_last(
    database: Database, clock: FakeClock
) -> None:
    repo = ScheduleRepository(database, clock)
    first = repo.start_target_run("staff", trigger=TargetTrigger.RUN_NOW, requested_by="Ann")
    repo.add_mailboxes(first, ["ann@contoso.test"])
    finished = repo.mailbox_finished(first, "ann@contoso.test", created=1)
    second = repo.start_target_run("staff", trigger=TargetTrigger.COMMAND, requested_by="cli")
    other = repo.start_target_run("sales", trigger=TargetTrigger.SCHEDULE, requested_by="s")
    failed = repo.fail_target_run(other, "The group could not be read.")

    assert finished is not None and finished.status is TargetRunStatus.FINISHED
    assert failed is not None and failed.error == "The group could not be read."
    assert repo.fail_target_run(other, "again") is None
    assert [r.id for r in repo.target_runs()] == [other, second, first]
    assert [r.id for r in repo.target_runs(targets=["staff"], limit=1)] == [second]
    assert repo.count_target_runs(targets=["staff"]) == 2
    last = repo.last_target_runs(["staff", "sales", "never"])
    assert {k: v.id for k, v in last.items()} == {"staff": second, "sales": other}
    assert repo.target_run(first) == repo.target_runs(targets=["staff"])[1]
    assert repo.target_run(12345) is None
    assert repo.end_if_done(second) is not None  # no mailboxes: ends at once
    assert repo.target_run_of([]) == {}


def test_running_target_runs_of_a_stopped_process_are_ended(
    database: Database, clock: FakeClock
) -> None:
    repo = ScheduleRepository(database, clock)
    run_id = repo.start_target_run("staff", trigger=TargetTrigger.SCHEDULE, requested_by="s")
    repo.add_mailboxes(run_id, ["ann@contoso.test", "bob@contoso.test"])
    repo.mailbox_finished(run_id, "ann@contoso.test", created=2)

    (ended,) = repo.abandon_running("central365 stopped.")

    assert ended.id == run_id and ended.status is TargetRunStatus.FAILED
    assert [m.error for m in ended.mailboxes] == [None, "central365 stopped."]
    assert repo.abandon_running("again") == []
