"""The homepage's fifth view, "Only in Office 365": orphans with why, people's own contacts
counted, and deleting chosen orphans — admins only, guarded against a mass delete."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from bs4 import BeautifulSoup

from central365.core.journal import JournalAction, JournalEntry
from central365.core.mapping import anchor_property
from central365.core.policy import DeletedContacts
from central365.mailstore.store import seed_folder
from tests.web.conftest import FOLDER, MAILBOX, Web, World, serve, signed_in_as

#: Contacts central365 wrote whose records are gone from Central (9) or inactive (6).
ORPHANS = [
    {
        "givenName": "Gil",
        "surname": "Gone",
        "displayName": "Gil Gone",
        "emailAddresses": [{"address": "gil@example.com"}],
        **anchor_property("9"),
    },
    {
        "givenName": "Ina",
        "surname": "Ctive",
        "displayName": "Ina Ctive",
        "emailAddresses": [{"address": "ina@example.com"}],
        **anchor_property("6"),
    },
]


@pytest.fixture
def orphaned(world: World) -> Iterator[Web]:
    seed_folder(world.store, MAILBOX, FOLDER, ORPHANS)
    yield from serve(world.app())


def addresses(world: World) -> set[str]:
    return {c["emailAddresses"][0]["address"] for c in world.folder()}


def post_delete(web: Web, *ids: str, **form: Any) -> tuple[int, BeautifulSoup, str]:
    data = {"csrf_token": web.csrf("/?state=orphans"), "office365_id": list(ids), **form}
    response = web.client.post("/orphans/delete", data=data)
    location = response.headers.get("location", "")
    if response.status_code == 303 and location.startswith("/runs/"):
        web.wait_run(int(location.rsplit("/", 1)[1]))
    return response.status_code, BeautifulSoup(response.text, "html.parser"), location


def test_the_view_lists_orphans_with_why_and_counts_people_s_own(orphaned: Web) -> None:
    signed_in_as(orphaned, "alice")
    page = orphaned.soup("/?state=orphans")
    assert page.select_one("#tab-orphans")["aria-current"] == "page"
    assert page.select_one('[data-count="orphans"]').get_text(strip=True) == "2"
    rows = {
        r["data-key"]: r.select_one("[data-why]")["data-why"]
        for r in page.select("table.plan tbody tr")
    }
    assert rows == {"9": "record_gone", "6": "record_inactive"}
    why = page.select_one('tr[data-key="9"] [data-why]').get_text(strip=True)
    assert why == "no Central record has this Central id any more"
    # Zed (no anchor, no record) is a person's own contact: counted, not listed.
    own = page.select_one("[data-unanchored]")
    assert own["data-unanchored"] == "1" and "left alone" in own.get_text()
    assert page.select_one("title").get_text(strip=True).startswith("Only in Office 365")
    # Admin: the control is live, with the mass-delete limit said before the click.
    assert page.select_one("[data-delete-refusal]") is None
    assert not page.select_one("#delete-selected").has_attr("disabled")
    assert page.select_one("[data-delete-limit]") is not None
    # Search by Central id.
    found = orphaned.soup("/?state=orphans&q=9")
    assert [r["data-key"] for r in found.select("table.plan tbody tr")] == ["9"]


def test_a_plain_user_sees_the_view_read_only_with_the_reason(orphaned: Web, world: World) -> None:
    signed_in_as(orphaned, "bob")
    page = orphaned.soup("/?state=orphans")
    refusal = page.select_one("[data-delete-refusal]").get_text()
    assert "Only an administrator may delete contacts" in refusal
    assert page.select_one("#delete-selected").has_attr("disabled")
    assert all(box.has_attr("disabled") for box in page.select("[data-orphan-check]"))
    # A crafted post is refused all the same, and nothing is deleted.
    gone = page.select_one('tr[data-key="9"]')["data-office365-id"]
    status, refused, _ = post_delete(orphaned, gone)
    assert status == 403
    assert "Only an administrator may delete" in refused.get_text()
    assert "gil@example.com" in addresses(world)


def test_an_admin_deletes_chosen_orphans_as_a_run(orphaned: Web, world: World) -> None:
    signed_in_as(orphaned, "alice")
    page = orphaned.soup("/?state=orphans")
    gone = page.select_one('tr[data-key="9"]')["data-office365-id"]
    status, _, location = post_delete(orphaned, gone)
    assert status == 303 and location.startswith("/runs/")
    assert "gil@example.com" not in addresses(world)
    assert "ina@example.com" in addresses(world)  # not chosen: left as it is
    run = orphaned.runtime.runs.get(int(location.rsplit("/", 1)[1]))
    assert run is not None and run.deleted == 1
    after = orphaned.soup("/?state=orphans")
    assert [r["data-key"] for r in after.select("table.plan tbody tr")] == ["6"]


def test_only_orphans_may_be_deleted_and_nothing_ticked_is_explained(
    orphaned: Web, world: World
) -> None:
    signed_in_as(orphaned, "alice")
    (cleo,) = [c for c in world.folder() if c["emailAddresses"][0]["address"] == "cleo@example.com"]
    status, refused, _ = post_delete(orphaned, cleo["id"])
    assert status == 400
    assert "Only contacts listed under “Only in Office 365”" in refused.get_text()
    status, _, location = post_delete(orphaned)
    assert (status, location) == (303, "/?state=orphans&nothing_selected=1")
    notice = orphaned.soup(location).select_one("[data-notice]").get_text()
    assert "tick the contacts to delete first" in notice
    assert "cleo@example.com" in addresses(world)


@pytest.fixture
def strict(world: World) -> Iterator[Web]:
    """Deleting 2 of the folder's 5 contacts is more than 10 % (at least 1 counts)."""
    seed_folder(world.store, MAILBOX, FOLDER, ORPHANS)
    world.settings = world.settings.model_copy(update={"guard_min_contacts": 1})
    yield from serve(world.app())


def test_a_mass_delete_needs_the_admin_s_i_understand(strict: Web, world: World) -> None:
    signed_in_as(strict, "alice")
    page = strict.soup("/?state=orphans")
    assert page.select_one("[data-delete-limit]")["data-delete-limit"] == "0"
    ids = [r["data-office365-id"] for r in page.select("table.plan tbody tr")]
    status, refused, _ = post_delete(strict, *ids)
    assert status == 409
    message = refused.select_one("[data-error-message]").get_text()
    assert message.startswith("Refusing to delete this many contacts. Deleting 2 of the folder's 5")
    assert "tick “I understand”" in message
    assert {"gil@example.com", "ina@example.com"} <= addresses(world)
    status, _, location = post_delete(strict, *ids, allow_mass_change="on")
    assert status == 303 and location.startswith("/runs/")
    assert not {"gil@example.com", "ina@example.com"} & addresses(world)


def test_a_contact_deleted_in_outlook_is_shown_as_recreated_or_respected(
    signed_in: Web, world: World
) -> None:
    # Cleo's contact is in the journal (a run wrote it), and a person deleted it in Outlook.
    (cleo,) = [c for c in world.folder() if c["emailAddresses"][0]["address"] == "cleo@example.com"]
    runtime = signed_in.runtime
    run = runtime.runs.start(
        started_by="test", mailbox=MAILBOX, folder_name=FOLDER, selected=1, hold_lock=False
    )
    runtime.journal.record(
        run.id,
        JournalEntry("3", cleo["id"], JournalAction.CREATED, {}, {}, "ck"),
    )
    world.store.delete_contact(MAILBOX, cleo["id"])
    signed_in.client.post("/plan", data={"csrf_token": signed_in.csrf(), "state": "new"})
    page = signed_in.soup("/?state=new")
    note = page.select_one('tr[data-key="3"] [data-deleted-in-office365]').get_text()
    assert note == f"Deleted in Outlook since run {run.id}, will be recreated."

    stored = runtime.load_app_settings()
    runtime.app_settings.save(
        replace(stored, deleted_contacts=DeletedContacts.RESPECT_DELETES), by="test"
    )
    runtime.plans.forget()
    page = signed_in.soup("/?state=non_actionable")
    reason = page.select_one('tr[data-key="3"] [data-reason]')
    assert reason["data-reason"] == "deleted_in_office365"
    assert "deleted in Outlook" in reason.get_text()
