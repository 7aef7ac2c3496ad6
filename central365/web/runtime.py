"""What the web app holds while it runs: database, repositories, clients, plans and runs.

`Runtime.open` is called by the app's lifespan (never at import): it migrates the database when
the app opened it, marks runs left RUNNING by a dead process as interrupted, seeds the stored
settings from the start-up `Settings` on first start, and starts the `RunManager`.
`Runtime.close` waits briefly for runs and releases the database.

Plans are refreshed when a run ends (`RunManager`'s `on_finished`): the runtime remembers which
target and service each run it started belongs to.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace

import httpx

from central365.appdb import (
    AlertMailRepository,
    AppSettings,
    AuthChoice,
    Database,
    FolderCacheRepository,
    JournalRepository,
    Repositories,
    RunRepository,
    SecretBox,
    SettingsRepository,
    UserRepository,
    migrate,
    open_database,
)
from central365.appdb.leases import LeaseRepository
from central365.config import Settings
from central365.core.errors import Central365Error
from central365.engine.jobs import ABANDONED_TARGET_RUN, EmbeddedJobs
from central365.engine.plan_memo import PlanMemo
from central365.engine.runs import RunManager
from central365.engine.schedules import SchedulerThread, Schedules, TargetJobs
from central365.engine.service import SyncService
from central365.sources import load_mapping
from central365.web.bearer import BearerVerifier
from central365.web.clients import Clients
from central365.web.identity import IdentityClient
from central365.web.plans import PlanCache
from central365.web.sessions import SessionCookies
from central365.web.targets import Connector
from central365.web.tenancy import Tenancy, tenancy_of
from central365.wiring.alerting import alert_admins
from central365.wiring.connection import SignInMode
from central365.wiring.jobs import RefusedJobs, open_schedules, target_jobs
from central365.wiring.sign_in import is_pfx, read_pem

logger = logging.getLogger(__name__)

SHUTDOWN_WAIT_S = 10.0
#: Seconds a homepage visit waits for its plan before showing the plan's progress instead.
PLAN_WAIT_S = 2.0


@dataclass(frozen=True, slots=True)
class Injected:
    """What `create_app` was given instead of building it (tests, the demo)."""

    database: Database | None = None
    secret_box: SecretBox | None = None
    identity: IdentityClient | None = None
    bearer: BearerVerifier | None = None
    graph_transport: httpx.BaseTransport | None = None
    target_jobs: TargetJobs | None = None


def seed_settings(settings: Settings) -> AppSettings:
    """The first stored settings, from the start-up ones (environment and central365.toml)."""
    mapping = load_mapping(settings.central_mapping) if settings.central_mapping else None
    app_only = settings.auth is SignInMode.APP
    return AppSettings(
        folder_name=settings.folder,
        central_url=settings.central or "",
        central_table=settings.central_table,
        column_mapping=dict(mapping.renames) if mapping else {},
        auth_mode=AuthChoice.APP_ONLY if app_only else AuthChoice.DELEGATED,
        tenant_id=settings.tenant_id,
        client_id=settings.client_id,
        target_mailbox=settings.mailbox if settings.mailbox != "me" else None,
    )


def _certificate_pem(settings: Settings) -> str | None:
    path = settings.client_certificate
    if path is None or is_pfx(path):
        return None  # a .pfx is used from its file by the CLI; the web app takes PEM only
    return read_pem(path)


class Runtime:
    """The app's long-lived services; one per app, made by the lifespan."""

    def __init__(self, settings: Settings, injected: Injected) -> None:
        self.settings = settings
        #: Raises `ConfigError` before anything is opened when the tenant is not fixed.
        self.tenancy: Tenancy = tenancy_of(settings)
        self._owns_database = injected.database is None
        if injected.database is None:
            migrate(settings.app_database_url)
        self.database = injected.database or open_database(settings.app_database_url)
        self.secret_box = injected.secret_box or SecretBox.from_settings(settings)
        repositories = Repositories(self.database, self.secret_box)
        self.app_settings: SettingsRepository = repositories.settings
        self.users: UserRepository = repositories.users
        self.sessions = SessionCookies(
            repositories.sessions, secure=settings.public_url.startswith("https://")
        )
        self.runs: RunRepository = repositories.runs
        #: Where alerts about unattended runs are e-mailed (the Settings' e-mail alerts page).
        self.alert_mail = AlertMailRepository(self.database, self.secret_box)
        self.clients = Clients(
            settings,
            self.app_settings,
            identity=injected.identity,
            bearer=injected.bearer,
            tenant=self.tenancy.authority_tenant,
        )
        self.connector = Connector(
            settings,
            self.clients,
            self.users,
            injected.graph_transport,
            caches=FolderCacheRepository(self.database).for_mailbox,
            memo=PlanMemo(),
        )
        self.plans = PlanCache()
        #: Seconds a homepage visit waits for a plan being made before showing its progress.
        self.plan_wait = PLAN_WAIT_S
        self._run_plans: dict[int, tuple[str, Callable[[], AbstractContextManager[SyncService]]]]
        self._run_plans = {}
        self._ended_early: set[int] = set()
        self._run_plans_lock = threading.Lock()
        if self.app_settings.load() is None:
            self.app_settings.save(
                seed_settings(settings),
                client_secret=(
                    settings.client_secret.get_secret_value() if settings.client_secret else None
                ),
                client_certificate_pem=_certificate_pem(settings),
                by="start-up settings",
            )
        #: What central365 remembers of its runs, shared with the command line (`appdb.journal`).
        self.journal = JournalRepository(self.database)
        self.run_manager = RunManager(
            self.runs,
            on_finished=self._run_finished,
            leases=LeaseRepository(self.database),
            journal=self.journal,
        )
        self.run_manager.mark_interrupted()  # runs a stopped process left RUNNING
        #: Targets' runs (Run now, the schedules): on Celery when a broker is set, else on a
        #: small thread pool here; the scheduler fires each due slot once (`engine.schedules`);
        #: the admins are e-mailed when a run needs a person (`wiring.alerting`).
        self.target_jobs: TargetJobs = injected.target_jobs or target_jobs(
            settings,
            self.database,
            transport=injected.graph_transport,
            on_finished=alert_admins(settings, self.alert_mail),
        )
        self.schedules: Schedules = open_schedules(settings, self.database, self.target_jobs)
        if isinstance(self.target_jobs, EmbeddedJobs):  # their jobs died with the last serve
            self.schedules.repository.abandon_running(ABANDONED_TARGET_RUN)
        self.scheduler: SchedulerThread | None = (
            SchedulerThread(self.schedules, settings.scheduler_interval).start()
            if any(t.schedule for t in settings.targets)
            else None
        )

    @property
    def targets_refused(self) -> str | None:
        """Why no target can run from here (no app sign-in), or None when they can."""
        jobs = self.target_jobs
        return jobs.reason if isinstance(jobs, RefusedJobs) else None

    @property
    def redirect_uri(self) -> str:
        return f"{self.settings.public_url.rstrip('/')}/auth/callback"

    def load_app_settings(self) -> AppSettings:
        """The stored settings, with the start-up tenant (the web cannot change the tenant)."""
        found = self.app_settings.load()
        if found is None:  # only if someone emptied the table while the app ran
            found = seed_settings(self.settings)
        return replace(found, tenant_id=self.tenancy.authority_tenant)

    def remember_run(
        self,
        run_id: int,
        plan_key: str,
        factory: Callable[[], AbstractContextManager[SyncService]],
    ) -> None:
        """Which plan to refresh when run `run_id` ends (now, if it has already ended)."""
        self.plans.mark_stale(plan_key)
        with self._run_plans_lock:
            ended_already = run_id in self._ended_early
            self._ended_early.discard(run_id)
            if not ended_already:
                self._run_plans[run_id] = (plan_key, factory)
        if ended_already:  # a tiny run can end before `start` has returned to its caller
            self._replan(run_id, plan_key, factory)

    def _run_finished(self, run_id: int) -> None:
        """`RunManager`'s end-of-run hook: plan again, so the homepage shows Office 365 now."""
        with self._run_plans_lock:
            entry = self._run_plans.pop(run_id, None)
            if entry is None:
                self._ended_early.add(run_id)
                return
        self._replan(run_id, *entry)

    def _replan(
        self,
        run_id: int,
        key: str,
        factory: Callable[[], AbstractContextManager[SyncService]],
    ) -> None:
        try:
            with factory() as service:
                self.plans.refresh(key, service.plan)  # holds the key's lock: visits wait
        except Central365Error as exc:
            # The run itself ended; a failed replan only means the next visit plans again.
            logger.warning("Could not plan again after run %d: %s", run_id, exc.message)
            self.plans.forget(key)

    def close(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
        self.target_jobs.shutdown(wait=False)
        self.run_manager.shutdown(SHUTDOWN_WAIT_S)
        self.clients.close()
        if self._owns_database:
            self.database.dispose()
