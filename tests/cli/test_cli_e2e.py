"""The whole product from the command line: plan, sync one, sync all, re-plan, what landed."""

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

ROWS: list[dict[str, str]] = [
    {
        "id": "1",
        "status": "Active",
        "title": "Dr",
        "first_name": "Ann",
        "last_name": "Lee",
        "email": "ann@example.com",
        "mobile": "",
        "telephone": "0113 496 0001",
        "home_address_line1": "Flat 1",
        "home_address_line2": "King's Court",
        "home_address_line3": "10 Long Street",
        "home_town": "Leeds",
        "home_postcode": "LS1 1AA",
    },
    {
        "id": "2",
        "status": "active",
        "first_name": "Zoë",
        "last_name": "Ørsted",
        "email": "zoe@example.com",
        "website": "https://zoë.example.com",
    },
    {
        "id": "3",
        "status": "active",
        "first_name": "Bob",
        "last_name": "Deceased",
        "email": "bob@example.com",
    },
    {
        "id": "4",
        "status": "inactive",
        "first_name": "Old",
        "last_name": "Record",
        "email": "old@example.com",
    },
    {
        "id": "5",
        "status": "active",
        "first_name": "Same",
        "last_name": "Person",
        "email": "same@example.com",
    },
    {
        "id": "6",
        "status": "active",
        "first_name": "Other",
        "last_name": "Folder",
        "email": "other@example.com",
        "mobile": "07700 900006",
    },
    {
        "id": "7",
        "status": "active",
        "first_name": "<b>Bold</b>",
        "last_name": "Tag",
        "email": "tag@example.com",
    },
]

ANN_IN_OUTLOOK: dict[str, Any] = {
    "displayName": "Patrick Parker",
    "givenName": "Patrick",
    "surname": "Parker",
    "emailAddresses": [
        {"address": "old.work@example.org", "name": "work"},
        {"address": "ANN@example.com", "name": "Ann"},
    ],
    "mobilePhone": "07000 000000",
    "businessPhones": ["0000 000000", "0113 000 0002"],
    "personalNotes": "Met at the spring fair.",
    "categories": ["VIP"],
    "companyName": "Lee & Co",
}
SAME_IN_OUTLOOK = {
    "displayName": "Same Person",
    "givenName": "Same",
    "surname": "Person",
    "emailAddresses": [{"address": "same@example.com", "name": "Same Person"}],
}
OUTLOOK_ONLY = {
    "displayName": "Outlook Only",
    "givenName": "Outlook",
    "surname": "Only",
    "emailAddresses": [{"address": "outlook.only@example.org", "name": "Outlook Only"}],
}
OTHER_FOLDER_CONTACT = {
    "displayName": "Other Folder",
    "givenName": "Other",
    "surname": "Folder",
    "emailAddresses": [{"address": "other@example.com", "name": "Other"}],
    "personalNotes": "Lives in another folder.",
}


def seed(cli: Any, tmp_path: Path) -> str:
    path = tmp_path / "central.csv"
    write_csv(path, ROWS, CANONICAL_COLUMNS)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # as Excel saves it
    store = cli.sandbox.store
    seed_folder(store, MAILBOX, FOLDER, [ANN_IN_OUTLOOK, SAME_IN_OUTLOOK, OUTLOOK_ONLY])
    seed_folder(store, MAILBOX, "Personal", [OTHER_FOLDER_CONTACT])
    return f"csv:{path}"


def by_email(contacts: list[dict[str, Any]], email: str) -> list[dict[str, Any]]:
    return [
        c for c in contacts if any(a["address"].casefold() == email for a in c["emailAddresses"])
    ]


def test_plan_sync_one_sync_all_and_replan(make_cli: Any, tmp_path: Path) -> None:
    cli = make_cli("csv:placeholder")
    cli.env["CENTRAL365_CENTRAL"] = seed(cli, tmp_path)

    plan = cli.json("plan")
    assert plan["counts"] == {"new": 3, "update": 1, "unchanged": 1, "non_actionable": 1}
    assert plan["excluded"] == 1
    assert plan["folder"]["name"] == FOLDER and plan["folder"]["exists"] is True
    states = {i["key"]: i["state"] for i in plan["items"]}
    assert states == {
        "1": "update",
        "2": "new",
        "3": "non_actionable",
        "5": "unchanged",
        "6": "new",
        "7": "new",
    }
    ann = next(i for i in plan["items"] if i["key"] == "1")
    assert {"field": "givenName", "from": "Patrick", "to": "Ann"} in ann["changes"]
    assert next(i for i in plan["items"] if i["key"] == "3")["reasons"] == ["deceased"]

    table = cli.run("plan")
    assert table.returncode == 0, table.stderr
    assert "Requires update" in table.stdout and "marked as deceased" in table.stdout

    one = cli.json("sync", "--key", "2", "--yes")
    assert (one["created"], one["updated"], one["failed"]) == (1, 0, 0)
    assert len(cli.folder_contacts()) == 4

    everything = cli.json("sync", "--all", "--yes")
    assert (everything["created"], everything["updated"], everything["failed"]) == (2, 1, 0)
    assert sorted(i["key"] for i in everything["items"]) == ["1", "6", "7"]

    again = cli.json("plan")
    assert again["counts"] == {"new": 0, "update": 0, "unchanged": 5, "non_actionable": 1}

    landed = cli.folder_contacts()
    assert len(landed) == 6  # 3 seeded + 3 created: nothing duplicated
    (ann_now,) = by_email(landed, "ann@example.com")
    assert ann_now["givenName"] == "Ann" and ann_now["surname"] == "Lee"
    assert ann_now["displayName"] == "Ann Lee"
    assert ann_now["title"] == "Dr"
    assert [a["address"] for a in ann_now["emailAddresses"]] == [
        "ann@example.com",  # Central's spelling goes first
        "old.work@example.org",
    ]
    assert ann_now["homeAddress"]["street"] == "Flat 1, King's Court, 10 Long Street"
    assert ann_now["homeAddress"]["city"] == "Leeds"
    assert ann_now["businessPhones"] == ["0113 496 0001", "0113 000 0002"]
    assert not ann_now["mobilePhone"]  # blank in Central: cleared
    assert ann_now["personalNotes"] == "Met at the spring fair."
    assert ann_now["categories"] == ["VIP"]
    assert ann_now["companyName"] == "Lee & Co"
    (zoe,) = by_email(landed, "zoe@example.com")
    assert (zoe["givenName"], zoe["surname"]) == ("Zoë", "Ørsted")
    assert zoe["businessHomePage"] == "https://zoë.example.com"
    (tag,) = by_email(landed, "tag@example.com")
    assert tag["givenName"] == "<b>Bold</b>"
    assert by_email(landed, "outlook.only@example.org")[0] | {} == cli.folder_contacts()[2]
    assert not by_email(landed, "bob@example.com")

    (other,) = cli.folder_contacts("Personal")
    assert other["personalNotes"] == "Lives in another folder."
    assert other["mobilePhone"] is None  # the Central record went to the target folder instead
    assert (
        other["changeKey"]
        == cli.sandbox.store.list_contacts(MAILBOX, other["parentFolderId"])[0]["changeKey"]
    )


def test_sync_creates_a_missing_folder(make_cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "central.csv"
    write_csv(path, ROWS[:2], CANONICAL_COLUMNS)
    cli = make_cli(f"csv:{path}", CENTRAL365_FOLDER="Brand New")
    plan = cli.json("plan")
    assert plan["folder"] == {"id": None, "name": "Brand New", "exists": False}
    done = cli.run("sync", "--all", "--yes")
    assert done.returncode == 0, done.stderr
    assert "Created the folder" in done.stderr
    assert len(cli.folder_contacts("Brand New")) == 2


def test_dry_run_writes_nothing(make_cli: Any, tmp_path: Path) -> None:
    cli = make_cli("csv:placeholder")
    cli.env["CENTRAL365_CENTRAL"] = seed(cli, tmp_path)
    done = cli.json("sync", "--all", "--dry-run")
    assert done["dry_run"] is True
    assert sorted(i["key"] for i in done["items"]) == ["1", "2", "6", "7"]
    assert len(cli.folder_contacts()) == 3


def test_sync_without_a_terminal_refuses_without_yes(make_cli: Any, tmp_path: Path) -> None:
    cli = make_cli("csv:placeholder")
    cli.env["CENTRAL365_CENTRAL"] = seed(cli, tmp_path)
    done = cli.run("sync", "--all", input="y\n")
    assert done.returncode == 2
    assert "pass --yes" in done.stderr
    assert "Traceback" not in done.stderr
    assert len(cli.folder_contacts()) == 3


def test_a_failed_record_does_not_stop_the_others_and_exits_1(
    make_cli: Any, tmp_path: Path
) -> None:
    cli = make_cli("csv:placeholder")
    cli.env["CENTRAL365_CENTRAL"] = seed(cli, tmp_path)
    with cli.admin() as admin:
        rule = {
            "method": "PATCH",
            "status": 400,
            "code": "ErrorInvalidProperty",
            "message": "The property is not valid.",
            "times": None,
        }
        assert admin.post("/faults/script", json=[rule]).status_code == 200
    done = cli.run("sync", "--all", "--yes", "--json")
    assert done.returncode == 1, done.stderr
    outcome = __import__("json").loads(done.stdout)
    assert (outcome["created"], outcome["updated"], outcome["failed"]) == (3, 0, 1)
    (failed,) = [i for i in outcome["items"] if i["outcome"] == "failed"]
    assert failed["key"] == "1" and "ErrorInvalidProperty" in failed["error"]


def test_configuration_errors_are_one_clear_message(make_cli: Any, tmp_path: Path) -> None:
    cli = make_cli(f"csv:{tmp_path / 'missing.csv'}")
    done = cli.run("plan")
    assert done.returncode == 2
    assert "missing.csv" in done.stderr
    assert "Traceback" not in done.stderr
    debug = cli.run("--debug", "plan")
    assert "Traceback" in debug.stderr

    del cli.env["CENTRAL365_CENTRAL"]
    cli.env["CENTRAL365_AUTH"] = "app"
    done = cli.run("plan")
    assert done.returncode == 2
    for name in ("CENTRAL365_CENTRAL", "CENTRAL365_TENANT_ID", "CENTRAL365_CLIENT_ID"):
        assert name in done.stderr


def test_a_broken_row_is_reported_and_the_rest_planned(make_cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "central.csv"
    write_csv(path, ROWS[:2], CANONICAL_COLUMNS)
    path.write_text(path.read_text() + "99,active,too,few\n")
    cli = make_cli(f"csv:{path}")
    plan = cli.json("plan")
    assert plan["counts"]["new"] == 2
    assert plan["problems"][0]["line"] == 4


def test_folders_lists_the_mailbox_folders(make_cli: Any, tmp_path: Path) -> None:
    cli = make_cli("csv:placeholder")
    seed(cli, tmp_path)
    folders = cli.json("folders")
    assert sorted(f["name"] for f in folders) == [FOLDER, "Personal"]


def test_sync_under_throttling_and_faults_loses_and_duplicates_nothing(
    make_cli: Any, tmp_path: Path
) -> None:
    rows = [
        {
            "id": str(n),
            "status": "active",
            "first_name": f"P{n}",
            "last_name": "Load",
            "email": f"p{n}@example.com",
        }
        for n in range(150)
    ]
    path = tmp_path / "central.csv"
    write_csv(path, rows, CANONICAL_COLUMNS)
    cli = make_cli(f"csv:{path}", CENTRAL365_TIMEOUT="3")  # the dropped answer times out
    batch = {"method": "POST", "path_contains": "$batch", "inner": False}
    create = {"method": "POST", "path_contains": "/contacts", "inner": True}
    rules = [
        {**batch, "status": 429, "retry_after": 1, "times": 1},  # throttled, with Retry-After
        {**batch, "status": 429, "times": 1},  # throttled, no Retry-After: backoff
        {**batch, "status": 503, "times": 1},
        {**batch, "status": 504, "after_processing": True, "times": 1},  # ran, answer lost
        {**batch, "drop": True, "times": 1},  # ran, connection dropped
        {**create, "status": 429, "retry_after": 1, "times": 3},  # inner throttling
        {**create, "status": 429, "code": "ErrorTooManyObjectsOpened", "times": 2},
        {**create, "status": 503, "times": 2},
        {**create, "status": 504, "after_processing": True, "times": 2},
    ]
    with cli.admin() as admin:
        assert (
            admin.put(
                "/faults", json={"fault_rate": 0.05, "fault_retry_after_s": 0, "seed": 7}
            ).status_code
            == 200
        )
        assert admin.post("/faults/script", json=rules).status_code == 200
        outcome = cli.json("sync", "--all", "--yes")
        assert outcome["failed"] == 0, outcome
        assert outcome["created"] == 150
        assert admin.get("/faults/script").json() == []  # every scripted fault was played
    emails = sorted(a["address"] for c in cli.folder_contacts() for a in c["emailAddresses"])
    assert emails == sorted(f"p{n}@example.com" for n in range(150))  # none lost, none twice


def test_sync_reports_the_rows_it_could_not_read_and_exits_1(make_cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "central.csv"
    write_csv(path, ROWS[:2], CANONICAL_COLUMNS)
    path.write_text(path.read_text() + "99,active,too,few\n")
    cli = make_cli(f"csv:{path}")

    done = cli.run("sync", "--all", "--yes", "--json")
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout)
    assert result["created"] == 2
    assert [p["line"] for p in result["problems"]] == [4]

    again = cli.run("sync", "--all", "--yes")
    assert again.returncode == 1
    assert "Line 4 of Central was not read" in again.stdout
    assert "1 row of Central could not be read." in again.stdout


def test_errors_off_a_terminal_are_one_unwrapped_line_without_engine_logs(
    make_cli: Any, tmp_path: Path
) -> None:
    """A source error beside a Graph that cannot be reached: only the source's message."""
    missing = tmp_path / ("a-long-folder-name-" * 4) / "central.csv"
    cli = make_cli(f"csv:{missing}", CENTRAL365_GRAPH_URL="http://127.0.0.1:9/v1.0")
    del cli.env["COLUMNS"]

    done = cli.run("plan")

    assert done.returncode == 2
    first, *problems = [line for line in done.stderr.splitlines() if line.strip()]
    # The message on one line, then one line per problem: nothing wrapped at 80 columns.
    assert first.startswith("Error: ") and str(missing) in first, done.stderr
    assert problems and all(line.lstrip().startswith("- ") for line in problems), done.stderr
    assert "failed" not in done.stderr.replace(str(missing), "")


def test_a_mapping_given_as_a_folder_is_named_as_a_folder(make_cli: Any, tmp_path: Path) -> None:
    cli = make_cli("csv:placeholder", CENTRAL365_CENTRAL_MAPPING=str(tmp_path))
    done = cli.run("plan")
    assert done.returncode == 2
    assert f"{tmp_path} is a folder, not a file" in done.stderr


def _people(n: int) -> list[dict[str, str]]:
    return [
        {
            "id": str(k),
            "status": "active",
            "first_name": f"W{k}",
            "last_name": "Wait",
            "email": f"w{k}@example.com",
        }
        for k in range(n)
    ]


def test_a_wait_is_said_and_a_run_stopped_early_exits_1(make_cli: Any, tmp_path: Path) -> None:
    """Off a terminal a long Retry-After is a line on stderr, never minutes of silence; a
    Retry-After past the run's deadline stops the run: every record left is `skipped` with the
    reason, `unwritten` counts them, exit 1 — and the next sync finishes the job."""
    path = tmp_path / "central.csv"
    write_csv(path, _people(30), CANONICAL_COLUMNS)
    cli = make_cli(f"csv:{path}", CENTRAL365_RUN_DEADLINE="60")
    batch = {"method": "POST", "path_contains": "$batch", "inner": False}
    with cli.admin() as admin:
        assert (
            admin.post(
                "/faults/script", json=[{**batch, "status": 429, "retry_after": 6, "times": 1}]
            ).status_code
            == 200
        )
        waited = cli.run("sync", "--all", "--yes", "--json")
        assert waited.returncode == 0, waited.stderr
        assert "Office 365 asked central365 to wait 6 s (" in waited.stderr
        assert json.loads(waited.stdout)["created"] == 30

    write_csv(path, _people(60), CANONICAL_COLUMNS)
    with cli.admin() as admin:
        assert (
            admin.post(
                "/faults/script", json=[{**batch, "status": 429, "retry_after": 100000, "times": 1}]
            ).status_code
            == 200
        )
        stopped = cli.run("sync", "--all", "--yes", "--json")
    assert stopped.returncode == 1, stopped.stderr
    result = json.loads(stopped.stdout)
    assert result["unwritten"] > 0 and result["unwritten"] == result["skipped"]
    assert all(i["error"] for i in result["items"] if i["outcome"] == "skipped")

    table = cli.run("sync", "--all", "--yes")
    assert table.returncode == 0, table.stderr
    emails = sorted(a["address"] for c in cli.folder_contacts() for a in c["emailAddresses"])
    assert emails == sorted(f"w{k}@example.com" for k in range(60))  # none lost, none twice
