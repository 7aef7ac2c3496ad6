"""Targets inside `serve` without a broker: Run now through the runtime's Schedules runs each
mailbox on the embedded pool, and History shows the target run as one run with its mailboxes
(each keeping its own page), to admins; others see only their own mailbox's part."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from central365.appdb import TargetRunRecord, TargetRunStatus
from central365.core.targets import SyncTarget
from central365.wiring.connection import SignInMode

from .conftest import FOLDER, MAILBOX, Web, World, serve, signed_in_as

SHARED = "shared@contoso.test"


@pytest.fixture
def web(world: World) -> Iterator[Web]:
    world.settings = world.settings.model_copy(
        update={
            "auth": SignInMode.SANDBOX,
            "targets": (
                SyncTarget("pair", FOLDER, (MAILBOX, SHARED)),
                SyncTarget(
                    "nightly",
                    FOLDER,
                    (SHARED,),
                    schedule="0 2 * * *",
                    timezone="Europe/London",
                ),
            ),
        }
    )
    yield from serve(world.app())


def ended(web: Web, target_run_id: int) -> TargetRunRecord:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        run = web.runtime.schedules.target_run(target_run_id)
        if run is not None and run.status is not TargetRunStatus.RUNNING:
            return run
        time.sleep(0.05)
    raise AssertionError("the target run did not end")


def test_run_now_runs_the_target_in_serve_and_history_groups_it(web: Web) -> None:
    views = {v.name: v for v in web.runtime.schedules.list_schedules()}
    assert views["nightly"].next_run is not None and views["pair"].next_run is None
    assert web.runtime.scheduler is not None  # a target has a schedule: serve fires it

    run = ended(web, web.runtime.schedules.run_now("pair", "Alice Admin"))
    assert run.status is TargetRunStatus.FINISHED
    assert {m.mailbox: m.created for m in run.mailboxes} == {MAILBOX: 2, SHARED: 4}

    signed_in_as(web, "alice")
    page = web.soup("/history")
    group = page.select_one(f'tr[data-target-run-id="{run.id}"]')
    assert group is not None and "Target pair" in group.get_text()
    assert group.select_one('[data-count="created"]').get_text(strip=True) == "6"  # type: ignore[union-attr]
    members = page.select("tr.in-target")
    assert sorted(int(str(r["data-run-id"])) for r in members) == sorted(
        m.run_id for m in run.mailboxes if m.run_id is not None
    )
    detail = web.soup(f"/history/targets/{run.id}")
    assert {str(r["data-mailbox"]) for r in detail.select("tr[data-mailbox]")} == {
        MAILBOX,
        SHARED,
    }
    first = run.mailboxes[0].run_id
    assert web.soup(f"/history/{first}").select_one("h1") is not None


def test_a_target_run_shows_others_only_their_own_mailbox(web: Web) -> None:
    run = ended(web, web.runtime.schedules.run_now("nightly", "Alice Admin"))
    signed_in_as(web, "bob")  # bob@contoso.test: not a mailbox of this target
    response = web.client.get(f"/history/targets/{run.id}")
    assert response.status_code == 403
    assert web.client.get("/history/targets/9999").status_code == 404
