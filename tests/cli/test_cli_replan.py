"""The command line re-plans through the folder cache in the homepage's application database.

Real processes: the `central365` command against a sandbox on a real port.  The second plan
with nothing changed in Outlook costs two Graph requests (plus one `$batch` per 20 changed
contacts, whose Central anchors are read again); an Outlook edit, a write by `sync` and
an expired delta token are all seen by the next plan; an unusable application database only
costs the cache (a full read, said on stderr).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from central365.core.model import CANONICAL_COLUMNS
from central365.mailstore.store import seed_folder
from central365.sources.csv_source import write_csv

from .conftest import FOLDER, MAILBOX

pytestmark = pytest.mark.e2e


def row(i: int, surname: str = "Lee") -> dict[str, str]:
    return {
        "id": str(i),
        "status": "active",
        "first_name": f"Ann{i}",
        "last_name": surname,
        "email": f"ann{i}@example.com",
    }


def outlook(i: int, surname: str = "Lee") -> dict[str, Any]:
    return {
        "givenName": f"Ann{i}",
        "surname": surname,
        "displayName": f"Ann{i} {surname}",
        "emailAddresses": [{"address": f"ann{i}@example.com", "name": f"Ann{i} {surname}"}],
    }


def requests_of(cli: Any, *args: str) -> tuple[Any, int]:
    with cli.admin() as admin:
        admin.post("/stats/reset")
        result = cli.json(*args)
        count: int = admin.get("/stats").json()["requests"]
    return result, count


def test_replans_cost_two_requests_and_see_every_change(make_cli: Any, tmp_path: Path) -> None:
    central = tmp_path / "central.csv"
    write_csv(central, [row(i) for i in range(30)], CANONICAL_COLUMNS)
    folder = seed_folder(
        make_cli("x").sandbox.store, MAILBOX, FOLDER, [outlook(i) for i in range(20)]
    )
    cli = make_cli(f"csv:{central}")

    first, _ = requests_of(cli, "plan")
    assert first["counts"]["new"] == 10 and first["counts"]["unchanged"] == 20
    assert (tmp_path / "data" / "central365.db").is_file()  # the homepage's default database

    again, count = requests_of(cli, "plan")
    assert count == 2 and again["counts"] == first["counts"]

    store = cli.sandbox.store
    (some,) = [c for c in store.list_contacts(MAILBOX, folder["id"]) if c["givenName"] == "Ann0"]
    store.update_contact(MAILBOX, some["id"], {"surname": "Changed"})
    edited, count = requests_of(cli, "plan")
    # The folder search, the delta page, and one `$batch` re-reading the changed contact's
    # Central anchor (a contacts delta cannot `$expand` it: graph.cached_read).
    assert count == 3 and edited["counts"]["update"] == 1

    synced = cli.json("sync", "--all", "--yes", "--allow-mass-change")
    assert synced["failed"] == 0
    after, count = requests_of(cli, "plan")
    assert count == 3 and after["counts"]["unchanged"] == 30  # 11 written: one anchor batch
    steady, count = requests_of(cli, "plan")
    assert count == 2 and steady["counts"] == after["counts"]

    with cli.admin() as admin:
        assert admin.post("/delta/expire").status_code == 200
    expired, count = requests_of(cli, "plan")
    # The folder search, the refused round, then a full one: a delta for the link and the
    # folder listed with its anchors.
    assert count == 4 and expired["counts"]["unchanged"] == 30


def test_an_unusable_application_database_means_a_full_read(make_cli: Any, tmp_path: Path) -> None:
    central = tmp_path / "central.csv"
    write_csv(central, [row(1)], CANONICAL_COLUMNS)
    cli = make_cli(f"csv:{central}", CENTRAL365_DATABASE_URL="nosuchdb://nowhere/x")
    done = cli.run("plan", "--json")
    assert done.returncode == 0, done.stderr
    assert "Reading the whole folder" in done.stderr and "CENTRAL365_DATABASE_URL" in done.stderr
