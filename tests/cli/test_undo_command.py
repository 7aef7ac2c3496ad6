"""`undo` in process (Typer's runner) against a sandbox on a real port: the preview table, the
refusals, the text and JSON outcomes, and an undo whose write fails (exit 1)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from central365.appdb import RunRepository, RunStatus, migrate, open_database
from central365.cli import app as cli_app
from central365.core.model import CANONICAL_COLUMNS
from central365.sandbox.server import SandboxServer
from central365.sources.csv_source import write_csv

pytestmark = pytest.mark.e2e  # a sandbox on a real port

MAILBOX = "undo@contoso.test"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(default_mailbox=MAILBOX) as server:
        yield server


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
        f'mailbox = "{MAILBOX}"\n',
        encoding="utf-8",
    )
    return file


def invoke(settings: Path, sandbox: SandboxServer, *args: str, **env: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        cli_app,
        ["--config", str(settings), *args],
        env={
            "CENTRAL365_AUTH": "sandbox",
            "CENTRAL365_GRAPH_URL": sandbox.url,
            "COLUMNS": "200",
            **env,
        },
    )
    return result.exit_code, result.stdout, result.stderr


def test_undo_in_process(settings: Path, sandbox: SandboxServer, tmp_path: Path) -> None:
    code, out, err = invoke(settings, sandbox, "sync", "--all", "--yes", "--json")
    assert code == 0, err
    run_id = json.loads(out)["run_id"]

    code, out, err = invoke(settings, sandbox, "undo", str(run_id), "--dry-run")
    assert code == 0, err
    assert f"Undo of run {run_id}" in out and "delete" in out
    assert (
        "Dry run: 0 to restore, 3 to delete, 0 to recreate, 0 skipped; nothing was changed."
        in " ".join(out.split())
    )

    code, _, err = invoke(settings, sandbox, "undo", str(run_id))
    assert code == 2 and "pass --yes" in err
    code, _, err = invoke(
        settings, sandbox, "undo", str(run_id), "--yes", CENTRAL365_MAILBOX="x@contoso.test"
    )
    assert code == 2
    assert f"Run {run_id} wrote into the mailbox {MAILBOX}" in " ".join(err.split())

    # One delete fails (Graph refuses it): the rest are undone and the command exits 1.
    with httpx.Client(base_url=sandbox.admin_url, timeout=10) as admin:
        rule = {
            "status": 403,
            "method": "DELETE",
            "code": "ErrorAccessDenied",
            "times": 1,
            "message": "Access is denied.",
        }
        assert admin.put("/faults/script", json=[rule]).status_code == 200
    code, out, err = invoke(settings, sandbox, "undo", str(run_id), "--yes")
    assert code == 1, err
    assert "Failed" in out
    assert (
        f"undid run {run_id}: 0 restored, 2 deleted, 0 recreated, 1 failed, 0 skipped."
        in " ".join(out.split())
    )

    code, out, err = invoke(settings, sandbox, "undo", str(run_id), "--yes", "--json")
    assert code == 0, err
    again = json.loads(out)
    assert (again["deleted"], again["skipped"]) == (1, 2)

    # Nothing left: the preview says so; an unknown or running run is refused.
    code, out, _ = invoke(settings, sandbox, "undo", str(run_id), "--yes")
    assert code == 0
    url = f"sqlite:///{tmp_path / 'app.db'}"
    migrate(url)
    database = open_database(url)
    try:
        runs = RunRepository(database)
        going = runs.start(
            started_by="x", mailbox=MAILBOX, folder_name="Central Contacts", selected=0
        )
        code, _, err = invoke(settings, sandbox, "undo", str(going.id), "--yes")
        assert code == 2 and f"Run {going.id} is still running" in err
        runs.finish(going.id, RunStatus.FINISHED)
        code, out, _ = invoke(settings, sandbox, "undo", str(going.id), "--dry-run")
        assert code == 0 and f"Run {going.id} wrote no contact" in out
        code, out, _ = invoke(settings, sandbox, "undo", str(going.id))
        assert code == 2  # no terminal and no --yes: refused before anything
    finally:
        database.dispose()
    code, _, err = invoke(settings, sandbox, "undo", "4242", "--yes")
    assert code == 2 and "There is no run 4242" in err
