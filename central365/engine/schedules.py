"""Schedules: when each target runs next, Run now, pause, and the scheduler's tick.

`Schedules` is what a front end calls (the homepage's Schedules page, `central365 worker
--beat`, `serve`'s embedded scheduler) without knowing how the jobs run: it records a target
run in the application database and hands it to a `TargetJobs` (a thread pool inside `serve`,
or Celery when `CENTRAL365_BROKER_URL` is set), which runs each mailbox as its own job.

The targets and their cron come from `central365.toml` (read-only here); the database keeps
what changes while the tool runs: paused or not, the last slot fired, and the runs.

Cron slots: a slot is a time the cron expression names, in the target's time zone, stored in
UTC.  `tick` fires the latest slot at or before now when it has not fired yet and is less than
`misfire_grace` old (a scheduler that was down all night runs the missed slot once on waking,
not a night's worth of them, and not one from last week); the claim in the database
(`ScheduleRepository.claim_slot`) makes it fire once whatever the number of schedulers.  A
schedule seen for the first time counts its current slot as fired: it waits for the next one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from croniter import croniter

from central365.appdb import (
    ScheduleRepository,
    TargetRunRecord,
    TargetRunStatus,
    TargetTrigger,
)
from central365.appdb.clock import Now, utc_now
from central365.core.errors import Central365Error
from central365.core.targets import SyncTarget
from central365.engine.jobs import OnTargetFinished, log_target_finished, outcome_of

log = logging.getLogger(__name__)

#: The oldest missed slot a scheduler still fires on waking.
MISFIRE_GRACE = timedelta(hours=1)
#: A target run still RUNNING after this long is taken as lost (its process died): Run now
#: may start another.
STALE_TARGET_RUN = timedelta(hours=12)


class UnknownTarget(Central365Error):
    """No target of the settings file has that name."""


class TargetBusy(Central365Error):
    """The target is running already: Run now waits for that run to end."""


class TargetJobs(Protocol):
    """Runs a recorded target run: reads its mailboxes (a group's members), then runs each
    mailbox as its own job.  `start` returns at once (the work is queued)."""

    def start(self, target: SyncTarget, target_run_id: int) -> None: ...

    def shutdown(self, wait: bool = True) -> None:
        """Take no more jobs (at the end of the process that queued them)."""


def current_slot(cron: str, timezone: str, now: datetime) -> datetime:
    """The latest time at or before `now` that `cron` names in `timezone`, in UTC."""
    local = now.astimezone(ZoneInfo(timezone))
    if local.second == 0 and local.microsecond == 0 and croniter.match(cron, local):
        return local.astimezone(UTC)  # get_prev is strictly before its start
    previous: datetime = croniter(cron, local).get_prev(datetime)
    return previous.astimezone(UTC)


def next_slot(cron: str, timezone: str, now: datetime) -> datetime:
    """The first time after `now` that `cron` names in `timezone`, in UTC."""
    local = now.astimezone(ZoneInfo(timezone))
    following: datetime = croniter(cron, local).get_next(datetime)
    return following.astimezone(UTC)


@dataclass(frozen=True)
class ScheduleView:
    """One target as the Schedules page shows it.

    `cron`, `timezone` and `next_run` are None for a target without a schedule (it runs only
    by Run now or the command line); `next_run` is when it would fire next even when paused.
    """

    target: SyncTarget
    paused: bool
    cron: str | None
    timezone: str | None
    next_run: datetime | None
    last_run: TargetRunRecord | None

    @property
    def name(self) -> str:
        return self.target.name


class Schedules:
    """The targets' schedules over the application database and a way to run jobs."""

    def __init__(
        self,
        targets: Sequence[SyncTarget],
        repository: ScheduleRepository,
        jobs: TargetJobs,
        *,
        clock: Now = utc_now,
        misfire_grace: timedelta = MISFIRE_GRACE,
        on_finished: OnTargetFinished = log_target_finished,
    ) -> None:
        self._on_finished = on_finished
        self._targets = {t.name: t for t in targets}
        self._repository = repository
        self._jobs = jobs
        self._clock = clock
        self._grace = misfire_grace

    @property
    def repository(self) -> ScheduleRepository:
        return self._repository

    def target(self, name: str) -> SyncTarget:
        """The target `name`; `UnknownTarget` when the settings file has none by that name."""
        found = self._targets.get(name)
        if found is None:
            raise UnknownTarget(
                f"No target is called {name}: add it as [targets.{name}] to central365.toml, "
                "or pick one of those listed."
            )
        return found

    def list_schedules(self) -> list[ScheduleView]:
        """Every target of the settings file, by name, with its schedule and last run."""
        states = self._repository.states()
        last = self._repository.last_target_runs(list(self._targets))
        now = self._clock()
        views = []
        for name in sorted(self._targets):
            target = self._targets[name]
            state = states.get(name)
            views.append(
                ScheduleView(
                    target=target,
                    paused=state.paused if state is not None else False,
                    cron=target.schedule,
                    timezone=target.timezone,
                    next_run=_next(target, now),
                    last_run=last.get(name),
                )
            )
        return views

    def schedule(self, name: str) -> ScheduleView:
        """One target as `list` shows it."""
        self.target(name)
        return next(v for v in self.list_schedules() if v.name == name)

    def pause(self, name: str, paused: bool, by: str) -> ScheduleView:
        """Pause (or resume) the target's schedule: a paused target fires no slot (Run now
        still runs it).  A resumed schedule waits for its next slot."""
        target = self.target(name)
        if not paused and target.schedule is not None and target.timezone is not None:
            # slots that passed while paused are not caught up on resuming
            slot = current_slot(target.schedule, target.timezone, self._clock())
            self._repository.ensure(name, slot)
            self._repository.set_paused(name, False, by)
            self._repository.claim_slot(name, slot)
        else:
            self._repository.set_paused(name, paused, by)
        log.info("Schedule of target %s %s by %s", name, "paused" if paused else "resumed", by)
        return self.schedule(name)

    def run_now(self, name: str, requested_by: str) -> int:
        """Start a run of the target now; its target run id.  `TargetBusy` when a run of it
        is still going (unless that run is so old its process must have died)."""
        target = self.target(name)
        now = self._clock()
        for run in self._repository.target_runs(targets=[name], limit=5):
            if run.status is TargetRunStatus.RUNNING and now - run.started_at < STALE_TARGET_RUN:
                raise TargetBusy(
                    f"Target {name} is running already (run {run.id}, started "
                    f"{run.started_at:%d %b %Y, %H:%M} UTC): wait for it to end, then run it again."
                )
        return self._start(target, TargetTrigger.RUN_NOW, requested_by, None)

    def _start(
        self, target: SyncTarget, trigger: TargetTrigger, by: str, slot: datetime | None
    ) -> int:
        target_run_id = self._repository.start_target_run(
            target.name, trigger=trigger, requested_by=by, slot=slot
        )
        try:
            self._jobs.start(target, target_run_id)
        except Exception as exc:  # the broker is down: the run is recorded as failed
            log.error("Could not queue target %s (%s)", target.name, type(exc).__name__)
            ended = self._repository.fail_target_run(
                target_run_id,
                exc.message
                if isinstance(exc, Central365Error)
                else f"The run could not be queued ({type(exc).__name__}): check that the "
                "task queue (CENTRAL365_BROKER_URL) is reachable, then run the target again.",
            )
            if ended is not None and ended.trigger is TargetTrigger.SCHEDULE:
                self._on_finished(target.name, outcome_of(ended), target_run_id)
        return target_run_id

    def target_runs(
        self, target: str | None = None, *, limit: int = 50, offset: int = 0
    ) -> list[TargetRunRecord]:
        """Target runs, newest first, with their mailboxes (of one target when named)."""
        targets = None if target is None else [target]
        return self._repository.target_runs(targets=targets, limit=limit, offset=offset)

    def target_run(self, target_run_id: int) -> TargetRunRecord | None:
        return self._repository.target_run(target_run_id)

    def tick(self) -> list[int]:
        """Fire every due schedule that no scheduler has fired yet; the target runs started."""
        now = self._clock()
        started = []
        for target in self._targets.values():
            if target.schedule is None or target.timezone is None:
                continue
            slot = current_slot(target.schedule, target.timezone, now)
            state = self._repository.ensure(target.name, slot)
            if state.paused or (
                state.last_fired_slot is not None and state.last_fired_slot >= slot
            ):
                continue
            if not self._repository.claim_slot(target.name, slot):
                continue  # another scheduler fired it
            if now - slot > self._grace:
                log.warning(
                    "Target %s missed its run of %s (the scheduler was down); it runs at its "
                    "next time",
                    target.name,
                    slot.isoformat(),
                )
                continue
            started.append(self._start(target, TargetTrigger.SCHEDULE, "schedule", slot))
        return started


def _next(target: SyncTarget, now: datetime) -> datetime | None:
    if target.schedule is None or target.timezone is None:
        return None
    return next_slot(target.schedule, target.timezone, now)


class SchedulerThread:
    """Calls `Schedules.tick` every `interval` seconds in a daemon thread until `stop`.

    Any number of these may run (one per `serve`, per `worker --beat`): the slot claim in the
    database fires each slot once.  A tick that fails (the database is away) is logged and the
    next one tries again.
    """

    def __init__(self, schedules: Schedules, interval: float) -> None:
        self._schedules = schedules
        self._interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="central365-scheduler", daemon=True)

    def start(self) -> SchedulerThread:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while True:
            try:
                self._schedules.tick()
            except Exception as exc:
                log.error("The scheduler's tick failed (%s); trying again", type(exc).__name__)
            if self._stopping.wait(self._interval):
                return

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()
