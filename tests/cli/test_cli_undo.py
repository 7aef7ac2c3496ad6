"""`central365 undo` against a sandbox on a real port: preview, confirm, undo, undo the undo,
what changed since is skipped, and the undo of a sync that was killed mid-run."""

from __future__ import annotations

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
from central365.core.model import CANONICAL_COLUMNS
from central365.sources.csv_source import write_csv

from .conftest import FOLDER, MAILBOX
from .test_cli_journal import anchored, settle

pytestmark = pytest.mark.e2e  # real processes on real ports


def row(n: int, first: str | None = None, **extra: str) -> dict[str, str]:
    return {
        "id": str(n),
        "status": "active",
        "first_name": first or f"P{n}",
        "last_name": "Undo",
        "email": f"p{n}@example.com",
        **extra,
    }


def values(cli: Any) -> dict[str, tuple[str, str, str]]:
    """Each anchored contact's name, mobile and first email, by its Central id."""
    return {
        key: (c["givenName"], c.get("mobilePhone") or "", c["emailAddresses"][0]["address"])
        for key, c in anchored(cli).items()
    }


def test_undo_previews_asks_restores_and_can_itself_be_undone(
    make_cli: Any, tmp_path: Path
) -> None:
    csv = tmp_path / "central.csv"
    write_csv(csv, [row(1), row(2), row(3)], CANONICAL_COLUMNS)
    cli = make_cli(f"csv:{csv}", CENTRAL365_DATABASE_URL=f"sqlite:///{tmp_path / 'app.db'}")
    cli.json("sync", "--all", "--yes")
    before = values(cli)

    write_csv(
        csv, [row(1, "Ann"), row(2, mobile="07700 900002"), row(3), row(4)], CANONICAL_COLUMNS
    )
    second = cli.json("sync", "--all", "--yes")
    after = values(cli)
    assert after["1"][0] == "Ann" and "4" in after

    # Contact 3 was not written by run 2: it is not in its undo at all.
    preview = cli.json("undo", str(second["run_id"]), "--dry-run")
    assert (preview["run_id"], preview["undoes"], preview["dry_run"]) == (
        None,
        second["run_id"],
        True,
    )
    assert [(i["key"], i["action"], i["outcome"]) for i in preview["items"]] == [
        ("1", "restore", None),
        ("2", "restore", None),
        ("4", "delete", None),
    ]
    assert preview["items"][0]["changes"] == [
        {"field": "givenName", "label": "First name", "before": "Ann", "after": "P1"}
    ]
    shown = cli.run("undo", str(second["run_id"]), "--dry-run")
    assert shown.returncode == 0, shown.stderr
    assert "First name: Ann → P1" in " ".join(shown.stdout.split())
    assert "Dry run: 2 to restore, 1 to delete, 0 to recreate, 0 skipped" in shown.stdout
    assert values(cli) == after  # nothing written

    refused = cli.run("undo", str(second["run_id"]))  # no terminal, no --yes
    assert refused.returncode == 2 and "pass --yes" in refused.stderr

    done = cli.json("undo", str(second["run_id"]), "--yes")
    assert (done["undoes"], done["restored"], done["deleted"], done["failed"]) == (
        second["run_id"],
        2,
        1,
        0,
    )
    assert {i["outcome"] for i in done["items"]} == {"updated", "deleted"}
    assert values(cli) == before

    history = cli.json("history")
    assert history[0]["id"] == done["run_id"] and history[0]["undoes"] == second["run_id"]
    assert history[0]["counts"]["deleted"] == 1 and history[0]["counts"]["updated"] == 2
    assert f"(undo of run {second['run_id']})" in " ".join(cli.run("history").stdout.split())

    # Undoing it again skips everything, with the reason; undoing the undo redoes run 2.
    again = cli.json("undo", str(second["run_id"]), "--yes")
    assert {i["reason"] for i in again["items"]} == {
        f"Written again by run {done['run_id']}: undo that run first.",
        "Already deleted: it is no longer in the folder.",
    }
    redo = cli.json("undo", str(done["run_id"]), "--yes")
    assert (redo["restored"], redo["recreated"]) == (2, 1)
    assert values(cli) == after
    assert len(cli.folder_contacts()) == 4  # no record has two contacts


def test_undo_skips_what_changed_in_outlook_and_refuses_unknown_runs(
    make_cli: Any, tmp_path: Path
) -> None:
    csv = tmp_path / "central.csv"
    write_csv(csv, [row(1), row(2)], CANONICAL_COLUMNS)
    cli = make_cli(f"csv:{csv}", CENTRAL365_DATABASE_URL=f"sqlite:///{tmp_path / 'app.db'}")
    first = cli.json("sync", "--all", "--yes")
    edited = anchored(cli)["1"]
    cli.sandbox.store.update_contact(MAILBOX, edited["id"], {"mobilePhone": "07700 900999"})

    done = cli.json("undo", str(first["run_id"]), "--yes")
    assert [(i["key"], i["action"], i["outcome"], i["reason"]) for i in done["items"]] == [
        (
            "1",
            "skip",
            "skipped",
            f"Changed in Outlook since run {first['run_id']}: it is left as it is.",
        ),
        ("2", "delete", "deleted", None),
    ]
    assert list(anchored(cli)) == ["1"]

    missing = cli.run("undo", "999", "--yes")
    assert missing.returncode == 2
    assert "There is no run 999: `central365 history` lists the runs." in missing.stderr


def test_a_sync_killed_mid_run_is_undone_for_what_it_wrote(make_cli: Any, tmp_path: Path) -> None:
    people = 300
    csv = tmp_path / "central.csv"
    write_csv(csv, [row(n) for n in range(people)], CANONICAL_COLUMNS)
    url = f"sqlite:///{tmp_path / 'app.db'}"
    cli = make_cli(f"csv:{csv}", CENTRAL365_DATABASE_URL=url)
    with cli.admin() as admin:  # each batch takes a while: the run is killed while writing
        assert admin.put("/faults", json={"latency_ms": 300}).status_code == 200
    migrate(url)
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
        settle(cli)
        with database.session(write=True) as s, s.begin():  # the dead run's lease lapses
            s.execute(
                update(RunLeaseRow).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
            )
        with cli.admin() as admin:
            assert admin.put("/faults", json={"latency_ms": 0}).status_code == 200
        killed = cli.json("history")[0]
        assert killed["status"] == "running"  # until a command finds its lease lapsed
        journalled = {w.key for w in journal.writes(killed["id"])}
        written = set(anchored(cli))
        assert 20 <= len(journalled) <= len(written) < people

        done = cli.json("undo", str(killed["id"]), "--yes")
        assert (done["deleted"], done["failed"], done["skipped"]) == (len(journalled), 0, 0)
        statuses = {run["id"]: run["status"] for run in cli.json("history")}
        assert (statuses[killed["id"]], statuses[done["run_id"]]) == ("interrupted", "finished")
        # What it journalled is gone; a contact written but never journalled stays, with its
        # anchor (the next plan finds it), and no record has two contacts.
        assert set(anchored(cli)) == written - journalled
        plan = cli.json("plan")
        assert plan["counts"]["new"] == people - len(written - journalled)
        finished = cli.json("sync", "--all", "--yes")
        assert finished["failed"] == 0
        assert len(anchored(cli)) == len(cli.folder_contacts()) == people
    finally:
        database.dispose()
