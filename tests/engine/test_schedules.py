"""The Schedules API: next run times in the target's zone, Run now, pause, and a tick that
fires each due slot once — also with two schedulers sharing the database."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from central365.appdb import (
    Database,
    ScheduleRepository,
    TargetRunStatus,
    TargetTrigger,
    migrate,
    open_database,
)
from central365.core.targets import SyncTarget
from central365.engine.schedules import (
    SchedulerThread,
    Schedules,
    TargetBusy,
    UnknownTarget,
    current_slot,
    next_slot,
)

STAFF = SyncTarget(
    name="staff",
    folder="Central Contacts",
    mailboxes=("ann@contoso.test", "bob@contoso.test"),
    schedule="0 2 * * *",
    timezone="Europe/London",
)
ADHOC = SyncTarget(name="adhoc", folder="Central Contacts", mailboxes=("cy@contoso.test",))


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class RecordingJobs:
    """Takes the target runs it is handed; `broken` makes queueing fail like a dead broker."""

    def __init__(self, broken: bool = False) -> None:
        self.started: list[tuple[str, int]] = []
        self.broken = broken

    def start(self, target: SyncTarget, target_run_id: int) -> None:
        if self.broken:
            raise ConnectionError("broker down")
        self.started.append((target.name, target_run_id))

    def shutdown(self, wait: bool = True) -> None:
        self.broken = True


@pytest.fixture
def database(tmp_path: Path) -> Database:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate(url)
    return open_database(url)


def test_slots_are_the_crons_times_in_the_targets_zone() -> None:
    summer = datetime(2025, 7, 1, 12, 0, tzinfo=UTC)  # London is UTC+1
    assert current_slot("0 2 * * *", "Europe/London", summer) == datetime(
        2025, 7, 1, 1, 0, tzinfo=UTC
    )
    assert next_slot("0 2 * * *", "Europe/London", summer) == datetime(2025, 7, 2, 1, 0, tzinfo=UTC)
    on_the_slot = datetime(2025, 7, 1, 1, 0, tzinfo=UTC)
    assert current_slot("0 2 * * *", "Europe/London", on_the_slot) == on_the_slot


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1)))
def test_the_current_slot_is_never_after_now_and_the_next_always_after(naive: datetime) -> None:
    now = naive.replace(tzinfo=UTC)
    for cron in ("*/15 * * * *", "0 2 * * 1-5", "30 1 1 * *"):
        slot = current_slot(cron, "America/New_York", now)
        following = next_slot(cron, "America/New_York", now)
        assert slot <= now < following
        assert next_slot(cron, "America/New_York", slot) >= following


def test_list_shows_every_target_with_its_next_run_and_last_run(database: Database) -> None:
    clock = Clock(datetime(2025, 1, 10, 9, 0, tzinfo=UTC))
    jobs = RecordingJobs()
    schedules = Schedules([STAFF, ADHOC], ScheduleRepository(database, clock), jobs, clock=clock)
    run_id = schedules.run_now("staff", "Ann")

    views = {v.name: v for v in schedules.list_schedules()}

    assert views["staff"].next_run == datetime(2025, 1, 11, 2, 0, tzinfo=UTC)
    assert views["staff"].cron == "0 2 * * *" and views["staff"].timezone == "Europe/London"
    assert views["staff"].last_run is not None and views["staff"].last_run.id == run_id
    assert views["staff"].last_run.trigger is TargetTrigger.RUN_NOW
    assert views["adhoc"].next_run is None and views["adhoc"].last_run is None
    assert jobs.started == [("staff", run_id)]


def test_run_now_refuses_while_the_target_runs_and_names_unknown_targets(
    database: Database,
) -> None:
    clock = Clock(datetime(2025, 1, 10, 9, 0, tzinfo=UTC))
    schedules = Schedules(
        [STAFF], ScheduleRepository(database, clock), RecordingJobs(), clock=clock
    )
    first = schedules.run_now("staff", "Ann")

    with pytest.raises(TargetBusy, match=f"run {first}"):
        schedules.run_now("staff", "Bob")
    with pytest.raises(UnknownTarget, match=r"\[targets.nobody\]"):
        schedules.run_now("nobody", "Ann")

    clock.now += timedelta(hours=13)  # that run's process must have died
    assert schedules.run_now("staff", "Bob") > first


def test_a_broker_that_is_down_fails_the_run_with_what_to_check(database: Database) -> None:
    clock = Clock(datetime(2025, 1, 10, 9, 0, tzinfo=UTC))
    schedules = Schedules(
        [STAFF], ScheduleRepository(database, clock), RecordingJobs(broken=True), clock=clock
    )
    run = schedules.target_run(schedules.run_now("staff", "Ann"))

    assert run is not None and run.status is TargetRunStatus.FAILED
    assert run.error is not None and "CENTRAL365_BROKER_URL" in run.error


def test_tick_fires_each_slot_once_even_with_two_schedulers(database: Database) -> None:
    clock = Clock(datetime(2025, 1, 10, 9, 0, tzinfo=UTC))
    jobs = RecordingJobs()
    one = Schedules([STAFF, ADHOC], ScheduleRepository(database, clock), jobs, clock=clock)
    two = Schedules([STAFF, ADHOC], ScheduleRepository(database, clock), jobs, clock=clock)

    assert one.tick() == [] and two.tick() == []  # first sight: waits for the next slot
    clock.now = datetime(2025, 1, 11, 2, 0, 30, tzinfo=UTC)
    fired = two.tick() + one.tick() + one.tick()

    assert len(fired) == 1 and jobs.started == [("staff", fired[0])]
    run = one.target_run(fired[0])
    assert run is not None and run.slot == datetime(2025, 1, 11, 2, 0, tzinfo=UTC)
    assert run.trigger is TargetTrigger.SCHEDULE


def test_a_paused_schedule_does_not_fire_and_resuming_skips_missed_slots(
    database: Database,
) -> None:
    clock = Clock(datetime(2025, 1, 10, 9, 0, tzinfo=UTC))
    jobs = RecordingJobs()
    schedules = Schedules([STAFF], ScheduleRepository(database, clock), jobs, clock=clock)
    schedules.tick()
    view = schedules.pause("staff", True, "Ann")
    assert view.paused is True

    clock.now = datetime(2025, 1, 11, 2, 1, tzinfo=UTC)
    assert schedules.tick() == []
    assert schedules.pause("staff", False, "Ann").paused is False
    assert schedules.tick() == []  # the slot that passed while paused is not caught up
    clock.now = datetime(2025, 1, 12, 2, 1, tzinfo=UTC)
    assert len(schedules.tick()) == 1


def test_a_scheduler_down_for_long_skips_the_stale_slot(database: Database) -> None:
    clock = Clock(datetime(2025, 1, 10, 9, 0, tzinfo=UTC))
    jobs = RecordingJobs()
    schedules = Schedules([STAFF], ScheduleRepository(database, clock), jobs, clock=clock)
    schedules.tick()
    clock.now = datetime(2025, 1, 11, 7, 0, tzinfo=UTC)  # 5 h after the 02:00 slot

    assert schedules.tick() == [] and jobs.started == []
    assert [r.id for r in schedules.target_runs("staff")] == []


def test_two_scheduler_threads_racing_fire_a_slot_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'race.db'}"
    migrate(url)
    clock = Clock(datetime(2025, 1, 10, 9, 0, tzinfo=UTC))
    jobs = RecordingJobs()
    opened = [open_database(url) for _ in range(2)]  # each scheduler its own engine
    schedules = [
        Schedules([STAFF], ScheduleRepository(db, clock), jobs, clock=clock) for db in opened
    ]
    schedules[0].tick()  # first sight: the current slot counts as fired
    clock.now = datetime(2025, 1, 11, 2, 0, 5, tzinfo=UTC)
    threads = [SchedulerThread(s, 0.005).start() for s in schedules]
    time.sleep(0.5)
    for thread in threads:
        thread.stop()
    for db in opened:
        db.dispose()

    assert len(jobs.started) == 1
