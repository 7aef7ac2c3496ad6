"""The homepage in a real browser: sign-in, the tab counts, a diff, escaping, a phone screen.

These tests only read, so they share one demo stack (each signs in in its own context).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from central365.demo.data import DemoData
from central365.demo.run import DEMO_FOLDER, DEMO_MAILBOX, DEMO_USER
from tests.browser.conftest import (
    TABS,
    Demo,
    Pages,
    expected_counts,
    full_name,
    number,
    screenshot,
    sign_in,
    tab_counts,
)

pytestmark = pytest.mark.e2e

SCRIPT_NAME = "<script>alert(1)</script>"


def test_sign_in_through_the_sandbox_sign_in_page(page: Page, shared_demo: Demo) -> None:
    page.goto(shared_demo.url)
    # Not signed in: the homepage sends the browser to the identity platform's page.
    expect(page).to_have_url(re.compile("^" + re.escape(shared_demo.sign_in_url) + "/"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text(DEMO_MAILBOX)).to_be_visible()

    page.get_by_role("button", name=f"Sign in as {DEMO_USER}").click()

    page.wait_for_url(re.compile("^" + re.escape(shared_demo.url) + "/"))
    expect(page.locator("[data-user]")).to_have_text(f"Signed in as {DEMO_USER}")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_role("heading", name="Central contacts for Office 365")).to_be_visible()
    expect(page.locator("[data-folder]")).to_have_text(DEMO_FOLDER)
    expect(page.locator("[data-mailbox]")).to_have_text(DEMO_MAILBOX)
    screenshot(page, "homepage-signed-in")


def test_tab_counts_match_the_demo_data(page: Page, shared_demo: Demo) -> None:
    expected = expected_counts()
    sign_in(page, shared_demo)

    nav = page.get_by_role("navigation", name="States")
    for state, label in TABS.items():
        tab = nav.get_by_role("link", name=re.compile("^" + re.escape(label)))
        expect(tab).to_have_attribute("id", f"tab-{state}")
    assert tab_counts(page) == expected.counts()
    assert number(page.locator('[data-count="excluded"]').inner_text()) == expected.excluded
    expect(page.locator(".excluded")).to_contain_text(
        f"{expected.excluded} Central records were excluded as not active."
    )
    expect(page.locator(".range")).to_have_text(f"Showing 1\N{EN DASH}50 of {expected.new}.")

    # The JSON API answers the same plan to the same signed-in browser.
    response = page.request.get(f"{shared_demo.url}/api/plan")
    assert response.ok, response.text()
    plan = response.json()
    assert plan["counts"] == expected.counts()
    assert plan["excluded"] == expected.excluded
    assert plan["folder"]["name"] == DEMO_FOLDER


def test_a_row_that_requires_an_update_opens_its_diff(
    page: Page, shared_demo: Demo, demo_data: DemoData
) -> None:
    # Row 52 is in the folder as "Patrick Parker": its names differ (the first kind).
    row = demo_data.rows[52]
    sign_in(page, shared_demo)

    page.get_by_role("link", name=re.compile("^Requires update")).click()
    expect(page).to_have_url(re.compile(r"state=update"))
    expect(page.locator("#tab-update")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("heading", name="Requires update", level=2)).to_be_visible()

    record = page.locator(f'table.plan tr[data-key="{row["id"]}"]')
    expect(record.locator("td.name")).to_have_text(full_name(row))
    diff = record.locator("table.diff")
    expect(diff).to_be_hidden()
    record.locator("summary").click()
    expect(diff).to_be_visible()

    headers = diff.locator("thead th")
    expect(headers).to_have_text(["Field", "Office 365 now", "Central"])
    given = diff.locator('tr[data-field="givenName"]')
    expect(given.locator("th")).to_have_text("First name")
    expect(given.locator("td.before")).to_have_text("Patrick")  # Office 365's value ...
    expect(given.locator("td.after")).to_have_text(row["first_name"])  # ... → Central's
    surname = diff.locator('tr[data-field="surname"]')
    expect(surname.locator("td.before")).to_have_text("Parker")
    expect(surname.locator("td.after")).to_have_text(row["last_name"])
    screenshot(page, "homepage-requires-update-diff")


def test_markup_in_a_name_is_shown_as_text(
    page: Page, pages: Pages, shared_demo: Demo, demo_data: DemoData
) -> None:
    row = demo_data.rows[31]
    assert row["first_name"] == SCRIPT_NAME
    name = full_name(row)  # "<script>alert(1)</script> Tag"
    sign_in(page, shared_demo)

    cell = page.locator("table.plan td.name", has_text=name)
    expect(cell).to_have_count(1)
    expect(cell).to_have_text(name)
    expect(page.get_by_label(f"Select {name}", exact=True)).to_be_visible()
    assert page.locator("main script").count() == 0

    # Searching for the markup reflects it into the page too: still text.
    page.get_by_label("Search by name or email").fill(SCRIPT_NAME)
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".range")).to_have_text(
        f"Showing 1\N{EN DASH}1 of 1 matching “{SCRIPT_NAME}”."
    )
    expect(page.locator("table.plan td.name")).to_have_text([name])
    expect(page.get_by_label("Search by name or email")).to_have_value(SCRIPT_NAME)
    assert page.locator("main script").count() == 0
    page.wait_for_load_state("load")
    assert pages.dialogs == [], f"a dialog fired: {pages.dialogs}"


def test_phone_width_has_no_horizontal_overflow(pages: Pages, shared_demo: Demo) -> None:
    page = pages.new(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    sign_in(page, shared_demo)

    def overflow() -> dict[str, int]:
        return page.evaluate(
            "() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})"
        )

    width = overflow()
    assert width["inner"] == 390
    assert width["scroll"] <= width["inner"], f"the homepage scrolls sideways: {width}"
    button = page.get_by_role("button", name="Synchronise selected")
    expect(button).to_be_visible()
    expect(button).to_be_in_viewport()  # the bar sticks to the bottom of the screen
    screenshot(page, "phone-homepage")

    # The diff tab, with a diff open, must not scroll sideways either.
    page.get_by_role("link", name=re.compile("^Requires update")).click()
    page.locator("table.plan summary").first.click()
    diff = page.locator("table.diff").first
    expect(diff).to_be_visible()
    # The rows become cards, but the diff keeps its column names (which value is which).
    expect(diff.get_by_role("columnheader", name="Office 365 now")).to_be_in_viewport()
    expect(diff.get_by_role("columnheader", name="Central")).to_be_in_viewport()
    width = overflow()
    assert width["scroll"] <= width["inner"], f"the update tab scrolls sideways: {width}"
    expect(page.get_by_role("button", name="Synchronise selected")).to_be_in_viewport()
    screenshot(page, "phone-requires-update-diff")
