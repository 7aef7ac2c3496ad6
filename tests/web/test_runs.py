"""Runs from the homepage: only what was selected is written, progress, refusal, history."""

from __future__ import annotations

import pytest

from central365.appdb import run_lock_key
from central365.sandbox.faults import FaultRule
from central365.sources import write_csv
from tests.web.conftest import FOLDER, MAILBOX, RECORDS, Web, World, record


def start(web: Web, **form: object) -> int:
    response = web.client.post("/runs", data={"csrf_token": web.csrf("/?state=new"), **form})  # type: ignore[arg-type]
    assert response.status_code == 303, response.text
    run_id = int(response.headers["location"].rsplit("/", 1)[1])
    web.wait_run(run_id)
    return run_id


def emails(world: World) -> set[str]:
    return {a["address"] for c in world.folder() for a in c["emailAddresses"]}


def test_a_run_writes_only_the_ticked_records_and_shows_its_outcome(
    signed_in: Web, world: World
) -> None:
    run_id = start(signed_in, key=["1"])
    assert "ada@example.com" in emails(world)
    assert "hacker@example.com" not in emails(world)  # new too, but not ticked
    page = signed_in.soup(f"/runs/{run_id}")
    run = page.select_one("#run")
    assert run["data-status"] == "finished"
    assert not run.has_attr("data-poll")  # nothing left to poll
    counts = {c["data-count"]: c.get_text() for c in run.select("[data-count]")}
    assert counts == {
        "done": "1",
        "total": "1",
        "created": "1",
        "updated": "0",
        "deleted": "0",  # shown only once a run has deleted contacts (chosen orphans)
        "failed": "0",
        "skipped": "0",
    }
    assert run.select_one("[data-deleted-row]").has_attr("hidden")
    progress = page.select_one("#run-progress")
    assert (progress["value"], progress["max"]) == ("1", "1")
    # The plan was made again at the end of the run: Ada is no longer new.
    home = signed_in.soup("/")
    assert home.select_one('[data-count="new"]').get_text() == "1"
    assert home.select_one('[data-count="unchanged"]').get_text() == "2"


def test_select_all_in_state_posts_the_state_and_writes_every_record_of_it(
    signed_in: Web, world: World
) -> None:
    page = signed_in.soup("/?state=update")
    box = page.select_one("#all-in-state")
    assert (box["name"], box["value"]) == ("all_in_state", "update")
    run_id = start(signed_in, all_in_state="update", key=["1"])  # the state wins over ticks
    run = signed_in.runtime.runs.get(run_id)
    assert run is not None and (run.updated, run.created) == (1, 0)
    (bob,) = [c for c in world.folder() if c["emailAddresses"][0]["address"] == "bob@example.com"]
    assert bob["mobilePhone"] == "07700 900002"
    assert "ada@example.com" not in emails(world)


def test_all_in_state_means_the_records_the_person_was_shown(signed_in: Web, world: World) -> None:
    signed_in.soup("/?state=new")  # the person sees Ada and the <script> record as new
    central = world.tmp / "central.csv"
    late = record("9", "Late", "Comer", "late@example.com")  # enters Central afterwards
    write_csv(central, [*RECORDS, late])
    run_id = start(signed_in, all_in_state="new")
    run = signed_in.runtime.runs.get(run_id)
    assert run is not None and run.created == 2
    assert "late@example.com" not in emails(world)
    assert {"ada@example.com", "hacker@example.com"} <= emails(world)


def test_a_state_that_is_not_actionable_cannot_be_synchronised(
    signed_in: Web, world: World
) -> None:
    response = signed_in.client.post(
        "/runs", data={"csrf_token": signed_in.csrf(), "all_in_state": "non_actionable"}
    )
    assert response.status_code == 400
    assert "Only the records new to Office 365" in response.text
    # Nothing ticked is not an error page (issue 6): back to the tab, with the explanation.
    nothing = signed_in.client.post(
        "/runs", data={"csrf_token": signed_in.csrf(), "from_state": "update"}
    )
    assert nothing.status_code == 303
    assert nothing.headers["location"] == "/?state=update&nothing_selected=1"
    page = signed_in.soup(nothing.headers["location"])
    notice = page.select_one('[data-notice="nothing-selected"]').get_text()
    assert "tick the records to synchronise first" in notice
    assert page.select_one('.tabs a[aria-current="page"]')["data-state"] == "update"
    assert signed_in.runtime.runs.count() == 0
    assert signed_in.soup("/").select_one("[data-notice]") is None


def test_a_second_run_into_the_same_folder_is_refused_with_a_message(
    signed_in: Web, world: World
) -> None:
    # A run of another process (same database) holds the folder's lock.
    running = signed_in.runtime.runs.start(
        started_by="someone else",
        mailbox=MAILBOX,
        folder_name=FOLDER,
        selected=1,
        lock_key=run_lock_key(MAILBOX, FOLDER),
    )
    home = signed_in.soup("/")
    assert home.select_one("[data-running-run]")["data-running-run"] == str(running.id)
    response = signed_in.client.post("/runs", data={"csrf_token": signed_in.csrf(), "key": "1"})
    assert response.status_code == 409
    from bs4 import BeautifulSoup

    page = BeautifulSoup(response.text, "html.parser")
    message = page.select_one("[data-error-message]").get_text()
    assert (
        message == f"A synchronisation into folder {FOLDER} is already running (run {running.id})."
    )
    assert page.select_one("a[data-running-run]")["href"] == f"/runs/{running.id}"
    assert "ada@example.com" not in emails(world)


def test_csrf_refuses_a_post_without_or_with_a_wrong_token(signed_in: Web, world: World) -> None:
    missing = signed_in.client.post("/runs", data={"key": "1"})
    assert missing.status_code == 403
    wrong = signed_in.client.post("/runs", data={"key": "1", "csrf_token": "forged"})
    assert wrong.status_code == 403
    header_wrong = signed_in.client.post("/plan", headers={"X-CSRF-Token": "forged"})
    assert header_wrong.status_code == 403
    assert "security token" in wrong.text
    assert "ada@example.com" not in emails(world)
    assert signed_in.runtime.runs.count() == 0


def test_history_lists_the_run_and_its_outcomes(signed_in: Web) -> None:
    run_id = start(signed_in, key=["1", "7", "nope"])
    page = signed_in.soup("/history")
    (row,) = page.select("table.history tbody tr")
    assert row["data-run-id"] == str(run_id)
    assert row.select_one("[data-started-by]").get_text() == f"Alice Admin ({MAILBOX})"
    assert row.select_one('[data-count="selected"]').get_text() == "3"
    assert row.select_one('[data-count="created"]').get_text() == "2"
    assert row.select_one('[data-count="failed"]').get_text() == "0"
    detail = signed_in.soup(f"/history/{run_id}")
    outcomes = {r["data-key"]: r["data-outcome"] for r in detail.select("table.outcomes tbody tr")}
    assert outcomes == {"1": "created", "7": "created", "nope": "skipped"}
    skipped = detail.select_one('tr[data-key="nope"]').get_text(" ", strip=True)
    assert "No active Central record has this id." in skipped
    assert signed_in.client.get("/history/999").status_code == 404
    assert signed_in.client.get("/runs/999").status_code == 404


def test_failures_are_listed_with_their_reason(signed_in: Web, world: World) -> None:
    world.sandbox.state.sandbox.faults.script(
        [
            FaultRule(
                status=400,
                method="POST",
                path_contains="/contacts",
                code="ErrorInvalidProperty",
                message="The contact could not be saved.",
                times=None,
            )
        ]
    )
    run_id = start(signed_in, all_in_state="new")
    page = signed_in.soup(f"/runs/{run_id}")
    assert page.select_one('[data-count="failed"]').get_text() == "2"
    failures = {li["data-key"]: li.get_text(" ", strip=True) for li in page.select("#failures li")}
    assert set(failures) == {"1", "7"}
    assert "Ada Lovelace" in failures["1"] and "could not be saved" in failures["1"]
    progress = signed_in.client.get(f"/api/runs/{run_id}").json()
    assert {f["key"] for f in progress["failures"]} == {"1", "7"}
    assert all(f["error"] for f in progress["failures"])


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/runs", {"key": "1"}),
        ("/plan", {}),
        ("/settings", {"action": "save"}),
        ("/auth/logout", {}),
    ],
)
def test_every_page_post_needs_the_csrf_token(
    signed_in: Web, path: str, body: dict[str, str]
) -> None:
    assert signed_in.client.post(path, data=body).status_code == 403


@pytest.mark.parametrize("path", ["/api/runs", "/api/plan"])
def test_every_api_post_with_a_session_needs_the_csrf_header(signed_in: Web, path: str) -> None:
    assert signed_in.client.post(path, json={"keys": ["1"]}).status_code == 403
