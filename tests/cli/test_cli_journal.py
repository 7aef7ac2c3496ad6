"""The journal and the anchor from the command line, against a sandbox on a real port:
sync, change an email in Central, re-plan (the contact follows its anchor), sync, history."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from central365.appdb import JournalRepository, migrate, open_database
from central365.appdb.models import RunLeaseRow
from central365.core.journal import JournalAction
from central365.core.mapping import ANCHOR_PROPERTY_ID
from central365.core.model import CANONICAL_COLUMNS
from central365.mailstore.store import seed_folder
from central365.sources.csv_source import write_csv

from .conftest import FOLDER, MAILBOX

pytestmark = pytest.mark.e2e  # real processes on real ports

ROWS = [
    {
        "id": "1",
        "status": "active",
        "first_name": "Ann",
        "last_name": "Lee",
        "email": "ann@example.com",
    },
    {
        "id": "2",
        "status": "active",
        "first_name": "Bo",
        "last_name": "Ng",
        "email": "bo@example.com",
    },
]
OWN_CONTACT = {
    "displayName": "Own Person",
    "givenName": "Own",
    "surname": "Person",
    "emailAddresses": [{"address": "own@example.com", "name": "Own"}],
}


def anchored(cli: Any) -> dict[str, dict[str, Any]]:
    """The folder's contacts by the Central id they carry ("" for none)."""
    store = cli.sandbox.store
    found = {}
    for contact in cli.folder_contacts():
        props = store.relationships(MAILBOX, contact["id"]).get("singleValueExtendedProperties", [])
        anchor = next((p["value"] for p in props if p["id"] == ANCHOR_PROPERTY_ID), "")
        found[anchor] = contact
    return found


def settle(cli: Any, quiet: float = 1.5) -> None:
    """Wait until the folder stops changing (requests in flight have all been served)."""
    count, since = len(cli.folder_contacts()), time.monotonic()
    while time.monotonic() - since < quiet:
        time.sleep(0.1)
        now = len(cli.folder_contacts())
        if now != count:
            count, since = now, time.monotonic()


def anchors(cli: Any) -> dict[str, str]:
    """Each folder contact's first address → the Central id it carries ("" for none)."""
    return {c["emailAddresses"][0]["address"]: key for key, c in anchored(cli).items()}


def test_an_email_change_follows_the_anchor_and_every_run_is_journalled(
    make_cli: Any, tmp_path: Path
) -> None:
    csv = tmp_path / "central.csv"
    write_csv(csv, ROWS, CANONICAL_COLUMNS)
    url = f"sqlite:///{tmp_path / 'app.db'}"
    cli = make_cli(f"csv:{csv}", CENTRAL365_DATABASE_URL=url)
    seed_folder(cli.sandbox.store, MAILBOX, FOLDER, [OWN_CONTACT])

    first = cli.json("sync", "--all", "--yes")
    assert (first["created"], first["failed"]) == (2, 0)
    assert isinstance(first["run_id"], int)
    # Every contact central365 wrote carries its Central id; a person's own carries none.
    assert anchors(cli) == {"ann@example.com": "1", "bo@example.com": "2", "own@example.com": ""}

    write_csv(csv, [{**ROWS[0], "email": "ann.lee@example.org"}, ROWS[1]], CANONICAL_COLUMNS)
    plan = cli.json("plan")
    ann = next(i for i in plan["items"] if i["key"] == "1")
    assert (ann["state"], ann["match"]) == ("update", "anchor")
    assert ann["changes"] == [
        {"field": "emailAddresses[0]", "from": "ann@example.com", "to": "ann.lee@example.org"}
    ]
    assert plan["counts"]["new"] == 0
    shown = cli.run("plan")
    assert "Email: ann@example.com → ann.lee@example.org" in " ".join(shown.stdout.split())

    second = cli.json("sync", "--all", "--yes")
    assert (second["created"], second["updated"]) == (0, 1)
    assert second["run_id"] > first["run_id"]
    # The old address is gone, not kept beside the new one; no second contact.
    assert anchors(cli) == {
        "ann.lee@example.org": "1",
        "bo@example.com": "2",
        "own@example.com": "",
    }
    assert cli.json("plan")["counts"] == {
        "new": 0,
        "update": 0,
        "unchanged": 2,
        "non_actionable": 0,
    }

    history = cli.json("history")
    assert [run["id"] for run in history] == [second["run_id"], first["run_id"]]
    newest = history[0]
    assert newest["status"] == "finished"
    assert (newest["mailbox"], newest["folder"], newest["active_records"]) == (MAILBOX, FOLDER, 2)
    assert newest["counts"] == {
        "created": 0,
        "updated": 1,
        "deleted": 0,
        "failed": 0,
        "skipped": 0,
    }
    assert newest["undoes"] is None
    assert "command line" in newest["started_by"]
    table = cli.run("history")
    assert table.returncode == 0 and str(second["run_id"]) in table.stdout

    database = open_database(url)
    try:
        journal = JournalRepository(database)
        assert {w.action for w in journal.writes(first["run_id"])} == {JournalAction.CREATED}
        (changed,) = journal.writes(second["run_id"])
        assert (changed.key, changed.before) == ("1", {"emailAddresses[0]": "ann@example.com"})
        latest = journal.contacts(MAILBOX, FOLDER)
        contacts = anchored(cli)
        assert set(latest) == {"1", "2"}
        for key, entry in latest.items():
            contact = contacts[key]
            assert entry.change_key == contact["changeKey"], key
            assert entry.baseline["emailAddresses[0]"] == contact["emailAddresses"][0]["address"]
    finally:
        database.dispose()


def test_history_says_so_when_nothing_has_run(make_cli: Any, tmp_path: Path) -> None:
    cli = make_cli("csv:unused.csv", CENTRAL365_DATABASE_URL=f"sqlite:///{tmp_path / 'a.db'}")
    done = cli.run("history")
    assert done.returncode == 0, done.stderr
    assert "No synchronisation has run yet." in done.stdout
    assert json.loads(cli.run("history", "--json").stdout) == []


def test_a_sync_killed_mid_run_leaves_a_journal_that_matches_the_folder(
    make_cli: Any, tmp_path: Path
) -> None:
    people = 200
    csv = tmp_path / "central.csv"
    rows = [
        {
            "id": str(n),
            "status": "active",
            "first_name": f"P{n}",
            "last_name": "Kill",
            "email": f"p{n}@example.com",
        }
        for n in range(people)
    ]
    write_csv(csv, rows, CANONICAL_COLUMNS)
    url = f"sqlite:///{tmp_path / 'app.db'}"
    cli = make_cli(f"csv:{csv}", CENTRAL365_DATABASE_URL=url)
    with cli.admin() as admin:  # each batch takes a while: the run is killed while writing
        assert admin.put("/faults", json={"latency_ms": 300}).status_code == 200
    migrate(url)  # watched from here while the command runs
    running = subprocess.Popen(
        [sys.executable, "-m", "central365", "sync", "--all", "--yes", "--json"],
        env=cli.env,
        cwd=cli.cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    database = open_database(url)
    try:
        journal = JournalRepository(database)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(journal.contacts(MAILBOX, FOLDER)) < 20:
                time.sleep(0.05)
        finally:
            if running.poll() is None:
                os.kill(running.pid, signal.SIGKILL)
            running.communicate(timeout=30)

        settle(cli)  # batches already sent still land in the sandbox after the client died
        # Every journalled contact is in the folder as journalled; a contact written but not yet
        # journalled when the process died carries its anchor all the same.
        contacts = anchored(cli)
        entries = journal.contacts(MAILBOX, FOLDER)
        assert 20 <= len(entries) <= len(contacts) < people
        assert "" not in contacts
        for key, entry in entries.items():
            assert entry.change_key == contacts[key]["changeKey"], key

        with database.session(write=True) as s, s.begin():  # the dead run's lease lapses
            s.execute(
                update(RunLeaseRow).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
        with cli.admin() as admin:
            assert admin.put("/faults", json={"latency_ms": 0}).status_code == 200
        plan = cli.json("plan")
        assert plan["counts"]["new"] == people - len(contacts)  # the written ones are found
        assert {i["match"] for i in plan["items"] if i["state"] == "unchanged"} == {"anchor"}

        finished = cli.json("sync", "--all", "--yes")
        assert finished["created"] == people - len(contacts)
        after = anchored(cli)
        assert len(after) == len(cli.folder_contacts()) == people  # no record has two contacts
        unjournalled = set(contacts) - set(entries)  # written, then killed before journalling
        entries = journal.contacts(MAILBOX, FOLDER)
        # Journalled now: those found by their anchors are adopted (no run claims their write).
        assert set(entries) == set(after)
        assert all(entries[k].change_key == after[k]["changeKey"] for k in entries)
        assert {k for k, e in entries.items() if e.run_id is None} == unjournalled
        statuses = {run["id"]: run["status"] for run in cli.json("history")}
        assert statuses[finished["run_id"]] == "finished"
        assert sorted(statuses.values()) == ["finished", "interrupted"]
    finally:
        database.dispose()
