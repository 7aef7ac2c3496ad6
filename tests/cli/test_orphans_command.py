"""`orphans` and the terminal plan's orphans note in process (Typer's runner) against a sandbox
on a real port: listing, the refusals before anything is deleted, a delete as a run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from central365.cli import app as cli_app
from central365.core.model import CANONICAL_COLUMNS
from central365.mailstore.store import seed_folder
from central365.sandbox.server import SandboxServer
from central365.sources.csv_source import write_csv

pytestmark = pytest.mark.e2e  # a sandbox on a real port

MAILBOX = "ann@contoso.test"
FOLDER = "Central Contacts"


def rows(*keys: int, status: str = "active") -> list[dict[str, str]]:
    return [
        {
            "id": str(n),
            "status": status,
            "first_name": f"P{n}",
            "last_name": "T",
            "email": f"p{n}@example.com",
        }
        for n in keys
    ]


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(default_mailbox=MAILBOX) as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path) -> Path:
    write_csv(tmp_path / "central.csv", rows(*range(8)), CANONICAL_COLUMNS)
    file = tmp_path / "central365.toml"
    file.write_text(
        f'central = "csv:{tmp_path / "central.csv"}"\n'
        f'database_url = "sqlite:///{tmp_path / "app.db"}"\n'
        f'folder = "{FOLDER}"\nmailbox = "{MAILBOX}"\nauth = "sandbox"\n'
        "guard_min_contacts = 2\n",
        encoding="utf-8",
    )
    return file


def invoke(settings: Path, sandbox: SandboxServer, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        cli_app,
        ["--config", str(settings), *args],
        env={"CENTRAL365_GRAPH_URL": sandbox.url, "COLUMNS": "200"},
    )
    return result.exit_code, result.stdout, result.stderr


def words(text: str) -> str:
    return " ".join(text.split())


def test_orphans_listed_refused_and_deleted(settings: Path, sandbox: SandboxServer) -> None:
    assert invoke(settings, sandbox, "sync", "--all", "--yes")[0] == 0
    seed_folder(
        sandbox.store,
        MAILBOX,
        FOLDER,
        [{"givenName": "Own", "surname": "One", "emailAddresses": [{"address": "own@x.test"}]}],
    )
    # 5 and 6 leave Central, 7 goes inactive: three orphans of a folder of 9.
    write_csv(
        settings.parent / "central.csv", rows(*range(5)) + rows(7, status="left"), CANONICAL_COLUMNS
    )

    code, out, _ = invoke(settings, sandbox, "plan")
    assert code == 0
    said = words(out)
    assert "3 contacts are only in Office 365" in said
    assert "P5 T <p5@example.com>, Central id 5: no Central record has this Central id" in said
    assert "P7 T <p7@example.com>, Central id 7: the Central record is no longer active" in said
    assert "See them all with `central365 orphans`" in said
    assert "1 contact of people's own" in said

    code, out, _ = invoke(settings, sandbox, "orphans")
    assert code == 0
    assert "3 contacts only in Office 365" in words(out) and "1 of people's own" in words(out)
    code, out, _ = invoke(settings, sandbox, "orphans", "--json")
    listed = json.loads(out)
    assert sorted(o["key"] for o in listed["orphans"]) == ["5", "6", "7"]
    assert (listed["folder_size"], listed["unanchored"]) == (9, 1)

    refusals = [
        (("orphans", "5"), "add --delete"),
        (("orphans", "--delete"), "Name the orphans to delete"),
        (("orphans", "--delete", "5"), "Refusing to delete without confirmation"),
        (("orphans", "--delete", "1", "--yes"), "Not a contact only in Office 365: 1."),
        (
            ("orphans", "--delete", "5", "6", "--yes"),
            "Refusing to delete this many contacts. Deleting 2 of the folder's 9 contacts (22 %)",
        ),
    ]
    for args, message in refusals:
        code, _, err = invoke(settings, sandbox, *args)
        assert code == 2, args
        assert message in words(err), (args, err)
    assert len(json.loads(invoke(settings, sandbox, "orphans", "--json")[1])["orphans"]) == 3

    code, out, err = invoke(settings, sandbox, "orphans", "--delete", "7", "--yes")
    assert code == 0, err
    assert "Deleted 1 of 1 chosen contacts (run" in words(out)
    code, out, _ = invoke(settings, sandbox, "orphans", "--json")
    assert sorted(o["key"] for o in json.loads(out)["orphans"]) == ["5", "6"]
    code, out, _ = invoke(settings, sandbox, "history", "--json")
    assert json.loads(out)[0]["status"] == "finished"
