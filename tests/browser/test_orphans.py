"""The "Only in Office 365" view in a real browser: the demo's two contacts whose records are
inactive or gone, with why; a person without the admin role sees the delete control disabled
with the reason before any click; an admin deletes one of them as a run."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from central365.core.mapping import anchor_property, create_body, desired_contact
from central365.core.model import CentralContact
from central365.demo.run import DEMO_FOLDER
from central365.demo.staff import STAFF_USER
from central365.mailstore.store import seed_folder
from tests.browser.conftest import Demo, screenshot, sign_in, wait_for_run_end
from tests.browser.test_roles import sign_in_as

pytestmark = pytest.mark.e2e

GONE = "gale.gone@example.com"


def open_view(page: Page) -> None:
    page.get_by_role("link", name=re.compile("Only in Office 365")).click()
    expect(page.get_by_role("heading", name="Only in Office 365")).to_be_visible()


def test_staff_sees_the_orphans_read_only_with_the_reason(page: Page, shared_demo: Demo) -> None:
    # Staff User plans their own mailbox: central365 wrote a contact there whose record is gone.
    gone = CentralContact.from_row(
        {"id": "999002", "first_name": "Old", "last_name": "Leaver", "email": "old@example.com"}
    )
    seed_folder(
        shared_demo.stack.sandbox.store,
        STAFF_USER,
        DEMO_FOLDER,
        [create_body(desired_contact(gone)) | anchor_property(gone.key)],
    )
    sign_in_as(page, shared_demo, "Staff User")
    expect(page.locator('[data-count="orphans"]')).to_have_text("1")
    open_view(page)
    expect(page.locator("table.plan tbody tr")).to_have_count(1)
    expect(page.locator('tr[data-key="999002"] [data-why]')).to_have_text(
        "no Central record has this Central id any more"
    )
    refusal = page.locator("[data-delete-refusal]")
    expect(refusal).to_be_visible()
    expect(refusal).to_contain_text("Only an administrator may delete contacts")
    button = page.locator("#delete-selected")
    expect(button).to_be_disabled()
    assert button.get_attribute("aria-describedby") == "delete-refusal"
    expect(page.locator("[data-orphan-check]").first).to_be_disabled()
    screenshot(page, "orphans-staff-read-only")


def test_an_admin_deletes_a_chosen_orphan(page: Page, demo: Demo) -> None:
    sign_in(page, demo)
    expect(page.locator('[data-count="orphans"]')).to_have_text("2")
    open_view(page)
    expect(page.locator('tr[data-key="999001"] [data-why]')).to_have_text(
        "no Central record has this Central id any more"
    )
    expect(page.locator('tr[data-key="1000"] [data-why]')).to_have_text(
        "the Central record is no longer active"
    )
    # The demo's Outlook-only contact: a person's own, counted and left alone.
    expect(page.locator("[data-unanchored]")).to_contain_text("1 of people's own contact")
    expect(page.locator("[data-delete-refusal]")).to_have_count(0)
    screenshot(page, "orphans-admin")
    page.get_by_label("Delete Gale Gone", exact=True).check()
    page.get_by_role("button", name="Delete selected from Office 365").click()
    page.wait_for_url(re.compile(r"/runs/\d+$"))
    wait_for_run_end(page)
    expect(page.locator("#run")).to_have_attribute("data-status", "finished")
    expect(page.locator('#run [data-count="deleted"]')).to_have_text("1")
    expect(page.locator("#run [data-deleted-row]")).to_be_visible()
    addresses = {c["emailAddresses"][0]["address"] for c in demo.contacts()}
    assert GONE not in addresses
    page.goto(f"{demo.url}/?state=orphans")
    expect(page.locator('[data-count="orphans"]')).to_have_text("1")
    expect(page.locator("table.plan tbody tr")).to_have_count(1)
