"""The homepage's warning for a mass change, the admin-only "I understand", missing columns."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bs4 import BeautifulSoup

from central365.core.model import CANONICAL_COLUMNS
from central365.sources import write_csv
from tests.web.conftest import MAILBOX, RECORDS, Web, World, serve, signed_in_as, use_app_only


@pytest.fixture
def strict(world: World) -> Iterator[Web]:
    """Guards that Bob's one update trips: 1 of the folder's 3 contacts is over 20 %."""
    world.settings = world.settings.model_copy(
        update={"guard_update_percent": 20.0, "guard_min_contacts": 1}
    )
    yield from serve(world.app())


def bob_mobile(world: World) -> str:
    (bob,) = [c for c in world.folder() if c["emailAddresses"][0]["address"] == "bob@example.com"]
    return str(bob["mobilePhone"])


def post_run(web: Web, **form: object) -> tuple[int, BeautifulSoup]:
    data = {"csrf_token": web.csrf("/?state=update"), "key": "2", **form}
    response = web.client.post("/runs", data=data)  # type: ignore[arg-type]
    if response.status_code == 303:
        web.wait_run(int(response.headers["location"].rsplit("/", 1)[1]))
    return response.status_code, BeautifulSoup(response.text, "html.parser")


def test_no_warning_when_no_guard_trips(signed_in: Web) -> None:
    page = signed_in.soup("/?state=update")
    assert page.select_one("[data-guards]") is None
    assert page.select_one("[data-missing-columns]") is None


def test_the_warning_is_above_the_tabs_and_an_admin_may_allow_the_run(
    strict: Web, world: World
) -> None:
    signed_in_as(strict, "alice")
    html = strict.client.get("/?state=update").text
    page = BeautifulSoup(html, "html.parser")
    (guard,) = page.select("[data-guards] [data-guard]")
    assert guard["data-guard"] == "mass_update"
    assert "update 1 of the folder's 3 contacts (33 %)" in guard.get_text()
    assert html.index("data-guards") < html.index('class="tabs"')
    box = page.select_one("#allow-mass-change")
    assert (box["name"], box["form"]) == ("allow_mass_change", "sync-form")
    assert page.select_one("form#sync-form") is not None
    assert page.select_one("[data-guard-refusal]") is None

    status, refused = post_run(strict)
    assert status == 409
    message = refused.select_one("[data-error-message]").get_text()
    assert message.startswith("Refusing to synchronise a mass change.")
    assert "I understand" in message
    assert bob_mobile(world) == "07700 900001"

    status, _ = post_run(strict, allow_mass_change="on")
    assert status == 303
    assert bob_mobile(world) == "07700 900002"


def test_on_a_tab_without_the_sync_form_the_admin_is_sent_to_one(strict: Web) -> None:
    signed_in_as(strict, "alice")
    page = strict.soup("/?state=unchanged")
    assert page.select_one("[data-guards]") is not None
    assert page.select_one("#allow-mass-change") is None
    assert page.select_one("[data-allow-elsewhere]") is not None


def test_a_non_admin_sees_why_they_cannot_allow_it(strict: Web, world: World) -> None:
    signed_in_as(strict, "sam")
    use_app_only(strict, MAILBOX)
    page = strict.soup("/?state=update")
    assert page.select_one("[data-guards] [data-guard]")["data-guard"] == "mass_update"
    assert page.select_one("#allow-mass-change") is None
    assert "Only an administrator" in page.select_one("[data-guard-refusal]").get_text()

    status, refused = post_run(strict, allow_mass_change="on")
    assert status == 403
    assert "Only an administrator" in refused.select_one("[data-error-message]").get_text()
    status, _ = post_run(strict)
    assert status == 409
    assert bob_mobile(world) == "07700 900001"


def test_the_api_refuses_a_mass_change_unless_an_admin_allows_it(strict: Web, world: World) -> None:
    signed_in_as(strict, "alice")
    plan = strict.client.get("/api/plan").json()
    assert [g["code"] for g in plan["guards"]] == ["mass_update"]
    headers = {"X-CSRF-Token": strict.csrf()}
    refused = strict.client.post("/api/runs", json={"keys": ["2"]}, headers=headers)
    assert refused.status_code == 409
    assert refused.json()["error"].startswith("Refusing to synchronise a mass change.")
    allowed = strict.client.post(
        "/api/runs", json={"keys": ["2"], "allow_mass_change": True}, headers=headers
    )
    assert allowed.status_code == 202, allowed.text
    strict.wait_run(allowed.json()["id"])
    assert bob_mobile(world) == "07700 900002"


def test_missing_columns_are_said_and_never_clear(signed_in: Web, world: World) -> None:
    columns = [c for c in CANONICAL_COLUMNS if c != "mobile"]
    write_csv(world.tmp / "central.csv", RECORDS, columns)
    signed_in.client.post("/plan", data={"csrf_token": signed_in.csrf(), "state": "update"})
    page = signed_in.soup("/?state=update")
    note = page.select_one("[data-missing-columns]")
    assert note["data-missing-columns"] == "mobile"
    assert "Central has no column mobile" in " ".join(note.get_text().split())
    assert page.select_one('[data-count="update"]').get_text() == "0"  # Bob's mobile is kept
    assert signed_in.client.get("/api/plan").json()["missing_columns"] == ["mobile"]


def test_thresholds_set_on_the_settings_page_trip_the_guard(signed_in: Web, world: World) -> None:
    from tests.web.test_settings import form_of, post

    shown = form_of(signed_in)
    assert (shown["guard_clear_percent"], shown["guard_update_percent"]) == ("10", "50")
    assert (shown["guard_shrink_percent"], shown["guard_min_contacts"]) == ("50", "10")
    assert signed_in.soup("/?state=update").select_one("[data-guards]") is None

    bad = post(signed_in, guard_update_percent="150", guard_min_contacts="0")
    assert bad.status_code == 400
    page = BeautifulSoup(bad.text, "html.parser")
    assert "percentage from 0 to 100" in page.select_one("#guard_update_percent-error").get_text()
    assert "whole number" in page.select_one("#guard_min_contacts-error").get_text()
    assert page.select_one("#guard_update_percent")["value"] == "150"  # shown as typed
    assert signed_in.runtime.load_app_settings().guard_thresholds is None

    saved = post(signed_in, guard_update_percent="20", guard_min_contacts="1")
    assert saved.status_code == 303, saved.text
    stored = signed_in.runtime.load_app_settings().guard_thresholds
    assert stored is not None and (stored.update_percent, stored.min_contacts) == (20, 1)
    assert stored.clear_percent == 10  # the others kept
    assert form_of(signed_in)["guard_update_percent"] == "20"
    page = signed_in.soup("/?state=update")
    assert page.select_one("[data-guards] [data-guard]")["data-guard"] == "mass_update"

    # Back to the start-up values: nothing of its own is stored.
    post(signed_in, guard_update_percent="50", guard_min_contacts="")
    assert signed_in.runtime.load_app_settings().guard_thresholds is None


def test_the_guide_explains_missing_columns_and_each_guard(signed_in: Web) -> None:
    section = signed_in.soup("/guide").select_one("section#guards")
    codes = [li["data-guard-code"] for li in section.select("[data-guard-code]")]
    assert codes == ["mass_clear", "mass_update", "source_shrunk"]
    words = " ".join(section.get_text().split())
    assert "more than 10 % of the contacts" in words and "fewer than 10 contacts" in words
    assert "neither compared nor cleared" in words


def test_no_allow_box_when_the_token_may_not_write_anyway(strict: Web, world: World) -> None:
    from tests.web.conftest import READ_ONLY_GRANT

    world.identity.granted = READ_ONLY_GRANT
    signed_in_as(strict, "alice")
    page = strict.soup("/?state=update")
    assert page.select_one("[data-guards]") is not None
    assert page.select_one("[data-sync-refusal]") is not None
    assert page.select_one("#allow-mass-change") is None
    assert page.select_one("[data-allow-elsewhere]") is None
