"""The run lock from the command line: two runs never write into one folder at once.

Each `sync` takes the folder's lease in the application database (the one the homepage uses),
so a second run — another `sync`, or a homepage run — is refused, naming the holder, and
nothing is created twice.  A killed run's lease is taken over once it has expired.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from central365.appdb import migrate, open_database, run_lock_key
from central365.appdb.leases import LeaseRepository
from central365.appdb.models import RunLeaseRow
from central365.core.model import CANONICAL_COLUMNS
from central365.sources.csv_source import write_csv

from .conftest import FOLDER, MAILBOX, Cli

pytestmark = pytest.mark.e2e

PEOPLE = 200
KEY = run_lock_key(MAILBOX, FOLDER)


def central(tmp_path: Path) -> str:
    rows = [
        {
            "id": str(n),
            "status": "active",
            "first_name": f"P{n}",
            "last_name": "Lock",
            "email": f"p{n}@example.com",
        }
        for n in range(PEOPLE)
    ]
    path = tmp_path / "central.csv"
    write_csv(path, rows, CANONICAL_COLUMNS)
    return f"csv:{path}"


def start_sync(cli: Cli) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "central365", "sync", "--all", "--yes", "--json"],
        env=cli.env,
        cwd=cli.cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_lease(url: str, timeout: float = 30.0) -> None:
    database = open_database(url)
    try:
        leases = LeaseRepository(database)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if leases.holder(KEY) is not None:
                    return
            except Exception:  # the first run has not created its tables yet
                pass
            time.sleep(0.05)
    finally:
        database.dispose()
    raise AssertionError("the first run never took the folder's lease")


def emails_in_folder(cli: Cli) -> Counter[str]:
    return Counter(a["address"] for c in cli.folder_contacts() for a in c["emailAddresses"])


@pytest.fixture
def slow_cli(make_cli: Any, tmp_path: Path) -> tuple[Cli, str]:
    url = f"sqlite:///{tmp_path / 'app' / 'central365.db'}"
    cli: Cli = make_cli(central(tmp_path), CENTRAL365_DATABASE_URL=url)
    with cli.admin() as admin:  # each batch takes a while: the first run is still writing
        assert admin.put("/faults", json={"latency_ms": 1000}).status_code == 200
    return cli, url


def test_two_syncs_at_once_one_refuses_and_nothing_is_duplicated(
    slow_cli: tuple[Cli, str],
) -> None:
    cli, url = slow_cli
    first = start_sync(cli)
    wait_for_lease(url)

    second = cli.run("sync", "--all", "--yes", "--json")

    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert json.loads(out)["created"] == PEOPLE
    assert second.returncode == 2, second.stderr
    assert "Another synchronisation is writing into folder Central Contacts" in second.stderr
    assert "central365 sync by" in second.stderr and f"process {first.pid}" in second.stderr
    assert second.stdout == ""
    emails = emails_in_folder(cli)
    assert len(emails) == PEOPLE and max(emails.values()) == 1
    # Once the first has ended, the folder is free: a rerun finds nothing left to do.
    again = cli.json("sync", "--all", "--yes")
    assert (again["created"], again["updated"]) == (0, 0)


def test_a_homepage_run_holding_the_folder_refuses_the_command_line(
    make_cli: Any, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate(url)
    database = open_database(url)
    try:
        leases = LeaseRepository(database)
        held = leases.acquire(KEY, "Alice Admin, from the homepage", run_id=12)
        cli: Cli = make_cli(central(tmp_path), CENTRAL365_DATABASE_URL=url)
        refused = cli.run("sync", "--all", "--yes")
        assert refused.returncode == 2
        assert "Alice Admin, from the homepage since" in refused.stderr
        assert (
            cli.sandbox.store.list_folders(MAILBOX) == []
        )  # nothing was written, not even the folder
        dry = cli.run("sync", "--all", "--dry-run")  # writes nothing, so it takes no lease
        assert dry.returncode == 0, dry.stderr
        leases.release(held)
    finally:
        database.dispose()
    assert cli.json("sync", "--all", "--yes")["created"] == PEOPLE


def test_a_killed_runs_lease_is_taken_over_once_expired(slow_cli: tuple[Cli, str]) -> None:
    cli, url = slow_cli
    first = start_sync(cli)
    wait_for_lease(url)
    time.sleep(0.5)  # a batch or two on its way
    os.kill(first.pid, signal.SIGKILL)
    first.communicate(timeout=30)

    refused = cli.run("sync", "--all", "--yes")
    assert refused.returncode == 2  # the lease is still live: the dead run could be frozen
    assert f"process {first.pid}" in refused.stderr

    database = open_database(url)
    try:  # a minute passes (the lease's lifetime) without the dead run renewing it
        with database.session(write=True) as s, s.begin():
            s.execute(
                update(RunLeaseRow)
                .where(RunLeaseRow.key == KEY)
                .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
    finally:
        database.dispose()

    with cli.admin() as admin:
        assert admin.put("/faults", json={"latency_ms": 0}).status_code == 200
    taken = cli.run("sync", "--all", "--yes", "--json")
    assert taken.returncode == 0, taken.stderr
    emails = emails_in_folder(cli)
    assert len(emails) == PEOPLE and max(emails.values()) == 1
