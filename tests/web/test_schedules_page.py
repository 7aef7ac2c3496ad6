"""The Schedules page: admins only, each target in words, Run now, Pause/Resume, the run page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.web.conftest import Web, World, signed_in_as
from tests.web.schedule_fixtures import GROUP, InstantJobs, serve_targets


@pytest.fixture
def jobs() -> InstantJobs:
    return InstantJobs(outcomes={"bob@contoso.test": (0, "Refused: 90 % of email cleared.", True)})


@pytest.fixture
def admin(world: World, jobs: InstantJobs) -> Iterator[Web]:
    for web in serve_targets(world, jobs):
        signed_in_as(web, "alice")
        yield web


def post(web: Web, path: str, **data: str) -> tuple[int, str, str]:
    response = web.client.post(path, data={"csrf_token": web.csrf("/schedules"), **data})
    return response.status_code, response.headers.get("location", ""), response.text


def test_each_target_in_words(admin: Web) -> None:
    home = admin.soup("/")
    assert home.select_one('[data-nav="schedules"]')["href"] == "/schedules"
    page = admin.soup("/schedules")
    staff = page.select_one('[data-target="staff"]')
    assert staff.select_one("[data-who]").get_text() == "ann@contoso.test, bob@contoso.test"
    assert staff.select_one("[data-folder]").get_text() == "Central Contacts"
    assert (
        staff.select_one("[data-when]")
        .get_text(" ", strip=True)
        .startswith("At 02:00, Europe/London time")
    )
    assert " 02:00 GMT" in staff.select_one("[data-next-run]").get_text()
    assert staff.select_one("[data-paused]")["data-paused"] == "no"
    assert staff.select_one('[data-last-run="none"]') is not None
    sales = page.select_one('[data-target="sales"]')
    assert sales.select_one("[data-who]").get_text() == f"Members of the Entra group {GROUP}"
    assert "runs by Run now or the command line" in sales.select_one("[data-when]").get_text()
    assert sales.select_one("[data-pause]") is None  # nothing to pause without a schedule
    mine = page.select_one('[data-target="mine"]')
    assert mine.select_one("[data-run-now]").has_attr("disabled")
    assert "runs only when they run it" in mine.select_one("[data-refusal]").get_text()
    assert not staff.select_one("[data-run-now]").has_attr("disabled")


def test_run_now_shows_the_outcome_per_mailbox_linked_to_history(
    admin: Web, jobs: InstantJobs
) -> None:
    status, location, _ = post(admin, "/schedules/staff/run")
    assert status == 303
    [(name, run_id)] = jobs.started
    assert (name, location) == ("staff", f"/history/targets/{run_id}")
    run = admin.soup(location)
    assert run.select_one("[data-status]")["data-status"] == "failed"
    bob = run.select_one('[data-mailbox="bob@contoso.test"]')
    assert bob.select_one("[data-status]").get_text() == "Refused by a guard"
    assert "90 % of email cleared" in bob.get_text()
    ann = run.select_one('[data-mailbox="ann@contoso.test"]')
    assert ann.select_one('[data-count="created"]').get_text() == "2"
    page = admin.soup("/schedules")
    last = page.select_one('[data-target="staff"] [data-last-run]')
    assert last["data-last-run"] == str(run_id) and "Alice Admin" in last.get_text()
    assert page.select_one('[data-target="staff"] [data-mailbox="bob@contoso.test"]')


def test_a_running_target_cannot_be_started_twice(admin: Web, jobs: InstantJobs) -> None:
    jobs.hold = True
    assert post(admin, "/schedules/staff/run")[0] == 303
    page = admin.soup("/schedules")
    button = page.select_one('[data-target="staff"] [data-run-now]')
    assert button.has_attr("disabled")
    assert (
        "A run of this target is going"
        in page.select_one('[data-target="staff"] [data-refusal]').get_text()
    )
    status, _, text = post(admin, "/schedules/staff/run")
    assert status == 409 and "A run of this target is going" in text
    assert len(jobs.started) == 1


def test_pause_and_resume(admin: Web) -> None:
    status, location, _ = post(admin, "/schedules/staff/pause", paused="yes")
    assert (status, location) == (303, "/schedules#target-staff")
    staff = admin.soup("/schedules").select_one('[data-target="staff"]')
    assert staff.select_one("[data-paused]")["data-paused"] == "yes"
    assert staff.select_one("[data-pause]").get_text() == "Resume"
    assert staff.select_one("[data-next-run]").get_text().startswith("Paused (would be")
    assert post(admin, "/schedules/staff/pause", paused="no")[0] == 303
    staff = admin.soup("/schedules").select_one('[data-target="staff"]')
    assert staff.select_one("[data-paused]")["data-paused"] == "no"


def test_refusals_unknown_targets_and_csrf(admin: Web, jobs: InstantJobs) -> None:
    status, _, text = post(admin, "/schedules/mine/run")
    assert status == 409 and "runs only when they run it" in text
    assert post(admin, "/schedules/nightly/run")[0] == 404
    assert post(admin, "/schedules/nightly/pause", paused="yes")[0] == 404
    assert admin.client.post("/schedules/staff/run").status_code == 403
    assert admin.client.get("/history/targets/999").status_code == 404
    assert jobs.started == []


def test_plain_people_neither_see_nor_reach_the_schedules(world: World, jobs: InstantJobs) -> None:
    for web in serve_targets(world, jobs):
        signed_in_as(web, "bob")
        assert web.soup("/").select_one('[data-nav="schedules"]') is None
        refused = web.soup("/schedules", status=403)
        message = refused.select_one("[data-error-message]").get_text()
        assert "may see and run the schedules" in message
        assert refused.select_one("[data-role-needed]")["data-role-needed"] == "Central365.Admin"
        csrf = web.csrf("/")
        assert web.client.post("/schedules/staff/run", data={"csrf_token": csrf}).status_code == 403
        pause = {"csrf_token": csrf, "paused": "yes"}
        assert web.client.post("/schedules/staff/pause", data=pause).status_code == 403
        assert jobs.started == []


def test_without_app_sign_in_run_now_says_why_before_the_click(world: World) -> None:
    for web in serve_targets(world, None):  # the web tests sign in as people, not as the app
        signed_in_as(web, "alice")
        staff = web.soup("/schedules").select_one('[data-target="staff"]')
        assert staff.select_one("[data-run-now]").has_attr("disabled")
        assert "Targets need app sign-in" in staff.select_one("[data-refusal]").get_text()
        status, _, text = post(web, "/schedules/staff/run")
        assert status == 409 and "Targets need app sign-in" in text


def test_without_targets_the_page_says_how_to_add_one(signed_in: Web) -> None:
    page = signed_in.soup("/schedules")
    assert "add a [targets.NAME] table" in page.select_one("[data-no-targets]").get_text()
