"""Roles on the homepage, per person and mode: Settings, navigation, runs, History, plans.

Alice holds Central365.Admin, Sam Central365.Sync, Pat and Bob no role (with Contacts.ReadWrite
consented), Rita no role and only Contacts.Read (the demo's Read Only).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from central365.appdb import AuthChoice, RunStatus, run_lock_key
from central365.core.model import Plan
from central365.engine.service import FolderRef, PlanReport
from central365.sandbox.faults import FaultRule
from central365.web.plans import plan_key
from tests.web.conftest import (
    FOLDER,
    MAILBOX,
    Web,
    World,
    serve,
    signed_in_as,
    use_app_only,
)

SHARED = "shared@contoso.test"
NOT_ADMINS = ["bob", "sam", "pat", "rita"]


def emails(world: World) -> set[str]:
    return {a["address"] for c in world.folder() for a in c["emailAddresses"]}


def settings_form(web: Web) -> dict[str, str]:
    """What a hostile non-admin would post: app-only access into someone else's mailbox."""
    stored = web.runtime.load_app_settings()
    return {
        "csrf_token": web.csrf(),
        "action": "save",
        "folder_choice": FOLDER,
        "central_url": stored.central_url,
        "central_table": stored.central_table,
        "auth_mode": "app_only",
        "tenant_id": "tenant-1",
        "client_id": "client-id",
        "target_mailbox": MAILBOX,
    }


# -- Settings and the navigation ---------------------------------------------------------------


def test_an_admin_sees_settings_in_the_navigation_and_opens_them(signed_in: Web) -> None:
    page = signed_in.soup("/")
    assert page.select_one('nav a[data-nav="settings"]')["href"] == "/settings"
    assert signed_in.client.get("/settings").status_code == 200


@pytest.mark.parametrize("app_only", [False, True])
@pytest.mark.parametrize("who", NOT_ADMINS)
def test_settings_are_refused_to_everyone_else_and_hidden(
    web: Web, who: str, app_only: bool
) -> None:
    if app_only:
        use_app_only(web, SHARED)
    signed_in_as(web, who)
    page = web.soup("/history")
    assert page.select_one('nav a[data-nav="settings"]') is None
    assert "/settings" not in str(page.select_one("header"))
    refused = web.client.get("/settings")
    assert refused.status_code == 403
    assert "Central365.Admin" in refused.text
    assert "client-id" not in refused.text and 'name="client_secret"' not in refused.text
    post = web.client.post("/settings", data=settings_form(web))
    assert post.status_code == 403


@pytest.mark.parametrize("who", ["pat", "rita"])
def test_a_plain_user_cannot_save_app_only_mode_into_another_mailbox_and_run_there(
    web: Web, world: World, who: str
) -> None:
    """Issue 6's hole: Read Only saved app-only + Demo User's mailbox, then ran with the app."""
    signed_in_as(web, who)
    before = web.runtime.load_app_settings()
    response = web.client.post("/settings", data=settings_form(web))
    assert response.status_code == 403
    assert web.runtime.load_app_settings() == before
    test = web.client.post("/settings", data={**settings_form(web), "action": "test"})
    assert test.status_code == 403
    # Even in app-only mode set by an admin, a person without a role writes nowhere.
    use_app_only(web, MAILBOX)
    run = web.client.post("/runs", data={"csrf_token": web.csrf("/history"), "key": "1"})
    assert run.status_code == 403
    assert "Central365.Sync" in run.text
    api = web.client.post(
        "/api/runs", json={"keys": ["1"]}, headers={"X-CSRF-Token": web.csrf("/history")}
    )
    assert api.status_code == 403 and api.json()["role_needed"] == "Central365.Sync"
    assert web.runtime.runs.count() == 0
    assert "ada@example.com" not in emails(world)


@pytest.mark.parametrize("who", NOT_ADMINS)
def test_the_403_page_keeps_the_navigation_and_sign_out(web: Web, who: str) -> None:
    signed_in_as(web, who)
    page = web.soup("/settings", status=403)
    assert page.select_one("[data-user]") is not None
    assert page.select_one("form[action='/auth/logout'] input[name='csrf_token']")["value"]
    assert page.select_one("[data-role-needed]")["data-role-needed"] == "Central365.Admin"
    assert page.select_one('[data-error-link="home"]')["href"] == "/"


# -- app-only mode ------------------------------------------------------------------------------


def test_app_only_without_a_role_shows_which_role_to_ask_for_not_the_plan(web: Web) -> None:
    signed_in_as(web, "pat")
    use_app_only(web, MAILBOX)
    page = web.soup("/")
    assert page.select_one("[data-no-mailbox]") is not None
    assert "Central365.Sync" in page.select_one("[data-refusal]").get_text()
    assert page.select_one("table.plan") is None and page.select_one("[data-mailbox]") is None
    plan = web.client.get("/api/plan")
    assert plan.status_code == 403 and "Central365.Sync" in plan.json()["error"]


def test_app_only_with_the_sync_role_plans_and_runs_into_the_target_mailbox(
    web: Web, world: World
) -> None:
    signed_in_as(web, "sam")
    use_app_only(web, MAILBOX)
    page = web.soup("/?state=new")
    assert page.select_one("[data-mailbox]").get_text() == MAILBOX
    assert not page.select_one("#sync-selected").has_attr("disabled")
    response = web.client.post("/runs", data={"csrf_token": web.csrf(), "key": "1"})
    assert response.status_code == 303, response.text
    run_id = int(response.headers["location"].rsplit("/", 1)[1])
    web.wait_run(run_id)
    assert "ada@example.com" in emails(world)
    run = web.runtime.runs.get(run_id)
    assert run is not None and run.mailbox == MAILBOX and run.started_by.startswith("Sam Sync")


def test_app_only_without_the_application_permission_disables_the_button(
    signed_in: Web, world: World
) -> None:
    use_app_only(signed_in, MAILBOX)
    world.identity.app_granted = frozenset()
    page = signed_in.soup("/?state=new")
    assert page.select_one("#sync-selected").has_attr("disabled")
    assert "application permission" in page.select_one("#sync-refusal").get_text()


# -- delegated mode: own mailbox only ---------------------------------------------------------


def test_delegated_mode_ignores_a_stored_target_mailbox(web: Web, world: World) -> None:
    runtime = web.runtime
    runtime.app_settings.save(
        replace(runtime.load_app_settings(), target_mailbox=SHARED), by="test"
    )
    signed_in_as(web, "bob")
    page = web.soup("/")
    assert page.select_one("[data-mailbox]").get_text() == "bob@contoso.test"
    response = web.client.post("/runs", data={"csrf_token": web.csrf(), "key": "1"})
    run_id = int(response.headers["location"].rsplit("/", 1)[1])
    web.wait_run(run_id)
    run = runtime.runs.get(run_id)
    assert run is not None and run.mailbox == "bob@contoso.test"


def test_read_only_sees_the_button_disabled_with_the_reason_before_selecting(
    web: Web, world: World
) -> None:
    signed_in_as(web, "rita")
    page = web.soup("/?state=new")
    button = page.select_one("#sync-selected")
    assert button.has_attr("disabled") and button["aria-describedby"] == "sync-refusal"
    reason = page.select_one("#sync-refusal").get_text()
    assert "Contacts.ReadWrite" in reason and "administrator" in reason
    assert page.select_one("#all-in-state").has_attr("disabled")
    refused = web.client.post("/runs", data={"csrf_token": web.csrf(), "key": "1"})
    assert refused.status_code == 403 and "Contacts.ReadWrite" in refused.text
    assert web.runtime.runs.count() == 0 and "ada@example.com" not in emails(world)
    # Someone with the consent sees it enabled.
    signed_in_as(web, "pat")
    assert not web.soup("/?state=new").select_one("#sync-selected").has_attr("disabled")


# -- History and run pages ---------------------------------------------------------------------


def add_run(web: Web, mailbox: str) -> int:
    """A finished run into `mailbox` (History's rows are all the filter looks at)."""
    runs = web.runtime.runs
    run = runs.start(started_by=mailbox, mailbox=mailbox, folder_name=FOLDER, selected=1)
    runs.finish(run.id, RunStatus.FINISHED)
    return run.id


@pytest.fixture
def runs(web: Web) -> Iterator[dict[str, int]]:
    yield {m: add_run(web, m) for m in (MAILBOX, "BOB@contoso.test", SHARED)}


def history_ids(web: Web) -> set[int]:
    page = web.soup("/history")
    return {int(row["data-run-id"]) for row in page.select("table.history tbody tr")}


def test_an_admin_sees_every_run(web: Web, runs: dict[str, int]) -> None:
    signed_in_as(web, "alice")
    assert history_ids(web) == set(runs.values())
    for run_id in runs.values():
        assert web.client.get(f"/history/{run_id}").status_code == 200
        assert web.client.get(f"/runs/{run_id}").status_code == 200
        assert web.client.get(f"/api/runs/{run_id}").status_code == 200


def test_a_person_sees_only_the_runs_into_their_own_mailbox(web: Web, runs: dict[str, int]) -> None:
    signed_in_as(web, "bob")
    assert history_ids(web) == {runs["BOB@contoso.test"]}
    for mailbox in (MAILBOX, SHARED):
        run_id = runs[mailbox]
        for path in (f"/history/{run_id}", f"/runs/{run_id}"):
            refused = web.soup(path, status=403)
            assert "another person's mailbox" in refused.select_one("[data-error-message]").text
        api = web.client.get(f"/api/runs/{run_id}")
        assert api.status_code == 403 and "Central365.Admin" in api.json()["error"]


def test_the_sync_role_in_app_only_mode_sees_the_target_mailbox_runs(
    web: Web, runs: dict[str, int]
) -> None:
    signed_in_as(web, "sam")
    use_app_only(web, SHARED)
    assert history_ids(web) == {runs[SHARED]}
    signed_in_as(web, "pat")  # no role: the shared mailbox is not theirs to see
    assert history_ids(web) == set()
    assert web.client.get(f"/history/{runs[SHARED]}").status_code == 403


def test_history_pages_count_only_the_visible_runs(web: Web) -> None:
    for _ in range(30):
        add_run(web, MAILBOX)
    own = add_run(web, "bob@contoso.test")
    signed_in_as(web, "bob")
    page = web.soup("/history")
    assert page.select_one(".pager") is None  # one run, one page
    assert {int(r["data-run-id"]) for r in page.select("table.history tbody tr")} == {own}


# -- the plan cache ---------------------------------------------------------------------------


def fake_report(mailbox: str) -> PlanReport:
    return PlanReport(
        mailbox, FolderRef(FOLDER, "f1", True), Plan(items=(), excluded=42), datetime.now(UTC)
    )


def test_a_delegated_plan_is_never_served_to_another_person(web: Web) -> None:
    signed_in_as(web, "alice")
    web.soup("/")  # Alice's plan, made with her token
    keys = set(web.runtime.plans._entries)  # what the cache holds
    assert len(keys) == 1
    (alice_key,) = keys
    web.runtime.plans.put(alice_key, fake_report(MAILBOX))
    assert web.soup("/").select_one('[data-count="excluded"]').get_text() == "42"
    signed_in_as(web, "bob")
    assert web.soup("/").select_one('[data-count="excluded"]').get_text() == "2"


def test_an_app_only_plan_is_shared_only_among_those_allowed(web: Web) -> None:
    use_app_only(web, MAILBOX)
    target = run_lock_key(MAILBOX, FOLDER)
    web.runtime.plans.put(plan_key(target, "app"), fake_report(MAILBOX))
    signed_in_as(web, "sam")
    assert web.soup("/").select_one('[data-count="excluded"]').get_text() == "42"
    signed_in_as(web, "alice")
    assert web.soup("/").select_one('[data-count="excluded"]').get_text() == "42"
    signed_in_as(web, "pat")
    assert web.soup("/").select_one('[data-count="excluded"]') is None
    assert web.client.get("/api/plan").status_code == 403


# -- a run stopped by Graph's 403 -------------------------------------------------------------


def deny_contacts(world: World) -> None:
    world.sandbox.state.sandbox.faults.script(
        [
            FaultRule(
                status=403,
                method="GET",
                path_contains="/contactFolders",
                code="ErrorAccessDenied",
                message="Access is denied.",
                times=None,
            )
        ]
    )


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        (AuthChoice.DELEGATED, "your sign-in lacks consent"),
        (AuthChoice.APP_ONLY, "Exchange RBAC scope"),
    ],
)
def test_a_run_stopped_by_graphs_403_says_so_for_the_mode(
    signed_in: Web, world: World, mode: AuthChoice, words: str
) -> None:
    if mode is AuthChoice.APP_ONLY:
        use_app_only(signed_in, MAILBOX)
    signed_in.soup("/")  # planned before Office 365 starts refusing
    deny_contacts(world)
    response = signed_in.client.post("/runs", data={"csrf_token": signed_in.csrf(), "key": "1"})
    run_id = int(response.headers["location"].rsplit("/", 1)[1])
    signed_in.wait_run(run_id)
    page = signed_in.soup(f"/runs/{run_id}")
    assert page.select_one("#run")["data-status"] == "failed"
    assert words in page.select_one("[data-run-advice]").get_text()
    assert page.select_one("[data-no-failures]") is None
    assert "No record has failed" not in page.get_text()
    assert page.select_one("[data-stopped-note]") is not None
    detail = signed_in.soup(f"/history/{run_id}")
    assert words in detail.select_one("[data-run-advice]").get_text()


def test_a_finished_run_without_failures_still_says_so(signed_in: Web) -> None:
    response = signed_in.client.post("/runs", data={"csrf_token": signed_in.csrf(), "key": "1"})
    run_id = int(response.headers["location"].rsplit("/", 1)[1])
    signed_in.wait_run(run_id)
    page = signed_in.soup(f"/runs/{run_id}")
    assert not page.select_one("[data-no-failures]").has_attr("hidden")
    assert page.select_one("[data-run-advice]") is None


# -- admins named at start-up -------------------------------------------------------------------


def test_a_person_named_in_admins_is_an_admin_without_the_role(world: World) -> None:
    world.settings = world.settings.model_copy(update={"admins": ("PAT@CONTOSO.TEST",)})
    for web in serve(world.app()):
        signed_in_as(web, "pat")
        assert web.soup("/").select_one('nav a[data-nav="settings"]') is not None
        assert web.client.get("/settings").status_code == 200
        signed_in_as(web, "bob")
        assert web.client.get("/settings").status_code == 403
