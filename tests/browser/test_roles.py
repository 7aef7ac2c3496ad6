"""The three demo users in Chromium: what each one sees and may do (issue: roles).

Demo User holds Central365.Admin; Staff User has no role but consented Contacts.ReadWrite;
Read Only has no role and only Contacts.Read.  Same demo stack, one browser context each.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Demo, screenshot

pytestmark = pytest.mark.e2e


def sign_in_as(page: Page, demo: Demo, name: str) -> None:
    page.goto(demo.url)
    expect(page).to_have_url(re.compile("^" + re.escape(demo.sign_in_url) + "/"))
    page.get_by_role("button", name=f"Sign in as {name}").click()
    page.wait_for_url(re.compile("^" + re.escape(demo.url) + "/"))
    expect(page.locator("[data-user]")).to_have_text(f"Signed in as {name}")


def test_demo_user_is_an_admin(page: Page, shared_demo: Demo) -> None:
    sign_in_as(page, shared_demo, "Demo User")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Settings")).to_be_visible()
    expect(page.locator("#sync-selected")).to_be_enabled()
    expect(page.locator("[data-sync-refusal]")).to_have_count(0)
    page.goto(f"{shared_demo.url}/settings")
    expect(page.get_by_role("heading", name="Settings", exact=False).first).to_be_visible()


def test_staff_user_synchronises_but_never_sees_settings(page: Page, shared_demo: Demo) -> None:
    sign_in_as(page, shared_demo, "Staff User")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Settings")).to_have_count(0)
    expect(nav.get_by_role("link", name="Guide")).to_be_visible()
    expect(page.locator("#sync-selected")).to_be_enabled()

    response = page.goto(f"{shared_demo.url}/settings")
    assert response is not None and response.status == 403
    expect(page.locator("[data-error-message]")).to_contain_text("Central365.Admin")
    expect(page.locator("input[name=client_secret]")).to_have_count(0)
    # The error page keeps the navigation and sign-out, and does not send back to itself.
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    screenshot(page, "roles-staff-settings-refused")


def test_read_only_learns_why_before_selecting_anything(page: Page, shared_demo: Demo) -> None:
    sign_in_as(page, shared_demo, "Read Only")
    refusal = page.locator("[data-sync-refusal]")
    expect(refusal).to_be_visible()
    expect(refusal).to_contain_text("Contacts.ReadWrite")
    button = page.locator("#sync-selected")
    expect(button).to_be_disabled()
    assert button.get_attribute("aria-describedby") == "sync-refusal"
    expect(page.locator("#all-in-state")).to_be_disabled()
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Settings")).to_have_count(0)
    screenshot(page, "roles-read-only-homepage")
