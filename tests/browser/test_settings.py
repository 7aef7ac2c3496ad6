"""Settings in a real browser: choose a new contacts folder by name; the homepage follows."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from central365.demo.run import DEMO_FOLDER, DEMO_MAILBOX
from tests.browser.conftest import (
    Demo,
    expected_counts_in_an_empty_folder,
    number,
    screenshot,
    sign_in,
    tab_counts,
)

pytestmark = pytest.mark.e2e

NEW_FOLDER = "CRM Contacts"
SUB_FOLDER_WARNING = (
    "Contacts in a folder inside another folder are not shown by Outlook mobile, "
    "the new Outlook or Teams"
)


def test_a_new_folder_chosen_in_settings_is_what_the_homepage_plans_against(
    page: Page, demo: Demo
) -> None:
    before = demo.snapshot()
    root = demo.folder(DEMO_FOLDER)["parentFolderId"]
    sign_in(page, demo)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="Settings", level=1)).to_be_visible()

    folder = page.get_by_label("Folder", exact=True)
    expect(folder).to_have_value(DEMO_FOLDER)
    warning = page.locator("#folder-hint")
    expect(warning).to_be_visible()
    expect(warning).to_contain_text(SUB_FOLDER_WARNING)
    expect(folder).to_have_attribute("aria-describedby", "folder-hint")

    folder.select_option(label="A new folder, named below")
    page.get_by_label("New folder's name").fill(NEW_FOLDER)
    screenshot(page, "settings-new-folder")
    page.get_by_role("button", name="Save settings").click()

    assert page.locator("[data-error-for]").all_inner_texts() == []
    expect(page.locator("[data-saved]")).to_have_text(
        "The settings are saved. The homepage plans again with them."
    )
    expect(page.get_by_label("Folder", exact=True)).to_have_value(NEW_FOLDER)
    expect(page.locator("#folder-hint")).to_be_visible()
    screenshot(page, "settings-saved-new-folder")

    # In Office 365: the folder is made at the top level, empty; nothing else changed.
    after = demo.snapshot()
    created = demo.folder(NEW_FOLDER)
    assert created["parentFolderId"] == root
    assert demo.contacts(NEW_FOLDER) == []
    assert after.keys() - before.keys() == {created["id"]}
    assert {k: after[k] for k in before} == before

    # The homepage plans against the new folder: every actionable record is new.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Homepage").click()
    expect(page.locator("[data-folder]")).to_have_text(NEW_FOLDER)
    expect(page.locator("[data-mailbox]")).to_have_text(DEMO_MAILBOX)
    expected = expected_counts_in_an_empty_folder()
    assert tab_counts(page) == expected.counts()
    assert number(page.locator('[data-count="excluded"]').inner_text()) == expected.excluded
    plan = page.request.get(f"{demo.url}/api/plan").json()
    assert plan["folder"]["name"] == NEW_FOLDER
    assert plan["folder"]["exists"] is True
    assert plan["counts"] == expected.counts()


def test_the_admin_consent_link_points_where_the_browser_signs_in(shared_demo: Demo) -> None:
    """The sandbox serves its pages to browsers on plain http: the consent page is there too."""
    stack = shared_demo.stack
    runtime = stack.web.app.state.runtime
    host = runtime.clients.browser_authority_host()
    assert host == stack.sandbox.identity.browser_root
    assert host.startswith("http://") and host != stack.settings.authority_host.rstrip("/")
    query = "client_id=central365-demo&scope=https://graph.microsoft.com/.default"
    page = httpx.get(
        f"{host}/{stack.settings.tenant_id}/v2.0/adminconsent?{query}&redirect_uri="
        f"{runtime.redirect_uri}",
        timeout=10,
        follow_redirects=True,
    )
    assert page.status_code == 200, page.text[:500]
