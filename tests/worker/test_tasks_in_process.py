"""The Celery tasks in process (eager, an in-memory broker): the expansion queues each
mailbox, a mailbox task writes and records it, a busy folder is retried until the tries run
out and then is that mailbox's error, and a target the worker does not know fails the run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from central365.appdb import (
    Database,
    ScheduleRepository,
    TargetRunStatus,
    TargetTrigger,
    migrate,
    open_database,
    run_lock_key,
)
from central365.appdb.leases import LeaseRepository
from central365.config import Settings, load_settings
from central365.core.model import CANONICAL_COLUMNS
from central365.mailstore.store import SandboxStore
from central365.sandbox.app import create_sandbox_app
from central365.sandbox.faults import FaultConfig
from central365.sandbox.transport import InProcessTransport
from central365.sources.csv_source import write_csv
from central365.worker.celery_app import (
    EXPAND_TASK,
    MAILBOX_TASK,
    CeleryJobs,
    make_celery,
    result_backend_of,
)
from central365.worker.tasks import register_tasks

ANN, BOB = "ann@contoso.test", "bob@contoso.test"
FOLDER = "Central Contacts"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    rows = [
        {"id": str(n), "status": "active", "first_name": f"P{n}", "last_name": "T",
         "email": f"p{n}@example.com"}
        for n in range(5)
    ]  # fmt: skip
    write_csv(tmp_path / "central.csv", rows, CANONICAL_COLUMNS)
    file = tmp_path / "central365.toml"
    file.write_text(
        f'central = "csv:{tmp_path / "central.csv"}"\n'
        f'database_url = "sqlite:///{tmp_path / "app.db"}"\n'
        'graph_url = "http://sandbox.test/v1.0"\nauth = "sandbox"\n'
        'broker_url = "memory://"\njob_attempts = 2\n'
        f'[targets.pair]\nmailboxes = ["{ANN}", "{BOB}"]\nfolder = "{FOLDER}"\n',
        encoding="utf-8",
    )
    return load_settings({}, file)


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    migrate(settings.app_database_url)
    db = open_database(settings.app_database_url)
    yield db
    db.dispose()


@pytest.fixture
def app(settings: Settings, database: Database) -> Iterator[Any]:
    store = SandboxStore(default_mailbox=ANN, mailboxes=(BOB,))
    transport = InProcessTransport(create_sandbox_app(store, FaultConfig()))
    celery = make_celery(settings)
    register_tasks(celery, settings, database, transport=transport)
    yield celery
    celery.close()
    transport.close()


def test_the_tasks_expand_a_target_and_write_each_mailbox(
    app: Any, database: Database, settings: Settings
) -> None:
    repo = ScheduleRepository(database)
    run_id = repo.start_target_run("pair", trigger=TargetTrigger.RUN_NOW, requested_by="Ann")
    queued = app.tasks[EXPAND_TASK].apply(args=["pair", run_id]).get()
    assert queued == [ANN, BOB]

    outcomes = [app.tasks[MAILBOX_TASK].apply(args=["pair", run_id, m]).get() for m in queued]

    assert [(o["mailbox"], o["created"], o["error"]) for o in outcomes] == [
        (ANN, 5, None),
        (BOB, 5, None),
    ]
    run = repo.target_run(run_id)
    assert run is not None and run.status is TargetRunStatus.FINISHED
    assert result_backend_of(settings) is None  # memory:// is no result store


def test_a_busy_folder_is_retried_then_is_the_mailboxs_error(app: Any, database: Database) -> None:
    LeaseRepository(database).acquire(run_lock_key(ANN, FOLDER), "someone else")
    repo = ScheduleRepository(database)
    run_id = repo.start_target_run("pair", trigger=TargetTrigger.RUN_NOW, requested_by="Ann")
    repo.add_mailboxes(run_id, [ANN])

    app.tasks[MAILBOX_TASK].apply(args=["pair", run_id, ANN])

    run = repo.target_run(run_id)
    assert run is not None and run.status is TargetRunStatus.FAILED
    (ann,) = run.mailboxes
    assert ann.error is not None and "someone else" in ann.error


def test_a_target_this_worker_does_not_know_fails_the_run(app: Any, database: Database) -> None:
    repo = ScheduleRepository(database)
    run_id = repo.start_target_run("gone", trigger=TargetTrigger.SCHEDULE, requested_by="s")

    assert app.tasks[EXPAND_TASK].apply(args=["gone", run_id]).get() == []
    assert app.tasks[MAILBOX_TASK].apply(args=["gone", run_id, ANN]).get() == {}
    run = repo.target_run(run_id)
    assert run is not None and run.error is not None and "same central365.toml" in run.error


def test_the_producer_queues_a_target_run_by_name(settings: Settings) -> None:
    celery = make_celery(settings)
    jobs = CeleryJobs(celery)
    sent: list[tuple[str, list[object], str]] = []
    celery.send_task = lambda name, args, queue: sent.append((name, args, queue))
    from central365.core.targets import SyncTarget

    jobs.start(SyncTarget("pair", FOLDER, (ANN,)), 7)
    jobs.shutdown()
    assert sent == [(EXPAND_TASK, ["pair", 7], "central365")]
