"""Missing columns and guards against mass changes, from the command line against the sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from central365.core.model import CANONICAL_COLUMNS
from central365.mailstore.store import seed_folder
from central365.sources.csv_source import write_csv

from .conftest import FOLDER, MAILBOX

pytestmark = pytest.mark.e2e  # real processes on real ports

PEOPLE = 12
WITHOUT = ("mobile", "telephone", "home_town")


def row(n: int) -> dict[str, str]:
    return {
        "id": str(n),
        "status": "active",
        "first_name": f"First{n}",
        "last_name": f"Last{n}",
        "email": f"person{n}@example.com",
        "mobile": "",
        "telephone": "",
        "home_town": "",
    }


def outlook(n: int) -> dict[str, Any]:
    return {
        "displayName": f"First{n} Last{n}",
        "givenName": f"First{n}",
        "surname": f"Last{n}",
        "emailAddresses": [{"address": f"person{n}@example.com", "name": f"First{n} Last{n}"}],
        "mobilePhone": f"07700 9000{n:02d}",
        "businessPhones": [f"0113 496 00{n:02d}"],
        "homeAddress": {"city": "Leeds"},
    }


def central(tmp_path: Path, name: str, columns: tuple[str, ...]) -> str:
    path = tmp_path / name
    write_csv(path, [row(n) for n in range(1, PEOPLE + 1)], columns)
    return f"csv:{path}"


@pytest.fixture
def cli(make_cli: Any, tmp_path: Path) -> Any:
    made = make_cli(
        central(tmp_path, "partial.csv", tuple(c for c in CANONICAL_COLUMNS if c not in WITHOUT))
    )
    seed_folder(made.sandbox.store, MAILBOX, FOLDER, [outlook(n) for n in range(1, PEOPLE + 1)])
    return made


def test_an_export_missing_columns_plans_no_clearing_and_says_so(cli: Any) -> None:
    plan = cli.json("plan")
    assert plan["missing_columns"] == list(WITHOUT)
    assert plan["counts"]["unchanged"] == PEOPLE and plan["counts"]["update"] == 0
    assert plan["guards"] == []

    table = cli.run("plan")
    assert table.returncode == 0, table.stderr
    assert "Central has no column mobile, telephone, home_town" in " ".join(table.stdout.split())

    done = cli.json("sync", "--all", "--yes")
    assert (done["created"], done["updated"], done["failed"]) == (0, 0, 0)
    kept = {c["mobilePhone"] for c in cli.folder_contacts()}
    assert kept == {f"07700 9000{n:02d}" for n in range(1, PEOPLE + 1)}


def test_a_mass_clear_is_refused_unless_allowed(cli: Any, tmp_path: Path) -> None:
    cli.env["CENTRAL365_CENTRAL"] = central(tmp_path, "blank.csv", CANONICAL_COLUMNS)

    plan = cli.json("plan")
    assert plan["missing_columns"] == []
    assert [g["code"] for g in plan["guards"]] == ["mass_clear", "mass_update"]
    clear = plan["guards"][0]["message"]
    assert "Mobile on 12 (100 %)" in clear and "Telephone on 12" in clear
    table = " ".join(cli.run("plan").stdout.split())
    assert "Mass change (mass_clear): The run would clear Mobile on 12" in table
    assert "refused unless --allow-mass-change is given" in table

    dry = cli.json("sync", "--all", "--dry-run")
    assert dry["dry_run"] is True and [g["code"] for g in dry["guards"]] == [
        "mass_clear",
        "mass_update",
    ]
    few = cli.json("sync", "--key", "1", "--key", "2", "--dry-run")
    assert few["guards"] == []  # two records are not a mass change

    refused = cli.run("sync", "--all", "--yes")
    assert refused.returncode == 2
    assert refused.stdout == ""
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith("Error: Refusing to synchronise a mass change.")
    assert "--allow-mass-change" in line
    assert all(c["mobilePhone"] for c in cli.folder_contacts())  # nothing was written

    allowed = cli.json("sync", "--all", "--yes", "--allow-mass-change")
    assert (allowed["updated"], allowed["failed"]) == (PEOPLE, 0)
    assert not any(c["mobilePhone"] for c in cli.folder_contacts())
    assert cli.json("plan")["guards"] == []


def test_thresholds_are_settings(cli: Any, tmp_path: Path) -> None:
    cli.env["CENTRAL365_CENTRAL"] = central(tmp_path, "blank.csv", CANONICAL_COLUMNS)
    cli.env["CENTRAL365_GUARD_CLEAR_PERCENT"] = "100"
    cli.env["CENTRAL365_GUARD_UPDATE_PERCENT"] = "100"
    assert cli.json("plan")["guards"] == []
    done = cli.json("sync", "--all", "--yes")
    assert done["updated"] == PEOPLE
