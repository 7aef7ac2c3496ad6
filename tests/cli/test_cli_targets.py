"""`sync --target`: one target into many mailboxes, from the command line on a real sandbox.

Two targets: `pair` lists two mailboxes, `staff` names an Entra group (nested) of the sandbox's
directory.  One mailbox failing (it does not exist, its folder is leased, a guard trips) never
stops the others, and the exit code says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from central365.appdb import (
    JournalRepository,
    RunRepository,
    RunStatus,
    migrate,
    open_database,
    run_lock_key,
)
from central365.appdb.leases import LeaseRepository
from central365.core.model import CANONICAL_COLUMNS
from central365.demo.run import DEMO_FOLDER, DemoOptions, DemoStack
from central365.demo.staff import staff_mailboxes
from central365.mailstore.store import seed_folder
from central365.sandbox.identity import IdentityConfig
from central365.sandbox.identity.groups import derived_group_id
from central365.sandbox.server import SandboxServer
from central365.sources.csv_source import write_csv

pytestmark = pytest.mark.e2e  # real processes on real ports

ANN, BOB, CAT = "ann@contoso.test", "bob@contoso.test", "cat@contoso.test"
GHOST = "ghost@contoso.test"  # no such mailbox
STAFF, MANAGERS = derived_group_id("Staff"), derived_group_id("Managers")
PEOPLE = 12
SETTINGS = f"""
[targets.pair]
mailboxes = ["{ANN}", "{BOB}"]
folder = "Team Contacts"

[targets.staff]
group = "{STAFF}"
folder = "Staff Contacts"
states = ["new"]

[targets.mixed]
mailboxes = ["{GHOST}", "{CAT}", "{ANN}"]
folder = "Team Contacts"
"""


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    directory = IdentityConfig().updated(
        {
            "users": [
                {"name": n.title(), "username": f"{n}@contoso.test"} for n in ("ann", "bob", "cat")
            ],
            "groups": [
                {"display_name": "Staff", "members": [ANN, MANAGERS]},
                {"display_name": "Managers", "members": [BOB, CAT]},
            ],
        }
    )
    with SandboxServer(default_mailbox=ANN, identity=directory) as server:
        yield server


class Cli:
    def __init__(self, sandbox: SandboxServer, tmp_path: Path) -> None:
        self.sandbox, self.cwd = sandbox, tmp_path
        rows = [
            {
                "id": str(n),
                "status": "active",
                "first_name": f"P{n}",
                "last_name": "Team",
                "email": f"p{n}@example.com",
            }
            for n in range(PEOPLE)
        ]
        write_csv(tmp_path / "central.csv", rows, CANONICAL_COLUMNS)
        (tmp_path / "central365.toml").write_text(SETTINGS, encoding="utf-8")
        self.database_url = f"sqlite:///{tmp_path / 'app.db'}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRAL365_")}
        self.env.update(
            {
                "CENTRAL365_CENTRAL": f"csv:{tmp_path / 'central.csv'}",
                "CENTRAL365_GRAPH_URL": sandbox.url,
                "CENTRAL365_AUTH": "sandbox",
                "CENTRAL365_DATABASE_URL": self.database_url,
                "COLUMNS": "200",
            }
        )

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "central365", *args],
            env={**self.env, **env},
            cwd=self.cwd,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )

    def json(self, *args: str) -> tuple[int, Any]:
        done = self.run(*args, "--json")
        assert done.returncode in (0, 1), done.stderr
        return done.returncode, json.loads(done.stdout)

    def contacts(self, mailbox: str, folder: str) -> list[dict[str, Any]]:
        store = self.sandbox.store
        (found,) = [f for f in store.list_folders(mailbox) if f["displayName"] == folder]
        return store.list_contacts(mailbox, found["id"])


@pytest.fixture
def cli(sandbox: SandboxServer, tmp_path: Path) -> Cli:
    return Cli(sandbox, tmp_path)


def row(
    mailbox: str, created: int = 0, updated: int = 0, error: str | None = None
) -> dict[str, Any]:
    return {
        "mailbox": mailbox,
        "created": created,
        "updated": updated,
        "failed": 0,
        "skipped": 0,
        "error": error,
    }


def test_a_list_of_mailboxes_then_a_group_of_them(cli: Cli) -> None:
    code, outcome = cli.json("sync", "--target", "pair", "--yes")
    assert code == 0
    assert outcome == {"target": "pair", "mailboxes": [row(ANN, PEOPLE), row(BOB, PEOPLE)]}
    assert (
        len(cli.contacts(ANN, "Team Contacts")) == len(cli.contacts(BOB, "Team Contacts")) == PEOPLE
    )

    table = cli.run("sync", "--target", "staff", "--yes")
    assert table.returncode == 0, table.stderr
    for mailbox in (ANN, BOB, CAT):  # the group's users, the nested group's too
        assert mailbox in table.stdout
        assert f"{mailbox}: {PEOPLE} created, 0 updated, 0 failed." in table.stderr
        assert len(cli.contacts(mailbox, "Staff Contacts")) == PEOPLE
    assert "All 3 mailboxes of target staff are synchronised." in table.stdout

    code, again = cli.json("sync", "--target", "staff", "--yes")
    assert code == 0 and {(m["created"], m["updated"]) for m in again["mailboxes"]} == {(0, 0)}

    # Each mailbox's run is a run of History, journalled: 2 (pair) + 3 (staff) + 3 (again).
    database = open_database(cli.database_url)
    try:
        runs = RunRepository(database).recent()
        assert len(runs) == 8 and {r.status for r in runs} == {RunStatus.FINISHED}
        assert {(r.mailbox, r.folder_name) for r in runs[:3]} == {
            (m, "Staff Contacts") for m in (ANN, BOB, CAT)
        }
        last = JournalRepository(database).last_run(BOB, "Team Contacts")
        assert last is not None and last.active_records == PEOPLE
    finally:
        database.dispose()

    # Central emptied: the journal's last run trips `source_shrunk` in every mailbox.
    write_csv(cli.cwd / "central.csv", [], CANONICAL_COLUMNS)
    code, shrunk = cli.json("sync", "--target", "pair", "--yes")
    assert code == 1
    for mailbox in shrunk["mailboxes"]:
        assert "Central has no active records now, against 12 at the last run" in mailbox["error"]
    assert len(cli.contacts(ANN, "Team Contacts")) == PEOPLE


def test_one_mailbox_failing_a_guard_or_a_lease_never_stops_the_others(cli: Cli) -> None:
    stale = [
        {
            "givenName": f"Old{n}",
            "surname": "Name",
            "emailAddresses": [{"address": f"p{n}@example.com"}],
        }
        for n in range(PEOPLE)
    ]
    seed_folder(cli.sandbox.store, CAT, "Team Contacts", stale)
    migrate(cli.database_url)
    database = open_database(cli.database_url)
    try:
        leases = LeaseRepository(database)
        held = leases.acquire(run_lock_key(ANN, "Team Contacts"), "Alice Admin, from the homepage")
        code, outcome = cli.json("sync", "--target", "mixed", "--yes")
        leases.release(held)
    finally:
        database.dispose()
    assert code == 1
    ghost, cat, ann = outcome["mailboxes"]
    assert ghost["mailbox"] == GHOST and ghost["error"] and ghost["created"] == 0
    assert cat["error"].startswith("Refusing to synchronise a mass change. The run would update 12")
    assert cat["error"].endswith("Nothing was written to this mailbox.")
    assert "Alice Admin, from the homepage" in ann["error"]
    assert {c["givenName"] for c in cli.contacts(CAT, "Team Contacts")} == {
        f"Old{n}" for n in range(PEOPLE)
    }
    assert all(f["displayName"] != "Team Contacts" for f in cli.sandbox.store.list_folders(ANN))

    table = cli.run("sync", "--target", "mixed", "--yes", "--allow-mass-change")
    assert table.returncode == 1, table.stderr  # the ghost mailbox still fails
    assert "1 of 3 mailboxes of target mixed did not finish: see Error." in table.stdout
    assert {c["givenName"] for c in cli.contacts(CAT, "Team Contacts")} == {
        f"P{n}" for n in range(PEOPLE)
    }
    assert len(cli.contacts(ANN, "Team Contacts")) == PEOPLE


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (
            ("--target", "nightly", "--yes"),
            {},
            "No target is called nightly: the settings file has pair, staff, mixed.",
        ),
        (
            ("--target", "pair", "--all", "--yes"),
            {},
            "--target writes the target's own states: leave out --all",
        ),
        (("--target", "pair"), {}, "Refusing to synchronise without confirmation"),
        (
            ("--target", "pair", "--yes"),
            {"CENTRAL365_AUTH": "device", "CENTRAL365_CLIENT_ID": "central365-demo"},
            "Targets need app sign-in: set CENTRAL365_AUTH=app",
        ),
    ],
)
def test_what_cannot_run_exits_2_with_one_sentence(
    cli: Cli, args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    done = cli.run("sync", *args, **env)
    assert done.returncode == 2
    assert message in done.stderr
    assert cli.sandbox.store.list_folders(ANN) == []


def test_a_group_without_users_or_unknown_is_said(cli: Cli) -> None:
    (cli.cwd / "central365.toml").write_text(
        f'[targets.empty]\ngroup = "{derived_group_id("Nobody")}"\n', encoding="utf-8"
    )
    done = cli.run("sync", "--target", "empty", "--yes")
    assert done.returncode == 2
    assert "was not found in the tenant: check the target's group id" in done.stderr


def test_the_demos_staff_target_with_app_sign_in_through_msal(tmp_path: Path) -> None:
    """The demo as a person runs it: its settings file, app sign-in (msal, TLS), the group."""
    options = DemoOptions(data_dir=tmp_path / "demo", port=0, sandbox_port=0, size=100, wait=False)
    with DemoStack(options) as stack:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRAL365_")}
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "central365",
                "--config",
                str(stack.data_dir / "central365.toml"),
                "sync",
                "--target",
                "staff",
                "--yes",
                "--json",
            ],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        outcome = json.loads(done.stdout)
        assert [m["mailbox"] for m in outcome["mailboxes"]] == list(staff_mailboxes())
        assert all(m["created"] > 0 and m["error"] is None for m in outcome["mailboxes"])
        for mailbox in staff_mailboxes():
            assert stack.sandbox.store.list_folders(mailbox)[0]["displayName"] == DEMO_FOLDER
