"""The journal and the anchor from the command line, against a sandbox on a real port:
sync, change an email in Central, re-plan (the contact follows its anchor), sync, history."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from central365.appdb import JournalRepository, open_database
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
    assert newest["counts"] == {"created": 0, "updated": 1, "failed": 0, "skipped": 0}
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
