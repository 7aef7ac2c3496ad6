"""The composition of unattended runs: what a worker or `serve` needs to run a target's jobs.

`job_openers` turns the start-up settings (central365.toml and the environment: app sign-in,
Central, the targets) and the application database into the engine's `JobOpeners`: a mailbox's
`SyncService` (with the folder cache, so a nightly run with nothing changed reads only Graph's
delta; Central read once per target run in the process, `engine.shared_reads`), its run held under the folder's lease and recorded in History, the target's mailboxes
(a group's users read over Graph), and the end-of-run hook.  `target_jobs` picks the runner:
Celery when `CENTRAL365_BROKER_URL` is set, else the embedded thread pool.

Must not: import a front end (a worker runs without them).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from datetime import timedelta

import httpx

from central365.appdb import Database, FolderCacheRepository, ScheduleRepository, run_lock_key
from central365.appdb.leases import LeaseRepository, folder_lease
from central365.config import Settings
from central365.core.errors import Central365Error, ConfigError
from central365.core.targets import SyncTarget
from central365.engine.jobs import EmbeddedJobs, JobOpeners, OnTargetFinished, log_target_finished
from central365.engine.recorded import recorded_run
from central365.engine.schedules import Schedules, TargetJobs
from central365.engine.service import SyncService
from central365.engine.shared_reads import SharedReads
from central365.engine.targets import HoldRun, MailboxRun, OpenService
from central365.wiring.connection import SignInMode
from central365.wiring.open import group_mailboxes, open_service
from central365.wiring.settings import connection_from_settings
from central365.wiring.sign_in import sign_in_auth

log = logging.getLogger(__name__)

APP_SIGN_IN_ONLY = (
    "Targets need app sign-in: set CENTRAL365_AUTH=app with the app's certificate (or secret), "
    "since a device sign-in reaches only the signed-in person's own mailbox."
)


def target_finished_hook(settings: Settings) -> OnTargetFinished:
    """What is told when a target run ends (the admins' e-mail goes here): for now one log
    line.  Every runner and scheduler takes its hook from this one place."""
    return log_target_finished


def holder_name(role: str) -> str:
    """Who holds a folder's lease, as a refused run names it: role, host and process."""
    return f"central365 {role} on {socket.gethostname()} (process {os.getpid()})"


def _no_device_code(_: str) -> None:  # pragma: no cover - app sign-in never shows a code
    raise ConfigError(APP_SIGN_IN_ONLY)


def job_openers(
    settings: Settings,
    database: Database,
    *,
    role: str = "worker",
    transport: httpx.BaseTransport | None = None,
    on_finished: OnTargetFinished | None = None,
) -> JobOpeners:
    """The engine's openers for the targets of `settings`, over `database`.

    `transport` is borrowed for Graph (tests, the in-process sandbox).  Raises `ConfigError`
    when the settings sign in as a person (device code), not as the app.
    """
    connection = connection_from_settings(settings)
    if connection.sign_in.mode is SignInMode.DEVICE:
        raise ConfigError(APP_SIGN_IN_ONLY)
    auth = sign_in_auth(connection.sign_in, _no_device_code)  # one token cache per process
    leases = LeaseRepository(database)
    caches = FolderCacheRepository(database).for_mailbox
    ttl = timedelta(seconds=settings.lease_seconds)
    holder = holder_name(role)

    reads = SharedReads()  # one read of Central per target run in this process

    def opener(target: SyncTarget, target_run_id: int) -> OpenService:
        def open_for(mailbox: str) -> AbstractContextManager[SyncService]:
            return open_service(
                replace(connection, mailbox=mailbox, label=None, folder=target.folder),
                auth,
                transport=transport,
                caches=caches,
                shared=lambda source: reads.source(target_run_id, source),
            )

        return open_for

    def holder_of(target: SyncTarget) -> HoldRun:
        @contextmanager
        def hold(mailbox: str) -> Iterator[MailboxRun | None]:
            with (
                folder_lease(
                    leases,
                    run_lock_key(mailbox, target.folder),
                    holder,
                    folder_name=target.folder,
                    ttl=ttl,
                ) as kept,
                recorded_run(
                    database,
                    kept.lease,
                    mailbox,
                    target.folder,
                    started_by=f"target {target.name} ({holder})",
                ) as run,
            ):
                yield run

        return hold

    def resolve(target: SyncTarget) -> Sequence[str]:
        if target.me:  # nobody is signed in for a job: the person runs it (sync --target)
            raise ConfigError(
                f"Target {target.name} is the signed-in person's own mailbox: it runs only "
                f"when they run it (central365 sync --target {target.name})."
            )
        if target.group is None:
            return target.mailboxes
        return group_mailboxes(connection, auth, target.group, transport=transport)

    return JobOpeners(
        open_service=opener,
        hold_run=holder_of,
        resolve=resolve,
        repository=ScheduleRepository(database),
        on_finished=on_finished or target_finished_hook(settings),
    )


def target_jobs(
    settings: Settings,
    database: Database,
    *,
    transport: httpx.BaseTransport | None = None,
    on_finished: OnTargetFinished | None = None,
) -> TargetJobs:
    """Celery when a broker is set (the workers run the jobs), else a thread pool here."""
    if not settings.targets:
        return RefusedJobs(
            ConfigError(
                "No target is set: add a [targets.NAME] table to central365.toml (see README)."
            )
        )
    if settings.broker_url:
        from central365.worker.celery_app import CeleryJobs, make_celery

        return CeleryJobs(make_celery(settings))
    try:
        openers = job_openers(
            settings, database, role="serve", transport=transport, on_finished=on_finished
        )
    except Central365Error as exc:
        return RefusedJobs(ConfigError(exc.message))
    return EmbeddedJobs(openers, threads=settings.job_threads, max_attempts=settings.job_attempts)


class RefusedJobs:
    """The settings cannot run targets (no app sign-in): each start says so, in one sentence."""

    def __init__(self, why: ConfigError) -> None:
        self._why = why

    @property
    def reason(self) -> str:
        """Why targets cannot run here (the Schedules page says it before Run now is pressed)."""
        return self._why.message

    def start(self, target: SyncTarget, target_run_id: int) -> None:
        raise ConfigError(self._why.message)

    def shutdown(self, wait: bool = True) -> None:
        """Nothing runs here."""


def open_schedules(settings: Settings, database: Database, jobs: TargetJobs) -> Schedules:
    """The Schedules API over the settings' targets and the application database."""
    return Schedules(
        settings.targets,
        ScheduleRepository(database),
        jobs,
        on_finished=target_finished_hook(settings),
    )
