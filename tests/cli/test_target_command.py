"""`sync --target` in process (Typer's runner): the refusals, and a run on a sandbox port."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from central365.appdb import ScheduleRepository, TargetRunStatus, TargetTrigger, open_database
from central365.cli import app as cli_app
from central365.core.model import CANONICAL_COLUMNS
from central365.sandbox.identity import IdentityConfig
from central365.sandbox.identity.groups import derived_group_id
from central365.sandbox.server import SandboxServer
from central365.sources.csv_source import write_csv

ANN, BOB = "ann@contoso.test", "bob@contoso.test"
STAFF = derived_group_id("Staff")
EMPTY = derived_group_id("Empty")


@pytest.fixture
def settings(tmp_path: Path) -> Path:
    rows = [
        {
            "id": str(n),
            "status": "active",
            "first_name": f"P{n}",
            "last_name": "T",
            "email": f"p{n}@example.com",
        }
        for n in range(3)
    ]
    write_csv(tmp_path / "central.csv", rows, CANONICAL_COLUMNS)
    file = tmp_path / "central365.toml"
    file.write_text(
        f'central = "csv:{tmp_path / "central.csv"}"\n'
        f'database_url = "sqlite:///{tmp_path / "app.db"}"\n'
        f'[targets.pair]\nmailboxes = ["{ANN}", "{BOB}"]\n'
        f'[targets.staff]\ngroup = "{STAFF}"\nstates = ["new"]\n'
        f'[targets.empty]\ngroup = "{EMPTY}"\n'
        '[targets.mine]\nme = true\nfolder = "Mine"\n',
        encoding="utf-8",
    )
    return file


def invoke(settings: Path, *args: str, **env: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        cli_app,
        ["--config", str(settings), "sync", *args],
        env={"CENTRAL365_AUTH": "sandbox", **env},
    )
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (
            ("--target", "nightly", "--yes"),
            {},
            "No target is called nightly: the settings file has pair, staff, empty, mine.",
        ),
        (("--target", "pair", "--key", "1"), {}, "leave out --all, --state, --key and --dry-run"),
        (("--target", "pair"), {}, "Refusing to synchronise without confirmation"),
        (
            ("--target", "pair", "--yes"),
            {"CENTRAL365_AUTH": "device", "CENTRAL365_CLIENT_ID": "app"},
            "Targets need app sign-in",
        ),
        (
            ("--target", "mine", "--yes"),
            {
                "CENTRAL365_AUTH": "app",
                "CENTRAL365_TENANT_ID": "contoso.test",
                "CENTRAL365_CLIENT_ID": "app",
                "CENTRAL365_CLIENT_SECRET": "s",
                "CENTRAL365_MAILBOX": ANN,
            },
            "Target mine is the signed-in person's own mailbox: run it with device sign-in",
        ),
        (
            ("--target", "pair"),
            {
                "CENTRAL365_AUTH": "app",
                "CENTRAL365_TENANT_ID": "contoso.test",
                "CENTRAL365_CLIENT_ID": "app",
                "CENTRAL365_CLIENT_SECRET": "s",
                "CENTRAL365_MAILBOX": ANN,
            },
            "Warning: The app signs in with a client secret: a certificate is safer",
        ),
    ],
)
def test_what_cannot_run_exits_2_before_any_request(
    settings: Path, args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    code, _, err = invoke(settings, *args, **env)
    assert code == 2
    assert message in " ".join(err.split())


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    directory = IdentityConfig().updated(
        {
            "users": [{"name": "Ann", "username": ANN}, {"name": "Bob", "username": BOB}],
            "groups": [
                {"display_name": "Staff", "members": [ANN, BOB]},
                {"display_name": "Empty", "members": []},
            ],
        }
    )
    with SandboxServer(default_mailbox=ANN, identity=directory) as server:
        yield server


@pytest.mark.e2e
def test_a_group_target_runs_and_prints_its_table_then_its_json(
    settings: Path, sandbox: SandboxServer
) -> None:
    code, out, err = invoke(
        settings, "--target", "staff", "--yes", CENTRAL365_GRAPH_URL=sandbox.url
    )
    assert code == 0, err
    assert "Target staff" in out and ANN in out and BOB in out
    assert "All 2 mailboxes of target staff are synchronised." in out
    assert f"{ANN}: 3 created, 0 updated, 0 failed." in err
    code, out, err = invoke(
        settings, "--target", "pair", "--yes", "--json", CENTRAL365_GRAPH_URL=sandbox.url
    )
    assert code == 0, err
    assert json.loads(out) == {
        "target": "pair",
        "mailboxes": [
            {"mailbox": m, "created": 0, "updated": 0, "failed": 0, "skipped": 0, "error": None}
            for m in (ANN, BOB)
        ],
    }
    code, _, err = invoke(settings, "--target", "empty", "--yes", CENTRAL365_GRAPH_URL=sandbox.url)
    assert code == 2
    assert f"The group {EMPTY} of target empty has no users" in " ".join(err.split())
    database = open_database(f"sqlite:///{settings.parent / 'app.db'}")
    try:
        runs = ScheduleRepository(database).target_runs()
    finally:
        database.dispose()
    assert [(r.target, r.trigger, r.status) for r in runs] == [
        ("pair", TargetTrigger.COMMAND, TargetRunStatus.FINISHED),
        ("staff", TargetTrigger.COMMAND, TargetRunStatus.FINISHED),
    ]
    assert [(m.mailbox, m.created) for m in runs[1].mailboxes] == [(ANN, 3), (BOB, 3)]
    assert all(m.run_id is not None for r in runs for m in r.mailboxes)


@pytest.mark.e2e
def test_a_target_of_the_signed_in_person_writes_their_own_mailbox(
    settings: Path, sandbox: SandboxServer
) -> None:
    code, out, err = invoke(
        settings, "--target", "mine", "--yes", "--json", CENTRAL365_GRAPH_URL=sandbox.url
    )
    assert code == 0, err
    [mailbox] = json.loads(out)["mailboxes"]
    assert (mailbox["created"], mailbox["error"]) == (3, None)
    folders = sandbox.store.list_folders(ANN)  # the sandbox's `me` is its default mailbox
    assert "Mine" in [f["displayName"] for f in folders]
