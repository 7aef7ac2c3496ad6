"""Edits made in Office 365, from the command line against a sandbox on a real port: sync,
a person changes a contact's mobile in Outlook, the re-plan flags it, and the
`keep_office365_edits` policy leaves it alone while `overwrite` (the default) restores Central's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from central365.core.model import CANONICAL_COLUMNS
from central365.sources.csv_source import write_csv

from .conftest import MAILBOX

pytestmark = pytest.mark.e2e  # real processes on real ports

ROWS = [
    {
        "id": "1",
        "status": "active",
        "first_name": "Ann",
        "last_name": "Lee",
        "email": "ann@example.com",
        "mobile": "07700 900001",
    },
    {
        "id": "2",
        "status": "active",
        "first_name": "Bo",
        "last_name": "Ng",
        "email": "bo@example.com",
        "mobile": "07700 900002",
    },
]


def edit_in_outlook(cli: Any, email: str, **changes: Any) -> None:
    """A person's edit in Outlook: a PATCH straight into the sandbox's store."""
    (contact,) = [c for c in cli.folder_contacts() if c["emailAddresses"][0]["address"] == email]
    cli.sandbox.store.update_contact(MAILBOX, contact["id"], changes)


def item(plan: dict[str, Any], key: str) -> dict[str, Any]:
    return next(i for i in plan["items"] if i["key"] == key)


def test_an_outlook_edit_is_flagged_and_kept_or_overwritten_by_policy(
    make_cli: Any, tmp_path: Path
) -> None:
    csv = tmp_path / "central.csv"
    write_csv(csv, ROWS, CANONICAL_COLUMNS)
    url = f"sqlite:///{tmp_path / 'app.db'}"
    cli = make_cli(f"csv:{csv}", CENTRAL365_DATABASE_URL=url)
    assert cli.json("sync", "--all", "--yes")["created"] == 2

    # Nothing edited yet: nothing flagged.
    plan = cli.json("plan")
    assert [i["edited_in_office365"] for i in plan["items"]] == [[], []]

    edit_in_outlook(cli, "ann@example.com", mobilePhone="07700 900999")
    write_csv(csv, [ROWS[0], {**ROWS[1], "mobile": "07700 900222"}], CANONICAL_COLUMNS)

    plan = cli.json("plan")
    ann, bo = item(plan, "1"), item(plan, "2")
    assert ann["state"] == "update"
    assert ann["edited_in_office365"] == ["mobilePhone"]
    assert ann["changes"] == [
        {
            "field": "mobilePhone",
            "from": "07700 900999",
            "to": "07700 900001",
            "baseline": "07700 900001",
        }
    ]
    # A change made in Central is no Outlook edit.
    assert bo["edited_in_office365"] == []
    assert bo["changes"] == [{"field": "mobilePhone", "from": "07700 900002", "to": "07700 900222"}]
    shown = " ".join(cli.run("plan").stdout.split())
    assert (
        "Mobile: 07700 900999 → 07700 900001 (changed in Office 365 since the last sync, which "
        "wrote 07700 900001)"
    ) in shown

    keep = dict(cli.env, CENTRAL365_FIELDS="mobilePhone=keep_office365_edits")
    kept_cli = type(cli)(cli.sandbox, keep, cli.cwd)
    kept = kept_cli.json("plan")
    assert item(kept, "1")["state"] == "unchanged"
    assert item(kept, "1")["edited_in_office365"] == ["mobilePhone"]
    assert item(kept, "2")["state"] == "update"

    # Central changes Ann's website: her contact is written, her edited mobile is not.
    ann_site = {**ROWS[0], "website": "https://ann.example"}
    write_csv(csv, [ann_site, {**ROWS[1], "mobile": "07700 900222"}], CANONICAL_COLUMNS)
    assert [c["field"] for c in item(kept_cli.json("plan"), "1")["changes"]] == ["businessHomePage"]
    done = kept_cli.json("sync", "--all", "--yes")
    assert (done["created"], done["updated"], done["failed"]) == (0, 2, 0)
    mobiles = {c["emailAddresses"][0]["address"]: c["mobilePhone"] for c in cli.folder_contacts()}
    assert mobiles == {"ann@example.com": "07700 900999", "bo@example.com": "07700 900222"}
    # Still flagged and kept: the journal's baseline is still the last mobile central365 wrote.
    again = item(kept_cli.json("plan"), "1")
    assert (again["state"], again["edited_in_office365"]) == ("unchanged", ["mobilePhone"])

    # The default policy writes Central's value back; the edit is then no longer an edit.
    assert cli.json("sync", "--all", "--yes")["updated"] == 1
    mobiles = {c["emailAddresses"][0]["address"]: c["mobilePhone"] for c in cli.folder_contacts()}
    assert mobiles["ann@example.com"] == "07700 900001"
    after = cli.json("plan")
    assert [i["edited_in_office365"] for i in after["items"]] == [[], []]
    assert after["counts"]["update"] == 0


def test_a_bad_field_policy_is_refused_with_its_field_named(make_cli: Any, tmp_path: Path) -> None:
    csv = tmp_path / "central.csv"
    write_csv(csv, ROWS, CANONICAL_COLUMNS)
    cli = make_cli(f"csv:{csv}", CENTRAL365_FIELDS="mobilePhone=keep")
    done = cli.run("plan")
    assert done.returncode == 2
    assert "mobilePhone: 'keep' is not a write policy" in " ".join(done.stderr.split())
