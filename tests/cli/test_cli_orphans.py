"""Orphans and contacts deleted in Outlook, from the command line against a sandbox on a real
port: sync, a record leaves Central (or goes inactive), a person deletes a contact in Outlook;
`plan --json`, the terminal's plan and `orphans` say what is only in Office 365, and
`deleted_contacts` decides whether the deleted contact comes back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from central365.core.model import CANONICAL_COLUMNS
from central365.mailstore.store import seed_folder
from central365.sources.csv_source import write_csv

from .conftest import FOLDER, MAILBOX

pytestmark = pytest.mark.e2e  # real processes on real ports


def row(key: str, first: str, status: str = "active") -> dict[str, str]:
    return {
        "id": key,
        "status": status,
        "first_name": first,
        "last_name": "Lee",
        "email": f"{first.lower()}@example.com",
    }


ROWS = [row("1", "Ann"), row("2", "Bo"), row("3", "Cy"), row("4", "Di")]
OWN_CONTACT = {
    "displayName": "Own Person",
    "givenName": "Own",
    "surname": "Person",
    "emailAddresses": [{"address": "own@example.com", "name": "Own"}],
}


def item(plan: dict[str, Any], key: str) -> dict[str, Any]:
    return next(i for i in plan["items"] if i["key"] == key)


def test_orphans_people_s_own_and_deleted_contacts(make_cli: Any, tmp_path: Path) -> None:
    csv = tmp_path / "central.csv"
    write_csv(csv, ROWS, CANONICAL_COLUMNS)
    url = f"sqlite:///{tmp_path / 'app.db'}"
    cli = make_cli(f"csv:{csv}", CENTRAL365_DATABASE_URL=url)
    assert cli.json("sync", "--all", "--yes")["created"] == 4
    seed_folder(cli.sandbox.store, MAILBOX, FOLDER, [OWN_CONTACT])

    # Bo leaves Central, Cy goes inactive, Di becomes non-actionable; Ann's contact is deleted
    # in Outlook by a person.
    write_csv(
        csv,
        [ROWS[0], row("3", "Cy", status="inactive"), {**ROWS[3], "first_name": ""}],
        CANONICAL_COLUMNS,
    )
    (ann,) = [
        c for c in cli.folder_contacts() if c["emailAddresses"][0]["address"] == "ann@example.com"
    ]
    cli.sandbox.store.delete_contact(MAILBOX, ann["id"])

    plan = cli.json("plan")
    whys = {o["key"]: o["why"] for o in plan["orphans"]}
    assert whys == {
        "2": "record_gone",
        "3": "record_inactive",
        "4": "non_actionable: missing_name",
    }
    bo = next(o for o in plan["orphans"] if o["key"] == "2")
    assert (bo["name"], bo["email"]) == ("Bo Lee", "bo@example.com") and bo["office365_id"]
    assert plan["unanchored"] == 1  # the person's own contact: left alone, counted
    recreated = item(plan, "1")
    assert recreated["state"] == "new" and recreated["deleted_in_office365"] is True

    shown = " ".join(cli.run("plan").stdout.split())
    assert "3 contacts are only in Office 365" in shown
    assert "Bo Lee <bo@example.com>, Central id 2: no Central record has this Central id" in shown
    assert "1 contact of people's own" in shown
    assert "deleted in Outlook since run 1, will be recreated" in shown

    listed = cli.run("orphans", "--json")
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    assert [o["key"] for o in data["orphans"]] == [o["key"] for o in plan["orphans"]]
    assert (data["unanchored"], data["folder_size"]) == (1, 4)  # Ann deleted, one own added
    table = " ".join(cli.run("orphans").stdout.split())
    assert (
        "3 contacts only in Office 365" in table
        and "the Central record is no longer active" in table
    )

    # Respecting deletes: Ann stays deleted, with the reason; a sync of everything leaves her.
    respect = type(cli)(
        cli.sandbox, dict(cli.env, CENTRAL365_DELETED_CONTACTS="respect_deletes"), cli.cwd
    )
    kept = item(respect.json("plan"), "1")
    assert (kept["state"], kept["reasons"]) == ("non_actionable", ["deleted_in_office365"])
    respect.json("sync", "--all", "--yes")
    addresses = {c["emailAddresses"][0]["address"] for c in cli.folder_contacts()}
    assert "ann@example.com" not in addresses
    # Nothing deletes orphans by itself: Bo, Cy and Di are still there.
    assert {"bo@example.com", "cy@example.com", "di@example.com"} <= addresses

    # The default recreates her.
    assert cli.json("sync", "--all", "--yes")["created"] == 1
    assert "ann@example.com" in {c["emailAddresses"][0]["address"] for c in cli.folder_contacts()}


def test_an_unknown_deleted_contacts_word_is_refused(make_cli: Any, tmp_path: Path) -> None:
    csv = tmp_path / "central.csv"
    write_csv(csv, ROWS, CANONICAL_COLUMNS)
    cli = make_cli(f"csv:{csv}", CENTRAL365_DELETED_CONTACTS="forget")
    done = cli.run("plan")
    assert done.returncode != 0
    assert "CENTRAL365_DELETED_CONTACTS" in done.stderr


def test_an_admin_deletes_chosen_orphans_guarded_and_journalled(
    make_cli: Any, tmp_path: Path
) -> None:
    csv = tmp_path / "central.csv"
    write_csv(csv, ROWS, CANONICAL_COLUMNS)
    url = f"sqlite:///{tmp_path / 'app.db'}"
    cli = make_cli(f"csv:{csv}", CENTRAL365_DATABASE_URL=url, CENTRAL365_GUARD_MIN_CONTACTS="1")
    assert cli.json("sync", "--all", "--yes")["created"] == 4
    seed_folder(cli.sandbox.store, MAILBOX, FOLDER, [OWN_CONTACT])
    write_csv(csv, ROWS[:2], CANONICAL_COLUMNS)  # Cy and Di leave Central: two orphans

    # Only orphans may be deleted: a synced record's id, or one unknown, is refused.
    refused = cli.run("orphans", "--delete", "1", "--yes")
    assert refused.returncode == 2
    assert "Not a contact only in Office 365: 1." in " ".join(refused.stderr.split())
    # Keys without --delete are refused rather than silently listed.
    assert cli.run("orphans", "3").returncode == 2
    # Two of five contacts is more than 10 % of the folder: a mass delete must be allowed.
    guarded = cli.run("orphans", "--delete", "3", "4", "--yes")
    assert guarded.returncode == 2
    words = " ".join(guarded.stderr.split())
    assert "Refusing to delete this many contacts. Deleting 2 of the folder's 5 contacts" in words
    assert len(cli.folder_contacts()) == 5

    done = cli.run("orphans", "--delete", "3", "4", "--yes", "--allow-mass-change", "--json")
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert (outcome["deleted"], outcome["failed"], outcome["skipped"]) == (2, 0, 0)
    assert {i["key"] for i in outcome["items"]} == {"3", "4"}
    addresses = {c["emailAddresses"][0]["address"] for c in cli.folder_contacts()}
    assert addresses == {"ann@example.com", "bo@example.com", "own@example.com"}
    assert cli.json("orphans")["orphans"] == []

    # A run of History, journalled (its before-images let an undo make them again).
    runs = cli.json("history")
    latest = runs[0] if isinstance(runs, list) else runs["runs"][0]
    assert latest["id"] == outcome["run_id"]
    from central365.appdb import JournalRepository, open_database

    database = open_database(url)
    try:
        known = JournalRepository(database).contacts(MAILBOX, FOLDER)
    finally:
        database.dispose()
    assert set(known) == {"1", "2"}  # the journal forgot the deleted contacts
