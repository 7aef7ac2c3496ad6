"""The embedded runner (`serve` without a broker) end to end in process: the composition
root's openers, the application database (leases, History, target runs), and the sandbox's
Graph over an in-process transport.  A guard stops one mailbox while the others proceed; a busy
lease is retried, never written around; the end-of-run hook is told once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from central365.appdb import (
    MailboxJobStatus,
    RunRepository,
    RunStatus,
    TargetRunStatus,
    migrate,
    open_database,
    run_lock_key,
)
from central365.appdb.database import Database
from central365.appdb.leases import LeaseRepository
from central365.config import Settings, load_settings
from central365.core.model import CANONICAL_COLUMNS
from central365.engine.jobs import EmbeddedJobs, backoff
from central365.engine.targets import TargetOutcome
from central365.mailstore.store import SandboxStore, seed_folder
from central365.sandbox.app import create_sandbox_app
from central365.sandbox.faults import FaultConfig
from central365.sandbox.identity import IdentityConfig
from central365.sandbox.identity.groups import derived_group_id
from central365.sandbox.transport import InProcessTransport
from central365.sources.csv_source import write_csv
from central365.wiring.jobs import RefusedJobs, job_openers, open_schedules, target_jobs

ANN, BOB, CY = "ann@contoso.test", "bob@contoso.test", "cy@contoso.test"
FOLDER = "Central Contacts"
STAFF = derived_group_id("Staff")


class Finished:
    """The end-of-run hook: remembers each call, and lets a test wait for the first."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, TargetOutcome, int]] = []
        self.event = threading.Event()

    def __call__(self, target_name: str, outcome: TargetOutcome, target_run_id: int) -> None:
        self.calls.append((target_name, outcome, target_run_id))
        self.event.set()


@pytest.fixture
def store() -> SandboxStore:
    return SandboxStore(default_mailbox=ANN, mailboxes=(BOB, CY))


@pytest.fixture
def transport(store: SandboxStore) -> Iterator[InProcessTransport]:
    directory = IdentityConfig().updated(
        {
            "users": [{"name": n, "username": u} for n, u in (("Ann", ANN), ("Bob", BOB))],
            "groups": [{"display_name": "Staff", "members": [ANN, BOB]}],
        }
    )
    yield InProcessTransport(create_sandbox_app(store, FaultConfig(), identity=directory))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    rows = [
        {
            "id": str(n),
            "status": "active",
            "first_name": f"Person{n}",
            "last_name": "Test",
            "email": f"person{n}@example.com",
        }
        for n in range(12)
    ]
    write_csv(tmp_path / "central.csv", rows, CANONICAL_COLUMNS)
    file = tmp_path / "central365.toml"
    file.write_text(
        f'central = "csv:{tmp_path / "central.csv"}"\n'
        f'database_url = "sqlite:///{tmp_path / "app.db"}"\n'
        'graph_url = "http://sandbox.test/v1.0"\n'
        'auth = "sandbox"\n'
        "lease_seconds = 3\n"
        f'[targets.trio]\nmailboxes = ["{ANN}", "{BOB}", "{CY}"]\nfolder = "{FOLDER}"\n'
        f'[targets.staff]\ngroup = "{STAFF}"\nfolder = "{FOLDER}"\n'
        'schedule = "0 2 * * *"\ntimezone = "Europe/London"\n'
        f'[targets.nobody]\ngroup = "{derived_group_id("Nobody")}"\n',
        encoding="utf-8",
    )
    return load_settings({}, file)


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    migrate(settings.app_database_url)
    db = open_database(settings.app_database_url)
    yield db
    db.dispose()


def contacts(store: SandboxStore, mailbox: str) -> list[dict[str, object]]:
    found = [f for f in store.list_folders(mailbox) if f["displayName"] == FOLDER]
    return store.list_contacts(mailbox, found[0]["id"]) if found else []


def wait_for(finished: Finished, timeout: float = 60.0) -> None:
    assert finished.event.wait(timeout), "the target run did not end in time"


def test_a_guard_stops_one_mailbox_while_the_others_are_written(
    settings: Settings, database: Database, store: SandboxStore, transport: InProcessTransport
) -> None:
    seed_folder(
        store,
        BOB,
        FOLDER,
        [
            {
                "givenName": f"Old{i}",
                "surname": "Name",
                "emailAddresses": [{"address": f"person{i}@example.com"}],
            }
            for i in range(12)
        ],
    )
    before = contacts(store, BOB)
    finished = Finished()
    jobs = EmbeddedJobs(
        job_openers(settings, database, transport=transport, on_finished=finished), threads=3
    )
    schedules = open_schedules(settings, database, jobs)
    try:
        run_id = schedules.run_now("trio", "Ann Admin")
        wait_for(finished)
    finally:
        jobs.shutdown()

    run = schedules.target_run(run_id)
    assert run is not None and run.status is TargetRunStatus.FAILED
    by_mailbox = {m.mailbox: m for m in run.mailboxes}
    assert by_mailbox[ANN].created == 12 and by_mailbox[ANN].ok
    assert by_mailbox[CY].created == 12 and by_mailbox[CY].ok
    assert by_mailbox[BOB].refused and "Nothing was written" in (by_mailbox[BOB].error or "")
    assert contacts(store, BOB) == before
    assert len(contacts(store, ANN)) == len(contacts(store, CY)) == 12
    ((name, outcome, told_id),) = finished.calls
    assert (name, told_id, outcome.ok) == ("trio", run_id, False)
    assert [m.mailbox for m in outcome.mailboxes if m.refused] == [BOB]
    history = RunRepository(database)
    for mailbox in (ANN, CY):
        record = history.get(by_mailbox[mailbox].run_id or -1)
        assert record is not None and record.status is RunStatus.FINISHED
        assert record.created == 12 and "target trio" in record.started_by


def test_a_busy_lease_is_retried_until_the_folder_is_free(
    settings: Settings, database: Database, store: SandboxStore, transport: InProcessTransport
) -> None:
    leases = LeaseRepository(database)
    held = leases.acquire(run_lock_key(ANN, FOLDER), "someone else", folder_name=FOLDER)
    finished = Finished()
    jobs = EmbeddedJobs(
        job_openers(settings, database, transport=transport, on_finished=finished),
        threads=2,
        delay_of=lambda seconds: 0.2,
    )
    schedules = open_schedules(settings, database, jobs)
    try:
        run_id = schedules.run_now("staff", "Ann Admin")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            run = schedules.target_run(run_id)
            assert run is not None
            bob = next((m for m in run.mailboxes if m.mailbox == BOB), None)
            if bob is not None and bob.status is MailboxJobStatus.DONE:
                break
            time.sleep(0.05)
        assert contacts(store, ANN) == []  # never written around the other holder's lease
        assert not finished.event.is_set()
        leases.release(held)
        wait_for(finished)
    finally:
        jobs.shutdown()

    run = schedules.target_run(run_id)
    assert run is not None and run.status is TargetRunStatus.FINISHED
    ann = next(m for m in run.mailboxes if m.mailbox == ANN)
    assert ann.ok and ann.created == 12 and ann.attempts >= 1
    assert len(contacts(store, ANN)) == 12


def test_a_group_that_cannot_be_read_fails_the_run_and_tells_the_hook(
    settings: Settings, database: Database, transport: InProcessTransport
) -> None:
    finished = Finished()
    jobs = EmbeddedJobs(
        job_openers(settings, database, transport=transport, on_finished=finished), threads=1
    )
    schedules = open_schedules(settings, database, jobs)
    try:
        run_id = schedules.run_now("nobody", "Ann Admin")
        wait_for(finished)
    finally:
        jobs.shutdown()
    run = schedules.target_run(run_id)
    assert run is not None and run.status is TargetRunStatus.FAILED and run.error
    assert finished.calls[0][1].error == run.error


def test_device_sign_in_cannot_run_targets_and_says_so(
    settings: Settings, database: Database
) -> None:
    from central365.wiring.connection import SignInMode

    person = settings.model_copy(update={"auth": SignInMode.DEVICE, "client_id": "app"})
    jobs = target_jobs(person, database)
    assert isinstance(jobs, RefusedJobs)
    schedules = open_schedules(person, database, jobs)
    run = schedules.target_run(schedules.run_now("trio", "Ann"))
    assert run is not None and run.error is not None and "Targets need app sign-in" in run.error
    jobs.shutdown()


def test_backoff_grows_and_is_capped() -> None:
    delays = [backoff(n, base=10, cap=100) for n in range(1, 8)]
    assert 8 <= delays[0] <= 12
    assert 16 <= delays[1] <= 24
    assert all(d <= 120 for d in delays) and delays[-1] >= 80
